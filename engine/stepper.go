package engine

import (
	"sync/atomic"
	"time"

	"charrnn/kernels"
)

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
	// overlaps says whether Generate begins steps ahead (see ahead).
	overlaps bool
	ahead    ahead
}

func newStepper(m *Model) *stepper {
	c := m.Config
	st := &stepper{m: m, ctx: newPassContext(1, m.Precision), state: cells[c.Cell].StateVectors() * c.Hidden}
	for l := 0; l < c.Layers; l++ {
		st.steps = append(st.steps, cells[c.Cell].NewStep(m, l, st.ctx))
	}
	vt, ct := m.output()
	st.v, st.c, st.bfWidth = newStepWeights(vt, m.Params, st.ctx), ct.Of(m.Params), bf16Width(m.Layout)
	st.overlaps = stepBytes(m.Layout, m.Precision) <= aheadMaxBytes
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

// ahead is a step begun before its input is known. The recurrent products
// of the next step read the state alone, so while this core draws the next
// symbol from the logits, a helper core computes part of their rows, and
// this core the rest once it has drawn: the two cores' work per character
// overlaps instead of following each other. The share of the rows this
// core takes adapts, step by step, to what keeps both cores equally busy
// (the rows' results do not depend on which core computes them).
//
// For the length of a Generate call the helper runs one task, serve, that
// takes the steps posted to a mailbox of one cache line. A hand-over
// through the pool at every step (kernels.Async's Go and Wait) moves
// several lines between the cores each way: throwaway timers put it at
// 0.25 µs from Go to the helper's start and 0.45 µs from the helper's end
// to Wait's return, at a step of 3.5-4 µs.
type ahead struct {
	k     kernels.Backend
	async kernels.Async // k's, while a helper runs serve
	// posted says that the step begun has rows on the helper.
	posted bool
	// share is this core's share of each product's rows, in shareUnits.
	share int
	serve func() // st.serve, a func value made once

	// The mailbox, on a cache line of its own: the step's state and the
	// share to cut at, written before the step is posted, and the
	// mailbox's state.
	_     [64]byte
	prev  []float32
	cut   int
	state atomic.Int32
	_     [64]byte
}

// The mailbox's states: posted by this core, taken back to idle by the
// helper once the rows are done; quit once serve has returned (or is
// returning), whether it gave up waiting or was told to.
const (
	mailIdle int32 = iota
	mailPosted
	mailQuit
)

// serveSpin is how long serve waits for a step before it returns, freeing
// the helper: emit may block (a full pipe), and a spinning core would then
// burn for nothing.
const serveSpin = time.Millisecond

// aheadMaxBytes is the most bytes of weights a step may read for Generate
// to begin steps ahead. It pays while each core's rows stay in its own L2
// (1 MB here): in one process, on two cores, 1.1-1.5× faster than Next and
// Feed for the 512-unit RNN (1.1 MB in float32, 0.6 in bfloat16), and the
// 2×256 LSTM and GRU in bfloat16 (1.6 and 1.2 MB); level for 2-2.1 MB (a
// 1×512 LSTM or a 1024-unit RNN in bfloat16); and 6-16% slower for weights
// read from L3 (3 MB and more), where the whole step is bound by the
// bandwidth both cores share.
const aheadMaxBytes = 1792 << 10

// stepBytes is the size of the weights a single step reads, as its
// products in precision p read them.
func stepBytes(lay Layout, p Precision) int {
	n := 0
	for _, t := range lay.Tensors {
		if len(t.Shape) == 2 && !t.Lookup {
			n += t.Shape[0] * t.Shape[1] * p.weightBytes()
		}
	}
	return n
}

// shareUnits is the resolution of ahead.share: one unit of a 512-row
// product is 4 rows, so that the share moves in small steps about the
// balance while cuts fall on whole blocks of 16 rows.
const shareUnits = 128

// cutAt is where this core's rows of a product of n rows end, at share.
func cutAt(n, share int) int {
	if n < 32 {
		return n // too small to split
	}
	return n * share / shareUnits / 16 * 16
}

// begin starts the step from state prev whose input is not drawn yet: it
// readies the recurrent products and posts the helper's rows, when k has a
// helper free.
func (st *stepper) begin(k kernels.Backend, prev []float32) {
	st.ctx.bindBF16(k, 1, st.bfWidth, false)
	for l, s := range st.steps {
		s.Recurrence().prepare(st.h(prev, l))
	}
	a := &st.ahead
	a.k, a.prev, a.cut, a.posted = k, prev, a.share, false
	if a.async != nil {
		if a.state.CompareAndSwap(mailIdle, mailPosted) {
			a.posted = true
			return
		}
		a.async.Wait() // serve gave up waiting: start it again
		a.async = nil
	}
	if async, ok := k.(kernels.Async); ok {
		a.state.Store(mailPosted)
		if async.Go(a.serve) {
			a.async, a.posted = async, true
		} else {
			a.state.Store(mailIdle)
		}
	}
}

// serve is the helper's task: the rows of each step posted, until told to
// quit or none comes for serveSpin.
func (st *stepper) serve() {
	a := &st.ahead
	defer a.state.Store(mailQuit) // also when the rows panic
	for a.await() {
		for l, s := range st.steps {
			r := s.Recurrence()
			r.rows(a.k, cutAt(len(r.out), a.cut), len(r.out), st.h(a.prev, l))
		}
		a.state.Store(mailIdle)
	}
}

// await waits for a step to be posted and reports true, or false once
// told to quit or after serveSpin without one.
func (a *ahead) await() bool {
	var start time.Time
	for i := 0; ; i++ {
		switch a.state.Load() {
		case mailPosted:
			return true
		case mailQuit:
			return false
		}
		if i%1024 == 1023 {
			if start.IsZero() {
				start = time.Now()
			} else if time.Since(start) > serveSpin && a.state.CompareAndSwap(mailIdle, mailQuit) {
				return false
			}
		}
		pause(i)
	}
}

// end completes the step begun with the input id drawn: this core's rows,
// then (once the helper's are done) the rest of the step, leaving the next
// state in next. The logits are not computed.
func (st *stepper) end(id int32, next []float32) {
	a := &st.ahead
	for l, s := range st.steps {
		r := s.Recurrence()
		n := len(r.out)
		if a.posted {
			n = cutAt(n, a.cut)
		}
		r.rows(a.k, 0, n, st.h(a.prev, l))
	}
	st.collect()
	st.finish(a.k, id, a.prev, next)
}

// collect waits for the helper's rows of the step begun, if it has any,
// and moves the share toward the core that finished last.
func (st *stepper) collect() {
	a := &st.ahead
	if !a.posted {
		return
	}
	a.posted = false
	helperFirst := true
	for i := 0; a.state.Load() == mailPosted; i++ {
		helperFirst = false
		pause(i)
	}
	if a.state.Load() == mailQuit { // serve panicked, or has given up waiting since
		async := a.async
		a.async = nil
		async.Wait() // re-raises the panic
	}
	if helperFirst {
		a.share = max(a.share-1, 0) // the helper waited for this core
	} else {
		a.share = min(a.share+1, shareUnits)
	}
}

// stop ends the helper's serve, once the step begun is collected.
// Sampler.Generate defers it, so that even after a panic no helper is left
// working for a sampler that has moved on.
func (st *stepper) stop() {
	a := &st.ahead
	if a.async == nil {
		return
	}
	for i := 0; a.state.Load() == mailPosted; i++ {
		pause(i)
	}
	a.posted = false
	a.state.CompareAndSwap(mailIdle, mailQuit)
	async := a.async
	a.async = nil
	async.Wait()
}
