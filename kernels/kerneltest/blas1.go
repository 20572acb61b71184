package kerneltest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"charrnn/kernels"
)

// testBLAS1 is the level-1 BLAS family: Axpy and Dot.
func testBLAS1(t *testing.T, b kernels.Backend) {
	t.Run("AxpyDot", func(t *testing.T) { testAxpyDot(t, b) })
	t.Run("ShortSlices", func(t *testing.T) {
		const n = 30
		checkShortSlicesPanic(t, map[string]func(){
			"Axpy y": func() { b.Axpy(1, full(1, n), short(1, n)) },
			"Dot y":  func() { b.Dot(full(1, n), short(1, n)) },
		})
	})
	t.Run("NoAllocs", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(13, 14))
		x, y := randSlice(rng, 200), randSlice(rng, 200)
		checkNoAllocs(t, map[string]func(){
			"Axpy": func() { b.Axpy(0.5, x, y) },
			"Dot":  func() { sinkF32 = b.Dot(x, y) },
		})
	})
}

func testAxpyDot(t *testing.T, b kernels.Backend) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range sizes {
		x, y := newGuarded(rng, n), newGuarded(rng, n+rng.IntN(2)) // y may be longer
		xIn, yIn := clone(x.data), clone(y.data)
		alpha := rng.Float32()*4 - 2

		var want, abs float64
		for i := range xIn {
			want += float64(xIn[i]) * float64(yIn[i])
			abs += math.Abs(float64(xIn[i]) * float64(yIn[i]))
		}
		if got := b.Dot(x.data, y.data); !(math.Abs(float64(got)-want) <= tolerance(n, abs)) {
			t.Fatalf("Dot n=%d = %v, want %v", n, got, want)
		}

		b.Axpy(alpha, x.data, y.data)
		for i := range y.data {
			want := float64(yIn[i])
			if i < n {
				want += float64(alpha) * float64(xIn[i])
			}
			if d := math.Abs(float64(y.data[i]) - want); !(d <= tolerance(1, math.Abs(want)+math.Abs(float64(yIn[i])))) {
				t.Fatalf("Axpy n=%d: y[%d] = %v, want %v", n, i, y.data[i], want)
			}
		}
		y.check(t, fmt.Sprintf("Axpy n=%d", n))
		unchanged(t, "Axpy x", xIn, x)
	}
}
