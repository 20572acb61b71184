package kerneltest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"charrnn/kernels"
)

// testGemv is the GEMV family: y = alpha*A·x + beta*y in both orientations.
func testGemv(t *testing.T, b kernels.Backend) {
	t.Run("Reference", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		for _, trans := range []bool{false, true} {
			for _, m := range sizes {
				for _, n := range sizes {
					for _, ab := range [][2]float32{{1, 0}, {-0.5, 1}, {1.5, 0.25}} {
						CheckGemv(t, b, rng, trans, m, n, ab[0], ab[1])
					}
				}
			}
		}
	})
	t.Run("Deterministic", func(t *testing.T) { testGemvDeterministic(t, b) })
	t.Run("ShortSlices", func(t *testing.T) {
		const m, n = 20, 30
		checkShortSlicesPanic(t, map[string]func(){
			"Gemv A":  func() { b.Gemv(false, m, n, 1, short(m, n), n, full(1, n), 0, full(1, m)) },
			"Gemv x":  func() { b.Gemv(false, m, n, 1, full(m, n), n, short(1, n), 0, full(1, m)) },
			"Gemv y":  func() { b.Gemv(false, m, n, 1, full(m, n), n, full(1, n), 0, short(1, m)) },
			"GemvT x": func() { b.Gemv(true, m, n, 1, full(m, n), n, short(1, m), 0, full(1, n)) },
			"GemvT y": func() { b.Gemv(true, m, n, 1, full(m, n), n, full(1, m), 0, short(1, n)) },
		})
	})
	t.Run("NoAllocs", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(13, 14))
		const m, n = 33, 65
		a, x, y := randSlice(rng, 600*n), randSlice(rng, 200), randSlice(rng, 200)
		checkNoAllocs(t, map[string]func(){
			"Gemv":  func() { b.Gemv(false, m, n, 1, a, n, x, 0.5, y) },
			"GemvT": func() { b.Gemv(true, m, n, 1, a, n, x, 0, y) },
		})
	})
}

// CheckGemv runs one GEMV on b (trans false: A is m×n; true: y = Aᵀx) with
// random A, x and y from rng, A's rows padded by a random 0-2 floats, every
// slice unaligned between guard values, and fails t unless y matches the
// float64 reference within float32 rounding, no guard or input changed, and
// with beta 0 a NaN left in y did not leak into the result.
func CheckGemv(t *testing.T, b kernels.Backend, rng *rand.Rand, trans bool, m, n int, alpha, beta float32) {
	t.Helper()
	name := fmt.Sprintf("Gemv trans=%v m=%d n=%d alpha=%v beta=%v", trans, m, n, alpha, beta)
	lda := n + rng.IntN(3)
	a := newGuarded(rng, max(0, (m-1)*lda+n))
	xn, yn := n, m
	if trans {
		xn, yn = m, n
	}
	x := newGuarded(rng, xn)
	y := newGuarded(rng, yn)
	if beta == 0 {
		for i := range y.data {
			y.data[i] = float32(math.NaN()) // beta == 0 must not read y
		}
	}
	aIn, xIn, yIn := clone(a.data), clone(x.data), clone(y.data)

	b.Gemv(trans, m, n, alpha, a.data, lda, x.data, beta, y.data)

	for i := 0; i < yn; i++ {
		var want, abs float64
		for j := 0; j < xn; j++ {
			var av float64
			if trans {
				av = float64(aIn[j*lda+i])
			} else {
				av = float64(aIn[i*lda+j])
			}
			p := float64(alpha) * av * float64(xIn[j])
			want += p
			abs += math.Abs(p)
		}
		if beta != 0 {
			want += float64(beta) * float64(yIn[i])
			abs += math.Abs(float64(beta) * float64(yIn[i]))
		}
		if d := math.Abs(float64(y.data[i]) - want); !(d <= tolerance(xn, abs)) {
			t.Fatalf("%s: y[%d] = %v, want %v", name, i, y.data[i], want)
		}
	}
	y.check(t, name)
	unchanged(t, name+" A", aIn, a)
	unchanged(t, name+" x", xIn, x)
}

// testGemvDeterministic pins that repeated GEMVs on the same inputs give
// bit-identical results. The assembly backends sweep big matrices in
// alternating directions (for L2 reuse); that must change only the order in
// which rows or strips are visited, never how any output is summed, or
// training runs would stop being reproducible.
func testGemvDeterministic(t *testing.T, b kernels.Backend) {
	rng := rand.New(rand.NewPCG(15, 16))
	const m, n = 512, 513 // over the size at which sweeps alternate
	a, x := randSlice(rng, m*n), randSlice(rng, n)
	for _, trans := range []bool{false, true} {
		ylen := m
		if trans {
			ylen = n
		}
		var first []float32
		for call := 0; call < 3; call++ {
			y := make([]float32, ylen)
			b.Gemv(trans, m, n, 1, a, n, x, 0, y)
			if first == nil {
				first = y
				continue
			}
			for i := range y {
				if y[i] != first[i] {
					t.Fatalf("trans=%v: call %d gives y[%d] = %v, first call %v", trans, call, i, y[i], first[i])
				}
			}
		}
	}
}
