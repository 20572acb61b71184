package kernels

import (
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"
)

// Benchmarks of the BF16 ops against their float32 counterparts on the
// engine's shapes. The two are timed in alternating groups of calls within
// every iteration, so that load from other processes on a shared machine
// slows both alike and the ratio holds; each group is long enough (a few
// milliseconds) for the caches to settle on its own data, as in a run that
// uses one precision throughout. Names are benchstat-friendly:
//
//	BenchmarkGemmBF16/backend=avx512/workers=1/NT/32x2048x512
//
// reporting bf16-GFLOP/s, fp32-GFLOP/s and speedup (fp32 time / bf16 time).

// bf16Bench is one backend with BF16 ops, alone or split over workers.
type bf16Bench struct {
	name string
	be   Backend
	ops  BF16
}

// bf16Benches returns every backend with BF16 ops on this CPU, on one core
// and on two; close closes the Parallel ones.
func bf16Benches() (benches []bf16Bench, close func()) {
	var closers []io.Closer
	for _, be := range Supported() {
		if ops, ok := BF16Of(be); ok {
			benches = append(benches, bf16Bench{"backend=" + be.Name() + "/workers=1", be, ops})
			pb := Parallel(be, 2)
			pops, _ := BF16Of(pb)
			benches = append(benches, bf16Bench{"backend=" + be.Name() + "/workers=2", pb, pops})
			closers = append(closers, pb.(io.Closer))
		}
	}
	return benches, func() {
		for _, c := range closers {
			c.Close()
		}
	}
}

// alternate runs bf16 and fp32 in groups of calls, b.N rounds of one group
// each, and reports their rates: work units per call divided by time, in
// the unit named (GFLOP/s from flops, GB/s from bytes), and the speedup.
func alternate(b *testing.B, bf16, fp32 func(), bf16Work, fp32Work float64, unit string) {
	// Group size: a few milliseconds of the slower side.
	start := time.Now()
	fp32()
	reps := max(1, int(3*time.Millisecond/max(time.Since(start), time.Microsecond)))
	bf16()
	var tb, tf time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		for range reps {
			bf16()
		}
		t1 := time.Now()
		for range reps {
			fp32()
		}
		tb += t1.Sub(t0)
		tf += time.Since(t1)
	}
	calls := float64(b.N * reps)
	b.ReportMetric(calls*bf16Work/tb.Seconds()/1e9, "bf16-"+unit)
	b.ReportMetric(calls*fp32Work/tf.Seconds()/1e9, "fp32-"+unit)
	b.ReportMetric(tf.Seconds()/tb.Seconds(), "speedup")
}

// randBF16 returns n random bfloat16 values in [-1, 1).
func randBF16(ops BF16, rng *rand.Rand, n int) []uint16 {
	h := make([]uint16, n)
	ops.ToBF16(h, randSlice(rng, n))
	return h
}

// gemmBF16BenchShapes are the engine's products with a weight matrix as
// BF16 runs them, C = A·B (m×n×k) with B pair-packed, next to the float32
// Gemm the engine runs for the same product (fp32 names its transposes):
// per step and window-wide forward products, the output projection, the
// backward products with the weights, and the weight gradients (TN: A
// is the transposed activations), for LSTM (4H), GRU (3H) and the vanilla
// RNN at H = 512 and 256, T·B = 3200; and a single stream's step as the
// amx backend runs it (a one-row GEMM on the tiles, kernels.GemvOnTiles),
// whole and one core's half of it in lockstep, next to float32's GEMV.
var gemmBF16BenchShapes = []struct {
	fp32    string
	m, n, k int
}{
	{"NT", 32, 2048, 512}, {"NT", 3200, 2048, 512}, {"NT", 3200, 65, 512},
	{"NN", 32, 512, 2048}, {"NN", 3200, 512, 2048}, {"TN", 2048, 512, 3200}, {"TN", 65, 512, 3200},
	{"NT", 32, 1024, 256}, {"NT", 3200, 1024, 256}, {"TN", 1024, 256, 3200},
	{"NT", 32, 1536, 512}, {"NT", 32, 512, 512}, {"TN", 512, 512, 3200},
	{"NT", 1, 512, 512}, {"NT", 1, 256, 512},
}

