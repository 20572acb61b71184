package bench

import (
	"runtime/debug"
	"sync"
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
	// BF16GFLOPS is one core's bfloat16 dot-product throughput (VDPBF16PS,
	// float32 sums), in GFLOP/s, or 0 where the CPU or build has none: the
	// peak that mixed-precision training is judged against.
	BF16GFLOPS float64
	// AMXGFLOPS is one core's throughput on AMX's tiles (TDPBF16PS) where
	// the amx backend runs, 0 elsewhere: the peak of bf16 on that backend.
	AMXGFLOPS float64
	// The read bandwidth of one core, in GB/s: from a buffer that fits in
	// L2 but not L1 (384 KiB), one that fits in L3 but not L2 (16 MiB) and
	// one that fits in no cache (256 MiB).
	L2ReadGBps, L3ReadGBps, MemReadGBps float64
}

// Probe measures the limits on backend k, taking about d in all.
func Probe(k kernels.Backend, d time.Duration) Limits {
	l := Limits{
		L2ReadGBps:  ReadRate(k, 384<<10, 1, d/4),
		L3ReadGBps:  ReadRate(k, 16<<20, 1, d/4),
		MemReadGBps: ReadRate(k, 256<<20, 1, d/4),
	}
	l.BF16GFLOPS = kernels.BF16Peak(d / 8)
	l.AMXGFLOPS = kernels.AMXPeak(d / 8)
	if l.FMAGFLOPS, l.FMAISA = kernels.FMAPeak(d / 4); l.FMAISA == "" {
		l.FMAGFLOPS, l.FMAISA = probeGemm(k, d/4), "gemm "+k.Name()
	}
	// The memory probe's buffers are garbage now: return them to the OS
	// here rather than have the runtime's background scavenger do it
	// during the measurements that follow, on one of their cores.
	debug.FreeOSMemory()
	return l
}

// ReadRate is the rate (GB/s) at which `threads` cores read a working set
// of the given bytes again and again, each its own share, as generation
// reads a model's weights once per character: the roof that sampling is
// judged against.
func ReadRate(k kernels.Backend, bytes, threads int, d time.Duration) float64 {
	n := max(bytes/8/threads, 16) // floats per vector; each core Dots two
	rates := make([]float64, threads)
	var wg sync.WaitGroup
	for i := range rates {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x, y := make([]float32, n), make([]float32, n)
			for j := range x {
				x[j], y[j] = 1, 2
			}
			var sink float32
			rates[i] = repeat(d, 2*4*n, func() { sink += k.Dot(x, y) })
			_ = sink
		}()
	}
	wg.Wait()
	var sum float64
	for _, r := range rates {
		sum += r
	}
	return sum / 1e9
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
