//go:build amd64 && !noasm

package kernels

import (
	"github.com/klauspost/cpuid/v2"

	"charrnn/kernels/internal/asm"
)

// avx512Kernels is the AVX-512F backend: 16-lane Go assembly for every op.
var avx512Kernels = newAVX512Kernels(avx512BF16)

// newAVX512Kernels is the AVX-512F table with bf16 as its BF16 capability
// (the amx backend's differs).
func newAVX512Kernels(bf16 *bf16Kernels) *simdKernels {
	return &simdKernels{
		bcast:      []gemmKernel{asm.GemmBcast1AVX512, asm.GemmBcast2AVX512, asm.GemmBcast3AVX512, asm.GemmBcast4AVX512, asm.GemmBcast5AVX512, asm.GemmBcast6AVX512},
		bcastWidth: 64,
		dotNT:      asm.DotNT4x4AVX512, dotRows: 4, dotCols: 4,
		gemvN: asm.DotNT4x1AVX512, gemvRows: 4,
		gemvT: asm.GemvTAVX512, gemvTWidth: 128,
		gemvNAll: asm.GemvNAVX512, gemvTAll: asm.GemvTransAVX512,
		gemvLong: asm.GemvRowsAVX512, longRow: 192,
		gemvShortN: asm.GemvShortNAVX512, gemvShortT: asm.GemvShortTAVX512, shortMax: 128,
		dot:      asm.DotAVX512,
		axpy:     asm.AxpyAVX512,
		scal:     asm.ScalAVX512,
		addTanh:  asm.AddTanhAVX512,
		tanhGrad: asm.TanhGradAVX512,
		maxSum:   asm.MaxSumAVX512,
		expSum:   asm.ExpSumAVX512,
		mul:      asm.MulAVX512,

		lstmForward:  asm.LSTMForwardAVX512,
		lstmBackward: asm.LSTMBackwardAVX512,
		gruForward:   asm.GRUForwardAVX512,
		gruBackward:  asm.GRUBackwardAVX512,

		sumSquares:     asm.SumSquaresAVX512,
		sumSquaresWide: asm.SumSquaresWideAVX512,
		sgd:            asm.SGDUpdateAVX512,
		adagrad:        asm.AdagradUpdateAVX512,
		adam:           asm.AdamUpdateAVX512,
		adamW:          asm.AdamWUpdateAVX512,
		momentum:       asm.MomentumUpdateAVX512,
		rmsprop:        asm.RMSpropUpdateAVX512,

		panel: []panelKernel{asm.GemmPanel1AVX512, asm.GemmPanel2AVX512, asm.GemmPanel3AVX512, asm.GemmPanel4AVX512,
			asm.GemmPanel5AVX512, asm.GemmPanel6AVX512, asm.GemmPanel7AVX512, asm.GemmPanel8AVX512,
			asm.GemmPanel9AVX512, asm.GemmPanel10AVX512, asm.GemmPanel11AVX512, asm.GemmPanel12AVX512,
			asm.GemmPanel13AVX512, asm.GemmPanel14AVX512, asm.GemmPanel15AVX512, asm.GemmPanel16AVX512},
		quad: []quadKernel{asm.GemmQuadPanel1AVX512, asm.GemmQuadPanel2AVX512, asm.GemmQuadPanel3AVX512, asm.GemmQuadPanel4AVX512, asm.GemmQuadPanel5AVX512, asm.GemmQuadPanel6AVX512},

		bf16: bf16,
	}
}

// The CPU is asked on every call, not once at init, so that a test can switch
// AVX-512 off with cpuid.CPU.Disable and exercise the next tier.
func init() {
	Register(simdBackend{name: "avx512", k: avx512Kernels}, 30, func() bool {
		return cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512VL, cpuid.AVX2, cpuid.FMA3)
	})
}
