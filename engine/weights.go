package engine

import "charrnn/kernels"

// weights is a weight matrix of the parameter slab (rows × cols,
// row-major) as a pass's products read it. Every product with a weight
// matrix goes through it, so how a matrix is read is decided in one place:
//
//   - in float32, through an aligned copy when its rows are not a multiple
//     of 16 floats (see paddedCopy); for a layer's input projection over a
//     window also through a transposed copy, so that x·Wᵀ runs as the
//     broadcast GEMM, which does it faster than dot products of rows; and
//     for a recurrence over several streams through W and Wᵀ
//     panel-packed (kernels.PackPanels), which each step's products x·Wᵀ
//     and x·W read from end to end (bench/RESULTS.md);
//   - in mixed precision (BF16), through bfloat16 copies: for GEMVs (a
//     single stream's steps, vec) W and Wᵀ row-major, each GEMV reading
//     rows; for GEMMs Wᵀ and W pair-packed (kernels.BF16), the B operand of
//     the broadcast-form GEMM for x·Wᵀ and x·W. On AMX's tiles a single
//     stream's steps are one-row GEMMs over the pair-packed copies too,
//     where the matrix stays in L2 (kernels.GemvOnTiles).
//
// refresh takes the matrix from the parameters before each forward pass.
type weights struct {
	t          Tensor
	rows, cols int
	ctx        *passContext
	vec        bool // its products are GEMVs
	copy       paddedCopy
	w          []float32 // what float32 products read, with leading dimension ld
	ld         int
	wt         []float32 // Wᵀ (cols × rows, leading dimension ldt), when kept
	ldt        int
	pt, pw     []float32 // Wᵀ and W panel-packed, when kept
	// In BF16, made at the first refresh: W and Wᵀ row-major for GEMVs
	// (w16 alone for a single step's view), Wᵀ and W pair-packed for GEMMs.
	w16, wt16  []uint16
	pt16, pw16 []uint16
	ldpt, ldpw int // their leading dimensions, in pairs
	// tiles: a single stream's products in BF16 run as one-row GEMMs over
	// pt16 and pw16 rather than as GEMVs over w16 and wt16, where the
	// backend does those faster (kernels.GemvOnTiles).
	tiles bool
}

func newWeights(t Tensor, ctx *passContext) weights {
	rows, cols := t.Shape[0], t.Shape[1]
	w := weights{t: t, rows: rows, cols: cols, ctx: ctx}
	if ctx.precision != BF16 {
		w.copy = newPaddedCopy(rows, cols)
	}
	return w
}

// newRecurrentWeights is newWeights for the matrix of a recurrence over b
// streams, multiplied at every step.
func newRecurrentWeights(t Tensor, ctx *passContext, b int) weights {
	if b > 1 {
		return newPanelWeights(t, ctx)
	}
	w := newWeights(t, ctx)
	w.vec = true
	return w
}

// newPanelWeights is newWeights for the matrix of a recurrence over several
// streams: in float32 it also keeps Wᵀ and W panel-packed, the B of every
// step's products x·Wᵀ (forward) and x·W (backward).
func newPanelWeights(t Tensor, ctx *passContext) weights {
	w := newWeights(t, ctx)
	if ctx.precision != BF16 {
		w.pt = kernels.AlignedFloats(kernels.PanelsLen(w.cols, w.rows))
		w.pw = kernels.AlignedFloats(kernels.PanelsLen(w.rows, w.cols))
	}
	return w
}

// newTransposedWeights is newWeights for a matrix whose products x·Wᵀ
// have many rows of x (a recurrence over several streams, or a layer's
// input projection over the whole window): in float32 it also keeps Wᵀ,
// through which they run as the broadcast GEMM.
func newTransposedWeights(t Tensor, ctx *passContext) weights {
	w := newWeights(t, ctx)
	if ctx.precision != BF16 {
		w.ldt = transposedLD(w.rows)
		w.wt = kernels.AlignedFloats(w.cols * w.ldt)
	}
	return w
}

// weightsFloats is what newWeights allocates for a rows×cols matrix: in
// BF16 the two pair-packed copies, each a float per pair (an odd side's
// last pairs completed by zeros).
func weightsFloats(rows, cols int, p Precision) int {
	if p == BF16 {
		return (kernels.PairsWords(cols, kernels.PairsLD(rows)) + kernels.PairsWords(rows, kernels.PairsLD(cols))) / 2
	}
	return paddedFloats(rows, cols)
}

// recurrentWeightsFloats is what newRecurrentWeights allocates (in BF16
// over one stream, two bfloat16 copies: the room of one float32 copy).
func recurrentWeightsFloats(rows, cols, b int, p Precision) int {
	switch {
	case b > 1 && p == BF16:
		return weightsFloats(rows, cols, p)
	case b > 1:
		return weightsFloats(rows, cols, p) + kernels.PanelsLen(cols, rows) + kernels.PanelsLen(rows, cols)
	case p == BF16:
		// Row-major W and Wᵀ, or, for AMX's tiles, the pair-packed ones.
		return max(rows*cols, weightsFloats(rows, cols, p))
	}
	return weightsFloats(rows, cols, p)
}

