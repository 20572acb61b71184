package engine

import (
	"math/rand/v2"
	"slices"

	"charrnn/kernels"
)

// Cell is one kind of recurrent layer. A cell is one file: the tensors it
// adds to the layout, the state a stream carries, its forward and backward
// passes over a window, and the single step that sampling and beam search
// share. It registers itself (RegisterCell) and no other file names its
// tensors.
type Cell interface {
	// Tensors lists layer l's tensors in a model of configuration c
	// (the layout sets their offsets). Layer 0's input is one-hot: its
	// input weights are a Lookup tensor.
	Tensors(c ModelConfig, l int) []Tensor
	// StateVectors is how many H-wide vectors a stream carries from one
	// window (or character) to the next; the first is h, the layer's output.
	StateVectors() int
	// Init sets layer l's initial parameters, drawing from rng.
	Init(m *Model, l int, rng *rand.Rand)
	// WindowFloats is how many floats NewLayer allocates for windows of T
	// steps of B streams, its products in precision p.
	WindowFloats(c ModelConfig, l, T, B int, p Precision) int
	// NewLayer binds layer l of m, and a gradient slab laid out as m's
	// parameters (nil when the layer only runs forward), to buffers for
	// windows of T steps of B streams. The recurrence shares the streams
	// between cores, and reads the weights, through ctx.
	NewLayer(m *Model, l int, grads []float32, T, B int, ctx *passContext) Layer
	// NewStep binds layer l of m for single steps of one stream, reading
	// the weights through ctx.
	NewStep(m *Model, l int, ctx *passContext) Step
}

// Layer is one recurrent layer's passes over a window of T steps of B
// streams. Rows are time-major: row t·B+s is stream s at time t.
type Layer interface {
	// Forward runs the window: the input is ids (layer 0) or x, the T·B
	// rows of H of the layer below's output. It keeps what Backward needs.
	Forward(k kernels.Backend, ids []int32, x []float32)
	// Out is the window's output h_1..h_T, T·B rows of H.
	Out() []float32
	// Window is the window's hidden states h_0..h_T, (T+1)·B rows of H:
	// the carried h, then Out.
	Window() []float32
	// Backward takes dh, the loss's gradient with respect to Out (it may
	// overwrite it), writes the layer's parameter gradients (overwriting
	// what was there) and, when dx is not nil, the gradient with respect to
	// the input x. Nothing flows into the carried state (truncated BPTT).
	Backward(k kernels.Backend, dh, dx []float32)
	// State is the state carried into the window: StateVectors slabs of B
	// rows of H, h first.
	State() [][]float32
	// Carry moves the window's last state into State, for the next window.
	Carry()
}

// Step advances one stream of a layer by one input, in two parts: the
// recurrent product W_hh·h, which reads the state alone (so a sampler can
// compute it while it draws the input, see Sampler.Generate), then the rest.
type Step interface {
	// Recurrence is the step's recurrent product.
	Recurrence() *recurrence
	// Input is the step's input projection of id (layer 0: a row lookup)
	// or x (the layer below's h), for Finish; it reads no state.
	Input(k kernels.Backend, id int32, x []float32) []float32
	// Finish reads the input projection in, the state prev and the
	// recurrent product of prev's h, and writes the next state to next
	// (StateVectors vectors of H floats each, h first).
	Finish(k kernels.Backend, in []float32, prev, next []float32)
}

var cells = map[string]Cell{}

// RegisterCell makes a cell available under name (ModelConfig.Cell).
func RegisterCell(name string, c Cell) {
	if cells[name] != nil {
		panic("engine: cell registered twice: " + name)
	}
	cells[name] = c
}

// CellNames lists the registered cells.
func CellNames() []string {
	var names []string
	for n := range cells {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// layerBase is what every cell's layer holds: its shape, the model and the
// gradient slab it is bound to, its input side, and hs, the outputs with
// the carried h in block 0. Cells embed it.
type layerBase struct {
	T, B, H int
	m       *Model
	grads   []float32
	ctx     *passContext
	input   layerInput

	// hs holds (T+1)·B rows of H: block 0 is the h carried in from the
	// previous window, block t+1 is h_t.
	hs    []float32
	state [][]float32 // State's answer, made once
	dh    []float32   // Backward's dh, which the backward pass consumes

	// The recurrence's passes over streams [lo, hi) (streams.go), as func
	// values made once.
	fwd, back func(lo, hi int)
	// Where a cell has them, its passes over units [lo, hi) of a single
	// stream on core c of a lockstep (lockstep.go).
	fwdUnits, backUnits func(c, lo, hi int)
}

// newLayerBase makes the common part of layer l of m, whose input weights
// wih make gh pre-activations, into proj when it is not nil (see
// newLayerInput).
func newLayerBase(m *Model, grads []float32, T, B int, ctx *passContext, wih Tensor, gh int, proj []float32) layerBase {
	H := m.Config.Hidden
	return layerBase{T: T, B: B, H: H, m: m, grads: grads, ctx: ctx,
		input: newLayerInput(wih, gh, T*B, ctx, proj), hs: make([]float32, (T+1)*B*H)}
}

func (b *layerBase) Out() []float32     { return b.hs[b.B*b.H:] }
func (b *layerBase) Window() []float32  { return b.hs }
func (b *layerBase) State() [][]float32 { return b.state }

// rows returns rows [lo, hi) of block t of a buffer of rows of width w
// laid out in blocks of B rows.
func rows(buf []float32, t, B, lo, hi, w int) []float32 {
	return buf[(t*B+lo)*w : (t*B+hi)*w]
}
