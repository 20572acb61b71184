package engine

import (
	"fmt"
	"math/rand/v2"

	"charrnn/kernels"
)

// The LSTM of PyTorch's nn.LSTM, gates in its order i, f, g, o:
//
//	i = σ(W_ii x + b_ii + W_hi h + b_hi)    f = σ(W_if x + b_if + W_hf h + b_hf)
//	g = tanh(W_ig x + b_ig + W_hg h + b_hg) o = σ(W_io x + b_io + W_ho h + b_ho)
//	c' = f∘c + i∘g                          h' = o∘tanh(c')
//
// Each layer has PyTorch's tensors weight_ih (4H×in), weight_hh (4H×H),
// bias_ih and bias_hh (4H), initialised as PyTorch does (uniform in ±1/√H),
// except that the forget gate's bias_ih starts at 1, as char-rnn's does, so
// the cell remembers from the start. A stream carries h and c.
type lstmCell struct{}

func init() { RegisterCell("lstm", lstmCell{}) }

// gatedTensors are one gated layer's tensors (LSTM and GRU).
type gatedTensors struct{ wih, whh, bih, bhh Tensor }

func gatedNames(c ModelConfig, l, gates int) gatedTensors {
	H := c.Hidden
	return gatedTensors{
		wih: inputTensor(c, l, gates),
		whh: Tensor{Name: fmt.Sprintf("rnn.weight_hh_l%d", l), Shape: []int{gates * H, H}},
		bih: Tensor{Name: fmt.Sprintf("rnn.bias_ih_l%d", l), Shape: []int{gates * H}},
		bhh: Tensor{Name: fmt.Sprintf("rnn.bias_hh_l%d", l), Shape: []int{gates * H}},
	}
}

func (t gatedTensors) list() []Tensor { return []Tensor{t.wih, t.whh, t.bih, t.bhh} }

func (t gatedTensors) bound(m *Model) gatedTensors {
	lay := m.Layout
	return gatedTensors{lay.Tensor(t.wih.Name), lay.Tensor(t.whh.Name), lay.Tensor(t.bih.Name), lay.Tensor(t.bhh.Name)}
}

// initGated initialises a gated layer as PyTorch does: every tensor uniform
// in ±1/√H.
func initGated(m *Model, t gatedTensors, rng *rand.Rand) {
	for _, x := range t.list() {
		uniform(rng, x.Of(m.Params), m.Config.Hidden)
	}
}

func (lstmCell) Tensors(c ModelConfig, l int) []Tensor { return gatedNames(c, l, 4).list() }
func (lstmCell) StateVectors() int                     { return 2 }

func (lstmCell) Init(m *Model, l int, rng *rand.Rand) {
	t := gatedNames(m.Config, l, 4).bound(m)
	initGated(m, t, rng)
	H := m.Config.Hidden
	forget := t.bih.Of(m.Params)[H : 2*H]
	for i := range forget {
		forget[i] = 1
	}
}

func (lstmCell) WindowFloats(c ModelConfig, l, T, B int, p Precision) int {
	H, n := c.Hidden, T*B
	// hs and cs, tanh(c), the gates (which hold the input's projection, the
	// activations, then their gradient), the carried dc, W_hh, the summed
	// bias, the zero input, the input's side
	return 2*(T+1)*B*H + n*H + n*4*H + B*H + recurrentWeightsFloats(4*H, H, B, p) + 2*4*H + inputFloats(l, 4*H, H, n, p, false)
}

// lstmLayer is the LSTM's window passes.
type lstmLayer struct {
	layerBase
	t gatedTensors
	// cs holds (T+1)·B rows of H, as hs does: block 0 is the c carried in
	// from the previous window, block t+1 is c_t.
	cs  []float32
	tcs []float32 // T·B rows of H: tanh(c_t)
	// gates holds T·B rows of 4H: the pre-activations, then the gates'
	// activations, then, step by step back, their gradient dG. Above the
	// first layer the window's input projection is written there and the
	// recurrent product adds onto it, as reading it again from a buffer of
	// its own, long out of cache, made the element-wise pass wait on
	// memory; so does writing dG over the activations it is made from.
	gates []float32
	dc    []float32 // B rows of H: the gradient flowing back into c
	bias  []float32 // b_ih + b_hh
	// noInput is a row of 4H zeros: the input the element-wise pass adds
	// once the product has added it.
	noInput []float32
	whh     weights
}

func (lstmCell) NewLayer(m *Model, l int, grads []float32, T, B int, ctx *passContext) Layer {
	H, n := m.Config.Hidden, T*B
	t := gatedNames(m.Config, l, 4).bound(m)
	gates := make([]float32, n*4*H)
	r := &lstmLayer{
		layerBase: newLayerBase(m, grads, T, B, ctx, t.wih, 4*H, gates),
		t:         t,
		cs:        make([]float32, (T+1)*B*H),
		tcs:       make([]float32, n*H),
		gates:     gates,
		dc:        make([]float32, B*H),
		bias:      make([]float32, 4*H),
		noInput:   make([]float32, 4*H),
		whh:       newRecurrentWeights(t.whh, ctx, B),
	}
	r.fwd, r.back = r.forwardStreams, r.backwardStreams
	r.state = [][]float32{r.hs[:B*H], r.cs[:B*H]}
	return r
}

