//go:build amd64 && !noasm

package kernels

import (
	"github.com/klauspost/cpuid/v2"

	"charrnn/kernels/internal/asm"
)

// AVX2 is the AVX2 backend: 8-lane Go assembly for every op.
type AVX2 struct{ Generic }

var avx2Kernels = simdKernels{
	bcast:      []gemmKernel{asm.GemmBcast1AVX2, asm.GemmBcast2AVX2, asm.GemmBcast3AVX2, asm.GemmBcast4AVX2},
	bcastWidth: 16,
	dotNT:      asm.DotNT2x4AVX2, dotRows: 2, dotCols: 4,
	gemvN: asm.DotNT4x1AVX2, gemvRows: 4,
	gemvT: asm.GemvTAVX2, gemvTWidth: 64,
	gemvNAll: asm.GemvNAVX2, gemvTAll: asm.GemvTransAVX2,
	dot:      asm.DotAVX2,
	axpy:     asm.AxpyAVX2,
	scal:     asm.ScalAVX2,
	addTanh:  asm.AddTanhAVX2,
	tanhGrad: asm.TanhGradAVX2,
	maxSum:   asm.MaxSumAVX2,
	expSum:   asm.ExpSumAVX2,

	sumSquares:     asm.SumSquaresAVX2,
	sumSquaresWide: asm.SumSquaresWideAVX2,
	sgd:            asm.SGDUpdateAVX2,
	adagrad:        asm.AdagradUpdateAVX2,
	adam:           asm.AdamUpdateAVX2,
	adamW:          asm.AdamWUpdateAVX2,
	momentum:       asm.MomentumUpdateAVX2,
	rmsprop:        asm.RMSpropUpdateAVX2,
}

// Asked on every call, like AVX512's, so that tests can switch tiers off.
func init() {
	Register(AVX2{}, 20, func() bool {
		return cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3)
	})
}

// Name implements Backend.
func (AVX2) Name() string { return "avx2" }

// Gemv implements Backend.
func (AVX2) Gemv(trans bool, m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
	avx2Kernels.gemv(trans, m, n, alpha, a, lda, x, beta, y)
}

// Gemm implements Backend.
func (AVX2) Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	avx2Kernels.gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Axpy implements Backend.
func (AVX2) Axpy(alpha float32, x, y []float32) { avx2Kernels.axpy(alpha, x, y[:len(x)]) }

// Dot implements Backend.
func (AVX2) Dot(x, y []float32) float32 { return avx2Kernels.dot(x, y[:len(x)]) }

// AddTanh implements Backend.
func (AVX2) AddTanh(h, a, col, bias []float32) {
	avx2Kernels.addTanh(h, a[:len(h)], col[:len(h)], bias[:len(h)])
}

// TanhGrad implements Backend.
func (AVX2) TanhGrad(dr, h, dh []float32) { avx2Kernels.tanhGrad(dr, h[:len(dr)], dh[:len(dr)]) }

// SoftmaxXent implements Backend.
func (AVX2) SoftmaxXent(d, logits, bias []float32, target int) float32 {
	return avx2Kernels.softmaxXent(d, logits, bias, target)
}

// SumSquares implements Backend.
func (AVX2) SumSquares(x []float32) float64 { return avx2Kernels.sumSquaresChecked(x) }

// SGDUpdate implements Backend.
func (AVX2) SGDUpdate(p, g []float32, lr, scale, limit float32) {
	avx2Kernels.sgdUpdate(p, g, lr, scale, limit)
}

// AdagradUpdate implements Backend.
func (AVX2) AdagradUpdate(p, g, mem []float32, lr, scale, limit float32) {
	avx2Kernels.adagradUpdate(p, g, mem, lr, scale, limit)
}

// AdamUpdate implements Backend.
func (AVX2) AdamUpdate(p, g, m, v []float32, alpha, beta1, beta2, eps, scale, limit float32) {
	avx2Kernels.adamUpdate(p, g, m, v, alpha, beta1, beta2, eps, scale, limit)
}

// MomentumUpdate implements Backend.
func (AVX2) MomentumUpdate(p, g, vel []float32, lr, mu, scale, limit float32) {
	avx2Kernels.momentumUpdate(p, g, vel, lr, mu, scale, limit)
}

// RMSpropUpdate implements Backend.
func (AVX2) RMSpropUpdate(p, g, ms []float32, lr, rho, eps, scale, limit float32) {
	avx2Kernels.rmspropUpdate(p, g, ms, lr, rho, eps, scale, limit)
}

// AdamWUpdate implements Backend.
func (AVX2) AdamWUpdate(p, g, m, v []float32, alpha, beta1, beta2, eps, decay, scale, limit float32) {
	avx2Kernels.adamWUpdate(p, g, m, v, alpha, beta1, beta2, eps, decay, scale, limit)
}
