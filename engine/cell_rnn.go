package engine

import (
	"fmt"
	"math/rand/v2"

	"charrnn/kernels"
)

// The vanilla RNN of the notebook:
//
//	h_t = tanh(W·h_{t-1} + U·x_t + b)
//
// A one-layer model is the notebook's and keeps its names (U, W, b) and
// initialisation (U in ±1/√Vocab, W in ±1/√H, b zero). Stacked, each layer
// is PyTorch's nn.RNN layer: weight_ih (U), weight_hh (W) and two biases,
// bias_ih and bias_hh, whose sum is b, all initialised in ±1/√H.
type rnnCell struct{}

func init() { RegisterCell("rnn", rnnCell{}) }

// rnnTensors are one layer's tensors; bhh is absent (empty name) in the
// notebook's model.
type rnnTensors struct{ u, w, bih, bhh Tensor }

func (rnnCell) Tensors(c ModelConfig, l int) []Tensor {
	t := rnnNames(c, l)
	out := []Tensor{t.u, t.w, t.bih}
	if t.bhh.Name != "" {
		out = append(out, t.bhh)
	}
	return out
}

func rnnNames(c ModelConfig, l int) rnnTensors {
	H := c.Hidden
	in := inputTensor(c, l, 1)
	if c.Notebook() {
		in.Name = "U"
		return rnnTensors{u: in, w: Tensor{Name: "W", Shape: []int{H, H}}, bih: Tensor{Name: "b", Shape: []int{H}}}
	}
	return rnnTensors{
		u:   in,
		w:   Tensor{Name: fmt.Sprintf("rnn.weight_hh_l%d", l), Shape: []int{H, H}},
		bih: Tensor{Name: fmt.Sprintf("rnn.bias_ih_l%d", l), Shape: []int{H}},
		bhh: Tensor{Name: fmt.Sprintf("rnn.bias_hh_l%d", l), Shape: []int{H}},
	}
}

// inputTensor is layer l's input weights weight_ih for g gates: for layer 0
// a lookup table of one row per symbol, above it g·H×H.
func inputTensor(c ModelConfig, l, g int) Tensor {
	name := fmt.Sprintf("rnn.weight_ih_l%d", l)
	if l == 0 {
		return Tensor{Name: name, Shape: []int{c.Vocab, g * c.Hidden}, Lookup: true}
	}
	return Tensor{Name: name, Shape: []int{g * c.Hidden, c.Hidden}}
}

// bound returns the tensors with their offsets in m's layout.
func (t rnnTensors) bound(m *Model) rnnTensors {
	t.u, t.w, t.bih = m.Layout.Tensor(t.u.Name), m.Layout.Tensor(t.w.Name), m.Layout.Tensor(t.bih.Name)
	if t.bhh.Name != "" {
		t.bhh = m.Layout.Tensor(t.bhh.Name)
	}
	return t
}

// bias is b, or b_ih + b_hh (into buf) for a layer with two biases.
func (t rnnTensors) bias(p, buf []float32) []float32 {
	if t.bhh.Name == "" {
		return t.bih.Of(p)
	}
	return biasSum(p, t.bih, t.bhh, buf)
}

func (rnnCell) StateVectors() int { return 1 }

func (rnnCell) Init(m *Model, l int, rng *rand.Rand) {
	c := m.Config
	t := rnnNames(c, l).bound(m)
	if c.Notebook() {
		uniform(rng, t.u.Of(m.Params), c.Vocab)
		uniform(rng, t.w.Of(m.Params), c.Hidden)
		return
	}
	for _, x := range []Tensor{t.u, t.w, t.bih, t.bhh} {
		uniform(rng, x.Of(m.Params), c.Hidden)
	}
}

func (rnnCell) WindowFloats(c ModelConfig, l, T, B int, p Precision) int {
	H := c.Hidden
	// hs, W, the summed bias, the input's side
	return (T+1)*B*H + recurrentWeightsFloats(H, H, B, p) + H + inputFloats(l, H, H, T*B, p, true)
}

// rnnLayer is the vanilla RNN's window passes. Backward turns dh into dr in
// place.
type rnnLayer struct {
	layerBase
	t rnnTensors
	// bias is b, or b_ih + b_hh for a layer with two biases.
	bias, biasBuf []float32
	w             weights
}