func (r *lstmLayer) Carry() {
	n := r.B * r.H
	copy(r.hs[:n], r.hs[r.T*n:])
	copy(r.cs[:n], r.cs[r.T*n:])
}

func (r *lstmLayer) Forward(k kernels.Backend, ids []int32, x []float32) {
	p := r.m.Params
	r.input.forward(k, p, ids, x)
	biasSum(p, r.t.bih, r.t.bhh, r.bias)
	r.ctx.forward(k, &r.whh, p, 4*r.H*r.H, r.fwd, nil)
}

// forwardStreams runs the recurrence through the window for streams [lo,
// hi): per step one product over all four gates, W_hh·h_{t-1} (added onto
// the input's projection above the first layer), then the fused
// element-wise pass.
func (r *lstmLayer) forwardStreams(lo, hi int) {
	H, B, G := r.H, r.B, 4*r.H
	k := r.ctx.k
	lookup := r.input.w.Lookup
	beta := float32(1)
	if lookup {
		beta = 0
	}
	for t := 0; t < r.T; t++ {
		r.whh.mulT(k, B == 1, lo, hi-lo, 1, rows(r.hs, t, B, lo, hi, H), beta, rows(r.gates, t, B, lo, hi, G))
		for s := lo; s < hi; s++ {
			i := t*B + s
			in := r.noInput
			if lookup {
				in = r.input.row(i)
			}
			k.LSTMForward(r.gates[i*G:(i+1)*G], in, r.bias,
				r.cs[i*H:(i+1)*H], r.cs[(i+B)*H:(i+B+1)*H], r.tcs[i*H:(i+1)*H], r.hs[(i+B)*H:(i+B+1)*H])
		}
	}
}

func (r *lstmLayer) Backward(k kernels.Backend, dh, dx []float32) {
	H, n := r.H, r.T*r.B
	g, p := r.grads, r.m.Params
	r.dh = dh
	// The recurrence back, and dW_hh = dGᵀ·H_prev (beside it where it can
	// be); then, window-wide, db = Σ dG and the input's side.
	r.ctx.backward(k, &r.whh, 4*H*H, n, r.back, nil, r.gates, r.hs[:n*H], g)
	r.ctx.sumRows(k, r.t.bih.Of(g), r.gates)
	copy(r.t.bhh.Of(g), r.t.bih.Of(g))
	r.input.backward(k, p, g, r.gates, dx)
}

// backwardStreams runs the recurrence back through the window for streams
// [lo, hi): the fused element-wise pass gives the gates' gradient dG_t, in
// place of their activations, and carries dc back; then dh_{t-1} +=
// W_hhᵀ·dG_t.
func (r *lstmLayer) backwardStreams(lo, hi int) {
	H, B, G := r.H, r.B, 4*r.H
	k := r.ctx.k
	clear(r.dc[lo*H : hi*H]) // truncated BPTT: nothing flows in from the next window
	for t := r.T - 1; t >= 0; t-- {
		for s := lo; s < hi; s++ {
			i := t*B + s
			k.LSTMBackward(r.gates[i*G:(i+1)*G], r.gates[i*G:(i+1)*G], r.cs[i*H:(i+1)*H], r.tcs[i*H:(i+1)*H],
				r.dh[i*H:(i+1)*H], r.dc[s*H:(s+1)*H])
		}
		if t == 0 {
			break
		}
		r.whh.mul(k, B == 1, lo, hi-lo, 1, rows(r.gates, t, B, lo, hi, G), 1, rows(r.dh, t-1, B, lo, hi, H))
	}
}

// lstmStep is one step of one stream, bound to the parameters once; it
// sums the biases at every step, as the parameters may have changed since
// the last.
type lstmStep struct {
	p              []float32
	rec            recurrence
	input          layerInput
	bih, bhh       []float32
	proj, bias, tc []float32
}

func (lstmCell) NewStep(m *Model, l int, ctx *passContext) Step {
	H, p := m.Config.Hidden, m.Params
	t := gatedNames(m.Config, l, 4).bound(m)
	return &lstmStep{p: p, rec: newRecurrence(t.whh, p, ctx), input: newStepInput(t.wih, 4*H, p, ctx), bih: t.bih.Of(p), bhh: t.bhh.Of(p),
		proj: make([]float32, 4*H), bias: make([]float32, 4*H), tc: make([]float32, H)}
}

func (s *lstmStep) Recurrence() *recurrence { return &s.rec }

func (s *lstmStep) Input(k kernels.Backend, id int32, x []float32) []float32 {
	return s.input.step(k, s.p, id, x, s.proj)
}

func (s *lstmStep) Finish(k kernels.Backend, in []float32, prev, next []float32) {
	H := len(s.tc)
	k.LSTMForward(s.rec.out, in, addBiases(s.bias, s.bih, s.bhh), prev[H:], next[H:], s.tc, next[:H])
}