func BenchmarkGemmBF16(b *testing.B) {
	benches, done := bf16Benches()
	defer done()
	for _, bb := range benches {
		b.Run(bb.name, func(b *testing.B) {
			for _, s := range gemmBF16BenchShapes {
				b.Run(fmt.Sprintf("%s/%dx%dx%d", s.fp32, s.m, s.n, s.k), func(b *testing.B) {
					rng := rand.New(rand.NewPCG(3, 4))
					// k×n pair-packed takes at most (k+1)·ld words, with
					// the engine's ld.
					pb := PairsLD(s.n)
					a16, b16 := randBF16(bb.ops, rng, s.m*s.k), randBF16(bb.ops, rng, (s.k+1)*pb)
					a32, b32 := randSlice(rng, s.m*s.k), randSlice(rng, s.n*s.k)
					c := randSlice(rng, s.m*s.n)
					transA, transB := s.fp32[0] == 'T', s.fp32[1] == 'T'
					lda, ldb := s.k, s.n
					if transA {
						lda = s.m
					}
					if transB {
						ldb = s.k
					}
					flops := 2 * float64(s.m*s.n*s.k)
					alternate(b, func() {
						bb.ops.GemmBF16(s.m, s.n, s.k, 1, a16, s.k, b16, pb, 0, c, s.n)
					}, func() {
						if s.m == 1 { // a single stream's float32 step is a GEMV
							bb.be.Gemv(false, s.n, s.k, 1, b32, s.k, a32, 0, c)
							return
						}
						bb.be.Gemm(transA, transB, s.m, s.n, s.k, 1, a32, lda, b32, ldb, 0, c, s.n)
					}, flops, flops, "GFLOP/s")
				})
			}
		})
	}
}

// BenchmarkGemvBF16 compares GemvBF16 with the float32 Gemv on the
// recurrence's and the output's matrices at batch 1, each run over and over
// on its own matrix as the engine does; GB/s counts the matrix's bytes.
func BenchmarkGemvBF16(b *testing.B) {
	benches, done := bf16Benches()
	defer done()
	for _, bb := range benches {
		b.Run(bb.name, func(b *testing.B) {
			for _, s := range [][2]int{{2048, 512}, {1536, 512}, {512, 512}, {65, 512}, {1024, 256}, {512, 2048}} {
				m, n := s[0], s[1]
				b.Run(fmt.Sprintf("%dx%d", m, n), func(b *testing.B) {
					rng := rand.New(rand.NewPCG(5, 6))
					a16, x16 := randBF16(bb.ops, rng, m*n), randBF16(bb.ops, rng, n)
					a32, x32, y := randSlice(rng, m*n), randSlice(rng, n), randSlice(rng, m)
					alternate(b, func() {
						bb.ops.GemvBF16(m, n, 1, a16, n, x16, 0, y)
					}, func() {
						bb.be.Gemv(false, m, n, 1, a32, n, x32, 0, y)
					}, float64(2*m*n), float64(4*m*n), "GB/s")
				})
			}
		})
	}
}

// BenchmarkToBF16 times the conversions at the sizes the engine converts:
// the LSTM's weights plain (for the GEMV), pair-packed and pair-packed
// transposed (for the GEMMs, once per window) and the window's activations
// and gate gradients pair-packed (for the weight gradients). GB/s counts the
// bytes read and written (6 per element).
func BenchmarkToBF16(b *testing.B) {
	benches, done := bf16Benches()
	defer done()
	for _, bb := range benches {
		b.Run(bb.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(7, 8))
			for _, s := range []struct {
				op         string
				rows, cols int
			}{{"plain", 1, 2048 * 512}, {"pairs", 2048, 512}, {"pairsT", 2048, 512}, {"pairs", 3200, 2048}, {"pairs", 3200, 512}, {"pairs", 3200, 65}} {
				rows, cols := s.rows, s.cols
				src, dst := randSlice(rng, rows*cols), make([]uint16, (rows+1)*(cols+1))
				name, op := fmt.Sprintf("plain/%d", rows*cols), func() { bb.ops.ToBF16(dst, src) }
				switch s.op {
				case "pairs":
					name = fmt.Sprintf("pairs/%dx%d", rows, cols)
					op = func() { bb.ops.ToBF16Pairs(dst, cols, src, rows, cols, cols) }
				case "pairsT":
					name = fmt.Sprintf("pairsT/%dx%d", rows, cols)
					op = func() { bb.ops.ToBF16PairsT(dst, rows, src, rows, cols, cols) }
				}
				b.Run(name, func(b *testing.B) {
					for range b.N {
						op()
					}
					b.ReportMetric(6*float64(rows*cols)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
				})
			}
		})
	}
}
