package engine

import "charrnn/kernels"

// streamSplitMaxW is the largest recurrent weight matrix (in bytes) for
// which the streams of a batch are shared between two cores for the length
// of a window. Each core then reads all of it at every step, so it must sit
// in the core's L2 with room to spare; a larger one is better split by
// columns, each core keeping half of it, which the kernels' Parallel does
// per call.
const streamSplitMaxW = 512 << 10

// passContext is what the layers of one workspace share during a pass: the
// backend running it (k), the sharing of streams between cores (run), and,
// in mixed precision, the bfloat16 products (bf16.go).
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
}

func newPassContext(b int, p Precision) *passContext {
	s := &passContext{B: b, precision: p}
	s.second = func() { s.pass(s.B/2, s.B) }
	return s
}

// run runs pass over all the streams, split between two cores when the
// backend offers a helper (kernels.Async), there are at least two streams,
// and the recurrent weights (wElems of them, as the pass's products read
// them: bfloat16 in mixed precision) are small enough.
func (s *passContext) run(k kernels.Backend, wElems int, pass func(lo, hi int)) {
	s.k = k
	a, ok := k.(kernels.Async)
	if !ok || s.B < 2 || wElems*s.precision.weightBytes() > streamSplitMaxW {
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
