package engine

import "charrnn/kernels"

// stepper advances one stream of a whole model by one character, layer by
// layer, then computes the logits: what sampling and beam search share. It
// binds the model's parameters once, when made: training updates the slab
// in place, so the sampler of a training run still sees every update.
type stepper struct {
	m     *Model
	ctx   *passContext
	steps []Step
	v     weights   // the output layer's
	c     []float32 // and its bias, bound once
	state int       // floats of one layer's state
	// bfWidth is the bfloat16 scratch's width, found once: a step is short
	// enough at small sizes for a walk over the layout to show.
	bfWidth int
	// weightBytes is what a step's products read of the weights.
	weightBytes int
	ahead       ahead
	tuner       tuner
}

func newStepper(m *Model) *stepper {
	c := m.Config
	st := &stepper{m: m, ctx: newPassContext(1, m.Precision), state: cells[c.Cell].StateVectors() * c.Hidden}
	for l := 0; l < c.Layers; l++ {
		st.steps = append(st.steps, cells[c.Cell].NewStep(m, l, st.ctx))
	}
	vt, ct := m.output()
	st.v, st.c, st.bfWidth = newStepWeights(vt, m.Params, st.ctx), ct.Of(m.Params), bf16Width(m.Layout)
	for _, t := range m.Layout.Tensors {
		if len(t.Shape) == 2 && !t.Lookup {
			st.weightBytes += t.Shape[0] * t.Shape[1] * m.Precision.weightBytes()
		}
	}
	st.ahead.share = shareUnits / 2
	st.ahead.serve = st.serve
	return st
}

// stateFloats is the size of one stream's state in all the layers.
func (st *stepper) stateFloats() int { return len(st.steps) * st.state }

// h is layer l's h in the state s.
func (st *stepper) h(s []float32, l int) []float32 {
	return s[l*st.state : l*st.state+st.m.Config.Hidden]
}

// step feeds symbol id to the model in state prev, writes the next state to
// next and the logits o = V·h + c to logits.
func (st *stepper) step(k kernels.Backend, id int32, prev, next, logits []float32) {
	st.stepRun(k, id, prev, next, logits, -1, true)
}

// inRuns reports whether runs of steps on k should keep the weights in L2
// from one step to the next (stepRun): where they overflow the L2 of the
// cores reading them. Below that the halves only cost calls (tiny sampled
// 3% slower so).
func (st *stepper) inRuns(k kernels.Backend) bool {
	cores := 1
	if _, ok := k.(kernels.Async); ok {
		cores = 2
	}
	return st.weightBytes > cores*kernels.L2Bytes()
}

// stepRun is step for one of a run of steps of the same stream, which
// keeps each layer's recurrent weights in L2 from one step to the next as
// far as they fit: each step computes half of a layer's recurrent rows (the
// half its predecessor did not) before the layer's Finish, and the same
// half of the next step's product right after it, while those rows are
// still in cache. A 2×512 LSTM's 12 MB of float32 weights fit in no core's
// L2, and a step that read each matrix once in the same order evicted
// every row before it came round again: in runs it sampled 26-30% faster
// on an Intel Xeon, in both precisions (bench/RESULTS.md). ahead is the
// half the previous step of the run computed for this one, or -1 for the
// first step of a run; stepRun returns the half it computed for the next,
// or -1 when last, which computes none. Each row's sum is the same
// whichever call computes it, so the run gives step's bits.
func (st *stepper) stepRun(k kernels.Backend, id int32, prev, next, logits []float32, ahead int, last bool) int {
	st.ctx.bindBF16(k, 1, st.bfWidth, false)
	half := 1 - ahead
	if ahead < 0 {
		half = 0
	}
	var x []float32
	for l, s := range st.steps {
		// The input projection first, so that the recurrent rows are
		// read right before the same rows of the next step's product.
		in := s.Input(k, id, x)
		r := s.Recurrence()
		hp := st.h(prev, l)
		lo, hi := halfRows(len(r.out), half)
		if ahead < 0 {
			r.prepare(hp)
			r.rows(k, 0, len(r.out), hp)
		} else {
			// Prepared for hp by the previous step, for its rows ahead.
			r.rows(k, lo, hi, hp)
		}
		p, nx := prev[l*st.state:(l+1)*st.state], next[l*st.state:(l+1)*st.state]
		s.Finish(k, in, p, nx)
		x = st.h(next, l)
		if !last {
			r.prepare(x)
			r.rows(k, lo, hi, x)
		}
	}
	st.output(k, x, logits)
	if last {
		return -1
	}
	return half
}

// halfRows is half h (0 or 1) of n rows, cut on a multiple of 16.
func halfRows(n, h int) (lo, hi int) {
	cut := n / 2 / 16 * 16
	if h == 0 {
		return 0, cut
	}
	return cut, n
}

// finish completes a step whose recurrent products are computed.
func (st *stepper) finish(k kernels.Backend, id int32, prev, next []float32) {
	var x []float32
	for l, s := range st.steps {
		p, n := prev[l*st.state:(l+1)*st.state], next[l*st.state:(l+1)*st.state]
		s.Finish(k, s.Input(k, id, x), p, n)
		x = st.h(next, l)
	}
}

// output computes the logits o = V·h + c of the top layer's h.
func (st *stepper) output(k kernels.Backend, h, logits []float32) {
	copy(logits, st.c)
	st.v.view(st.m.Params, false)
	st.v.mulT(k, true, 0, 1, 1, h, 1, logits)
}
