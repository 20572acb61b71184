package engine

import (
	"math/rand/v2"

	"charrnn/kernels"
)

// The GRU of PyTorch's nn.GRU, gates in its order r, z, n:
//
//	r = σ(W_ir x + b_ir + W_hr h + b_hr)
//	z = σ(W_iz x + b_iz + W_hz h + b_hz)
//	n = tanh(W_in x + b_in + r∘(W_hn h + b_hn))
//	h' = (1-z)∘n + z∘h
//
// b_hn sits inside the reset gate's product, so unlike the LSTM's the two
// biases do not merge. Each layer has PyTorch's tensors weight_ih (3H×in),
// weight_hh (3H×H), bias_ih and bias_hh (3H), all initialised uniform in
// ±1/√H as PyTorch does. A stream carries h.
type gruCell struct{}

func init() { RegisterCell("gru", gruCell{}) }

func (gruCell) Tensors(c ModelConfig, l int) []Tensor { return gatedNames(c, l, 3).list() }
func (gruCell) StateVectors() int                     { return 1 }

func (gruCell) Init(m *Model, l int, rng *rand.Rand) {
	initGated(m, gatedNames(m.Config, l, 3).bound(m), rng)
}

func (gruCell) WindowFloats(c ModelConfig, l, T, B int, p Precision) int {
	H, n := c.Hidden, T*B
	// hs; the activations (then the input side's gradient), the recurrent
	// products and their gradient; W_hh; the input's side
	return (T+1)*B*H + 3*n*3*H + recurrentWeightsFloats(3*H, H, B, p) + inputFloats(l, 3*H, H, n, p, true)
}

// gruLayer is the GRU's window passes.
type gruLayer struct {
	layerBase
	t gatedTensors
	// T·B rows of 3H each: the activations r, z, n, over which the
	// backward pass writes the gradient with respect to the input's
	// pre-activations, dX (a buffer of its own would be one more read from
	// memory per step); the recurrent products W_hh·h_{t-1} (whose n part
	// GRUForward turns into W_hn·h + b_hn); and the gradient with respect
	// to them.
	act, hg, dhg []float32
	whh          weights
}

func (gruCell) NewLayer(m *Model, l int, grads []float32, T, B int, ctx *passContext) Layer {
	H, n := m.Config.Hidden, T*B
	t := gatedNames(m.Config, l, 3).bound(m)
	r := &gruLayer{
		layerBase: newLayerBase(m, grads, T, B, ctx, t.wih, 3*H, nil),
		t:         t,
		act:       make([]float32, n*3*H),
		hg:        make([]float32, n*3*H),
		dhg:       make([]float32, n*3*H),
		whh:       newRecurrentWeights(t.whh, ctx, B),
	}
	r.fwd, r.back = r.forwardStreams, r.backwardStreams
	r.state = [][]float32{r.hs[:B*H]}
	return r
}

func (r *gruLayer) Carry() { copy(r.hs[:r.B*r.H], r.hs[r.T*r.B*r.H:]) }

func (r *gruLayer) Forward(k kernels.Backend, ids []int32, x []float32) {
	p := r.m.Params
	r.input.forward(k, p, ids, x)
	r.ctx.forward(k, &r.whh, p, 3*r.H*r.H, r.fwd, nil)
}

// forwardStreams runs the recurrence through the window for streams [lo,
// hi): per step one product over all three gates, W_hh·h_{t-1}, then the
// fused element-wise pass.
func (r *gruLayer) forwardStreams(lo, hi int) {
	H, B, G := r.H, r.B, 3*r.H
	k, p := r.ctx.k, r.m.Params
	bih, bhh := r.t.bih.Of(p), r.t.bhh.Of(p)
	for t := 0; t < r.T; t++ {
		r.whh.mulT(k, B == 1, lo, hi-lo, 1, rows(r.hs, t, B, lo, hi, H), 0, rows(r.hg, t, B, lo, hi, G))
		for s := lo; s < hi; s++ {
			i := t*B + s
			k.GRUForward(r.act[i*G:(i+1)*G], r.hg[i*G:(i+1)*G], r.input.row(i), bih, bhh,
				r.hs[i*H:(i+1)*H], r.hs[(i+B)*H:(i+B+1)*H])
		}
	}
}

func (r *gruLayer) Backward(k kernels.Backend, dh, dx []float32) {
	H, n := r.H, r.T*r.B
	g, p := r.grads, r.m.Params
	r.dh = dh
	// The recurrence back, and dW_hh = dHGᵀ·H_prev (beside it where it
	// can be); then, window-wide, the biases' row sums and the input's
	// side from dX, which the pass wrote over the activations.
	r.ctx.backward(k, &r.whh, 3*H*H, n, r.back, nil, r.dhg, r.hs[:n*H], g)
	r.ctx.sumRows(k, r.t.bhh.Of(g), r.dhg)
	r.ctx.sumRows(k, r.t.bih.Of(g), r.act)
	r.input.backward(k, p, g, r.act, dx)
}

// backwardStreams runs the recurrence back through the window for streams
// [lo, hi): the fused element-wise pass gives both sides' gradients (the
// input's over the activations) and passes dh∘z straight back to h_{t-1};
// then dh_{t-1} += W_hhᵀ·dHG_t.
func (r *gruLayer) backwardStreams(lo, hi int) {
	H, B, G := r.H, r.B, 3*r.H
	k := r.ctx.k
	for t := r.T - 1; t >= 0; t-- {
		for s := lo; s < hi; s++ {
			i := t*B + s
			var dhPrev []float32
			if t > 0 { // truncated BPTT: nothing flows into the carried state
				dhPrev = r.dh[(i-B)*H : (i-B+1)*H]
			}
			k.GRUBackward(r.act[i*G:(i+1)*G], r.dhg[i*G:(i+1)*G], r.act[i*G:(i+1)*G], r.hg[i*G:(i+1)*G],
				r.hs[i*H:(i+1)*H], r.dh[i*H:(i+1)*H], dhPrev)
		}
		if t == 0 {
			break
		}
		r.whh.mul(k, B == 1, lo, hi-lo, 1, rows(r.dhg, t, B, lo, hi, G), 1, rows(r.dh, t-1, B, lo, hi, H))
	}
}

// gruStep is one step of one stream, bound to the parameters once.
type gruStep struct {
	p         []float32
	rec       recurrence
	input     layerInput
	bih, bhh  []float32
	act, proj []float32
}

func (gruCell) NewStep(m *Model, l int, ctx *passContext) Step {
	H, p := m.Config.Hidden, m.Params
	t := gatedNames(m.Config, l, 3).bound(m)
	return &gruStep{p: p, rec: newRecurrence(t.whh, p, ctx), input: newStepInput(t.wih, 3*H, p, ctx), bih: t.bih.Of(p), bhh: t.bhh.Of(p),
		act: make([]float32, 3*H), proj: make([]float32, 3*H)}
}

func (s *gruStep) Recurrence() *recurrence { return &s.rec }

func (s *gruStep) Input(k kernels.Backend, id int32, x []float32) []float32 {
	return s.input.step(k, s.p, id, x, s.proj)
}

func (s *gruStep) Finish(k kernels.Backend, in []float32, prev, next []float32) {
	k.GRUForward(s.act, s.rec.out, in, s.bih, s.bhh, prev, next)
}
