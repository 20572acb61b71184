//go:build amd64 && !noasm

package kernels

import (
	"testing"

	"github.com/klauspost/cpuid/v2"

	"charrnn/kernels/internal/asm"
)

// BenchmarkFMAPeak measures one core's FP32 FMA throughput with a loop of
// independent FMAs, the ceiling to hold the GEMM figures against.
func BenchmarkFMAPeak(b *testing.B) {
	for _, t := range []struct {
		name  string
		lanes int
		ok    bool
		run   func(n int) float32
	}{
		{"avx512", 16, cpuid.CPU.Supports(cpuid.AVX512F), asm.FMAPeakAVX512},
		{"avx2", 8, cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3), asm.FMAPeakAVX2},
	} {
		if !t.ok {
			continue
		}
		b.Run("isa="+t.name, func(b *testing.B) {
			const iters = 1 << 16
			for range b.N {
				sinkF32 = t.run(iters)
			}
			flops := float64(b.N) * iters * 12 * float64(t.lanes) * 2
			b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
