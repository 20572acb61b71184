package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"charrnn/kernels"
)

// ref64 is a float64 model written straight from the cells' equations, one
// stream and one timestep at a time, with no kernels: the plain reference
// the engine's losses and gradients are checked against. It reads its
// parameters from a float64 copy of the engine's slab, through the layout.
type ref64 struct {
	c   ModelConfig
	lay Layout
	p   []float64
	// numeric is the loss's gradient by central differences, once computed.
	numeric []float64
}

func ref64From(m *Model) *ref64 {
	return &ref64{c: m.Config, lay: m.Layout, p: f64(m.Params)}
}

func f64(s []float32) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = float64(v)
	}
	return out
}

func (r *ref64) t(name string) []float64 {
	t := r.lay.Tensor(name)
	return r.p[t.Offset : t.Offset+t.Size()]
}

// inputProduct is W_ih·x for layer l: column id of the one-hot input's
// weights (a row of the lookup table), or the product with x.
func (r *ref64) inputProduct(l int, id int32, x []float64) []float64 {
	name := fmt.Sprintf("rnn.weight_ih_l%d", l)
	if r.c.Notebook() {
		name = "U"
	}
	t := r.lay.Tensor(name)
	w := r.t(name)
	rows := t.ExportShape()[0]
	out := make([]float64, rows)
	if t.Lookup {
		copy(out, w[int(id)*rows:(int(id)+1)*rows])
		return out
	}
	for i := range out {
		for j, v := range x {
			out[i] += w[i*len(x)+j] * v
		}
	}
	return out
}

// recurrentProduct is W_hh·h for layer l (W for the notebook's model).
func (r *ref64) recurrentProduct(l int, h []float64) []float64 {
	name := fmt.Sprintf("rnn.weight_hh_l%d", l)
	if r.c.Notebook() {
		name = "W"
	}
	w := r.t(name)
	out := make([]float64, len(w)/len(h))
	for i := range out {
		for j, v := range h {
			out[i] += w[i*len(h)+j] * v
		}
	}
	return out
}

// bias returns layer l's bias_ih and bias_hh (b and zeros for the
// notebook's model).
func (r *ref64) bias(l int) (bih, bhh []float64) {
	if r.c.Notebook() {
		return r.t("b"), make([]float64, r.c.Hidden)
	}
	return r.t(fmt.Sprintf("rnn.bias_ih_l%d", l)), r.t(fmt.Sprintf("rnn.bias_hh_l%d", l))
}

func sigm(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// step advances layer l by one input; state is h (and c for the LSTM).
func (r *ref64) step(l int, id int32, x []float64, state [][]float64) [][]float64 {
	H := r.c.Hidden
	a, b := r.inputProduct(l, id, x), r.recurrentProduct(l, state[0])
	bih, bhh := r.bias(l)
	h := make([]float64, H)
	switch r.c.Cell {
	case "rnn":
		for i := range h {
			h[i] = math.Tanh(a[i] + bih[i] + b[i] + bhh[i])
		}
		return [][]float64{h}
	case "lstm":
		c := make([]float64, H)
		for j := range h {
			pre := func(k int) float64 { return a[k*H+j] + bih[k*H+j] + b[k*H+j] + bhh[k*H+j] }
			i, f, g, o := sigm(pre(0)), sigm(pre(1)), math.Tanh(pre(2)), sigm(pre(3))
			c[j] = f*state[1][j] + i*g
			h[j] = o * math.Tanh(c[j])
		}
		return [][]float64{h, c}
	case "gru":
		for j := range h {
			rg := sigm(a[j] + bih[j] + b[j] + bhh[j])
			z := sigm(a[H+j] + bih[H+j] + b[H+j] + bhh[H+j])
			n := math.Tanh(a[2*H+j] + bih[2*H+j] + rg*(b[2*H+j]+bhh[2*H+j]))
			h[j] = (1-z)*n + z*state[0][j]
		}
		return [][]float64{h}
	}
	panic("no reference for cell " + r.c.Cell)
}

// loss is (1/B) Σ_s Σ_t -log y_t[target]: inputs and targets are time-major;
// state[l][v][s] is stream s's state vector v of layer l at the start;
// masks[l], when not nil, is layer l's dropout mask (T·B rows of H).
func (r *ref64) loss(state [][][][]float64, inputs, targets []int32, B int, masks [][]float32) float64 {
	H, V := r.c.Hidden, r.c.Vocab
	T := len(inputs) / B
	vw, cb := r.output()
	var total float64
	for s := 0; s < B; s++ {
		st := make([][][]float64, r.c.Layers)
		for l := range st {
			for _, v := range state[l] {
				st[l] = append(st[l], v[s])
			}
		}
		for t := 0; t < T; t++ {
			id := inputs[t*B+s]
			var x []float64
			for l := range st {
				st[l] = r.step(l, id, x, st[l])
				x = append([]float64(nil), st[l][0]...)
				if masks != nil {
					for i := range x {
						x[i] *= float64(masks[l][(t*B+s)*H+i])
					}
				}
			}
			o := make([]float64, V)
			mx := math.Inf(-1)
			for k := range o {
				o[k] = cb[k]
				for j := 0; j < H; j++ {
					o[k] += vw[k*H+j] * x[j]
				}
				mx = math.Max(mx, o[k])
			}
			var sum float64
			for k := range o {
				sum += math.Exp(o[k] - mx)
			}
			total += (math.Log(sum) - (o[targets[t*B+s]] - mx)) / float64(B)
		}
	}
	return total
}

func (r *ref64) output() (v, c []float64) {
	vt, ct := outputTensors(r.c)[0], outputTensors(r.c)[1]
	return r.t(vt.Name), r.t(ct.Name)
}

// TestGradients checks, on random small models of every cell, 1 to 3
// layers, with and without dropout (with the masks the engine drew), that
// the float32 engine's loss matches the float64 reference's and its
// gradients match central finite differences of the reference, on every
// backend.
func TestGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 7))
	trial := 0
	for _, cell := range CellNames() {
		for _, layers := range []int{1, 2, 3} {
			for _, dropout := range []float64{0, 0.3} {
				trial++
				H, V, T, B := 1+rng.IntN(9), 2+rng.IntN(6), 1+rng.IntN(6), 1+rng.IntN(3)
				c := ModelConfig{Cell: cell, Layers: layers, Hidden: H, Vocab: V, Dropout: dropout}
				t.Run(fmt.Sprintf("%s/L=%d/dropout=%v/H=%d/V=%d/T=%d/B=%d", cell, layers, dropout, H, V, T, B), func(t *testing.T) {
					checkGradients(t, rng, c, T, B, uint64(trial))
				})
			}
		}
	}
}

