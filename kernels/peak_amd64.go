//go:build amd64 && !noasm

package kernels

import (
	"github.com/klauspost/cpuid/v2"

	"charrnn/kernels/internal/asm"
)

// fmaLoop returns this CPU's widest FMA loop: 12 independent vector FMAs
// per iteration, lanes floats each.
func fmaLoop() (run func(iters int) float32, lanes int, isa string) {
	switch {
	case cpuid.CPU.Supports(cpuid.AVX512F):
		return asm.FMAPeakAVX512, 16, "avx512"
	case cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3):
		return asm.FMAPeakAVX2, 8, "avx2"
	}
	return nil, 0, ""
}

// bf16Loop returns the VDPBF16PS loop of BF16Peak: 24 independent
// instructions per iteration; nil without AVX512_BF16.
func bf16Loop() func(iters int) float32 {
	if !cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512VL, cpuid.AVX512BF16) {
		return nil
	}
	return asm.BF16PeakAVX512
}
