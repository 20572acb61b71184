package asm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/cpuid/v2"
)

// optimSet is one instruction set's optimizer routines.
type optimSet struct {
	name       string
	ok         bool
	lanes      int
	sumSquares func(x []float32) float64
	wide       func(x []float32) float64
	sgd        func(p, g []float32, lr, scale, limit float32)
	adagrad    func(p, g, mem []float32, lr, eps, scale, limit float32)
	adam       func(p, g, m, v []float32, alpha, beta1, beta2, eps, scale, limit float32)
	adamW      func(p, g, m, v []float32, alpha, beta1, beta2, eps, decay, scale, limit float32)
	momentum   func(p, g, vel []float32, lr, mu, scale, limit float32)
	rmsprop    func(p, g, ms []float32, lr, rho, eps, scale, limit float32)
}

func optimSets() []optimSet {
	return []optimSet{
		{
			name: "AVX512", ok: cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512VL, cpuid.AVX2, cpuid.FMA3), lanes: 16,
			sumSquares: SumSquaresAVX512, wide: SumSquaresWideAVX512, sgd: SGDUpdateAVX512, adagrad: AdagradUpdateAVX512, adam: AdamUpdateAVX512,
			adamW: AdamWUpdateAVX512, momentum: MomentumUpdateAVX512, rmsprop: RMSpropUpdateAVX512,
		},
		{
			name: "AVX2", ok: cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3), lanes: 8,
			sumSquares: SumSquaresAVX2, wide: SumSquaresWideAVX2, sgd: SGDUpdateAVX2, adagrad: AdagradUpdateAVX2, adam: AdamUpdateAVX2,
			adamW: AdamWUpdateAVX2, momentum: MomentumUpdateAVX2, rmsprop: RMSpropUpdateAVX2,
		},
	}
}

func forEachOptim(t *testing.T, f func(t *testing.T, s optimSet)) {
	for _, s := range optimSets() {
		t.Run(s.name, func(t *testing.T) {
			if !s.ok && !twins {
				t.Skip("not supported by this CPU")
			}
			f(t, s)
		})
	}
}

// TestSumSquares holds SumSquares to its float64 specification at every
// tail length and at the engine's largest slab (H=512: 1.3M floats), with
// a bound far tighter than the conformance suite's (n+2)·1.2e-7 and
// independent of n: a float32 lane adds up at most a block of squares before
// it is widened to float64.
func TestSumSquares(t *testing.T) {
	forEachOptim(t, func(t *testing.T, s optimSet) {
		rng := rand.New(rand.NewPCG(21, 22))
		var ns []int
		for n := 0; n <= 5*s.lanes+1; n++ {
			ns = append(ns, n)
		}
		ns = append(ns, 1000, 23000, 100003, 1300000, 5000000)
		for _, n := range ns {
			// One element past the end is NaN: reading it would show.
			buf := random(rng, n+1)
			buf[n] = float32(math.NaN())
			x := buf[:n]
			want := sumSquaresRef(x)
			for _, f := range []struct {
				name string
				run  func([]float32) float64
			}{{"SumSquares", s.sumSquares}, {"SumSquaresWide", s.wide}} {
				if got := f.run(x); !(math.Abs(got-want) <= 1e-6*want+1e-30) {
					t.Fatalf("%s n=%d = %v, want %v (relative error %.2g)", f.name, n, got, want, math.Abs(got-want)/want)
				}
			}
		}
	})
}

// TestSumSquaresRange pins the range of the two sums: SumSquaresWide is
// accurate over all of float32, and SumSquares signals (with +Inf or a
// result below n·2^-100) the inputs it is not accurate for.
func TestSumSquaresRange(t *testing.T) {
	forEachOptim(t, func(t *testing.T, s optimSet) {
		rng := rand.New(rand.NewPCG(25, 26))
		for _, n := range []int{1, 7, 33, 1000} {
			for _, scale := range []float32{1e-30, 1e-22, 1e-19, 1, 1e19, 2e19, 1e30, math.MaxFloat32} {
				x := random(rng, n)
				for i := range x {
					x[i] *= scale
				}
				want := sumSquaresRef(x)
				if got := s.wide(x); !(math.Abs(got-want) <= 1e-6*want) {
					t.Fatalf("SumSquaresWide n=%d scale=%v = %v, want %v", n, scale, got, want)
				}
				got := s.sumSquares(x)
				flagged := math.IsInf(got, 1) || got < float64(n)*math.Ldexp(1, -100)
				if !flagged && !(math.Abs(got-want) <= 1e-6*want) {
					t.Fatalf("SumSquares n=%d scale=%v = %v, want %v, and not flagged as out of range", n, scale, got, want)
				}
			}
		}
		for _, v := range []float32{float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())} {
			x := []float32{1, 2, v, 3}
			for _, got := range []float64{s.sumSquares(x), s.wide(x)} {
				if want := sumSquaresRef(x); !(got == want || math.IsNaN(got) && math.IsNaN(want)) {
					t.Fatalf("SumSquares with %v = %v, want %v", v, got, want)
				}
			}
		}
	})
}

