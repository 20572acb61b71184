package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The momentum, RMSprop and AdamW updates against a float64 reference, on
// the same shapes and conditioning cases as the other optimizer updates.
func TestMomentumRMSpropAdamWUpdates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		rng := rand.New(rand.NewPCG(17, 18))
		for _, c := range updateCases() {
			name := fmt.Sprintf("n=%d scale=%v limit=%v", c.n, c.scale, c.limit)
			p, g := newGuarded(rng, c.n), newGuarded(rng, c.n)
			s1, s2 := newGuarded(rng, c.n), newGuarded(rng, c.n)
			for i := range s2.data {
				s2.data[i] = s2.data[i] * s2.data[i] // second moments are non-negative
			}
			pIn, gIn, s1In, s2In := clone(p.data), clone(g.data), clone(s1.data), clone(s2.data)
			// near allows float32 rounding relative to the largest term that
			// went into want (a parameter minus a step of similar size
			// cancels). The parameter is checked against the state the
			// backend computed (itself checked first), so that rounding in a
			// state that cancels is not amplified into the step.
			near := func(what string, got float32, want float64, terms ...float64) {
				t.Helper()
				mag := math.Abs(want)
				for _, x := range terms {
					mag = max(mag, math.Abs(x))
				}
				if d := math.Abs(float64(got) - want); !(d <= 4e-7*(1+mag)) {
					t.Fatalf("%s %s: got %v, want %v", what, name, got, want)
				}
			}

			b.MomentumUpdate(p.data, g.data, s1.data, 0.1, 0.9, c.scale, c.limit)
			for i := range pIn {
				vel := 0.9*float64(s1In[i]) + conditioned(gIn[i], c.scale, c.limit)
				near("MomentumUpdate vel", s1.data[i], vel)
				vel = float64(s1.data[i])
				near("MomentumUpdate p", p.data[i], float64(pIn[i])-0.1*vel, float64(pIn[i]), 0.1*vel)
			}
			p.check(t, "MomentumUpdate p")
			s1.check(t, "MomentumUpdate vel")
			unchanged(t, "MomentumUpdate g", gIn, g)

			// mu = 0 is plain SGD, exactly.
			copy(p.data, pIn)
			want := clone(pIn)
			b.SGDUpdate(want, g.data, 0.1, c.scale, c.limit)
			b.MomentumUpdate(p.data, g.data, s1.data, 0.1, 0, c.scale, c.limit)
			for i := range want {
				if p.data[i] != want[i] {
					t.Fatalf("MomentumUpdate with mu 0 %s: p[%d] = %v, SGDUpdate gives %v", name, i, p.data[i], want[i])
				}
			}

			copy(p.data, pIn)
			b.RMSpropUpdate(p.data, g.data, s2.data, 0.01, 0.99, 1e-8, c.scale, c.limit)
			for i := range pIn {
				gi := conditioned(gIn[i], c.scale, c.limit)
				ms := 0.99*float64(s2In[i]) + 0.01*gi*gi
				near("RMSpropUpdate ms", s2.data[i], ms)
				step := 0.01 * gi / (math.Sqrt(float64(s2.data[i])) + 1e-8)
				near("RMSpropUpdate p", p.data[i], float64(pIn[i])-step, float64(pIn[i]), step)
			}
			p.check(t, "RMSpropUpdate p")
			s2.check(t, "RMSpropUpdate ms")
			unchanged(t, "RMSpropUpdate g", gIn, g)

			copy(p.data, pIn)
			copy(s1.data, s1In)
			copy(s2.data, s2In)
			b.AdamWUpdate(p.data, g.data, s1.data, s2.data, 0.01, 0.9, 0.999, 1e-8, 0.001, c.scale, c.limit)
			for i := range pIn {
				gi := conditioned(gIn[i], c.scale, c.limit)
				m := 0.9*float64(s1In[i]) + 0.1*gi
				v := 0.999*float64(s2In[i]) + 0.001*gi*gi
				near("AdamWUpdate m", s1.data[i], m)
				near("AdamWUpdate v", s2.data[i], v)
				step := 0.01 * float64(s1.data[i]) / (math.Sqrt(float64(s2.data[i])) + 1e-8)
				near("AdamWUpdate p", p.data[i], float64(pIn[i])-0.001*float64(pIn[i])-step, float64(pIn[i]), step)
			}
			p.check(t, "AdamWUpdate p")
			s1.check(t, "AdamWUpdate m")
			s2.check(t, "AdamWUpdate v")
			unchanged(t, "AdamWUpdate g", gIn, g)

			// decay = 0 is Adam, exactly.
			copy(p.data, pIn)
			copy(s1.data, s1In)
			copy(s2.data, s2In)
			want = clone(pIn)
			m, v := clone(s1In), clone(s2In)
			b.AdamUpdate(want, g.data, m, v, 0.01, 0.9, 0.999, 1e-8, c.scale, c.limit)
			b.AdamWUpdate(p.data, g.data, s1.data, s2.data, 0.01, 0.9, 0.999, 1e-8, 0, c.scale, c.limit)
			for i := range want {
				if p.data[i] != want[i] {
					t.Fatalf("AdamWUpdate with decay 0 %s: p[%d] = %v, AdamUpdate gives %v", name, i, p.data[i], want[i])
				}
			}
		}
	})
}
