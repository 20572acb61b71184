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
	// beside a forward pass (see forward), made once like second.
	makeT  func()
	w      *weights
	params []float32
}

func newPassContext(b int, p Precision) *passContext {
	s := &passContext{B: b, precision: p}
	s.second = func() { s.pass(s.B/2, s.B) }
	s.makeT = func() { s.w.refreshT(s.params) }
	return s
}

// forward takes a layer's recurrent weights w (wElems of them) from the
// parameters p and runs its forward pass (see run). The bfloat16 Wᵀ that a
// single stream's backward GEMVs read is made on the helper core while the
// pass runs here, when its GEMVs are one core's anyway (weights that fit in
// a core's L2, streamSplitMaxW, are not split) and the conversion is worth
// handing over (at least besideMinElems weights). Made before the pass, the
// transposed conversion cost h512b1 about a tenth of its training time;
// over larger weights the GEMVs are split between the cores and would lose
// more than the conversion costs, and over tiny's 10,000 the hand-off made
// training 30% slower.
func (s *passContext) forward(k kernels.Backend, w *weights, p []float32, wElems int, pass func(lo, hi int)) {
	w.refresh(p)
	bytes := wElems * s.precision.weightBytes()
	if a, ok := k.(kernels.Async); ok && s.bf != nil && w.vec && wElems >= besideMinElems && bytes <= streamSplitMaxW {
		s.w, s.params = w, p
		if a.Go(s.makeT) {
			defer a.Wait()
			s.run(k, wElems, pass)
			return
		}
	}
	w.refreshT(p)
	s.run(k, wElems, pass)
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
