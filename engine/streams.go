package engine

import "charrnn/kernels"

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
// copy is made on the helper core beside the forward pass (see forward).
const besideMinElems = 64 << 10

// sharesStreams reports whether a batch of b streams over recurrent weights
// of wBytes (as the products read them) is shared between two cores.
func sharesStreams(wBytes, b int) bool {
	return b >= 2 && (wBytes <= streamSplitMaxW || b/2 >= streamSplitMinStreams)
}

// passContext is what the layers of one workspace share during a pass: the
// backend running it (k), the sharing of streams between cores (run), the
// work done beside a single stream's forward pass (forward), the lockstep
// of a single stream's units on two cores (lock), and, in mixed precision,
// the bfloat16 products (bf16.go).
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
	// beside a forward pass (see forward): a func value made once, like
	// second.
	makeT func()
	// also, when set, is more work for the helper once makeT has made Wᵀ
	// (the output layer's bfloat16 copies, beside the top layer's pass),
	// and alsoDone says that the last forward pass ran it there.
	also     func()
	alsoDone bool
	w        *weights
	params   []float32
	// beside says whether the last forward pass had the helper core beside
	// it: once a workspace's Forward is done, its top layer's.
	beside bool
	// shareSingle says that a single stream's products are shared by the
	// cores in this window although besideSingle holds, leaving the helper
	// nothing to do beside the pass; couldBeside, that some layer's forward
	// pass could have had it (singleWays picks between the two).
	shareSingle, couldBeside bool
	// ones is a window's rows of ones, for the biases' row sums (sumRows),
	// in a training workspace.
	ones []float32
	// transposer makes the float32 transposed and panel-packed copies of
	// the weights (transpose.go).
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
	s.transposer = newTransposer()
	s.lock = newLockstep()
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
		if s.lock.run(k, s.bf, w.rows, lockstepMid(w.rows), units) {
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

// backward runs a layer's backward pass (see run) over n steps, in
// lockstep for a single stream where forward's is (inLockstep), then
// writes the gradient of its recurrent weights w (wElems of them) into the
// gradient slab g: dW = doutᵀ·x over the window's rows (w.gradient), one
// GEMM, its rows split between the cores as the lockstep's units are.
// Summed in parts of 16 steps on the helper core beside a single stream's
// pass, as it was until 2026-12-02, the parts' short GEMMs cost each core
// 184-227 µs where one took 120-131 (h512b1 in bf16 on a Zen 4), and a
// window in lockstep took 7% longer (bench/RESULTS.md).
func (s *passContext) backward(k kernels.Backend, w *weights, wElems, n int, pass func(lo, hi int), units func(c, lo, hi int), dout, x, g []float32) {
	s.k = k
	if !s.inLockstep(w, wElems, units) || !s.lock.run(k, s.bf, w.cols, lockstepMid(w.cols), units) {
		s.run(k, wElems, pass)
	}
	w.gradient(k, n, 1, dout, x, g, false)
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

// inHalves reports whether a single stream's products with recurrent
// weights w (wElems of them) are summed by halves in every way of running
// the pass (weights.mulHalves): on the tiles, wherever the layer's
// recurrence could run in lockstep (inLockstep), whose cores sum their own
// half of the step's vector first. (float32's GEMVs gained nothing from
// it, nor did bfloat16's on VDPBF16PS here; bench/RESULTS.md.)
func (s *passContext) inHalves(w *weights, wElems int) bool {
	return s.bf != nil && w.vec && w.tiles && (s.besideSingle(w, wElems) || wElems >= lockstepMinElems)
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
