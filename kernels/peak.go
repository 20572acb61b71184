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
		flops := float64(calls) * iters * 12 * float64(lanes) * 2
		// The best round: other processes on a shared machine only ever
		// slow one down.
		best = max(best, flops/time.Since(start).Seconds()/1e9)
	}
	return best, isa
}
