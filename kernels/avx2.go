//go:build amd64 && !noasm

package kernels

import (
	"github.com/klauspost/cpuid/v2"

	"charrnn/kernels/internal/asm"
)

// avx2Kernels is the AVX2 backend: 8-lane Go assembly for every op.
var avx2Kernels = simdKernels{
	bcast:      []gemmKernel{asm.GemmBcast1AVX2, asm.GemmBcast2AVX2, asm.GemmBcast3AVX2, asm.GemmBcast4AVX2, asm.GemmBcast5AVX2, asm.GemmBcast6AVX2},
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
	mul:      asm.MulAVX2,

	lstmForward:  asm.LSTMForwardAVX2,
	lstmBackward: asm.LSTMBackwardAVX2,
	gruForward:   asm.GRUForwardAVX2,
	gruBackward:  asm.GRUBackwardAVX2,

	sumSquares:     asm.SumSquaresAVX2,
	sumSquaresWide: asm.SumSquaresWideAVX2,
	sgd:            asm.SGDUpdateAVX2,
	adagrad:        asm.AdagradUpdateAVX2,
	adam:           asm.AdamUpdateAVX2,
	adamW:          asm.AdamWUpdateAVX2,
	momentum:       asm.MomentumUpdateAVX2,
	rmsprop:        asm.RMSpropUpdateAVX2,
}

// Asked on every call, like avx512's, so that tests can switch tiers off.
func init() {
	Register(simdBackend{name: "avx2", k: &avx2Kernels}, 20, func() bool {
		return cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3)
	})
}
