package engine

import "charrnn/kernels"

// weights is a weight matrix of the parameter slab (rows × cols,
// row-major) as a pass's products read it. Every product with a weight
// matrix goes through it, so how a matrix is read is decided in one place:
//
//   - in float32, through an aligned copy when its rows are not a multiple
//     of 16 floats (see paddedCopy), and for a recurrence over several
//     streams also through a transposed copy: the step's product x·Wᵀ then
//     runs as the broadcast GEMM, which does it faster than dot products
//     of rows (bench/RESULTS.md);
//   - in mixed precision (BF16), through bfloat16 copies of W and Wᵀ, each
//     product then written as A·Bᵀ with both operands bfloat16.
//
// refresh takes the matrix from the parameters before each forward pass.
type weights struct {
	t          Tensor
	rows, cols int
	ctx        *passContext
	copy       paddedCopy
	w          []float32 // what float32 products read, with leading dimension ld
	ld         int
	wt         []float32 // Wᵀ (cols × rows, leading dimension ldt), when kept
	ldt        int
	w16, wt16  []uint16 // W and Wᵀ in bfloat16, made at the first refresh in BF16
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
	w := newWeights(t, ctx)
	if b > 1 && ctx.precision != BF16 {
		w.ldt = paddedLD(w.rows)
		w.wt = kernels.AlignedFloats(w.cols * w.ldt)
	}
	return w
}

// weightsFloats is what newWeights allocates for a rows×cols matrix (two
// bfloat16 copies in BF16 take the room of one float32 copy).
func weightsFloats(rows, cols int, p Precision) int {
	if p == BF16 {
		return rows * cols
	}
	return paddedFloats(rows, cols)
}

// recurrentWeightsFloats is what newRecurrentWeights allocates.
func recurrentWeightsFloats(rows, cols, b int, p Precision) int {
	n := weightsFloats(rows, cols, p)
	if b > 1 && p != BF16 {
		n += cols * paddedLD(rows)
	}
	return n
}

// refresh takes the matrix from the parameters p, before a forward pass.
func (w *weights) refresh(p []float32) {
	bf := w.ctx.bf
	if bf == nil {
		w.w, w.ld = w.copy.refresh(w.t.Of(p), w.cols)
		if w.wt != nil {
			transpose(w.wt, w.ldt, w.t.Of(p), w.rows, w.cols)
		}
		return
	}
	if w.w16 == nil {
		w.w16, w.wt16 = make([]uint16, w.rows*w.cols), make([]uint16, w.rows*w.cols)
	}
	bf.ops.ToBF16(w.w16, w.t.Of(p))
	bf.ops.ToBF16T(w.wt16, w.rows, w.t.Of(p), w.rows, w.cols, w.cols)
}

// newStepWeights is newWeights for single steps of one stream, which read
// the matrix of p (the slab is updated in place, so the sampler of a
// training run sees every update): in float32 in place, bound here once
// rather than at every step; in BF16 through the copies view makes.
func newStepWeights(t Tensor, p []float32, ctx *passContext) weights {
	return weights{t: t, rows: t.Shape[0], cols: t.Shape[1], ctx: ctx, w: t.Of(p), ld: t.Shape[1]}
}

// view readies a step's matrix: in BF16 it is converted at the first view
// only (a model being sampled does not change); float32 needs nothing.
func (w *weights) view(p []float32) {
	if w.w16 == nil && w.ctx.bf != nil {
		w.refresh(p)
	}
}

// mulT computes out = alpha·x·Wᵀ + beta·out for the n rows of x (each cols
// long; out's rows are rows long), rows lo to lo+n of the pass: the matrix
// applied to each row. With vec (a single stream) it is one GEMV, W·x.
func (w *weights) mulT(k kernels.Backend, vec bool, lo, n int, alpha float32, x []float32, beta float32, out []float32) {
	if bf := w.ctx.bf; bf != nil {
		bf.times(vec, lo, n, w.rows, w.cols, alpha, x, w.w16, beta, out)
		return
	}
	switch {
	case vec:
		k.Gemv(false, w.rows, w.cols, alpha, w.w, w.ld, x, beta, out)
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
		bf.times(vec, lo, n, w.cols, w.rows, alpha, x, w.wt16, beta, out)
		return
	}
	if vec {
		k.Gemv(true, w.rows, w.cols, alpha, w.w, w.ld, x, beta, out)
		return
	}
	k.Gemm(false, false, n, w.cols, w.rows, alpha, x, w.rows, w.w, w.ld, beta, out, w.cols)
}

// gradient writes dW = alpha·doutᵀ·x (overwriting it) into the gradient
// slab g: the sum over the n rows of the outer products of each row of dout
// (rows long) with the same row of x (cols long).
func (w *weights) gradient(k kernels.Backend, n int, alpha float32, dout, x, g []float32) {
	if bf := w.ctx.bf; bf != nil {
		a, b := bf.a[:w.rows*n], bf.b[:w.cols*n]
		bf.ops.ToBF16T(a, n, dout, n, w.rows, w.rows)
		bf.ops.ToBF16T(b, n, x, n, w.cols, w.cols)
		bf.ops.GemmBF16(w.rows, w.cols, n, alpha, a, n, b, n, 0, w.t.Of(g), w.cols)
		return
	}
	k.Gemm(true, false, w.rows, w.cols, n, alpha, dout, w.rows, x, w.cols, 0, w.t.Of(g), w.cols)
}

// transpose writes the rows×cols matrix src (row-major) transposed into dst
// (cols rows, leading dimension ld), a tile at a time so both stay in
// cache.
func transpose(dst []float32, ld int, src []float32, rows, cols int) {
	const tile = 32
	for i0 := 0; i0 < rows; i0 += tile {
		for j0 := 0; j0 < cols; j0 += tile {
			for i := i0; i < min(i0+tile, rows); i++ {
				row := src[i*cols : (i+1)*cols]
				for j := j0; j < min(j0+tile, cols); j++ {
					dst[j*ld+i] = row[j]
				}
			}
		}
	}
}
