package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// Benchmarks of the shapes the engine calls, on every backend this CPU
// supports (an openblas backend compiled in later is picked up too) and on
// gonum's native BLAS as a comparator. Names are benchstat-friendly:
//
//	BenchmarkGemv/backend=avx512/512x512
//	BenchmarkGemm/backend=avx512/NT/32x512x512
//
// Compare backends within one run (-cpu 1: gonum's Sgemm would otherwise
// spread over every core while the backends use one).

// gonumBackend adapts gonum's pure-Go BLAS (row-major) to the two ops it is
// compared on.
type gonumBackend struct{ Generic }

func (gonumBackend) Name() string { return "gonum" }

func (gonumBackend) Gemv(trans bool, m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
	t := blas.NoTrans
	if trans {
		t = blas.Trans
	}
	gonum.Implementation{}.Sgemv(t, m, n, alpha, a, lda, x, 1, beta, y, 1)
}

func (gonumBackend) Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ta, tb := blas.NoTrans, blas.NoTrans
	if transA {
		ta = blas.Trans
	}
	if transB {
		tb = blas.Trans
	}
	gonum.Implementation{}.Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func benchBackends() []Backend { return append(Supported(), gonumBackend{}) }

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = rng.Float32()*2 - 1
	}
	return s
}

func BenchmarkGemv(b *testing.B) {
	shapes := [][2]int{{100, 100}, {512, 512}, {65, 512}}
	for _, be := range benchBackends() {
		b.Run("backend="+be.Name(), func(b *testing.B) {
			for _, trans := range []bool{false, true} {
				for _, sh := range shapes {
					m, n := sh[0], sh[1]
					name := fmt.Sprintf("%dx%d", m, n)
					if trans {
						name = "trans/" + name
					}
					b.Run(name, func(b *testing.B) {
						rng := rand.New(rand.NewPCG(1, 2))
						a, x, y := randSlice(rng, m*n), randSlice(rng, max(m, n)), randSlice(rng, max(m, n))
						b.ResetTimer()
						for range b.N {
							be.Gemv(trans, m, n, 1, a, n, x, 0, y)
						}
						sec := b.Elapsed().Seconds() / float64(b.N)
						b.ReportMetric(2*float64(m*n)/sec/1e9, "GFLOP/s")
						b.ReportMetric(4*float64(m*n+m+n)/sec/1e9, "GB/s")
					})
				}
			}
		})
	}
}

// gemmBenchShapes are the engine's GEMMs (H=512 or 100, vocab 65, T=100,
// B=32 or 1): forward Hprev·Wᵀ, the output projection Hs·Vᵀ, and the
// backward dOᵀ·Hs, dO·V, dR·W and dRᵀ·Hprev; and a 512-wide LSTM's (4H =
// 2048 gates): per step Hprev·W_hhᵀ and dG·W_hh, per window the input's
// projection X·W_ihᵀ, dGᵀ·X and dG·W_ih; and the last two products' NN
// forms, which the engine runs over transposed copies of W whose rows are
// padded (ldb 2064: engine.transposedLD), per core at 16 streams.
var gemmBenchShapes = []struct {
	transA, transB bool
	m, n, k        int
	padB           int // B's leading dimension is its row length plus this
}{
	{false, true, 32, 512, 512, 0},
	{false, true, 3200, 65, 512, 0},
	{false, true, 100, 65, 512, 0},
	{false, true, 512, 100, 512, 0},
	{false, false, 32, 512, 512, 0},
	{false, false, 3200, 512, 65, 0},
	{false, false, 100, 512, 65, 0},
	{true, false, 512, 512, 32, 0},
	{true, false, 512, 512, 3200, 0},
	{true, false, 65, 512, 3200, 0},
	{true, false, 65, 512, 100, 0},
	{false, true, 32, 2048, 512, 0},
	{false, false, 32, 512, 2048, 0},
	{false, true, 3200, 2048, 512, 0},
	{true, false, 2048, 512, 3200, 0},
	{false, false, 3200, 512, 2048, 0},
	{false, false, 16, 2048, 512, 16},
	{false, false, 1600, 2048, 512, 16},
}

func BenchmarkGemm(b *testing.B) {
	for _, be := range benchBackends() {
		b.Run("backend="+be.Name(), func(b *testing.B) {
			for _, s := range gemmBenchShapes {
				tr := map[bool]string{false: "N", true: "T"}
				name := fmt.Sprintf("%s%s/%dx%dx%d", tr[s.transA], tr[s.transB], s.m, s.n, s.k)
				if s.padB > 0 {
					name += fmt.Sprintf("/padB=%d", s.padB)
				}
				b.Run(name, func(b *testing.B) {
					rng := rand.New(rand.NewPCG(3, 4))
					lda, ldb, rowsB := s.k, s.n, s.k
					if s.transA {
						lda = s.m
					}
					if s.transB {
						ldb, rowsB = s.k, s.n
					}
					ldb += s.padB
					a, bb, c := randSlice(rng, s.m*s.k), randSlice(rng, rowsB*ldb), randSlice(rng, s.m*s.n)
					b.ResetTimer()
					for range b.N {
						be.Gemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 1, c, s.n)
					}
					sec := b.Elapsed().Seconds() / float64(b.N)
					b.ReportMetric(2*float64(s.m*s.n*s.k)/sec/1e9, "GFLOP/s")
					b.ReportMetric(4*float64(s.m*s.k+s.k*s.n+2*s.m*s.n)/sec/1e9, "GB/s")
				})
			}
		})
	}
}

