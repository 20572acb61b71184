package kerneltest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"charrnn/kernels"
)

// panelShapes are GemmPanels' shapes: narrow, wide and ragged last panels,
// row counts around the 16 rows of a panel kernel's block, and a step of
// an LSTM's 16 streams (16×2048 gates from H = 512, shortened in k).
var panelShapes = [][3]int{
	{1, 1, 1}, {1, 16, 1}, {7, 17, 5}, {15, 33, 8}, {16, 16, 16}, {17, 31, 9},
	{16, 2048, 24}, {32, 512, 64}, {33, 65, 100}, {100, 7, 3}, {3, 100, 0},
	{0, 16, 4}, {5, 0, 4},
}

// testGemmPanels is GemmPanels: C = alpha·A·B + beta·C with B panel-packed.
func testGemmPanels(t *testing.T, b kernels.Backend) {
	t.Run("Reference", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(21, 22))
		betas := [][2]float32{{1, 0}, {-0.5, 1}, {1.5, 0.25}}
		for i, s := range panelShapes {
			ab := betas[i%len(betas)]
			CheckGemmPanels(t, b, rng, s[0], s[1], s[2], ab[0], ab[1])
		}
	})
	t.Run("RowsSummedAlike", func(t *testing.T) {
		// The contract's promise to the engine, whose streams split over
		// cores: rows computed in a call of their own come out
		// bit-identical to the same rows of a bigger call.
		checkPanelsSplit(t, b, rand.New(rand.NewPCG(23, 24)), 37, 48, 130, true, [][2]int{{0, 5}, {5, 21}, {21, 37}},
			"rows computed in blocks of 5, 16 and 16 differ from the same rows in one call")
	})
	t.Run("ColumnsSummedAlike", func(t *testing.T) {
		// Columns split over cores in whole panels: a panel's columns come
		// out the same whether a call takes it alone or with others (a
		// backend may run several panels at once where it runs one here).
		checkPanelsSplit(t, b, rand.New(rand.NewPCG(27, 28)), 13, 112, 70, false, [][2]int{{0, 16}, {16, 80}, {80, 112}},
			"columns computed in calls of 1, 4 and 2 panels differ from the same columns in one call")
	})
	t.Run("ShortSlices", func(t *testing.T) {
		const m, n, k = 20, 30, 40
		pl := kernels.PanelsLen(k, n)
		checkShortSlicesPanic(t, map[string]func(){
			"GemmPanels A":      func() { b.GemmPanels(m, n, k, 1, short(m, k), k, make([]float32, pl), 0, full(m, n), n) },
			"GemmPanels panels": func() { b.GemmPanels(m, n, k, 1, full(m, k), k, make([]float32, pl-1), 0, full(m, n), n) },
			"GemmPanels C":      func() { b.GemmPanels(m, n, k, 1, full(m, k), k, make([]float32, pl), 0, short(m, n), n) },
		})
	})
	t.Run("NoAllocs", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(25, 26))
		const m, n, k = 33, 65, 40
		a, p, c := randSlice(rng, m*k), randSlice(rng, kernels.PanelsLen(k, n)), randSlice(rng, m*n)
		checkNoAllocs(t, map[string]func(){
			"GemmPanels": func() { b.GemmPanels(m, n, k, 1, a, k, p, 0.5, c, n) },
		})
	})
}

// checkPanelsSplit computes an m×n×k GemmPanels in one call and again in
// calls over the row ranges cuts (byRows) or the column ranges cuts (whole
// panels), and fails with msg unless the two agree to the bit.
func checkPanelsSplit(t *testing.T, b kernels.Backend, rng *rand.Rand, m, n, k int, byRows bool, cuts [][2]int, msg string) {
	t.Helper()
	a, bm := randSlice(rng, m*k), randSlice(rng, k*n)
	p := make([]float32, kernels.PanelsLen(k, n))
	kernels.PackPanels(p, bm, n, k, n)
	whole, part := make([]float32, m*n), make([]float32, m*n)
	b.GemmPanels(m, n, k, 1, a, k, p, 0, whole, n)
	for _, cut := range cuts {
		lo, hi := cut[0], cut[1]
		if byRows {
			b.GemmPanels(hi-lo, n, k, 1, a[lo*k:], k, p, 0, part[lo*n:], n)
		} else {
			b.GemmPanels(m, hi-lo, k, 1, a, k, p[lo*k:], 0, part[lo:], n)
		}
	}
	if !slices.Equal(whole, part) {
		t.Fatal("GemmPanels: " + msg)
	}
}

// CheckGemmPanels runs one GemmPanels on b with random A, B and C from rng
// (A's and C's rows padded by a random 0-2 floats, between guard values)
// and fails t unless C matches the float64 reference within float32
// rounding, C's padding, the guards and the inputs are untouched, and with
// beta 0 a NaN left in C did not leak into the result.
func CheckGemmPanels(t *testing.T, b kernels.Backend, rng *rand.Rand, m, n, k int, alpha, beta float32) {
	t.Helper()
	name := fmt.Sprintf("GemmPanels m=%d n=%d k=%d alpha=%v beta=%v", m, n, k, alpha, beta)
	lda, ldc := k+rng.IntN(3), n+rng.IntN(3)
	a := newGuarded(rng, max(0, (m-1)*lda+k))
	bm := randSlice(rng, k*n)
	p := newGuarded(rng, kernels.PanelsLen(k, n))
	kernels.PackPanels(p.data, bm, n, k, n)
	c := newGemmC(rng, m, n, ldc, beta)
	aIn, pIn, cIn := clone(a.data), clone(p.data), clone(c.data)

	b.GemmPanels(m, n, k, alpha, a.data, lda, p.data, beta, c.data, ldc)

	at := func(i, l int) float64 { return float64(aIn[i*lda+l]) }
	bt := func(l, j int) float64 { return float64(bm[l*n+j]) }
	checkGemmC(t, name, c, cIn, m, n, ldc, k, alpha, beta, at, bt)
	unchanged(t, name+" A", aIn, a)
	unchanged(t, name+" panels", pIn, p)
}
