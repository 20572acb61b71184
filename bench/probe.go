package bench

import (
	"time"

	"charrnn/kernels"
)

// Limits are the machine's ceilings that workloads are judged against, per
// core.
type Limits struct {
	// FMAGFLOPS is the fp32 multiply-add throughput of one core, in GFLOP/s:
	// the vector FMA loop when the build has one (FMAISA says which), else
	// a GEMM small enough to stay in L1 on the given backend.
	FMAGFLOPS float64
	FMAISA    string
	// L2ReadGBps is the read bandwidth of one core from a buffer that fits
	// in L2 but not L1, in GB/s.
	L2ReadGBps float64
}

// Probe measures the limits on backend k, taking about d in all.
func Probe(k kernels.Backend, d time.Duration) Limits {
	l := Limits{L2ReadGBps: probeL2(k, d/2)}
	if l.FMAGFLOPS, l.FMAISA = kernels.FMAPeak(d / 2); l.FMAISA == "" {
		l.FMAGFLOPS, l.FMAISA = probeGemm(k, d/2), "gemm "+k.Name()
	}
	return l
}

// probeGemm times a 64×64×256 GEMM (A and B 64 KiB each, C 16 KiB), the
// densest multiply-add work the backend does.
func probeGemm(k kernels.Backend, d time.Duration) float64 {
	const m, n, kk = 64, 64, 256
	a, b, c := make([]float32, m*kk), make([]float32, kk*n), make([]float32, m*n)
	for i := range a {
		a[i] = float32(i%7) * 0.1
	}
	for i := range b {
		b[i] = float32(i%5) * 0.1
	}
	return repeat(d, 2*m*n*kk, func() { k.Gemm(false, false, m, n, kk, 1, a, kk, b, n, 0, c, n) }) / 1e9
}

// probeL2 times Dot over two 192 KiB vectors (384 KiB: past L1, within L2).
func probeL2(k kernels.Backend, d time.Duration) float64 {
	const n = 48 << 10
	x, y := make([]float32, n), make([]float32, n)
	for i := range x {
		x[i], y[i] = 1, 2
	}
	var sink float32
	bps := repeat(d, 2*4*n, func() { sink += k.Dot(x, y) })
	_ = sink
	return bps / 1e9
}

// repeat runs f for about d and returns units per second, where one call
// does `units` of work; the best of several rounds, since other processes
// on a shared machine only ever slow a round down.
func repeat(d time.Duration, units int, f func()) float64 {
	f() // warm caches
	best := 0.0
	rounds := 5
	for r := 0; r < rounds; r++ {
		calls := 0
		start := time.Now()
		for time.Since(start) < d/time.Duration(rounds) {
			for i := 0; i < 16; i++ {
				f()
			}
			calls += 16
		}
		if rate := float64(calls*units) / time.Since(start).Seconds(); rate > best {
			best = rate
		}
	}
	return best
}