// BenchmarkFused times the element-wise ops at the model's sizes.
func BenchmarkFused(b *testing.B) {
	for _, be := range Supported() {
		b.Run("backend="+be.Name(), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(5, 6))
			const n = 512
			h, a, col, bias := randSlice(rng, n), randSlice(rng, n), randSlice(rng, n), randSlice(rng, n)
			b.Run("AddTanh/512", func(b *testing.B) {
				for range b.N {
					be.AddTanh(h, a, col, bias)
				}
			})
			b.Run("TanhGrad/512", func(b *testing.B) {
				for range b.N {
					be.TanhGrad(h, a, col)
				}
			})
			b.Run("SoftmaxXent/65", func(b *testing.B) {
				for range b.N {
					be.SoftmaxXent(h[:65], a[:65], bias[:65], 7)
				}
			})
			b.Run("Axpy/512", func(b *testing.B) {
				for range b.N {
					be.Axpy(1e-3, a, h)
				}
			})
			b.Run("Dot/512", func(b *testing.B) {
				for range b.N {
					sinkF32 = be.Dot(a, col)
				}
			})
		})
	}
}

var (
	sinkF32 float32
	sinkF64 float64
)

// BenchmarkUpdate times the gradient norm and the optimizer updates over the
// slabs of the H=100 (23k floats) and H=512 (1.3M floats) models. GB/s
// counts the bytes each element touches: Adam reads p, g, m, v and writes p,
// m, v (28 B).
func BenchmarkUpdate(b *testing.B) {
	inf := float32(math.Inf(1))
	ops := []struct {
		name  string
		bytes int
		run   func(be Backend, p, g, s1, s2 []float32)
	}{
		{"sumsquares", 4, func(be Backend, p, g, s1, s2 []float32) { sinkF64 = be.SumSquares(g) }},
		{"sgd", 12, func(be Backend, p, g, s1, s2 []float32) { be.SGDUpdate(p, g, 1e-3, 0.5, inf) }},
		{"adagrad", 20, func(be Backend, p, g, s1, s2 []float32) { be.AdagradUpdate(p, g, s1, 1e-3, 0.5, 5) }},
		{"momentum", 20, func(be Backend, p, g, s1, s2 []float32) { be.MomentumUpdate(p, g, s1, 1e-3, 0.9, 0.5, 5) }},
		{"rmsprop", 20, func(be Backend, p, g, s1, s2 []float32) { be.RMSpropUpdate(p, g, s2, 1e-3, 0.99, 1e-8, 0.5, 5) }},
		{"adam", 28, func(be Backend, p, g, s1, s2 []float32) {
			be.AdamUpdate(p, g, s1, s2, 1e-3, 0.9, 0.999, 1e-8, 0.5, 5)
		}},
		{"adamw", 28, func(be Backend, p, g, s1, s2 []float32) {
			be.AdamWUpdate(p, g, s1, s2, 1e-3, 0.9, 0.999, 1e-8, 1e-5, 0.5, 5)
		}},
	}
	for _, be := range Supported() {
		b.Run("backend="+be.Name(), func(b *testing.B) {
			for _, op := range ops {
				for _, n := range []int{23000, 1300000} {
					b.Run(fmt.Sprintf("op=%s/n=%d", op.name, n), func(b *testing.B) {
						rng := rand.New(rand.NewPCG(7, 8))
						p, g, s1, s2 := randSlice(rng, n), randSlice(rng, n), make([]float32, n), make([]float32, n)
						for i := range s2 {
							s2[i] = rng.Float32() // second moments are non-negative
						}
						b.ResetTimer()
						for range b.N {
							op.run(be, p, g, s1, s2)
						}
						sec := b.Elapsed().Seconds() / float64(b.N)
						b.ReportMetric(float64(op.bytes*n)/sec/1e9, "GB/s")
					})
				}
			}
		})
	}
}

// BenchmarkGemmPanels runs a step's products of a 512-wide LSTM (per core
// at 16 streams, and 32) with B panel-packed, beside the same products with
// B as the engine kept it before (Wᵀ with padded rows, W as it is), so one
// run shows the ratio.
func BenchmarkGemmPanels(b *testing.B) {
	for _, be := range Supported() {
		b.Run("backend="+be.Name(), func(b *testing.B) {
			for _, s := range [][3]int{{16, 2048, 512}, {16, 512, 2048}, {32, 2048, 512}, {32, 512, 2048}, {16, 1024, 256}} {
				m, n, k := s[0], s[1], s[2]
				rng := rand.New(rand.NewPCG(3, 4))
				ldb := n
				if n > k {
					ldb += 16 // engine.transposedLD
				}
				a, bb, c := randSlice(rng, m*k), randSlice(rng, k*ldb), randSlice(rng, m*n)
				p := make([]float32, PanelsLen(k, n))
				PackPanels(p, bb, ldb, k, n)
				for _, packed := range []bool{false, true} {
					name := fmt.Sprintf("%dx%dx%d/rows", m, n, k)
					if packed {
						name = fmt.Sprintf("%dx%dx%d/panels", m, n, k)
					}
					b.Run(name, func(b *testing.B) {
						for range b.N {
							if packed {
								be.GemmPanels(m, n, k, 1, a, k, p, 1, c, n)
							} else {
								be.Gemm(false, false, m, n, k, 1, a, k, bb, ldb, 1, c, n)
							}
						}
						sec := b.Elapsed().Seconds() / float64(b.N)
						b.ReportMetric(2*float64(m*n*k)/sec/1e9, "GFLOP/s")
					})
				}
			}
		})
	}
}