func checkGradients(t *testing.T, rng *rand.Rand, c ModelConfig, T, B int, seed uint64) {
	m, err := NewModel(c, seed)
	if err != nil {
		t.Fatal(err)
	}
	for _, tn := range m.Layout.Tensors { // non-zero biases exercise their gradients
		if len(tn.Shape) == 1 {
			for i, b := 0, tn.Of(m.Params); i < len(b); i++ {
				b[i] = float32(rng.Float64() - 0.5)
			}
		}
	}
	inputs, targets := make([]int32, T*B), make([]int32, T*B)
	for i := range inputs {
		inputs[i], targets[i] = int32(rng.IntN(c.Vocab)), int32(rng.IntN(c.Vocab))
	}
	vectors := cells[c.Cell].StateVectors()
	state := make([]float32, c.Layers*vectors*B*c.Hidden)
	for i := range state {
		state[i] = float32(rng.Float64() - 0.5)
	}
	// The reference's view of the same state: [layer][vector][stream].
	refState := make([][][][]float64, c.Layers)
	off := 0
	for l := range refState {
		refState[l] = make([][][]float64, vectors)
		for v := range refState[l] {
			for s := 0; s < B; s++ {
				refState[l][v] = append(refState[l][v], f64(state[off:off+c.Hidden]))
				off += c.Hidden
			}
		}
	}

	ref := ref64From(m)
	var masks [][]float32
	for _, k := range kernels.Supported() {
		g := make([]float32, len(m.Params))
		for i := range g { // Backward must overwrite, never read, g
			g[i] = float32(math.NaN())
		}
		ws := NewWorkspace(m, g, T, B)
		ws.trainDropout(seed, 0)
		ws.dropStep = 5
		copy(ws.Inputs, inputs)
		copy(ws.Targets, targets)
		ws.LoadState(state)
		loss := ws.Forward(k) / float64(B)
		ws.Backward(k)
		if masks == nil && ws.drop != nil {
			for _, d := range ws.drop {
				masks = append(masks, append([]float32(nil), d.mask...))
			}
		}
		refLoss := ref.loss(refState, inputs, targets, B, masks)
		if e := relErr(loss, refLoss, 1e-6); e > 1e-5 {
			t.Fatalf("%s: loss %g, reference %g", k.Name(), loss, refLoss)
		}
		// Central differences of the float64 reference, parameter by
		// parameter (computed once, for the first backend).
		if k == kernels.Supported()[0] {
			numeric := make([]float64, len(ref.p))
			const eps = 1e-5
			for i := range ref.p {
				old := ref.p[i]
				ref.p[i] = old + eps
				up := ref.loss(refState, inputs, targets, B, masks)
				ref.p[i] = old - eps
				down := ref.loss(refState, inputs, targets, B, masks)
				ref.p[i] = old
				numeric[i] = (up - down) / (2 * eps)
			}
			ref.numeric = numeric
		}
		for _, tn := range m.Layout.Tensors {
			for i, v := range tn.Of(g) {
				want := ref.numeric[tn.Offset+i]
				if e := relErr(float64(v), want, 1e-4); e > 2e-3 {
					t.Fatalf("%s: d%s[%d] = %g, finite differences %g, relative error %g", k.Name(), tn.Name, i, v, want, e)
				}
			}
		}
	}
}

// relErr is |a-b| relative to the larger magnitude, with a floor so that
// gradients that are zero up to rounding do not divide by nothing.
func relErr(a, b, floor float64) float64 {
	return math.Abs(a-b) / math.Max(math.Max(math.Abs(a), math.Abs(b)), floor)
}
