package asm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/cpuid/v2"
)

// These tests hold every routine to its specification in ref.go directly,
// including the micro-kernels' edge parameters (partial row and column
// blocks, k = 0, C not read without beta) that the kernels package reaches
// only through its blocking. With noasm they test the twins.

type kernel = func(k int, a []float32, s1, s2 int, b []float32, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool)

type gemvKernel = func(m, n int, a []float32, lda int, x, y []float32, alpha, beta float32, useBeta bool)

type isaSet struct {
	name     string
	ok       bool
	lanes    int
	bcast    []kernel // GemmBcast1..n
	bcastW   int
	gemvT    kernel
	gemvTW   int
	dotNT    []kernel
	dotShape [][2]int
	// gemvN and gemvTrans do a whole GEMV, as dotNT[1] block by block and
	// gemvT plus bcast[0] strip by strip would.
	gemvN, gemvTrans gemvKernel
	gemvRows         gemvKernel
	// gemvShortN and gemvShortT take n <= shortMax (nil: none).
	gemvShortN, gemvShortT gemvKernel
	shortMax               int
	exp                    func(d, x, y []float32, shift float32) float32
	tanh                   func(h, a, col, bias []float32)
	mul                    func(dst, x, y []float32)
	lstmF, gruF            func(a, b, c, d, e, f, g []float32)
	lstmB                  func(a, b, c, d, e, f []float32)
	gruB                   func(a, b, c, d, e, f, g []float32)
}

func isaSets() []isaSet {
	return []isaSet{
		{
			name: "AVX512", ok: cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512VL, cpuid.AVX2, cpuid.FMA3), lanes: 16,
			bcast:  []kernel{GemmBcast1AVX512, GemmBcast2AVX512, GemmBcast3AVX512, GemmBcast4AVX512, GemmBcast5AVX512, GemmBcast6AVX512},
			bcastW: 64, gemvT: GemvTAVX512, gemvTW: 128,
			dotNT: []kernel{DotNT4x4AVX512, DotNT4x1AVX512}, dotShape: [][2]int{{4, 4}, {4, 1}},
			gemvN: GemvNAVX512, gemvTrans: GemvTransAVX512, gemvRows: GemvRowsAVX512,
			gemvShortN: GemvShortNAVX512, gemvShortT: GemvShortTAVX512, shortMax: 128,
			exp: ExpSumAVX512, tanh: AddTanhAVX512, mul: MulAVX512,
			lstmF: LSTMForwardAVX512, lstmB: LSTMBackwardAVX512, gruF: GRUForwardAVX512, gruB: GRUBackwardAVX512,
		},
		{
			name: "AVX2", ok: cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3), lanes: 8,
			bcast:  []kernel{GemmBcast1AVX2, GemmBcast2AVX2, GemmBcast3AVX2, GemmBcast4AVX2, GemmBcast5AVX2, GemmBcast6AVX2},
			bcastW: 16, gemvT: GemvTAVX2, gemvTW: 64,
			dotNT: []kernel{DotNT2x4AVX2, DotNT4x1AVX2}, dotShape: [][2]int{{2, 4}, {4, 1}},
			gemvN: GemvNAVX2, gemvTrans: GemvTransAVX2,
			exp: ExpSumAVX2, tanh: AddTanhAVX2, mul: MulAVX2,
			lstmF: LSTMForwardAVX2, lstmB: LSTMBackwardAVX2, gruF: GRUForwardAVX2, gruB: GRUBackwardAVX2,
		},
	}
}

func forEachISA(t *testing.T, f func(t *testing.T, s isaSet)) {
	for _, s := range isaSets() {
		t.Run(s.name, func(t *testing.T) {
			if !s.ok && !twins {
				t.Skip("not supported by this CPU")
			}
			f(t, s)
		})
	}
}

func random(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = rng.Float32()*2 - 1
	}
	return s
}

const guard = -7777.25

// guardedC is a kernel test's C of rows × ldc: in the first nc columns of
// every row random values, or, without useBeta, NaNs (a kernel must not
// read them), and guard past them.
func guardedC(rng *rand.Rand, rows, nc, ldc int, useBeta bool) []float32 {
	c := make([]float32, rows*ldc)
	for i := range c {
		c[i] = guard
	}
	for r := 0; r < rows; r++ {
		for j := 0; j < nc; j++ {
			c[r*ldc+j] = rng.Float32()
			if !useBeta {
				c[r*ldc+j] = float32(math.NaN())
			}
		}
	}
	return c
}

