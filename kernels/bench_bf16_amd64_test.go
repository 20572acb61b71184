//go:build amd64 && !noasm

package kernels

import (
	"testing"
	"time"

	"github.com/klauspost/cpuid/v2"

	"charrnn/kernels/internal/asm"
)

// BenchmarkBF16Peak measures one core's VDPBF16PS throughput next to its
// FP32 FMA throughput, the two loops timed alternately: the ceilings of
// GemmBF16 and Gemm. ratio is bf16-GFLOP/s over fp32-GFLOP/s.
func BenchmarkBF16Peak(b *testing.B) {
	if !cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512VL, cpuid.AVX512BF16) {
		b.Skip("this CPU has no AVX512_BF16")
	}
	const iters = 1 << 14
	var tb, tf time.Duration
	for range b.N {
		t0 := time.Now()
		sinkF32 = asm.BF16PeakAVX512(iters)
		t1 := time.Now()
		sinkF32 = asm.FMAPeakAVX512(iters)
		tb += t1.Sub(t0)
		tf += time.Since(t1)
	}
	bf := float64(b.N) * iters * 24 * 32 * 2 / tb.Seconds() / 1e9
	fp := float64(b.N) * iters * 12 * 16 * 2 / tf.Seconds() / 1e9
	b.ReportMetric(bf, "bf16-GFLOP/s")
	b.ReportMetric(fp, "fp32-GFLOP/s")
	b.ReportMetric(bf/fp, "ratio")
}
