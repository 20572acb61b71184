package engine

import (
	"runtime"
	"sync/atomic"

	"charrnn/kernels"
)

// When the streams of a batch are shared between two cores for the length
// of a window, each core reads all of the recurrent weights at every step.
// That pays when they sit in the core's L2 with room to spare (at most
// streamSplitMaxW bytes), or when each core has so many streams
// (streamSplitMinStreams) that every weight read from L3 or memory feeds
// enough multiply-adds to hide the read: 2·16 flops per 4 bytes of float32
// is 8 flops per byte, a core's FMA rate at 40 GB/s. Otherwise the step's
// product is better split by columns, each core keeping half of W in its
// L2, which the kernels' Parallel does per call. At B=32, sharing the streams
// measured 10-27% faster than splitting columns for lstm256b32, lstm512b32,
// gru512b32 and h512b32, whose W (1-4 MB) does not fit L2 (bench/RESULTS.md).
const (
	streamSplitMaxW       = 512 << 10
	streamSplitMinStreams = 16
)

// besideMinElems is the fewest recurrent weights whose transposed bfloat16
// copy is made on the helper core beside the forward pass (see forward),
// and whose gradient is summed there beside the backward pass (backward).
const besideMinElems = 64 << 10

// A single stream's recurrent weight gradient is summed beside the
// backward pass in parts (see backward): the window's first gradFirst steps
// once the pass is done, on both cores, the others gradPart steps at a
// time on the helper. Parts not too small keep each GEMM from being mostly
// the reading and writing of dW; so does the first, which must also start
// late enough that the helper's last part (gradPart steps, begun when the
// pass reaches it) is done by the end of the pass. With 4 first steps the
// pass then waited 25 µs for the helper, and h512b1's backward pass in bf16
// took 486-492 µs per window, against 468-469 with 16 (the same run, first
// steps in turn from 4 to 24).
const (
	gradFirst = 16
	gradPart  = 16
)

// sharesStreams reports whether a batch of b streams over recurrent weights
// of wBytes (as the products read them) is shared between two cores.
func sharesStreams(wBytes, b int) bool {
	return b >= 2 && (wBytes <= streamSplitMaxW || b/2 >= streamSplitMinStreams)
}

// passContext is what the layers of one workspace share during a pass: the
// backend running it (k), the sharing of streams between cores (run), the
// work done beside a single stream's forward pass (forward), and, in mixed
// precision, the bfloat16 products (bf16.go).
//
// run runs a recurrence pass for two halves of the streams side by side:
// the first half here, the second on a helper core. Every stream's
// values are computed by the same calls as without the split, and the
// project's kernels sum a GEMM's row the same way whatever the other rows,
// so results are bit-identical (OpenBLAS may round a row differently with
// another row count, so on it they agree to rounding only); what changes is
// that the hidden states stay on one core from step to step, where
// splitting each step's small GEMM moved them between cores.
type passContext struct {
	B int
	// k is the backend of the pass running now, for the passes to use.
	k kernels.Backend
	// precision is how the products with weights are computed; bf, once a
	// pass has bound it, the bfloat16 products of mixed precision.
	precision Precision
	bf        *bf16Products
	// second runs pass on the second half: a func value made once, as a
	// method value made per call would allocate.
	second func()
	pass   func(lo, hi int)
	// makeT makes the bfloat16 Wᵀ of the recurrent weights w of params
	// beside a forward pass (see forward), and sumParts sums the parts of a
	// gradient of w into the slab grads beside a backward pass of n steps
	// (backward), from its operands dout and x: func values made once,
	// like second.
	makeT, sumParts func()
	// also, when set, is more work for the helper once makeT has made Wᵀ
	// (the output layer's bfloat16 copies, beside the top layer's pass),
	// and alsoDone says that the last forward pass ran it there.
	also          func()
	alsoDone      bool
	w             *weights
	params, grads []float32
	n             int
	dout, x       []float32
	// beside says whether the last forward pass had the helper core beside
	// it: once a workspace's Forward is done, its top layer's.
	beside bool
	// shareSingle says that a single stream's products are shared by the
	// cores in this window although besideSingle holds, leaving the helper
	// nothing to do beside the pass; couldBeside, that some layer's forward
	// pass could have had it (singleWays picks between the two).
	shareSingle, couldBeside bool
	// partsInStep says that the halves of a lockstep's backward pass sum
	// the gradient's parts (unitsReached).
	partsInStep bool
	// tracking says that the pass reports its steps to pace (reached).
	tracking bool
	pace     *pace
	// ones is a window's rows of ones, for the biases' row sums (sumRows),
	// in a training workspace.
	ones []float32
	// transposer makes the float32 transposed copies of the weights
	// (transpose.go).
	transposer *transposer
	// lock runs a single stream's passes over units on both cores
	// (lockstep.go).
	lock *lockstep
}

