package kernels

import (
	"math"
	"testing"
)

// TestNaNPropagates pins that a NaN in the activations reaches the output
// and the loss, as in the generic backend: a diverging training run must
// show NaN, not be clamped into plausible numbers by a vectorised tanh or exp.
func TestNaNPropagates(t *testing.T) {
	nan := float32(math.NaN())
	forEachBackend(t, func(t *testing.T, b Backend) {
		for _, n := range []int{1, 7, 16, 33} {
			for pos := 0; pos < n; pos += 5 {
				a, zero, h := make([]float32, n), make([]float32, n), make([]float32, n)
				a[pos] = nan
				b.AddTanh(h, a, zero, zero)
				if !math.IsNaN(float64(h[pos])) {
					t.Fatalf("AddTanh n=%d: tanh(NaN) at %d = %v", n, pos, h[pos])
				}
				logits, d := make([]float32, n), make([]float32, n)
				logits[pos] = nan
				if loss := b.SoftmaxXent(d, logits, zero, (pos+1)%n); !math.IsNaN(float64(loss)) {
					t.Fatalf("SoftmaxXent n=%d: NaN logit at %d gives loss %v", n, pos, loss)
				}
			}
		}
	})
}