// runKernel runs kern and ref on the same inputs, C laid out with ldc and
// a guard column past nc on every row, and compares all of C.
func runKernel(t *testing.T, name string, rng *rand.Rand, kern func(c []float32, useBeta bool), ref func(c []float32, useBeta bool), rows, nc, ldc, k int) {
	t.Helper()
	for _, useBeta := range []bool{false, true} {
		c := guardedC(rng, rows, nc, ldc, useBeta)
		want := append([]float32(nil), c...)
		kern(c, useBeta)
		ref(want, useBeta)
		for i := range c {
			g, w := c[i], want[i]
			if i%ldc >= nc {
				if g != guard {
					t.Fatalf("%s useBeta=%v: wrote past nc at row %d col %d", name, useBeta, i/ldc, i%ldc)
				}
				continue
			}
			if math.IsNaN(float64(g)) && math.IsNaN(float64(w)) {
				continue // a row past mr, untouched by both
			}
			if !(math.Abs(float64(g-w)) <= 1e-5*float64(k+1)) {
				t.Fatalf("%s useBeta=%v: C[%d,%d] = %v, want %v", name, useBeta, i/ldc, i%ldc, g, w)
			}
		}
	}
}

func TestGemmBcast(t *testing.T) {
	forEachISA(t, func(t *testing.T, s isaSet) {
		rng := rand.New(rand.NewPCG(1, 2))
		for rows := 1; rows <= len(s.bcast); rows++ {
			for _, k := range []int{0, 1, 5, 70} {
				for nc := 1; nc <= s.bcastW; nc += 1 + rng.IntN(5) {
					for _, trans := range []bool{false, true} {
						// op(A) is rows×k, stored either way round.
						ars, als := k+1, 1
						if trans {
							ars, als = 1, rows+2
						}
						a := random(rng, rows*k*(rows+2)+k+8)
						ldb := s.bcastW + 3
						b := random(rng, k*ldb+s.bcastW)
						ldc := s.bcastW + 1
						name := fmt.Sprintf("GemmBcast%d k=%d nc=%d trans=%v", rows, k, nc, trans)
						runKernel(t, name, rng, func(c []float32, ub bool) {
							s.bcast[rows-1](k, a, ars, als, b, ldb, nc, c, ldc, 0.75, -1.5, ub)
						}, func(c []float32, ub bool) {
							gemmBcastRef(rows, k, a, ars, als, b, ldb, nc, c, ldc, 0.75, -1.5, ub)
						}, rows, nc, ldc, k)
					}
				}
			}
		}
		for _, k := range []int{0, 1, 33} {
			a, b := random(rng, k), random(rng, k*(s.gemvTW+5)+s.gemvTW)
			runKernel(t, fmt.Sprintf("GemvT k=%d", k), rng, func(c []float32, ub bool) {
				s.gemvT(k, a, 0, 1, b, s.gemvTW+5, s.gemvTW, c, s.gemvTW+1, 2, 0.5, ub)
			}, func(c []float32, ub bool) {
				gemmBcastRef(1, k, a, 0, 1, b, s.gemvTW+5, s.gemvTW, c, s.gemvTW+1, 2, 0.5, ub)
			}, 1, s.gemvTW, s.gemvTW+1, k)
		}
	})
}

func TestDotNT(t *testing.T) {
	forEachISA(t, func(t *testing.T, s isaSet) {
		rng := rand.New(rand.NewPCG(3, 4))
		for i, kern := range s.dotNT {
			rows, cols := s.dotShape[i][0], s.dotShape[i][1]
			for mr := 1; mr <= rows; mr++ {
				for nc := 1; nc <= cols; nc++ {
					for _, k := range []int{0, 1, s.lanes - 1, s.lanes, 3*s.lanes + 5, 100} {
						lda, ldb, ldc := k+2, k+1, cols+2
						// Only mr rows of A and nc of B exist: the kernel must
						// not read the others.
						a, b := random(rng, (mr-1)*lda+k), random(rng, (nc-1)*ldb+k)
						name := fmt.Sprintf("DotNT%dx%d mr=%d nc=%d k=%d", rows, cols, mr, nc, k)
						runKernel(t, name, rng, func(c []float32, ub bool) {
							kern(k, a, lda, mr, b, ldb, nc, c, ldc, -1.25, 0.5, ub)
						}, func(c []float32, ub bool) {
							dotNTRef(k, a, lda, mr, b, ldb, nc, c, ldc, -1.25, 0.5, ub)
						}, rows, nc, ldc, k)
					}
				}
			}
		}
	})
}