func newPassContext(b int, p Precision) *passContext {
	s := &passContext{B: b, precision: p}
	s.second = func() { s.pass(s.B/2, s.B) }
	s.makeT = func() {
		s.w.refreshT(s.params)
		if s.also != nil {
			s.also()
			s.alsoDone = true
		}
	}
	s.sumParts = s.gradientParts
	s.transposer = newTransposer()
	s.lock = newLockstep()
	s.pace = new(pace)
	return s
}

// besideSingle reports whether a single stream's products with recurrent
// weights w (wElems of them) run on one core, in mixed precision, leaving
// the helper core free for the pass's other work: weights that fit in a
// core's L2 (streamSplitMaxW) are not split, and at least besideMinElems
// of them make that work worth handing over.
func (s *passContext) besideSingle(w *weights, wElems int) bool {
	return s.bf != nil && w.vec && wElems >= besideMinElems && wElems*s.precision.weightBytes() <= streamSplitMaxW
}

// forward takes a layer's recurrent weights w (wElems of them) from the
// parameters p and runs its forward pass (see run). The bfloat16 Wᵀ that a
// single stream's backward GEMVs read is made on the helper core while the
// pass runs here, when its GEMVs are one core's anyway (besideSingle).
// Made before the pass, the transposed conversion cost h512b1 about a
// tenth of its training time; over larger weights the GEMVs are split
// between the cores and would lose more than the conversion costs, and
// over tiny's 10,000 the hand-off made training 30% slower. W's own
// bfloat16 copy is then made here once the helper has its task, and so
// unsplit (a busy pool runs calls whole): into this core's caches, where
// the pass's GEMVs read it. Split, half of it came from the other core's
// at the first step, and h512b1 trained 1.0-1.4% slower in bf16. Where one
// core reads W more slowly than two share it, the window's way is to share
// (shareSingle, singleWays): everything is then done here, in turn, or,
// for a layer with a pass over units, by the two cores in lockstep, each
// converting and reading its own half of the rows (lockstep.go).
func (s *passContext) forward(k kernels.Backend, w *weights, p []float32, wElems int, pass func(lo, hi int), units func(c, lo, hi int)) {
	s.beside, s.alsoDone = false, false
	a, ok := k.(kernels.Async)
	could := ok && s.besideSingle(w, wElems)
	s.couldBeside = s.couldBeside || could
	if s.inLockstep(w, wElems, units) {
		s.k = k
		if s.bf != nil {
			w.allocBF16() // each core makes its rows (weights.refreshRows)
		} else {
			w.refresh(k, p)
		}
		if s.lock.run(k, s.bf, w.rows, units) {
			return
		}
	}
	if could && !s.shareSingle {
		s.w, s.params = w, p
		w.allocBF16()
		if a.Go(s.makeT) {
			s.beside = true
			defer a.Wait()
			w.refresh(k, p)
			s.run(k, wElems, pass)
			return
		}
	}
	w.refresh(k, p)
	w.refreshT(p)
	s.run(k, wElems, pass)
}

// backward runs a layer's backward pass (see run) over n steps, then
// writes the gradient of its recurrent weights w (wElems of them) into
// the gradient slab g: dW = doutᵀ·x over the window's rows (w.gradient).
// Where forward makes Wᵀ beside the pass (besideSingle), the gradient is
// summed in parts instead (gradFirst, gradPart), from the window's last
// steps to its first, and the helper core sums each part as soon as the
// pass has finished its steps; the first part, summed over both cores, is
// what is left once the pass is done. Without a helper, or sharing each
// product (shareSingle), the same parts are summed in the same order after
// the pass; in lockstep (lockstep.go) each core sums its rows of each part
// as soon as it has finished the part's steps (unitsReached). So one core
// and two, and every way, give the same bits. Summed after the pass, the
// gradient cost h512b1 5-6% of its training time in bf16.
func (s *passContext) backward(k kernels.Backend, w *weights, wElems, n int, pass func(lo, hi int), units func(c, lo, hi int), dout, x, g []float32) {
	if !s.besideSingle(w, wElems) || n <= gradFirst {
		s.k = k
		if !s.inLockstep(w, wElems, units) || !s.lock.run(k, s.bf, w.cols, units) {
			s.run(k, wElems, pass)
		}
		w.gradient(k, n, 1, dout, x, g, false)
		return
	}
	s.k, s.w, s.grads, s.n, s.dout, s.x = k, w, g, n, dout, x
	if s.inLockstep(w, wElems, units) {
		s.partsInStep = true
		ran := s.lock.run(k, s.bf, w.cols, units)
		s.partsInStep = false
		if ran {
			return
		}
	}
	s.pace.step.Store(int32(n))
	s.pace.abandoned.Store(false)
	s.tracking = true
	if a, ok := k.(kernels.Async); ok && !s.shareSingle && a.Go(s.sumParts) {
		func() {
			defer a.Wait()
			finished := false
			defer func() {
				if !finished { // the pass panicked: end the helper's wait
					s.pace.abandoned.Store(true)
				}
			}()
			s.run(k, wElems, pass)
			finished = true
		}()
	} else {
		s.run(k, wElems, pass)
		s.gradientParts()
	}
	s.tracking = false
	w.gradientRows(k, 0, gradFirst, 1, 1, dout, x, g, false)
}