func (rnnCell) NewLayer(m *Model, l int, grads []float32, T, B int, ctx *passContext) Layer {
	H := m.Config.Hidden
	t := rnnNames(m.Config, l).bound(m)
	r := &rnnLayer{layerBase: newLayerBase(m, grads, T, B, ctx, t.u, H, nil), t: t, biasBuf: make([]float32, H), w: newRecurrentWeights(t.w, ctx, B)}
	r.fwd, r.back = r.forwardStreams, r.backwardStreams
	r.fwdUnits, r.backUnits = r.forwardUnits, r.backwardUnits
	r.state = [][]float32{r.block(-1)}
	return r
}

func (r *rnnLayer) Carry() { copy(r.block(-1), r.block(r.T-1)) }

// block returns the B rows of hs at time t (t = -1 is the carried state).
func (r *rnnLayer) block(t int) []float32 {
	n := r.B * r.H
	return r.hs[(t+1)*n : (t+2)*n]
}

// Forward: the input's side (a lookup, or one GEMM for the window), then
// the recurrence, for every stream (on two cores, half the streams each:
// streams.go).
func (r *rnnLayer) Forward(k kernels.Backend, ids []int32, x []float32) {
	p := r.m.Params
	r.input.forward(k, p, ids, x)
	r.bias = r.t.bias(p, r.biasBuf)
	r.ctx.forward(k, &r.w, p, r.H*r.H, r.fwd, r.fwdUnits)
}

// forwardStreams runs the recurrence forward through the window for streams
// [lo, hi): a_t = W·h_{t-1}, then h_t = tanh(a_t + U·x_t + b).
func (r *rnnLayer) forwardStreams(lo, hi int) {
	H, B := r.H, r.B
	k := r.ctx.k
	halves := r.ctx.inHalves(&r.w, H*H)
	for t := 0; t < r.T; t++ {
		prev, cur := r.block(t - 1)[lo*H:hi*H], r.block(t)[lo*H:hi*H]
		if halves {
			r.w.mulHalves(false, prev, 0, cur)
		} else {
			r.w.mulT(k, B == 1, lo, hi-lo, 1, prev, 0, cur)
		}
		for s := lo; s < hi; s++ {
			h := cur[(s-lo)*H : (s-lo+1)*H]
			k.AddTanh(h, h, r.input.row(t*B+s), r.bias)
		}
	}
}

// forwardUnits is forwardStreams for units [lo, hi) of a single stream,
// on core c of a lockstep (lockstep.go): it makes its rows of the bfloat16
// W and Wᵀ in mixed precision, then at each step shares h_{t-1} with the
// other core and computes its units of h_t (on the tiles summing over its
// own half of h_{t-1} while the other's arrives).
func (r *rnnLayer) forwardUnits(c, lo, hi int) {
	l, k := r.ctx.lock, r.ctx.k
	r.w.refreshRows(r.m.Params, lo, hi)
	o0, o1 := otherHalf(lo, hi, r.H)
	halves := r.ctx.inHalves(&r.w, r.H*r.H)
	r.put(c, 0, r.block(-1), lo, hi, halves)
	for t := 0; t < r.T; t++ {
		h := r.block(t)
		if halves {
			// Its own half of h_{t-1} first, while the other's arrives.
			l.publish(c, t)
			r.w.mulTPart(lo, hi, lo, hi, l.mine(c), 0, h[lo:hi])
			if !l.await(c, t) {
				return
			}
			r.w.mulTPart(lo, hi, o0, o1, l.take(c, t, o0, o1), 1, h[lo:hi])
		} else {
			if !l.share(c, t) {
				return
			}
			r.w.mulTRows(k, lo, hi, r.block(t-1), l.vec(t), h[lo:hi])
		}
		k.AddTanh(h[lo:hi], h[lo:hi], r.input.row(t)[lo:hi], r.bias[lo:hi])
		if t+1 < r.T {
			r.put(c, t+1, h, lo, hi, halves)
		}
	}
}

// put makes units [lo, hi) of v core c's half of the lockstep's vector j,
// into the core's private copy too where its products read that (halves).
func (r *rnnLayer) put(c, j int, v []float32, lo, hi int, halves bool) {
	if halves {
		r.ctx.lock.putMine(c, j, v, lo, hi)
		return
	}
	r.ctx.lock.put(j, v, lo, hi)
}

