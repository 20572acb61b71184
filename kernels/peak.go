package kernels

import "time"

// FMAPeak measures one core's fp32 multiply-add throughput in GFLOP/s, for
// about d, with the widest vector FMA loop this CPU and build have: 12
// independent FMAs per iteration, so the loop is bound by the FMA units,
// not by latency or memory. It returns 0 and "" when the build has no such
// loop (noasm, or a CPU without AVX2 and FMA).
func FMAPeak(d time.Duration) (gflops float64, isa string) {
	run, lanes, isa := fmaLoop()
	if run == nil {
		return 0, ""
	}
	return peakOf(run, 12*lanes*2, d), isa
}

// BF16Peak measures one core's bfloat16 dot-product throughput in GFLOP/s
// like FMAPeak, with a loop of 24 independent VDPBF16PS (each 32
// multiply-adds). It returns 0 without AVX512_BF16 or without assembly.
func BF16Peak(d time.Duration) float64 {
	run := bf16Loop()
	if run == nil {
		return 0
	}
	return peakOf(run, 24*32*2, d)
}

// peakOf times run, whose every iteration does flopsPerIter floating-point
// operations, for about d and returns its best rate in GFLOP/s.
func peakOf(run func(iters int) float32, flopsPerIter int, d time.Duration) float64 {
	const iters = 1 << 14
	run(iters) // warm up: the vector units may need waking
	best := 0.0
	for round := 0; round < 5; round++ {
		calls := 0
		start := time.Now()
		for time.Since(start) < d/5 {
			run(iters)
			calls++
		}
		flops := float64(calls) * iters * float64(flopsPerIter)
		// The best round: other processes on a shared machine only ever
		// slow one down.
		best = max(best, flops/time.Since(start).Seconds()/1e9)
	}
	return best
}