// transposedWeightsFloats is what newTransposedWeights allocates.
func transposedWeightsFloats(rows, cols int, p Precision) int {
	n := weightsFloats(rows, cols, p)
	if p != BF16 {
		n += cols * transposedLD(rows)
	}
	return n
}

// refresh takes the matrix from the parameters p, before a forward pass
// run by k: all of what the products read but a single stream's bfloat16
// Wᵀ, which only the backward pass reads and refreshT makes.
func (w *weights) refresh(k kernels.Backend, p []float32) {
	bf := w.ctx.bf
	if bf == nil {
		w.w, w.ld = w.copy.refresh(w.t.Of(p), w.cols)
		if w.wt != nil {
			w.ctx.transposer.run(k, w.wt, w.ldt, w.t.Of(p), w.rows, w.cols)
		}
		if w.pt != nil {
			w.ctx.transposer.packPanels(k, w.pt, w.pw, w.t.Of(p), w.rows, w.cols)
		}
		return
	}
	w.allocBF16()
	switch {
	case w.tiles:
		bf.ops.ToBF16PairsT(w.pt16, w.ldpt, w.t.Of(p), w.rows, w.cols, w.cols)
		return
	case w.vec:
		bf.ops.ToBF16(w.w16, w.t.Of(p))
		return
	}
	bf.ops.ToBF16PairsT(w.pt16, w.ldpt, w.t.Of(p), w.rows, w.cols, w.cols)
	bf.ops.ToBF16Pairs(w.pw16, w.ldpw, w.t.Of(p), w.rows, w.cols, w.cols)
}

// allocBF16 makes the bfloat16 copies at the first pass in BF16. A single
// stream's forward pass calls it before refresh and refreshT run on two
// cores at once (passContext.forward), so that neither allocates.
func (w *weights) allocBF16() {
	if w.w16 != nil || w.pt16 != nil {
		return
	}
	w.tiles = w.vec && kernels.GemvOnTiles(w.ctx.bf.k, w.rows, w.cols)
	if w.vec && !w.tiles {
		w.w16, w.wt16 = make([]uint16, w.rows*w.cols), make([]uint16, w.rows*w.cols)
	} else {
		w.ldpt, w.ldpw = kernels.PairsLD(w.rows), kernels.PairsLD(w.cols)
		w.pt16 = make([]uint16, kernels.PairsWords(w.cols, w.ldpt))
		w.pw16 = make([]uint16, kernels.PairsWords(w.rows, w.ldpw))
	}
}

// refreshT makes the bfloat16 Wᵀ of a single stream's GEMVs in BF16 (or,
// on the tiles, W pair-packed), after refresh; it does nothing for other
// weights.
func (w *weights) refreshT(p []float32) {
	switch bf := w.ctx.bf; {
	case bf == nil || !w.vec:
	case w.tiles:
		bf.ops.ToBF16Pairs(w.pw16, w.ldpw, w.t.Of(p), w.rows, w.cols, w.cols)
	default:
		bf.ops.ToBF16T(w.wt16, w.rows, w.t.Of(p), w.rows, w.cols, w.cols)
	}
}

// refreshRows makes one core's part of a single stream's bfloat16 copies
// of a square W in a lockstep (lockstep.go): rows [lo, hi) of W, which its
// forward GEMVs read, and of Wᵀ, which its backward GEMVs read; on the
// tiles, what it makes from its own rows of W (see below). In float32
// refresh has made the whole before the lockstep.
func (w *weights) refreshRows(p []float32, lo, hi int) {
	if w.ctx.bf == nil {
		return
	}
	ops, src := w.ctx.bf.ops, w.t.Of(p)
	if w.tiles {
		// Columns [lo, hi) of the pair-packed Wᵀ, and pairs of rows
		// [lo, hi) of the pair-packed W: both from its rows of W, where
		// the update left them. Its backward products read the other
		// core's pairs of rows too, in bfloat16, once the forward pass
		// has ended. Converting its columns of W instead read half of
		// them from the other core's caches in float32: h512b1 in bf16
		// trained 4-5% slower (bench/RESULTS.md).
		ops.ToBF16PairsT(w.pt16[2*lo:], w.ldpt, src[lo*w.cols:], hi-lo, w.cols, w.cols)
		ops.ToBF16Pairs(w.pw16[lo*w.ldpw:], w.ldpw, src[lo*w.cols:], hi-lo, w.cols, w.cols)
		return
	}
	ops.ToBF16(w.w16[lo*w.cols:hi*w.cols], src[lo*w.cols:hi*w.cols])
	ops.ToBF16T(w.wt16[lo*w.rows:], w.rows, src[lo:], w.rows, hi-lo, w.cols)
}

