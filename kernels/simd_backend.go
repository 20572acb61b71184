//go:build amd64 && !noasm

package kernels

// simdBackend is an assembly backend: the Backend methods over one ISA's
// table of kernels (avx512.go, avx2.go). It embeds Generic for any op the
// table does not accelerate.
type simdBackend struct {
	Generic
	name string
	k    *simdKernels
}

// Name implements Backend.
func (be simdBackend) Name() string { return be.name }

// Gemv implements Backend.
func (be simdBackend) Gemv(trans bool, m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
	be.k.gemv(trans, m, n, alpha, a, lda, x, beta, y)
}

// Gemm implements Backend.
func (be simdBackend) Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	be.k.gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// GemmPanels implements Backend.
func (be simdBackend) GemmPanels(m, n, k int, alpha float32, a []float32, lda int, panels []float32, beta float32, c []float32, ldc int) {
	be.k.gemmPanels(m, n, k, alpha, a, lda, panels, beta, c, ldc)
}

// Axpy implements Backend.
func (be simdBackend) Axpy(alpha float32, x, y []float32) { be.k.axpy(alpha, x, y[:len(x)]) }

// Dot implements Backend.
func (be simdBackend) Dot(x, y []float32) float32 { return be.k.dot(x, y[:len(x)]) }

// AddTanh implements Backend.
func (be simdBackend) AddTanh(h, a, col, bias []float32) {
	be.k.addTanh(h, a[:len(h)], col[:len(h)], bias[:len(h)])
}

// TanhGrad implements Backend.
func (be simdBackend) TanhGrad(dr, h, dh []float32) { be.k.tanhGrad(dr, h[:len(dr)], dh[:len(dr)]) }

// Mul implements Backend.
func (be simdBackend) Mul(dst, x, y []float32) { be.k.mul(dst, x[:len(dst)], y[:len(dst)]) }

// SoftmaxXent implements Backend.
func (be simdBackend) SoftmaxXent(d, logits, bias []float32, target int) float32 {
	return be.k.softmaxXent(d, logits, bias, target)
}

// SoftmaxExp implements Backend.
func (be simdBackend) SoftmaxExp(p, logits []float32, scale float32) float32 {
	return be.k.softmaxExp(p, logits, scale)
}

// SumSquares implements Backend.
func (be simdBackend) SumSquares(x []float32) float64 { return be.k.sumSquaresChecked(x) }

// SGDUpdate implements Backend.
func (be simdBackend) SGDUpdate(p, g []float32, lr, scale, limit float32) {
	be.k.sgdUpdate(p, g, lr, scale, limit)
}

// AdagradUpdate implements Backend.
func (be simdBackend) AdagradUpdate(p, g, mem []float32, lr, scale, limit float32) {
	be.k.adagradUpdate(p, g, mem, lr, scale, limit)
}

// AdamUpdate implements Backend.
func (be simdBackend) AdamUpdate(p, g, m, v []float32, alpha, beta1, beta2, eps, scale, limit float32) {
	be.k.adamUpdate(p, g, m, v, alpha, beta1, beta2, eps, scale, limit)
}

// MomentumUpdate implements Backend.
func (be simdBackend) MomentumUpdate(p, g, vel []float32, lr, mu, scale, limit float32) {
	be.k.momentumUpdate(p, g, vel, lr, mu, scale, limit)
}

// RMSpropUpdate implements Backend.
func (be simdBackend) RMSpropUpdate(p, g, ms []float32, lr, rho, eps, scale, limit float32) {
	be.k.rmspropUpdate(p, g, ms, lr, rho, eps, scale, limit)
}

// AdamWUpdate implements Backend.
func (be simdBackend) AdamWUpdate(p, g, m, v []float32, alpha, beta1, beta2, eps, decay, scale, limit float32) {
	be.k.adamWUpdate(p, g, m, v, alpha, beta1, beta2, eps, decay, scale, limit)
}