// checkGemv holds a whole-GEMV kernel to its reference on one problem with
// y of length yn, through runKernel.
func checkGemv(t *testing.T, name string, rng *rand.Rand, kern, ref gemvKernel, m, n int, a []float32, lda int, x []float32, yn int) {
	t.Helper()
	runKernel(t, name, rng, func(c []float32, ub bool) {
		kern(m, n, a, lda, x, c, 0.75, -1.5, ub)
	}, func(c []float32, ub bool) {
		ref(m, n, a, lda, x, c, 0.75, -1.5, ub)
	}, 1, yn, yn+1, len(x))
}

// TestGemvWhole holds GemvN and GemvTrans to their references, and to the
// micro-kernels they replace bit for bit: the kernels package mixes both
// (big matrices swept backwards still go block by block), so any difference
// in how an output is summed would make repeated GEMVs disagree.
func TestGemvWhole(t *testing.T) {
	forEachISA(t, func(t *testing.T, s isaSet) {
		rng := rand.New(rand.NewPCG(5, 6))
		sizes := []int{1, 2, 3, 4, 5, 7, s.lanes - 1, s.lanes, s.lanes + 1, 33, 100, s.gemvTW, s.gemvTW + 1, 2*s.gemvTW + 3*s.lanes + 5}
		for _, m := range sizes {
			for _, n := range sizes {
				for _, trans := range []bool{false, true} {
					lda := n + rng.IntN(3)
					// A is exactly as long as it must be.
					a := random(rng, (m-1)*lda+n)
					xn, yn := n, m
					kern, ref := s.gemvN, gemvNRef
					if trans {
						xn, yn = m, n
						kern, ref = s.gemvTrans, gemvTransRef
					}
					x := random(rng, xn)
					name := fmt.Sprintf("trans=%v m=%d n=%d", trans, m, n)
					checkGemv(t, name, rng, kern, ref, m, n, a, lda, x, yn)

					y0 := random(rng, yn)
					got, want := append([]float32(nil), y0...), append([]float32(nil), y0...)
					kern(m, n, a, lda, x, got, 0.75, -1.5, true)
					if !trans {
						for i0 := 0; i0 < m; i0 += 4 {
							s.dotNT[1](n, a[i0*lda:], lda, min(4, m-i0), x, 0, 1, want[i0:], 1, 0.75, -1.5, true)
						}
					} else {
						j0 := 0
						for ; j0+s.gemvTW <= n; j0 += s.gemvTW {
							s.gemvT(m, x, 0, 1, a[j0:], lda, s.gemvTW, want[j0:], 0, 0.75, -1.5, true)
						}
						for ; j0 < n; j0 += s.bcastW {
							s.bcast[0](m, x, 0, 1, a[j0:], lda, min(s.bcastW, n-j0), want[j0:], 0, 0.75, -1.5, true)
						}
					}
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s: y[%d] = %v, block by block %v", name, i, got[i], want[i])
						}
					}
				}
			}
		}
	})
}

// TestGemvRows holds GemvRows to the reference.
func TestGemvRows(t *testing.T) {
	forEachISA(t, func(t *testing.T, s isaSet) {
		if s.gemvRows == nil {
			t.Skip("no GemvRows for this instruction set")
		}
		rng := rand.New(rand.NewPCG(7, 8))
		sizes := []int{1, 2, 3, 5, s.lanes - 1, s.lanes, s.lanes + 1, 8*s.lanes - 1, 8 * s.lanes, 8*s.lanes + 1, 100, 257, 512}
		for _, m := range sizes {
			for _, n := range sizes {
				lda := n + rng.IntN(3)
				a := random(rng, (m-1)*lda+n) // exactly as long as it must be
				x := random(rng, n)
				checkGemv(t, fmt.Sprintf("m=%d n=%d", m, n), rng, s.gemvRows, gemvNRef, m, n, a, lda, x, m)
			}
		}
	})
}

