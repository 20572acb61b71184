//go:build amd64 && !noasm

package kernels

import (
	"github.com/klauspost/cpuid/v2"

	"charrnn/kernels/internal/asm"
)

// AVX512 is the AVX-512F backend: 16-lane Go assembly for every op.
type AVX512 struct{ Generic }

var avx512Kernels = simdKernels{
	bcast:      []gemmKernel{asm.GemmBcast1AVX512, asm.GemmBcast2AVX512, asm.GemmBcast3AVX512, asm.GemmBcast4AVX512, asm.GemmBcast5AVX512, asm.GemmBcast6AVX512},
	bcastWidth: 64,
	dotNT:      asm.DotNT4x4AVX512, dotRows: 4, dotCols: 4,
	gemvN: asm.DotNT4x1AVX512, gemvRows: 4,
	gemvT: asm.GemvTAVX512, gemvTWidth: 128,
	gemvNAll: asm.GemvNAVX512, gemvTAll: asm.GemvTransAVX512,
	dot:      asm.DotAVX512,
	axpy:     asm.AxpyAVX512,
	scal:     asm.ScalAVX512,
	addTanh:  asm.AddTanhAVX512,
	tanhGrad: asm.TanhGradAVX512,
	maxSum:   asm.MaxSumAVX512,
	expSum:   asm.ExpSumAVX512,

	sumSquares:     asm.SumSquaresAVX512,
	sumSquaresWide: asm.SumSquaresWideAVX512,
	sgd:            asm.SGDUpdateAVX512,
	adagrad:        asm.AdagradUpdateAVX512,
	adam:           asm.AdamUpdateAVX512,
	adamW:          asm.AdamWUpdateAVX512,
	momentum:       asm.MomentumUpdateAVX512,
	rmsprop:        asm.RMSpropUpdateAVX512,
}

// The CPU is asked on every call, not once at init, so that a test can switch
// AVX-512 off with cpuid.CPU.Disable and exercise the next tier.
func init() {
	Register(AVX512{}, 30, func() bool {
		return cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512VL, cpuid.AVX2, cpuid.FMA3)
	})
}

// Name implements Backend.
func (AVX512) Name() string { return "avx512" }

// Gemv implements Backend.
func (AVX512) Gemv(trans bool, m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
	avx512Kernels.gemv(trans, m, n, alpha, a, lda, x, beta, y)
}

// Gemm implements Backend.
func (AVX512) Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	avx512Kernels.gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Axpy implements Backend.
func (AVX512) Axpy(alpha float32, x, y []float32) { avx512Kernels.axpy(alpha, x, y[:len(x)]) }

// Dot implements Backend.
func (AVX512) Dot(x, y []float32) float32 { return avx512Kernels.dot(x, y[:len(x)]) }

// AddTanh implements Backend.
func (AVX512) AddTanh(h, a, col, bias []float32) {
	avx512Kernels.addTanh(h, a[:len(h)], col[:len(h)], bias[:len(h)])
}

// TanhGrad implements Backend.
func (AVX512) TanhGrad(dr, h, dh []float32) { avx512Kernels.tanhGrad(dr, h[:len(dr)], dh[:len(dr)]) }

// SoftmaxXent implements Backend.
func (AVX512) SoftmaxXent(d, logits, bias []float32, target int) float32 {
	return avx512Kernels.softmaxXent(d, logits, bias, target)
}

// SumSquares implements Backend.
func (AVX512) SumSquares(x []float32) float64 { return avx512Kernels.sumSquaresChecked(x) }

// SGDUpdate implements Backend.
func (AVX512) SGDUpdate(p, g []float32, lr, scale, limit float32) {
	avx512Kernels.sgdUpdate(p, g, lr, scale, limit)
}

// AdagradUpdate implements Backend.
func (AVX512) AdagradUpdate(p, g, mem []float32, lr, scale, limit float32) {
	avx512Kernels.adagradUpdate(p, g, mem, lr, scale, limit)
}

// AdamUpdate implements Backend.
func (AVX512) AdamUpdate(p, g, m, v []float32, alpha, beta1, beta2, eps, scale, limit float32) {
	avx512Kernels.adamUpdate(p, g, m, v, alpha, beta1, beta2, eps, scale, limit)
}

// MomentumUpdate implements Backend.
func (AVX512) MomentumUpdate(p, g, vel []float32, lr, mu, scale, limit float32) {
	avx512Kernels.momentumUpdate(p, g, vel, lr, mu, scale, limit)
}

// RMSpropUpdate implements Backend.
func (AVX512) RMSpropUpdate(p, g, ms []float32, lr, rho, eps, scale, limit float32) {
	avx512Kernels.rmspropUpdate(p, g, ms, lr, rho, eps, scale, limit)
}

// AdamWUpdate implements Backend.
func (AVX512) AdamWUpdate(p, g, m, v []float32, alpha, beta1, beta2, eps, decay, scale, limit float32) {
	avx512Kernels.adamWUpdate(p, g, m, v, alpha, beta1, beta2, eps, decay, scale, limit)
}
