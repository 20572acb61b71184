package kerneltest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"charrnn/kernels"
)

// gemmSizes keeps the full m×n×k cross product affordable; bigGemmShapes
// adds the engine's real shapes on top.
var gemmSizes = []int{0, 1, 7, 16, 17, 33, 65, 100}

var bigGemmShapes = [][3]int{
	{32, 512, 512}, {512, 32, 512}, {512, 512, 32}, {100, 65, 512}, {65, 512, 100},
	{513, 17, 33}, {17, 513, 65}, {33, 65, 513}, {3200, 65, 16},
}

// testGemm is the GEMM family: C = alpha*op(A)·op(B) + beta*C, all four
// transposes.
func testGemm(t *testing.T, b kernels.Backend) {
	t.Run("Reference", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		var shapes [][3]int
		for _, m := range gemmSizes {
			for _, n := range gemmSizes {
				for _, k := range gemmSizes {
					shapes = append(shapes, [3]int{m, n, k})
				}
			}
		}
		shapes = append(shapes, bigGemmShapes...)
		betas := [][2]float32{{1, 0}, {-0.5, 1}, {1.5, 0.25}}
		for i, s := range shapes {
			for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
				ab := betas[(i+len(tr))%len(betas)]
				CheckGemm(t, b, rng, tr[0], tr[1], s[0], s[1], s[2], ab[0], ab[1])
			}
		}
	})
	t.Run("ShortSlices", func(t *testing.T) {
		const m, n, k = 20, 30, 40
		checkShortSlicesPanic(t, map[string]func(){
			"GemmNN A": func() { b.Gemm(false, false, m, n, k, 1, short(m, k), k, full(k, n), n, 0, full(m, n), n) },
			"GemmNT B": func() { b.Gemm(false, true, m, n, k, 1, full(m, k), k, short(n, k), k, 0, full(m, n), n) },
			"GemmTN C": func() { b.Gemm(true, false, m, n, k, 1, full(k, m), m, full(k, n), n, 0, short(m, n), n) },
			"GemmTT A": func() { b.Gemm(true, true, m, n, k, 1, short(k, m), m, full(n, k), k, 0, full(m, n), n) },
		})
	})
	t.Run("NoAllocs", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(13, 14))
		const m, n, k = 33, 65, 40
		a, bm, c := randSlice(rng, 600*m), randSlice(rng, 600*n), randSlice(rng, m*n)
		checkNoAllocs(t, map[string]func(){
			"GemmNN":   func() { b.Gemm(false, false, m, n, k, 1, a, k, bm, n, 0, c, n) },
			"GemmNT":   func() { b.Gemm(false, true, m, n, k, 1, a, k, bm, k, 1, c, n) },
			"GemmTN":   func() { b.Gemm(true, false, m, n, k, 1, a, m, bm, n, 0.5, c, n) },
			"GemmTT":   func() { b.Gemm(true, true, m, n, k, 1, a, m, bm, k, 0, c, n) },
			"GemmBigK": func() { b.Gemm(true, false, m, n, 600, 1, a, m, bm, n, 1, c, n) },
		})
	})
}

// CheckGemm runs one GEMM on b with random A, B and C from rng, every matrix
// with rows padded by a random 0-2 floats and unaligned between guard
// values, and fails t unless C matches the float64 reference within float32
// rounding, the padding between C's rows, the guards and the inputs are
// untouched, and with beta 0 a NaN left in C did not leak into the result.
func CheckGemm(t *testing.T, b kernels.Backend, rng *rand.Rand, transA, transB bool, m, n, k int, alpha, beta float32) {
	t.Helper()
	name := fmt.Sprintf("Gemm transA=%v transB=%v m=%d n=%d k=%d alpha=%v beta=%v", transA, transB, m, n, k, alpha, beta)
	// Stored shapes: A is m×k (or k×m when transposed), B is k×n (or n×k).
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	lda, ldb, ldc := ac+rng.IntN(3), bc+rng.IntN(3), n+rng.IntN(3)
	a := newGuarded(rng, max(0, (ar-1)*lda+ac))
	bb := newGuarded(rng, max(0, (br-1)*ldb+bc))
	c := newGemmC(rng, m, n, ldc, beta)
	aIn, bIn, cIn := clone(a.data), clone(bb.data), clone(c.data)

	b.Gemm(transA, transB, m, n, k, alpha, a.data, lda, bb.data, ldb, beta, c.data, ldc)

	at := func(i, l int) float64 {
		if transA {
			return float64(aIn[l*lda+i])
		}
		return float64(aIn[i*lda+l])
	}
	bt := func(l, j int) float64 {
		if transB {
			return float64(bIn[j*ldb+l])
		}
		return float64(bIn[l*ldb+j])
	}
	checkGemmC(t, name, c, cIn, m, n, ldc, k, alpha, beta, at, bt)
	unchanged(t, name+" A", aIn, a)
	unchanged(t, name+" B", bIn, bb)
}

