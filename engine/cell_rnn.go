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
	in := Tensor{Shape: []int{H, H}}
	if l == 0 {
		in = Tensor{Shape: []int{c.Vocab, H}, Lookup: true}
	}
	if c.Notebook() {
		in.Name = "U"
		return rnnTensors{u: in, w: Tensor{Name: "W", Shape: []int{H, H}}, bih: Tensor{Name: "b", Shape: []int{H}}}
	}
	in.Name = fmt.Sprintf("rnn.weight_ih_l%d", l)
	return rnnTensors{
		u:   in,
		w:   Tensor{Name: fmt.Sprintf("rnn.weight_hh_l%d", l), Shape: []int{H, H}},
		bih: Tensor{Name: fmt.Sprintf("rnn.bias_ih_l%d", l), Shape: []int{H}},
		bhh: Tensor{Name: fmt.Sprintf("rnn.bias_hh_l%d", l), Shape: []int{H}},
	}
}

// bound returns layer l's tensors with their offsets in m's layout.
func (t rnnTensors) bound(m *Model) rnnTensors {
	t.u, t.w, t.bih = m.Layout.Tensor(t.u.Name), m.Layout.Tensor(t.w.Name), m.Layout.Tensor(t.bih.Name)
	if t.bhh.Name != "" {
		t.bhh = m.Layout.Tensor(t.bhh.Name)
	}
	return t
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

func (rnnCell) WindowFloats(c ModelConfig, l, T, B int) int {
	H := c.Hidden
	n := (T+1)*B*H + paddedFloats(H, H) + H // hs, the aligned W, the summed bias
	if l > 0 {
		n += T * B * H // the input's projection
	}
	return n
}

// rnnLayer is the vanilla RNN's window passes.
type rnnLayer struct {
	T, B, H, in int
	m           *Model
	t           rnnTensors
	grads       []float32
	split       *streamSplit

	// hs holds (T+1)·B rows of H: block 0 is the state carried in from the
	// previous window, block t+1 is h_t.
	hs []float32
	// proj holds, for layers above the first, the input's projection U·x_t
	// for the whole window (T·B rows of H).
	proj []float32
	// bias is b, or b_ih + b_hh for a layer with two biases.
	bias, biasSum []float32
	w             paddedCopy
	state         [][]float32 // State's answer, made once: block -1 of hs

	// The window's input, kept for Backward, and what the recurrence of
	// the current pass reads.
	ids  []int32
	x    []float32
	wr   []float32 // W with leading dimension ldw
	ldw  int
	dh   []float32 // Backward's dh, turned in place into dr
	fwd  func(lo, hi int)
	back func(lo, hi int)
}

func (rnnCell) NewLayer(m *Model, l int, grads []float32, T, B int, split *streamSplit) Layer {
	c := m.Config
	H := c.Hidden
	r := &rnnLayer{
		T: T, B: B, H: H, in: H, m: m, t: rnnNames(c, l).bound(m), grads: grads, split: split,
		hs: make([]float32, (T+1)*B*H),
		w:  newPaddedCopy(H, H),
	}
	r.biasSum = make([]float32, H)
	if l == 0 {
		r.in = c.Vocab
	} else {
		r.proj = make([]float32, T*B*H)
	}
	r.fwd, r.back = r.forwardStreams, r.backwardStreams
	r.state = [][]float32{r.block(-1)}
	return r
}

func (r *rnnLayer) Out() []float32     { return r.hs[r.B*r.H:] }
func (r *rnnLayer) State() [][]float32 { return r.state }
func (r *rnnLayer) Carry()             { copy(r.block(-1), r.block(r.T-1)) }

// block returns the B rows of hs at time t (t = -1 is the carried state).
func (r *rnnLayer) block(t int) []float32 {
	n := r.B * r.H
	return r.hs[(t+1)*n : (t+2)*n]
}

// sumBias returns b, or b_ih + b_hh into buf.
func (t rnnTensors) sumBias(p, buf []float32) []float32 {
	b := t.bih.Of(p)
	if t.bhh.Name == "" {
		return b
	}
	copy(buf, b)
	for i, v := range t.bhh.Of(p) {
		buf[i] += v
	}
	return buf
}

// Forward: for layers above the first, the input's projection U·x for the
// whole window is one GEMM; then the recurrence, for every stream (on two
// cores, half the streams each: streams.go).
func (r *rnnLayer) Forward(k kernels.Backend, ids []int32, x []float32) {
	p := r.m.Params
	r.ids, r.x = ids, x
	r.bias = r.t.sumBias(p, r.biasSum)
	if x != nil {
		k.Gemm(false, true, r.T*r.B, r.H, r.in, 1, x, r.in, r.t.u.Of(p), r.in, 0, r.proj, r.H)
	}
	r.wr, r.ldw = r.w.refresh(r.t.w.Of(p), r.H)
	r.split.run(k, 4*r.H*r.H, r.fwd)
}

// forwardStreams runs the recurrence forward through the window for streams
// [lo, hi): a_t = W·h_{t-1}, then h_t = tanh(a_t + U·x_t + b).
func (r *rnnLayer) forwardStreams(lo, hi int) {
	H, B := r.H, r.B
	k := r.split.k
	u := r.t.u.Of(r.m.Params)
	for t := 0; t < r.T; t++ {
		prev, cur := r.block(t - 1)[lo*H:hi*H], r.block(t)[lo*H:hi*H]
		if B == 1 {
			k.Gemv(false, H, H, 1, r.wr, r.ldw, prev, 0, cur)
		} else {
			k.Gemm(false, true, hi-lo, H, H, 1, prev, H, r.wr, r.ldw, 0, cur, H)
		}
		for s := lo; s < hi; s++ {
			var in []float32
			if r.ids != nil { // the one-hot input is a row lookup
				x := int(r.ids[t*B+s])
				in = u[x*H : (x+1)*H]
			} else {
				in = r.proj[(t*B+s)*H : (t*B+s+1)*H]
			}
			h := cur[(s-lo)*H : (s-lo+1)*H]
			k.AddTanh(h, h, in, r.bias)
		}
	}
}

// Backward: through time only the recurrence is per step; dW, dU and the
// input's gradient are window-wide GEMMs, db (and a one-hot input's dU)
// row adds.
func (r *rnnLayer) Backward(k kernels.Backend, dh, dx []float32) {
	H, n := r.H, r.T*r.B
	g, p := r.grads, r.m.Params
	du, db := r.t.u.Of(g), r.t.bih.Of(g)
	clear(db)
	if r.ids != nil {
		clear(du) // row adds accumulate into it
	}
	r.dh = dh
	r.wr, r.ldw = r.w.current(r.t.w.Of(p), H)
	r.split.run(k, 4*H*H, r.back)

	// dW = dRᵀ·H_prev; db and a one-hot input's dU are row adds of dr.
	k.Gemm(true, false, H, H, n, 1, dh, H, r.hs[:n*H], H, 0, r.t.w.Of(g), H)
	for i := 0; i < n; i++ {
		dr := dh[i*H : (i+1)*H]
		k.Axpy(1, dr, db)
		if r.ids != nil {
			x := int(r.ids[i])
			k.Axpy(1, dr, du[x*H:(x+1)*H])
		}
	}
	if r.ids == nil {
		k.Gemm(true, false, H, r.in, n, 1, dh, H, r.x, r.in, 0, du, r.in)
	}
	if r.t.bhh.Name != "" {
		copy(r.t.bhh.Of(g), db)
	}
	if dx != nil {
		k.Gemm(false, false, n, r.in, H, 1, dh, H, r.t.u.Of(p), r.in, 0, dx, r.in)
	}
}

// backwardStreams runs the recurrence back through the window for streams
// [lo, hi): dr_t = (1 - h_t²) ∘ dh_t, then dh_{t-1} += Wᵀ·dr_t.
func (r *rnnLayer) backwardStreams(lo, hi int) {
	H, B := r.H, r.B
	k := r.split.k
	for t := r.T - 1; t >= 0; t-- {
		dr := r.dh[(t*B+lo)*H : (t*B+hi)*H]
		k.TanhGrad(dr, r.block(t)[lo*H:hi*H], dr)
		if t == 0 {
			break // truncated BPTT: nothing flows into the carried state
		}
		prev := r.dh[((t-1)*B+lo)*H : ((t-1)*B+hi)*H]
		if B == 1 {
			k.Gemv(true, H, H, 1, r.wr, r.ldw, dr, 1, prev)
		} else {
			k.Gemm(false, false, hi-lo, H, H, 1, dr, H, r.wr, r.ldw, 1, prev, H)
		}
	}
}

// rnnStep is one step of one stream: h = tanh(W·h + U·x + b).
type rnnStep struct {
	m          *Model
	t          rnnTensors
	H, in      int
	proj, bias []float32
}

func (rnnCell) NewStep(m *Model, l int) Step {
	H := m.Config.Hidden
	s := &rnnStep{m: m, t: rnnNames(m.Config, l).bound(m), H: H, in: H, proj: make([]float32, H), bias: make([]float32, H)}
	if l == 0 {
		s.in = m.Config.Vocab
	}
	return s
}

func (s *rnnStep) Step(k kernels.Backend, id int32, x []float32, prev, next []float32) {
	H, p := s.H, s.m.Params
	u := s.t.u.Of(p)
	k.Gemv(false, H, H, 1, s.t.w.Of(p), H, prev, 0, next)
	in := s.proj
	if x == nil {
		in = u[int(id)*H : (int(id)+1)*H]
	} else {
		k.Gemv(false, H, s.in, 1, u, s.in, x, 0, s.proj)
	}
	k.AddTanh(next, next, in, s.t.sumBias(p, s.bias))
}