// mulTRows computes rows [lo, hi) of a single stream's product W·x into
// out, in mixed precision with x given in bfloat16 (x16; see mulT). On the
// tiles a lockstep sums by halves instead (mulTPart).
func (w *weights) mulTRows(k kernels.Backend, lo, hi int, x []float32, x16 []uint16, out []float32) {
	if bf := w.ctx.bf; bf != nil {
		bf.ops.GemvBF16(hi-lo, w.cols, 1, w.w16[lo*w.cols:], w.cols, x16, 0, out)
		return
	}
	k.Gemv(false, hi-lo, w.cols, 1, w.w[lo*w.ld:], w.ld, x, 0, out)
}

// mulRows adds rows [lo, hi) of a single stream's product Wᵀ·x to out, in
// mixed precision with x given in bfloat16 (x16; see mul).
func (w *weights) mulRows(k kernels.Backend, lo, hi int, x []float32, x16 []uint16, out []float32) {
	if bf := w.ctx.bf; bf != nil {
		bf.ops.GemvBF16(hi-lo, w.rows, 1, w.wt16[lo*w.rows:], w.rows, x16, 1, out)
		return
	}
	k.Gemv(true, w.rows, hi-lo, 1, w.w[lo:], w.ld, x, 1, out)
}

// mulTPart computes rows [lo, hi) of a single stream's product W·x on the
// tiles over x's units [k0, k1) alone, x given whole in bfloat16:
// out = (that part of W·x) + beta·out. A lockstep's core sums its rows
// over its own half of x first, which it has, and over the other core's
// once it arrives (rnnLayer.forwardUnits): waiting for it before a
// product, and with the products slowed by the wait, the tiles ran a
// step's half 1.6-1.9 times slower than back to back (bench/RESULTS.md).
func (w *weights) mulTPart(lo, hi, k0, k1 int, x16 []uint16, beta float32, out []float32) {
	w.ctx.bf.ops.GemmBF16(1, hi-lo, k1-k0, 1, x16[k0:k1], k1-k0, w.pt16[k0*w.ldpt+2*lo:], w.ldpt, beta, out, hi-lo)
}

// mulPart is mulTPart for Wᵀ·x: rows [lo, hi) of the product over x's
// units [k0, k1).
func (w *weights) mulPart(lo, hi, k0, k1 int, x16 []uint16, beta float32, out []float32) {
	w.ctx.bf.ops.GemmBF16(1, hi-lo, k1-k0, 1, x16[k0:k1], k1-k0, w.pw16[k0*w.ldpw+2*lo:], w.ldpw, beta, out, hi-lo)
}

// mulHalves computes a single stream's product W·x (or Wᵀ·x, with t) of a
// square W on the tiles as a lockstep's two cores do (halves, split at
// lockstepMid), so that every way of running the pass gives the lockstep's
// bits. out = W·x + beta·out; x is rounded to bfloat16 in the pass's
// scratch first.
func (w *weights) mulHalves(t bool, x []float32, beta float32, out []float32) {
	x16 := w.ctx.bf.a[:len(x)]
	w.ctx.bf.ops.ToBF16(x16, x)
	w.halves(t, 0, len(out), lockstepMid(len(out)), x16, beta, out)
}

// halves computes rows [lo, hi) of a single stream's product W·x (or Wᵀ·x,
// with t) of a square W on the tiles into out (indexed by row), x given in
// bfloat16, as two cores in lockstep over units split at mid do: the rows
// of each half first over the same half of x's units, then over the other
// half (mulTPart, mulPart). out = W·x + beta·out.
func (w *weights) halves(t bool, lo, hi, mid int, x16 []uint16, beta float32, out []float32) {
	n := len(out)
	for _, half := range [2][2]int{{0, mid}, {mid, n}} {
		a, b := max(lo, half[0]), min(hi, half[1])
		if a >= b {
			continue
		}
		o0, o1 := otherHalf(half[0], half[1], n)
		part := w.mulTPart
		if t {
			part = w.mulPart
		}
		part(a, b, half[0], half[1], x16, beta, out[a:b])
		part(a, b, o0, o1, x16, 1, out[a:b])
	}
}

// newStepWeights is newWeights for single steps of one stream, which read
// the matrix of p (the slab is updated in place, so the sampler of a
// training run sees every update): in float32 in place, bound here once
// rather than at every step; in BF16 through the copy view makes.
func newStepWeights(t Tensor, p []float32, ctx *passContext) weights {
	return weights{t: t, rows: t.Shape[0], cols: t.Shape[1], ctx: ctx, w: t.Of(p), ld: t.Shape[1]}
}