// TestGemvShort holds GemvShortN and GemvShortT to the references on every
// width they take, and checks that a row (column) of the result does not
// depend on how many others are computed with it: the kernels package
// splits GEMVs over threads, and a split must not change any output.
func TestGemvShort(t *testing.T) {
	forEachISA(t, func(t *testing.T, s isaSet) {
		if s.gemvShortN == nil {
			t.Skip("no short GEMV kernels for this instruction set")
		}
		rng := rand.New(rand.NewPCG(9, 10))
		ms := []int{1, 2, 3, 7, 8, 9, 15, 16, 17, 65, 100, 257}
		for n := 1; n <= s.shortMax; n++ {
			for _, m := range ms {
				for _, trans := range []bool{false, true} {
					lda := n + rng.IntN(3)
					a := random(rng, (m-1)*lda+n) // exactly as long as it must be
					kern, ref, xn, yn := s.gemvShortN, gemvNRef, n, m
					if trans {
						kern, ref, xn, yn = s.gemvShortT, gemvTransRef, m, n
					}
					x := random(rng, xn)
					name := fmt.Sprintf("trans=%v m=%d n=%d", trans, m, n)
					checkGemv(t, name, rng, kern, ref, m, n, a, lda, x, yn)

					whole := make([]float32, yn)
					kern(m, n, a, lda, x, whole, 1, 0, false)
					for _, cut := range []int{1, 3, yn / 2} {
						if cut <= 0 || cut >= yn {
							continue
						}
						part := make([]float32, yn)
						if trans {
							kern(m, cut, a, lda, x, part, 1, 0, false)
							kern(m, n-cut, a[cut:], lda, x, part[cut:], 1, 0, false)
						} else {
							kern(cut, n, a, lda, x, part, 1, 0, false)
							kern(m-cut, n, a[cut*lda:], lda, x, part[cut:], 1, 0, false)
						}
						for i := range whole {
							if math.Float32bits(whole[i]) != math.Float32bits(part[i]) {
								t.Fatalf("%s: y[%d] = %v whole, %v split at %d", name, i, whole[i], part[i], cut)
							}
						}
					}
				}
			}
		}
	})
}

// TestExpTanhSweep runs the vectorised exp and tanh over a fine grid and at
// the special points, far more densely than the conformance suite.
func TestExpTanhSweep(t *testing.T) {
	forEachISA(t, func(t *testing.T, s isaSet) {
		var xs []float32
		for x := -30.0; x <= 30; x += 1.0 / 512 {
			xs = append(xs, float32(x))
		}
		xs = append(xs, 0, float32(math.Copysign(0, -1)), 1e-30, -1e-30, 1e-40, 1e-7, -3e-4, 0.4999999, 0.5, 0.5000001, 8.999, 9, 9.001, 200, -200)
		zero := make([]float32, len(xs))
		h := make([]float32, len(xs))
		s.tanh(h, xs, zero, zero)
		for i, x := range xs {
			want := math.Tanh(float64(x))
			if d := math.Abs(float64(h[i]) - want); !(d <= 4e-7+2e-6*math.Abs(want)) {
				t.Fatalf("tanh(%v) = %v, want %v", x, h[i], want)
			}
			if x == 0 && h[i] != 0 {
				t.Fatalf("tanh(%v) = %v, want exactly 0", x, h[i])
			}
		}
		var exs []float32
		for x := -100.0; x <= 0; x += 1.0 / 256 {
			exs = append(exs, float32(x))
		}
		exs = append(exs, -400, -87.3, -87.4)
		d := make([]float32, len(exs))
		s.exp(d, exs, make([]float32, len(exs)), 0)
		for i, x := range exs {
			want := math.Exp(float64(x))
			if diff := math.Abs(float64(d[i]) - want); !(diff <= 1.5e-38+3e-7*want) {
				t.Fatalf("exp(%v) = %v, want %v", x, d[i], want)
			}
		}
	})
}
