package kernels

import (
	"math/rand/v2"
	"testing"
)

// TestGemvDeterministic pins that repeated GEMVs on the same inputs give
// bit-identical results. The assembly backends sweep big matrices in
// alternating directions (for L2 reuse); that must change only the order in
// which rows or strips are visited, never how any output is summed, or
// training runs would stop being reproducible.
func TestGemvDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	const m, n = 512, 513 // over the size at which sweeps alternate
	a, x := randSlice(rng, m*n), randSlice(rng, n)
	forEachBackend(t, func(t *testing.T, b Backend) {
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
	})
}
