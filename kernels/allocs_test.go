package kernels

import (
	"math/rand/v2"
	"testing"
)

// TestNoAllocs pins that no op allocates on any backend: the engine calls
// them millions of times per training run and a training step must not
// allocate.
func TestNoAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	const m, n, k = 33, 65, 40
	a, b, c := randSlice(rng, 600*m), randSlice(rng, 600*n), randSlice(rng, m*n)
	x, y := randSlice(rng, 200), randSlice(rng, 200)
	h, col, bias := randSlice(rng, n), randSlice(rng, n), randSlice(rng, n)
	st1, st2 := make([]float32, n), make([]float32, n) // optimizer state
	forEachBackend(t, func(t *testing.T, be Backend) {
		ops := map[string]func(){
			"Gemv":       func() { be.Gemv(false, m, n, 1, b, n, x, 0.5, y) },
			"GemvT":      func() { be.Gemv(true, m, n, 1, b, n, x, 0, y) },
			"GemmNN":     func() { be.Gemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n) },
			"GemmNT":     func() { be.Gemm(false, true, m, n, k, 1, a, k, b, k, 1, c, n) },
			"GemmTN":     func() { be.Gemm(true, false, m, n, k, 1, a, m, b, n, 0.5, c, n) },
			"GemmTT":     func() { be.Gemm(true, true, m, n, k, 1, a, m, b, k, 0, c, n) },
			"GemmBigK":   func() { be.Gemm(true, false, m, n, 600, 1, a, m, b, n, 1, c, n) },
			"Axpy":       func() { be.Axpy(0.5, x, y) },
			"Dot":        func() { sinkF32 = be.Dot(x, y) },
			"AddTanh":    func() { be.AddTanh(h, y, col, bias) },
			"TanhGrad":   func() { be.TanhGrad(h, col, bias) },
			"Softmax":    func() { sinkF32 = be.SoftmaxXent(h, y, bias, 3) },
			"SoftmaxIn":  func() { sinkF32 = be.SoftmaxXent(h, h, bias, 0) },
			"SumSquares": func() { sinkF64 = be.SumSquares(x) },
			"SGD":        func() { be.SGDUpdate(h, col, 1e-3, 1, 5) },
			"Adagrad":    func() { be.AdagradUpdate(h, col, st1, 1e-3, 1, 5) },
			"Adam":       func() { be.AdamUpdate(h, col, st1, st2, 1e-3, 0.9, 0.999, 1e-8, 1, 5) },
			"Momentum":   func() { be.MomentumUpdate(h, col, st1, 1e-3, 0.9, 1, 5) },
			"RMSprop":    func() { be.RMSpropUpdate(h, col, st2, 1e-3, 0.99, 1e-8, 1, 5) },
			"AdamW":      func() { be.AdamWUpdate(h, col, st1, st2, 1e-3, 0.9, 0.999, 1e-8, 1e-5, 1, 5) },
		}
		for name, op := range ops {
			// AllocsPerRun counts every goroutine's allocations and
			// truncates the average: over 50 runs, a one-off allocation
			// by the runtime (a new thread when a long cgo call gives up
			// its P on a loaded machine) is not mistaken for one per call.
			if got := testing.AllocsPerRun(50, op); got != 0 {
				t.Errorf("%s allocates %v times per call", name, got)
			}
		}
	})
}