// Backward: through time only the recurrence is per step; dW and the
// input's side are window-wide (GEMMs, or row adds for a lookup), db row
// adds.
func (r *rnnLayer) Backward(k kernels.Backend, dh, dx []float32) {
	H, n := r.H, r.T*r.B
	g, p := r.grads, r.m.Params
	r.dh = dh
	// The recurrence back, and dW = dRᵀ·H_prev (beside it where it can
	// be); then db = Σ dr, the input weights' and the input's gradients
	// from dR.
	r.ctx.backward(k, &r.w, H*H, n, r.back, r.backUnits, dh, r.hs[:n*H], g)
	r.ctx.sumRows(k, r.t.bih.Of(g), dh)
	if r.t.bhh.Name != "" {
		copy(r.t.bhh.Of(g), r.t.bih.Of(g))
	}
	r.input.backward(k, p, g, dh, dx)
}

// backwardStreams runs the recurrence back through the window for streams
// [lo, hi): dr_t = (1 - h_t²) ∘ dh_t, then dh_{t-1} += Wᵀ·dr_t.
func (r *rnnLayer) backwardStreams(lo, hi int) {
	H, B := r.H, r.B
	k := r.ctx.k
	halves := r.ctx.inHalves(&r.w, H*H)
	for t := r.T - 1; t >= 0; t-- {
		dr := r.dh[(t*B+lo)*H : (t*B+hi)*H]
		k.TanhGrad(dr, r.block(t)[lo*H:hi*H], dr)
		if t == 0 {
			break // truncated BPTT: nothing flows into the carried state
		}
		prev := r.dh[((t-1)*B+lo)*H : ((t-1)*B+hi)*H]
		if halves {
			r.w.mulHalves(true, dr, 1, prev)
		} else {
			r.w.mul(k, B == 1, lo, hi-lo, 1, dr, 1, prev)
		}
	}
}

// backwardUnits is backwardStreams for units [lo, hi) of a single stream,
// on core c of a lockstep (see forwardUnits): at each step it shares dr_t
// with the other core and computes its units of dh_{t-1}.
func (r *rnnLayer) backwardUnits(c, lo, hi int) {
	H, T := r.H, r.T
	l, k := r.ctx.lock, r.ctx.k
	o0, o1 := otherHalf(lo, hi, H)
	halves := r.ctx.inHalves(&r.w, H*H)
	for t := T - 1; ; t-- {
		dr := r.dh[t*H : (t+1)*H]
		k.TanhGrad(dr[lo:hi], r.block(t)[lo:hi], dr[lo:hi])
		if t == 0 {
			return // truncated BPTT
		}
		j := T - 1 - t
		r.put(c, j, dr, lo, hi, halves)
		prev := r.dh[(t-1)*H+lo : (t-1)*H+hi]
		if halves {
			// Its own half of dr_t first, while the other's arrives.
			l.publish(c, j)
			r.w.mulPart(lo, hi, lo, hi, l.mine(c), 1, prev)
			if !l.await(c, j) {
				return
			}
			r.w.mulPart(lo, hi, o0, o1, l.take(c, j, o0, o1), 1, prev)
			continue
		}
		if !l.share(c, j) {
			return
		}
		r.w.mulRows(k, lo, hi, dr, l.vec(j), prev)
	}
}

// rnnStep is one step of one stream: h = tanh(W·h + U·x + b). It is bound
// to the parameters once; a layer with two biases sums them at every step,
// as the parameters may have changed since the last.
type rnnStep struct {
	p        []float32
	rec      recurrence
	input    layerInput
	bih, bhh []float32 // bhh is nil in the notebook's model
	proj     []float32
	bias     []float32 // b_ih + b_hh
}

func (rnnCell) NewStep(m *Model, l int, ctx *passContext) Step {
	H, p := m.Config.Hidden, m.Params
	t := rnnNames(m.Config, l).bound(m)
	s := &rnnStep{p: p, rec: newRecurrence(t.w, p, ctx), input: newStepInput(t.u, H, p, ctx), bih: t.bih.Of(p), proj: make([]float32, H)}
	if m.Config.Layers == 1 && t.u.Lookup {
		s.rec.mid = samplerMid(H, m.Config.Vocab)
	}
	if t.bhh.Name != "" {
		s.bhh, s.bias = t.bhh.Of(p), make([]float32, H)
	}
	return s
}

func (s *rnnStep) Recurrence() *recurrence { return &s.rec }

func (s *rnnStep) Input(k kernels.Backend, id int32, x []float32) []float32 {
	return s.input.step(k, s.p, id, x, s.proj)
}

func (s *rnnStep) Finish(k kernels.Backend, in []float32, prev, next []float32) {
	bias := s.bih
	if s.bhh != nil {
		bias = addBiases(s.bias, s.bih, s.bhh)
	}
	k.AddTanh(next, s.rec.out, in, bias)
}
