package engine

import "charrnn/kernels"

// halves shares work over a range [0, n) between this core and the helper
// core: [0, mid) here and [mid, n) there, mid a multiple of 16 (whole
// 16×16 tiles of a transposition, whole cache lines of float32) when the
// backend has a helper free and the work is worth handing over; all of it
// here otherwise. The parts must not overlap in what they write.
type halves struct {
	part   func(lo, hi int)
	mid, n int
	// second runs the helper's part: a func value made once, as a closure
	// made per call would allocate.
	second func()
}

func newHalves() *halves {
	h := &halves{}
	h.second = func() { h.part(h.mid, h.n) }
	return h
}

// halvesMinWork is the fewest elements a call must touch to be shared: as
// for the pool's element-wise passes, a block must outweigh waking a
// helper, which may have parked (tiny's training ran 15% slower with its
// lookup's gradient, 25×100 floats, shared).
const halvesMinWork = 64 << 10

// run runs part over [0, n) in two halves, when the call touches at least
// halvesMinWork elements in all; part must be a func value made once, like
// second.
func (h *halves) run(k kernels.Backend, n, elems int, part func(lo, hi int)) {
	mid := n / 2 / 16 * 16
	if a, ok := k.(kernels.Async); ok && mid > 0 && elems >= halvesMinWork {
		h.part, h.mid, h.n = part, mid, n
		if a.Go(h.second) {
			defer a.Wait()
			part(0, mid)
			return
		}
	}
	part(0, n)
}

// shared is the window-wide work without a GEMM of its own that a pass's
// cores share through halves: the float32 transposed copies of the weights,
// made anew before every forward pass (3 MB of them for lstm512b32). On one
// core, with the other waiting, they took 3.7 ms of lstm512b32's 189 ms
// training step; the new transpose on two cores, 1.7 ms. The call's
// arguments are kept here for the parts, a func value made once.
//
// A lookup's gradient (row adds of the window's dG into the table) reads
// memory as fast on one core as on two: shared the same way, lstm512b32
// and lstm256b32 trained at the same speed (0.997-1.000×).
type shared struct {
	halves        *halves
	tr            transposition
	transposePart func(lo, hi int)
}

// transposition is a call of transpose: src is rows×cols.
type transposition struct {
	dst, src   []float32
	ld         int
	rows, cols int
}

func (s *shared) init() {
	s.halves = newHalves()
	s.transposePart = func(lo, hi int) { // src's rows [lo, hi)
		t := &s.tr
		transpose(t.dst[lo:], t.ld, t.src[lo*t.cols:hi*t.cols], hi-lo, t.cols)
	}
}

// transpose is transpose (weights.go) on the cores of k: each transposes
// half of src's rows, into its half of every row of dst.
func (s *shared) transpose(k kernels.Backend, dst []float32, ld int, src []float32, rows, cols int) {
	s.tr = transposition{dst: dst, ld: ld, src: src, rows: rows, cols: cols}
	s.halves.run(k, rows, rows*cols, s.transposePart)
}