// unitsReached is what core c's half of a lockstep's backward pass (units
// [lo, hi)) reports once it has finished step t. Where the recurrent
// weights' gradient is summed in parts (partsInStep), the core then sums
// its rows of the part that begins at t, in the order gradientParts sums
// the parts, and at t = 0 the first part: its scratch is the side one on
// the helper core.
func (s *passContext) unitsReached(c, lo, hi, t int) {
	if !s.partsInStep {
		return
	}
	switch {
	case t == 0:
		s.w.gradientBlock(s.k, 0, gradFirst, lo, hi, 1, 1, s.dout, s.x, s.grads, c == 1)
	case t >= gradFirst && (t-gradFirst)%gradPart == 0:
		beta := float32(1)
		if t+gradPart >= s.n { // the last part, summed first
			beta = 0
		}
		s.w.gradientBlock(s.k, t, min(t+gradPart, s.n), lo, hi, 1, beta, s.dout, s.x, s.grads, c == 1)
	}
}

// gradientParts sums the parts of the gradient but the first, the last one
// first, each once the pass has reached its first step.
func (s *passContext) gradientParts() {
	beta := float32(0)
	for hi := s.n; hi > gradFirst; {
		lo := gradFirst + (hi-gradFirst-1)/gradPart*gradPart
		for i := 1; s.pace.step.Load() > int32(lo); i++ {
			if s.pace.abandoned.Load() {
				return
			}
			pause(i)
		}
		s.w.gradientRows(s.k, lo, hi, 1, beta, s.dout, s.x, s.grads, true)
		beta, hi = 1, lo
	}
}

// pace is how far a backward pass has come, for the helper's work beside
// it. It has cache lines of its own, as the pass writes it at every step.
type pace struct {
	_         [64]byte
	step      atomic.Int32 // the step the pass has finished last
	abandoned atomic.Bool  // the pass ended early (it panicked)
	_         [64]byte
}

// reached reports that the backward pass has finished step t.
func (s *passContext) reached(t int) {
	if s.tracking {
		s.pace.step.Store(int32(t))
	}
}

// pause is turn i of the helper's wait for the pass: it spins, and now and
// then lets other goroutines have its P, as the pool's helpers do
// (kernels.yieldEvery).
func pause(i int) {
	if i%(1<<14) == 0 {
		runtime.Gosched()
	}
}

// A single stream's recurrence runs in lockstep (lockstep.go) over
// recurrent weights of at least lockstepMinElems: where the pool splits
// each step's GEMV anyway (kernels' gemvWork), and where each core's half
// of a square W's units (256 from H=512) is as wide as the pool's blocks
// of a transposed GEMV (kernels' gemvOut/2), which narrower blocks could
// sum another way. In one process on a Zen 4, a window of a single
// stream's vanilla RNN took 0.5-5% less time so than with each GEMV split
// in float32 and 7-10% less in bfloat16 at H=512, 6-7% at H=1024
// (bench/RESULTS.md).
const lockstepMinElems = 256 << 10

// inLockstep reports whether a single stream's recurrence over weights w
// (wElems of them) runs in lockstep, by units, for a layer that has such
// passes: in mixed precision over weights that could have the helper core
// beside the pass (besideSingle) when the window's way is to share the
// cores (shareSingle), and otherwise over weights the pool would split.
func (s *passContext) inLockstep(w *weights, wElems int, units func(c, lo, hi int)) bool {
	switch {
	case units == nil || !w.vec:
		return false
	case s.bf != nil && s.besideSingle(w, wElems):
		return s.shareSingle
	}
	return wElems >= lockstepMinElems
}

// run runs pass over all the streams, split between two cores when the
// backend offers a helper (kernels.Async), there are at least two streams,
// and either the recurrent weights (wElems of them, as the pass's products
// read them: bfloat16 in mixed precision) are small enough or each core
// gets enough streams.
func (s *passContext) run(k kernels.Backend, wElems int, pass func(lo, hi int)) {
	s.k = k
	a, ok := k.(kernels.Async)
	if !ok || !sharesStreams(wElems*s.precision.weightBytes(), s.B) {
		pass(0, s.B)
		return
	}
	s.pass = pass
	if !a.Go(s.second) {
		pass(0, s.B)
		return
	}
	defer a.Wait()
	pass(0, s.B/2)
}