// newGemmC returns a random C (m×n, leading dimension ldc) between guards.
// The padding between its rows is part of the caller's memory too, set to
// the guard value; with beta 0 its elements are NaN, which must not leak
// into the result.
func newGemmC(rng *rand.Rand, m, n, ldc int, beta float32) *guarded {
	c := newGuarded(rng, max(0, (m-1)*ldc+n))
	for i := 0; i < m; i++ {
		for j := n; j < ldc && i*ldc+j < len(c.data); j++ {
			c.data[i*ldc+j] = guardValue
		}
		if beta == 0 {
			for j := 0; j < n; j++ {
				c.data[i*ldc+j] = float32(math.NaN())
			}
		}
	}
	return c
}

// checkGemmC fails t unless every C[i,j] matches alpha·Σ_l at(i,l)·bt(l,j)
// + beta·cIn[i,j] in float64 within float32 rounding, C's padding is
// untouched and so are its guards.
func checkGemmC(t *testing.T, name string, c *guarded, cIn []float32, m, n, ldc, k int, alpha, beta float32, at, bt func(int, int) float64) {
	t.Helper()
	for i := 0; i < m; i++ {
		for j := 0; j < ldc && i*ldc+j < len(c.data); j++ {
			got := c.data[i*ldc+j]
			if j >= n {
				if got != guardValue {
					t.Fatalf("%s: padding C[%d,%d] overwritten: %v", name, i, j, got)
				}
				continue
			}
			var want, abs float64
			for l := 0; l < k; l++ {
				p := float64(alpha) * at(i, l) * bt(l, j)
				want += p
				abs += math.Abs(p)
			}
			if beta != 0 {
				want += float64(beta) * float64(cIn[i*ldc+j])
				abs += math.Abs(float64(beta) * float64(cIn[i*ldc+j]))
			}
			if d := math.Abs(float64(got) - want); !(d <= tolerance(k, abs)) {
				t.Fatalf("%s: C[%d,%d] = %v, want %v", name, i, j, got, want)
			}
		}
	}
	c.check(t, name)
}

// CompareGemm runs the same GEMM on b and on ref, each on its own copy of c,
// and fails t where their results differ by more than both sides' float32
// rounding. The arguments are Gemm's; c is not modified.
func CompareGemm(t *testing.T, b, ref kernels.Backend, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, bm []float32, ldb int, beta float32, c []float32, ldc int) {
	t.Helper()
	want, got := clone(c), clone(c)
	ref.Gemm(transA, transB, m, n, k, alpha, a, lda, bm, ldb, beta, want, ldc)
	b.Gemm(transA, transB, m, n, k, alpha, a, lda, bm, ldb, beta, got, ldc)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			// Both sides round; bound by twice one side's error.
			var abs float64
			for l := 0; l < k; l++ {
				var av, bv float32
				if transA {
					av = a[l*lda+i]
				} else {
					av = a[i*lda+l]
				}
				if transB {
					bv = bm[j*ldb+l]
				} else {
					bv = bm[l*ldb+j]
				}
				abs += math.Abs(float64(alpha) * float64(av) * float64(bv))
			}
			abs += math.Abs(float64(beta) * float64(c[i*ldc+j]))
			g, w := got[i*ldc+j], want[i*ldc+j]
			if d := math.Abs(float64(g) - float64(w)); !(d <= 2*tolerance(k, abs)) {
				t.Fatalf("%s: transA=%v transB=%v m=%d n=%d k=%d: C[%d,%d] = %v, %s gives %v", b.Name(), transA, transB, m, n, k, i, j, g, ref.Name(), w)
			}
		}
	}
}
