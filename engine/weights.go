package engine

import "charrnn/kernels"

// weights is a weight matrix of the parameter slab (rows × cols,
// row-major) as a window's products read it: through an aligned copy when
// its rows are not a multiple of 16 floats (see paddedCopy), refreshed
// before each forward pass. Every product with a weight matrix goes through
// it, so how the matrix is read is decided in one place.
type weights struct {
	t          Tensor
	rows, cols int
	copy       paddedCopy
	w          []float32 // what the products read, with leading dimension ld
	ld         int
}

func newWeights(t Tensor) weights {
	rows, cols := t.Shape[0], t.Shape[1]
	return weights{t: t, rows: rows, cols: cols, copy: newPaddedCopy(rows, cols)}
}

// weightsFloats is what newWeights allocates for a rows×cols matrix.
func weightsFloats(rows, cols int) int { return paddedFloats(rows, cols) }

// refresh takes the matrix from the parameters p, before a forward pass.
func (w *weights) refresh(p []float32) { w.w, w.ld = w.copy.refresh(w.t.Of(p), w.cols) }

// mulT computes out = alpha·x·Wᵀ + beta·out for the n rows of x (each cols
// long; out's rows are rows long): the matrix applied to each row. With vec
// (a single stream) it is one GEMV, W·x.
func (w *weights) mulT(k kernels.Backend, vec bool, n int, alpha float32, x []float32, beta float32, out []float32) {
	if vec {
		k.Gemv(false, w.rows, w.cols, alpha, w.w, w.ld, x, beta, out)
		return
	}
	k.Gemm(false, true, n, w.rows, w.cols, alpha, x, w.cols, w.w, w.ld, beta, out, w.rows)
}

// mul computes out = alpha·x·W + beta·out for the n rows of x (each rows
// long; out's rows are cols long): the transpose applied to each row, as
// back-propagation does. With vec it is one GEMV, Wᵀ·x.
func (w *weights) mul(k kernels.Backend, vec bool, n int, alpha float32, x []float32, beta float32, out []float32) {
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
	k.Gemm(true, false, w.rows, w.cols, n, alpha, dout, w.rows, x, w.cols, 0, w.t.Of(g), w.cols)
}
