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

// TestNaNGradientReachesParameters pins what the optimizer updates do with a
// NaN gradient (the engine checks the norm is finite first, so this is about
// not hiding a bug): every backend lets it through the conditioning clamp
// into the parameter, none clips it into a plausible number, and the
// elements around it are updated normally.
func TestNaNGradientReachesParameters(t *testing.T) {
	nan := float32(math.NaN())
	forEachBackend(t, func(t *testing.T, b Backend) {
		for _, n := range []int{1, 7, 16, 33} {
			for pos := 0; pos < n; pos += 5 {
				for _, limit := range []float32{float32(math.Inf(1)), 0.5} {
					g := make([]float32, n)
					g[pos] = nan
					ups := map[string]func(p []float32){
						"SGD":     func(p []float32) { b.SGDUpdate(p, g, 0.1, 1, limit) },
						"Adagrad": func(p []float32) { b.AdagradUpdate(p, g, make([]float32, n), 0.1, 1, limit) },
						"Adam": func(p []float32) {
							b.AdamUpdate(p, g, make([]float32, n), make([]float32, n), 0.1, 0.9, 0.999, 1e-8, 1, limit)
						},
						"Momentum": func(p []float32) { b.MomentumUpdate(p, g, make([]float32, n), 0.1, 0.9, 1, limit) },
						"RMSprop":  func(p []float32) { b.RMSpropUpdate(p, g, make([]float32, n), 0.1, 0.9, 1e-8, 1, limit) },
						"AdamW": func(p []float32) {
							b.AdamWUpdate(p, g, make([]float32, n), make([]float32, n), 0.1, 0.9, 0.999, 1e-8, 0.01, 1, limit)
						},
					}
					for name, up := range ups {
						p := make([]float32, n)
						up(p)
						for i, v := range p {
							if got := math.IsNaN(float64(v)); got != (i == pos) {
								t.Fatalf("%s n=%d limit=%v, NaN gradient at %d: p[%d] = %v", name, n, limit, pos, i, v)
							}
						}
					}
				}
			}
		}
	})
}