// view readies a step's matrix for its GEMV: in BF16 W is converted at the
// first view only (a model being sampled does not change); float32 needs
// nothing. With tiles (a recurrence's W) where kernels.GemvOnTiles holds,
// the copy is Wᵀ pair-packed instead, for one-row GEMMs on the tiles.
func (w *weights) view(p []float32, tiles bool) {
	bf := w.ctx.bf
	if bf == nil || w.w16 != nil || w.pt16 != nil {
		return
	}
	if tiles && kernels.GemvOnTiles(bf.k, w.rows, w.cols) {
		w.tiles, w.ldpt = true, kernels.PairsLD(w.rows)
		w.pt16 = make([]uint16, kernels.PairsWords(w.cols, w.ldpt))
		bf.ops.ToBF16PairsT(w.pt16, w.ldpt, w.t.Of(p), w.rows, w.cols, w.cols)
		return
	}
	w.w16 = make([]uint16, w.rows*w.cols)
	bf.ops.ToBF16(w.w16, w.t.Of(p))
}

// mulT computes out = alpha·x·Wᵀ + beta·out for the n rows of x (each cols
// long; out's rows are rows long), rows lo to lo+n of the pass: the matrix
// applied to each row. With vec (a single stream) it is one GEMV, W·x.
func (w *weights) mulT(k kernels.Backend, vec bool, lo, n int, alpha float32, x []float32, beta float32, out []float32) {
	if bf := w.ctx.bf; bf != nil {
		bf.times(vec && !w.tiles, lo, n, w.rows, w.cols, alpha, x, w.w16, w.pt16, w.ldpt, beta, out)
		return
	}
	switch {
	case vec:
		k.Gemv(false, w.rows, w.cols, alpha, w.w, w.ld, x, beta, out)
	case w.pt != nil:
		k.GemmPanels(n, w.rows, w.cols, alpha, x, w.cols, w.pt, beta, out, w.rows)
	case w.wt != nil:
		k.Gemm(false, false, n, w.rows, w.cols, alpha, x, w.cols, w.wt, w.ldt, beta, out, w.rows)
	default:
		k.Gemm(false, true, n, w.rows, w.cols, alpha, x, w.cols, w.w, w.ld, beta, out, w.rows)
	}
}

// mul computes out = alpha·x·W + beta·out for the n rows of x (each rows
// long; out's rows are cols long), rows lo to lo+n of the pass: the
// transpose applied to each row, as back-propagation does. With vec it is
// one GEMV, Wᵀ·x.
func (w *weights) mul(k kernels.Backend, vec bool, lo, n int, alpha float32, x []float32, beta float32, out []float32) {
	if bf := w.ctx.bf; bf != nil {
		bf.times(vec && !w.tiles, lo, n, w.cols, w.rows, alpha, x, w.wt16, w.pw16, w.ldpw, beta, out)
		return
	}
	switch {
	case vec:
		k.Gemv(true, w.rows, w.cols, alpha, w.w, w.ld, x, beta, out)
	case w.pw != nil:
		k.GemmPanels(n, w.cols, w.rows, alpha, x, w.rows, w.pw, beta, out, w.cols)
	default:
		k.Gemm(false, false, n, w.cols, w.rows, alpha, x, w.rows, w.w, w.ld, beta, out, w.cols)
	}
}

// gradient writes dW = alpha·doutᵀ·x (overwriting it) into the gradient
// slab g: the sum over the n rows of the outer products of each row of dout
// (rows long) with the same row of x (cols long). With side it runs on the
// helper core beside a pass (bf16Products.sideA).
func (w *weights) gradient(k kernels.Backend, n int, alpha float32, dout, x, g []float32, side bool) {
	dout, x = dout[:n*w.rows], x[:n*w.cols]
	dW := w.t.Of(g)
	if bf := w.ctx.bf; bf != nil {
		// doutᵀ·x: doutᵀ row-major, x pair-packed (pairs of its rows
		// interleaved).
		a, b := bf.a, bf.b
		if side {
			a, b = bf.sideA, bf.sideB
		}
		ldb := kernels.PairsLD(w.cols)
		a, b = a[:w.rows*n], b[:kernels.PairsWords(n, ldb)]
		bf.ops.ToBF16T(a, n, dout, n, w.rows, w.rows)
		if pb, ok := bf.pairedRows(x, n, w.cols); ok {
			b = pb // converted already, or now for the next gradient too
		} else {
			bf.ops.ToBF16Pairs(b, ldb, x, n, w.cols, w.cols)
		}
		bf.ops.GemmBF16(w.rows, w.cols, n, alpha, a, n, b, ldb, 0, dW, w.cols)
		return
	}
	k.Gemm(true, false, w.rows, w.cols, n, alpha, dout, w.rows, x, w.cols, 0, dW, w.cols)
}