// TestUpdates runs every update at every tail length and the conditioning
// cases (no clipping, clipping, NaN gradients) against ref.go, and checks
// that nothing past len(p) is read into the result or written.
func TestUpdates(t *testing.T) {
	forEachOptim(t, func(t *testing.T, s optimSet) {
		rng := rand.New(rand.NewPCG(23, 24))
		var ns []int
		for n := 0; n <= 3*s.lanes+1; n++ {
			ns = append(ns, n)
		}
		ns = append(ns, 1000, 23001)
		inf := float32(math.Inf(1))
		type op struct {
			name   string
			states int
			asm    func(p, g []float32, st [][]float32, scale, limit float32)
			ref    func(p, g []float32, st [][]float32, scale, limit float32)
		}
		ops := []op{
			{"SGD", 0, func(p, g []float32, _ [][]float32, sc, li float32) { s.sgd(p, g, 0.1, sc, li) },
				func(p, g []float32, _ [][]float32, sc, li float32) { sgdUpdateRef(p, g, 0.1, sc, li) }},
			{"Adagrad", 1, func(p, g []float32, st [][]float32, sc, li float32) { s.adagrad(p, g, st[0], 0.1, 1e-8, sc, li) },
				func(p, g []float32, st [][]float32, sc, li float32) { adagradUpdateRef(p, g, st[0], 0.1, 1e-8, sc, li) }},
			{"Adam", 2, func(p, g []float32, st [][]float32, sc, li float32) {
				s.adam(p, g, st[0], st[1], 0.01, 0.9, 0.999, 1e-8, sc, li)
			}, func(p, g []float32, st [][]float32, sc, li float32) {
				adamWUpdateRef(p, g, st[0], st[1], 0.01, 0.9, 0.999, 1e-8, 0, sc, li)
			}},
			{"AdamW", 2, func(p, g []float32, st [][]float32, sc, li float32) {
				s.adamW(p, g, st[0], st[1], 0.01, 0.9, 0.999, 1e-8, 0.001, sc, li)
			}, func(p, g []float32, st [][]float32, sc, li float32) {
				adamWUpdateRef(p, g, st[0], st[1], 0.01, 0.9, 0.999, 1e-8, 0.001, sc, li)
			}},
			{"Momentum", 1, func(p, g []float32, st [][]float32, sc, li float32) { s.momentum(p, g, st[0], 0.1, 0.9, sc, li) },
				func(p, g []float32, st [][]float32, sc, li float32) { momentumUpdateRef(p, g, st[0], 0.1, 0.9, sc, li) }},
			{"RMSprop", 1, func(p, g []float32, st [][]float32, sc, li float32) {
				s.rmsprop(p, g, st[0], 0.01, 0.99, 1e-8, sc, li)
			}, func(p, g []float32, st [][]float32, sc, li float32) {
				rmspropUpdateRef(p, g, st[0], 0.01, 0.99, 1e-8, sc, li)
			}},
		}
		for _, o := range ops {
			for _, n := range ns {
				for _, c := range [][2]float32{{1, inf}, {0.5, 0.3}, {2, 1}} {
					name := fmt.Sprintf("%s n=%d scale=%v limit=%v", o.name, n, c[0], c[1])
					// Every slice has a guard element past n.
					mk := func(nonneg bool) []float32 {
						x := random(rng, n+1)
						if nonneg {
							for i := range x {
								x[i] *= x[i]
							}
						}
						x[n] = guard
						return x
					}
					p, g := mk(false), mk(false)
					if n > 2 {
						g[n/2] = float32(math.NaN())
					}
					st := make([][]float32, o.states)
					for i := range st {
						st[i] = mk(i == o.states-1 && o.name != "Momentum") // second moments are non-negative
					}
					pw, gIn := append([]float32(nil), p...), append([]float32(nil), g...)
					stw := make([][]float32, len(st))
					for i := range st {
						stw[i] = append([]float32(nil), st[i]...)
					}
					o.asm(p[:n], g[:n], cut(st, n), c[0], c[1])
					o.ref(pw[:n], gIn[:n], cut(stw, n), c[0], c[1])
					for i := range g {
						if g[i] != gIn[i] && !(isNaN(g[i]) && isNaN(gIn[i])) {
							t.Fatalf("%s: g[%d] written", name, i)
						}
					}
					for k, got := range append([][]float32{p}, st...) {
						want := append([][]float32{pw}, stw...)[k]
						for i := range got {
							if i == n {
								if got[i] != guard {
									t.Fatalf("%s: slice %d written past its end", name, k)
								}
								continue
							}
							if isNaN(want[i]) != isNaN(got[i]) {
								t.Fatalf("%s: slice %d [%d] = %v, want %v", name, k, i, got[i], want[i])
							}
							if d := math.Abs(float64(got[i] - want[i])); d > 4e-7*(1+math.Abs(float64(want[i]))) {
								t.Fatalf("%s: slice %d [%d] = %v, want %v", name, k, i, got[i], want[i])
							}
						}
					}
				}
			}
		}
	})
}

func cut(st [][]float32, n int) [][]float32 {
	out := make([][]float32, len(st))
	for i := range st {
		out[i] = st[i][:n]
	}
	return out
}

func isNaN(x float32) bool { return x != x }
