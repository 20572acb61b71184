package engine

import "charrnn/kernels"

// streamSplitMaxW is the largest W (in bytes) for which the streams of a
// batch are shared between two cores for the length of a window. Each core
// then reads all of W at every step, so W must sit in its L2 (1 MB here)
// with room to spare; a larger W is better split by columns, each core
// keeping half of it, which the kernels' Parallel does per call.
const streamSplitMaxW = 512 << 10

// recurrence is what a pass of the recurrence reads besides the workspace.
type recurrence struct {
	k   kernels.Backend
	p   *Tensors
	w   []float32 // W, with leading dimension ldw
	ldw int
}

// streamSplit runs the recurrence for two halves of the streams side by
// side: the first half here, the second on a helper core. Every stream's
// values are computed by the same calls as without the split, and the
// project's kernels sum a GEMM's row the same way whatever the other rows,
// so results are bit-identical (OpenBLAS may round a row differently with
// another row count, so on it they agree to rounding only); what
// changes is that the hidden states stay on one core from step to step,
// where splitting each step's small GEMM moved them between cores.
type streamSplit struct {
	// The passes and the helper's task, as func values made once: a
	// method value made per call would allocate.
	forward, backward func(lo, hi int)
	second            func() // runs pass on the second half
	pass              func(lo, hi int)
}

// byStreams runs pass over all the streams, split between two cores when
// the backend offers a helper (kernels.Async), there are at least two
// streams, and W is small enough.
func (ws *Workspace) byStreams(k kernels.Backend, pass func(lo, hi int)) {
	a, ok := k.(kernels.Async)
	if !ok || ws.B < 2 || ws.H*ws.H*4 > streamSplitMaxW {
		pass(0, ws.B)
		return
	}
	ws.split.pass = pass
	if !a.Go(ws.split.second) {
		pass(0, ws.B)
		return
	}
	defer a.Wait()
	pass(0, ws.B/2)
}

func (ws *Workspace) secondHalf() { ws.split.pass(ws.B/2, ws.B) }
