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
