package engine

import "charrnn/kernels"

// recurrence is a single step's recurrent product out = W_hh·h. It reads
// the state alone, so it can be computed before the step's input is known,
// and by blocks of rows on two cores at once: prepare readies it for h (in
// mixed precision, the bfloat16 copies both cores read), then rows
// computes any block of its rows.
type recurrence struct {
	w   weights
	p   []float32
	out []float32
	h16 []uint16 // h in bfloat16, in mixed precision
	// mid, when not 0, splits a square W's units in two for a sampler in
	// lockstep (lockSampler): in mixed precision W is then on the tiles,
	// where kernels.GemvOnTiles holds, and every way sums each row by
	// halves, as the lockstep's cores do (halfRows).
	mid int
}

func newRecurrence(t Tensor, p []float32, ctx *passContext) recurrence {
	r := recurrence{w: newStepWeights(t, p, ctx), p: p, out: make([]float32, t.Shape[0])}
	if ctx.precision == BF16 {
		r.h16 = make([]uint16, t.Shape[1])
	}
	return r
}

// prepare readies the product for state h.
func (r *recurrence) prepare(h []float32) {
	r.w.view(r.p, r.mid > 0)
	if bf := r.w.ctx.bf; bf != nil {
		bf.ops.ToBF16(r.h16, h)
	}
}

// rows computes rows [lo, hi) of the product of the h last prepared. On
// the tiles each row is summed by halves (halfRows).
func (r *recurrence) rows(k kernels.Backend, lo, hi int, h []float32) {
	w := &r.w
	switch bf := w.ctx.bf; {
	case bf == nil:
		k.Gemv(false, hi-lo, w.cols, 1, w.w[lo*w.ld:], w.ld, h, 0, r.out[lo:hi])
	case w.tiles:
		r.halfRows(lo, hi, r.h16)
	default:
		bf.ops.GemvBF16(hi-lo, w.cols, 1, w.w16[lo*w.cols:], w.cols, r.h16, 0, r.out[lo:hi])
	}
}

// halfRows computes rows [lo, hi) of the product on the tiles from x, h in
// bfloat16, as a sampler's two cores in lockstep do (lockSampler): by
// halves split at mid (weights.halves).
func (r *recurrence) halfRows(lo, hi int, x []uint16) {
	r.w.halves(false, lo, hi, r.mid, x, 0, r.out)
}
