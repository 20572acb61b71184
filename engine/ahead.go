package engine

import (
	"sync/atomic"
	"time"

	"charrnn/kernels"
)

// ahead is a step begun before its input is known. The recurrent products
// of the next step read the state alone, so while this core draws the next
// symbol from the logits, a helper core computes part of their rows, and
// this core the rest once it has drawn: the two cores' work per character
// overlaps instead of following each other. The share of the rows this
// core takes adapts, step by step, to what keeps both cores equally busy
// (the rows' results do not depend on which core computes them).
//
// For the length of a Generate call the helper runs one task, serve, that
// takes the steps posted to a mailbox. A hand-over
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
	// The helper reads it while a step is posted; this core moves it only
	// once the helper is done (collect).
	share int
	serve func() // st.serve, a func value made once

	// The mailbox, padded away from the fields this core writes at every
	// step: the step's state, written before the step is posted, and the
	// mailbox's state.
	_     [64]byte
	prev  []float32
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
	a.k, a.prev, a.posted = k, prev, false
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
			r.rows(a.k, cutAt(len(r.out), a.share), len(r.out), st.h(a.prev, l))
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
			n = cutAt(n, a.share)
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
	helperFirst := a.waitIdle()
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

// waitIdle waits until no step is posted: the helper has done its rows (or
// serve has returned). It reports whether that was so at once.
func (a *ahead) waitIdle() (already bool) {
	already = true
	for i := 0; a.state.Load() == mailPosted; i++ {
		already = false
		pause(i)
	}
	return already
}

// stop ends the helper's serve, once the step begun is collected.
// Sampler.Generate defers it, so that even after a panic no helper is left
// working for a sampler that has moved on.
func (st *stepper) stop() {
	a := &st.ahead
	if a.async == nil {
		return
	}
	a.waitIdle()
	a.posted = false
	a.state.CompareAndSwap(mailIdle, mailQuit)
	async := a.async
	a.async = nil
	async.Wait()
}
