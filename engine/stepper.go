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
	ahead   ahead
	tuner   tuner
}

func newStepper(m *Model) *stepper {
	c := m.Config
	st := &stepper{m: m, ctx: newPassContext(1, m.Precision), state: cells[c.Cell].StateVectors() * c.Hidden}
	for l := 0; l < c.Layers; l++ {
		st.steps = append(st.steps, cells[c.Cell].NewStep(m, l, st.ctx))
	}
	vt, ct := m.output()
	st.v, st.c, st.bfWidth = newStepWeights(vt, m.Params, st.ctx), ct.Of(m.Params), bf16Width(m.Layout)
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
	st.ctx.bindBF16(k, 1, st.bfWidth, false)
	for l, s := range st.steps {
		r := s.Recurrence()
		r.prepare(st.h(prev, l))
		r.rows(k, 0, len(r.out), st.h(prev, l))
	}
	st.finish(k, id, prev, next)
	st.output(k, st.h(next, len(st.steps)-1), logits)
}

// finish completes a step whose recurrent products are computed.
func (st *stepper) finish(k kernels.Backend, id int32, prev, next []float32) {
	var x []float32
	for l, s := range st.steps {
		p, n := prev[l*st.state:(l+1)*st.state], next[l*st.state:(l+1)*st.state]
		s.Finish(k, id, x, p, n)
		x = st.h(next, l)
	}
}

// output computes the logits o = V·h + c of the top layer's h.
func (st *stepper) output(k kernels.Backend, h, logits []float32) {
	copy(logits, st.c)
	st.v.view(st.m.Params)
	st.v.mulT(k, true, 0, 1, 1, h, 1, logits)
}
