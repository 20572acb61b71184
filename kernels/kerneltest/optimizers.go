package kerneltest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"charrnn/kernels"
)

// testOptimizers is the optimizer family: the gradient's sum of squares (for
// its norm) and the six fused updates.
func testOptimizers(t *testing.T, b kernels.Backend) {
	t.Run("SumSquares", func(t *testing.T) { testSumSquares(t, b) })
	t.Run("SumSquaresRange", func(t *testing.T) { testSumSquaresRange(t, b) })
	t.Run("SGDAdagradAdam", func(t *testing.T) { testSGDAdagradAdam(t, b) })
	t.Run("MomentumRMSpropAdamW", func(t *testing.T) { testMomentumRMSpropAdamW(t, b) })
	t.Run("NaNGradient", func(t *testing.T) { testNaNGradientReachesParameters(t, b) })
	t.Run("ShortSlices", func(t *testing.T) {
		const n = 30
		checkShortSlicesPanic(t, map[string]func(){
			"SGDUpdate g":      func() { b.SGDUpdate(full(1, n), short(1, n), 1, 1, 1) },
			"AdagradUpdate g":  func() { b.AdagradUpdate(full(1, n), short(1, n), full(1, n), 1, 1, 1) },
			"AdagradUpdate m":  func() { b.AdagradUpdate(full(1, n), full(1, n), short(1, n), 1, 1, 1) },
			"AdamUpdate g":     func() { b.AdamUpdate(full(1, n), short(1, n), full(1, n), full(1, n), 1, 0.9, 0.9, 1, 1, 1) },
			"AdamUpdate m":     func() { b.AdamUpdate(full(1, n), full(1, n), short(1, n), full(1, n), 1, 0.9, 0.9, 1, 1, 1) },
			"AdamUpdate v":     func() { b.AdamUpdate(full(1, n), full(1, n), full(1, n), short(1, n), 1, 0.9, 0.9, 1, 1, 1) },
			"MomentumUpdate g": func() { b.MomentumUpdate(full(1, n), short(1, n), full(1, n), 1, 0.9, 1, 1) },
			"MomentumUpdate v": func() { b.MomentumUpdate(full(1, n), full(1, n), short(1, n), 1, 0.9, 1, 1) },
			"RMSpropUpdate g":  func() { b.RMSpropUpdate(full(1, n), short(1, n), full(1, n), 1, 0.9, 1, 1, 1) },
			"RMSpropUpdate ms": func() { b.RMSpropUpdate(full(1, n), full(1, n), short(1, n), 1, 0.9, 1, 1, 1) },
			"AdamWUpdate g":    func() { b.AdamWUpdate(full(1, n), short(1, n), full(1, n), full(1, n), 1, 0.9, 0.9, 1, 0.1, 1, 1) },
			"AdamWUpdate m":    func() { b.AdamWUpdate(full(1, n), full(1, n), short(1, n), full(1, n), 1, 0.9, 0.9, 1, 0.1, 1, 1) },
			"AdamWUpdate v":    func() { b.AdamWUpdate(full(1, n), full(1, n), full(1, n), short(1, n), 1, 0.9, 0.9, 1, 0.1, 1, 1) },
		})
	})
	t.Run("NoAllocs", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(13, 14))
		const n = 65
		x := randSlice(rng, 200)
		p, g := randSlice(rng, n), randSlice(rng, n)
		st1, st2 := make([]float32, n), make([]float32, n) // optimizer state
		checkNoAllocs(t, map[string]func(){
			"SumSquares": func() { sinkF64 = b.SumSquares(x) },
			"SGD":        func() { b.SGDUpdate(p, g, 1e-3, 1, 5) },
			"Adagrad":    func() { b.AdagradUpdate(p, g, st1, 1e-3, 1, 5) },
			"Adam":       func() { b.AdamUpdate(p, g, st1, st2, 1e-3, 0.9, 0.999, 1e-8, 1, 5) },
			"Momentum":   func() { b.MomentumUpdate(p, g, st1, 1e-3, 0.9, 1, 5) },
			"RMSprop":    func() { b.RMSpropUpdate(p, g, st2, 1e-3, 0.99, 1e-8, 1, 5) },
			"AdamW":      func() { b.AdamWUpdate(p, g, st1, st2, 1e-3, 0.9, 0.999, 1e-8, 1e-5, 1, 5) },
		})
	})
}

func testSumSquares(t *testing.T, b kernels.Backend) {
	rng := rand.New(rand.NewPCG(13, 14))
	// 1300000 is the H=512 model's slab.
	for _, n := range append(sizes, 100003, 1300000) {
		x := newGuarded(rng, n)
		var want float64
		for _, v := range x.data {
			want += float64(v) * float64(v)
		}
		if got := b.SumSquares(x.data); !(math.Abs(got-want) <= tolerance(n, want)) {
			t.Fatalf("SumSquares n=%d = %v, want %v", n, got, want)
		}
		x.check(t, "SumSquares")
	}
}

// testSumSquaresRange pins that SumSquares keeps the float64 sum's range and
// accuracy over all of float32: the engine takes a finite result to mean
// finite gradients and parameters, and the norm of tiny gradients still sets
// how they are clipped.
func testSumSquaresRange(t *testing.T, b kernels.Backend) {
	rng := rand.New(rand.NewPCG(19, 20))
	for _, n := range []int{1, 17, 513, 100003} {
		for _, scale := range []float32{1e-30, 1e-20, 1, 1e19, 1e25, math.MaxFloat32} {
			x := newGuarded(rng, n)
			var want float64
			for i := range x.data {
				x.data[i] *= scale
				want += float64(x.data[i]) * float64(x.data[i])
			}
			if got := b.SumSquares(x.data); !(math.Abs(got-want) <= tolerance(n, want)) {
				t.Fatalf("SumSquares n=%d scale=%v = %v, want %v", n, scale, got, want)
			}
		}
		// One big element among ordinary ones.
		x := newGuarded(rng, n)
		x.data[n/2] = 1e30
		var want float64
		for _, v := range x.data {
			want += float64(v) * float64(v)
		}
		if got := b.SumSquares(x.data); !(math.Abs(got-want) <= tolerance(n, want)) {
			t.Fatalf("SumSquares n=%d with 1e30 = %v, want %v", n, got, want)
		}
	}
}

// updateCase is one optimizer update's shape, with the conditioning
// parameters chosen so that some elements are clipped and some are not.
type updateCase struct {
	n            int
	scale, limit float32
}

func (c updateCase) String() string {
	return fmt.Sprintf("n=%d scale=%v limit=%v", c.n, c.scale, c.limit)
}

func updateCases() []updateCase {
	var cases []updateCase
	for _, n := range sizes {
		cases = append(cases,
			updateCase{n, 1, float32(math.Inf(1))},
			updateCase{n, 0.5, 0.3},
			updateCase{n, 2, 1})
	}
	return cases
}

// conditioned is the gradient conditioning every update starts with, in
// float64.
func conditioned(g, scale, limit float32) float64 {
	return math.Min(math.Max(float64(g)*float64(scale), -float64(limit)), float64(limit))
}

// updateRel is the rounding the updates may make against the float64
// reference, relative to the largest term (see within).
const updateRel = 4e-7

// near fails t unless got is want within updateRel of the largest of want
// and terms.
func near(t *testing.T, what string, c updateCase, got float32, want float64, terms ...float64) {
	t.Helper()
	if !within(float64(got), want, updateRel, terms...) {
		t.Fatalf("%s %v: got %v, want %v", what, c, got, want)
	}
}

// testSGDAdagradAdam checks SGD, Adagrad and Adam against the float64
// reference, with the state non-negative as Adagrad's memory and Adam's
// moments from zero are.
func testSGDAdagradAdam(t *testing.T, b kernels.Backend) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, c := range updateCases() {
		p, g := newGuarded(rng, c.n), newGuarded(rng, c.n)
		s1, s2 := newGuarded(rng, c.n), newGuarded(rng, c.n)
		for i := range s2.data {
			s1.data[i] = float32(math.Abs(float64(s1.data[i]))) // Adagrad's memory is a sum of squares
			s2.data[i] = s1.data[i] * s1.data[i]                // so is Adam's v
		}
		pIn, gIn, s1In, s2In := clone(p.data), clone(g.data), clone(s1.data), clone(s2.data)

		b.SGDUpdate(p.data, g.data, 0.1, c.scale, c.limit)
		for i := range pIn {
			near(t, "SGDUpdate p", c, p.data[i], float64(pIn[i])-0.1*conditioned(gIn[i], c.scale, c.limit))
		}
		p.check(t, "SGDUpdate")
		unchanged(t, "SGDUpdate g", gIn, g)

		copy(p.data, pIn)
		b.AdagradUpdate(p.data, g.data, s1.data, 0.1, c.scale, c.limit)
		for i := range pIn {
			gi := conditioned(gIn[i], c.scale, c.limit)
			mem := float64(s1In[i]) + gi*gi
			near(t, "AdagradUpdate mem", c, s1.data[i], mem)
			near(t, "AdagradUpdate p", c, p.data[i], float64(pIn[i])-0.1*gi/math.Sqrt(mem+kernels.AdagradEpsilon))
		}
		p.check(t, "AdagradUpdate p")
		s1.check(t, "AdagradUpdate mem")
		unchanged(t, "AdagradUpdate g", gIn, g)

		copy(p.data, pIn)
		copy(s1.data, s1In)
		b.AdamUpdate(p.data, g.data, s1.data, s2.data, 0.01, 0.9, 0.999, 1e-8, c.scale, c.limit)
		for i := range pIn {
			gi := conditioned(gIn[i], c.scale, c.limit)
			m := 0.9*float64(s1In[i]) + 0.1*gi
			v := 0.999*float64(s2In[i]) + 0.001*gi*gi
			near(t, "AdamUpdate m", c, s1.data[i], m)
			near(t, "AdamUpdate v", c, s2.data[i], v)
			near(t, "AdamUpdate p", c, p.data[i], float64(pIn[i])-0.01*m/(math.Sqrt(v)+1e-8))
		}
		p.check(t, "AdamUpdate p")
		s1.check(t, "AdamUpdate m")
		s2.check(t, "AdamUpdate v")
		unchanged(t, "AdamUpdate g", gIn, g)
	}
}

// testMomentumRMSpropAdamW checks Momentum, RMSprop and AdamW against the
// float64 reference, with a signed velocity and first moment. A parameter is
// checked against the state the backend computed (itself checked first), so
// that rounding in a state that cancels is not amplified into the step.
// Momentum with mu 0 must be SGD exactly, and AdamW with decay 0 Adam.
func testMomentumRMSpropAdamW(t *testing.T, b kernels.Backend) {
	rng := rand.New(rand.NewPCG(17, 18))
	for _, c := range updateCases() {
		p, g := newGuarded(rng, c.n), newGuarded(rng, c.n)
		s1, s2 := newGuarded(rng, c.n), newGuarded(rng, c.n)
		for i := range s2.data {
			s2.data[i] = s2.data[i] * s2.data[i] // second moments are non-negative
		}
		pIn, gIn, s1In, s2In := clone(p.data), clone(g.data), clone(s1.data), clone(s2.data)

		b.MomentumUpdate(p.data, g.data, s1.data, 0.1, 0.9, c.scale, c.limit)
		for i := range pIn {
			vel := 0.9*float64(s1In[i]) + conditioned(gIn[i], c.scale, c.limit)
			near(t, "MomentumUpdate vel", c, s1.data[i], vel)
			vel = float64(s1.data[i])
			near(t, "MomentumUpdate p", c, p.data[i], float64(pIn[i])-0.1*vel, float64(pIn[i]), 0.1*vel)
		}
		p.check(t, "MomentumUpdate p")
		s1.check(t, "MomentumUpdate vel")
		unchanged(t, "MomentumUpdate g", gIn, g)

		copy(p.data, pIn)
		want := clone(pIn)
		b.SGDUpdate(want, g.data, 0.1, c.scale, c.limit)
		b.MomentumUpdate(p.data, g.data, s1.data, 0.1, 0, c.scale, c.limit)
		for i := range want {
			if p.data[i] != want[i] {
				t.Fatalf("MomentumUpdate with mu 0 %v: p[%d] = %v, SGDUpdate gives %v", c, i, p.data[i], want[i])
			}
		}

		copy(p.data, pIn)
		b.RMSpropUpdate(p.data, g.data, s2.data, 0.01, 0.99, 1e-8, c.scale, c.limit)
		for i := range pIn {
			gi := conditioned(gIn[i], c.scale, c.limit)
			ms := 0.99*float64(s2In[i]) + 0.01*gi*gi
			near(t, "RMSpropUpdate ms", c, s2.data[i], ms)
			step := 0.01 * gi / (math.Sqrt(float64(s2.data[i])) + 1e-8)
			near(t, "RMSpropUpdate p", c, p.data[i], float64(pIn[i])-step, float64(pIn[i]), step)
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
			near(t, "AdamWUpdate m", c, s1.data[i], m)
			near(t, "AdamWUpdate v", c, s2.data[i], v)
			step := 0.01 * float64(s1.data[i]) / (math.Sqrt(float64(s2.data[i])) + 1e-8)
			near(t, "AdamWUpdate p", c, p.data[i], float64(pIn[i])-0.001*float64(pIn[i])-step, float64(pIn[i]), step)
		}
		p.check(t, "AdamWUpdate p")
		s1.check(t, "AdamWUpdate m")
		s2.check(t, "AdamWUpdate v")
		unchanged(t, "AdamWUpdate g", gIn, g)

		copy(p.data, pIn)
		copy(s1.data, s1In)
		copy(s2.data, s2In)
		want = clone(pIn)
		m, v := clone(s1In), clone(s2In)
		b.AdamUpdate(want, g.data, m, v, 0.01, 0.9, 0.999, 1e-8, c.scale, c.limit)
		b.AdamWUpdate(p.data, g.data, s1.data, s2.data, 0.01, 0.9, 0.999, 1e-8, 0, c.scale, c.limit)
		for i := range want {
			if p.data[i] != want[i] {
				t.Fatalf("AdamWUpdate with decay 0 %v: p[%d] = %v, AdamUpdate gives %v", c, i, p.data[i], want[i])
			}
		}
	}
}

// testNaNGradientReachesParameters pins what the updates do with a NaN
// gradient (the engine checks the norm is finite first, so this is about not
// hiding a bug): it passes the conditioning clamp into the parameter, is not
// clipped into a plausible number, and the elements around it are updated
// normally.
func testNaNGradientReachesParameters(t *testing.T, b kernels.Backend) {
	nan := float32(math.NaN())
	for _, n := range []int{1, 7, 16, 33} {
		for pos := 0; pos < n; pos += 5 {
			for _, limit := range []float32{float32(math.Inf(1)), 0.5} {
				g := make([]float32, n)
				g[pos] = nan
				for name, up := range map[string]func(p []float32){
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
				} {
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
}

// compareRel is how far two backends' updates may differ, relative to the
// largest term (see within): both round, in different orders.
const compareRel = 1e-6

// CompareOptimizers runs SumSquares(g) and every optimizer update on b and
// on ref with the same inputs (parameters p, gradient g, state m and v; v
// must be non-negative, as second moments are) and fails t where b's
// results differ from ref's by more than float32 rounding of the largest
// term, or are not finite where ref's are (or the other way round). The
// inputs are not modified. It is the check of fuzz targets that reach
// gradients of any magnitude, where a float64 reference of the float32
// arithmetic would not say what either backend should give.
func CompareOptimizers(t *testing.T, b, ref kernels.Backend, p, g, m, v []float32, scale, limit float32) {
	t.Helper()
	n := len(p)
	want := ref.SumSquares(g)
	got := b.SumSquares(g)
	if math.IsInf(want, 0) != math.IsInf(got, 0) || !(math.IsInf(want, 0) || math.Abs(got-want) <= tolerance(n, want)) {
		t.Fatalf("%s: SumSquares n=%d = %v, %s gives %v", b.Name(), n, got, ref.Name(), want)
	}

	type state struct{ p, m, v []float32 }
	// step is the size of an update's step, which bounds the rounding
	// either side makes in p.
	updates := []struct {
		name string
		run  func(b kernels.Backend, s state)
		step func(r state, i int, gi float64) float64
	}{
		{"SGD", func(b kernels.Backend, s state) { b.SGDUpdate(s.p, g, 0.1, scale, limit) },
			func(r state, i int, gi float64) float64 { return 0.1 * gi }},
		{"Adagrad", func(b kernels.Backend, s state) { b.AdagradUpdate(s.p, g, s.v, 0.1, scale, limit) },
			func(r state, i int, gi float64) float64 {
				return 0.1 * gi / math.Sqrt(float64(r.v[i])+kernels.AdagradEpsilon)
			}},
		{"Adam", func(b kernels.Backend, s state) { b.AdamUpdate(s.p, g, s.m, s.v, 0.01, 0.9, 0.999, 1e-8, scale, limit) },
			func(r state, i int, gi float64) float64 {
				return 0.01 * float64(r.m[i]) / (math.Sqrt(float64(r.v[i])) + 1e-8)
			}},
		{"Momentum", func(b kernels.Backend, s state) { b.MomentumUpdate(s.p, g, s.m, 0.1, 0.9, scale, limit) },
			func(r state, i int, gi float64) float64 { return 0.1 * float64(r.m[i]) }},
		{"RMSprop", func(b kernels.Backend, s state) { b.RMSpropUpdate(s.p, g, s.v, 0.01, 0.99, 1e-8, scale, limit) },
			func(r state, i int, gi float64) float64 {
				return 0.01 * gi / (math.Sqrt(float64(r.v[i])) + 1e-8)
			}},
		{"AdamW", func(b kernels.Backend, s state) {
			b.AdamWUpdate(s.p, g, s.m, s.v, 0.01, 0.9, 0.999, 1e-8, 0.001, scale, limit)
		},
			func(r state, i int, gi float64) float64 {
				return 0.01 * float64(r.m[i]) / (math.Sqrt(float64(r.v[i])) + 1e-8)
			}},
	}
	for _, u := range updates {
		r := state{clone(p), clone(m), clone(v)}
		u.run(ref, r)
		s := state{clone(p), clone(m), clone(v)}
		u.run(b, s)
		for i := 0; i < n; i++ {
			gi := conditioned(g[i], scale, limit)
			if !within(float64(s.m[i]), float64(r.m[i]), compareRel, float64(m[i]), gi) ||
				!within(float64(s.v[i]), float64(r.v[i]), compareRel, float64(r.v[i]), float64(v[i]), gi*gi) ||
				!within(float64(s.p[i]), float64(r.p[i]), compareRel, float64(p[i]), u.step(r, i, gi)) {
				t.Fatalf("%s: %s n=%d scale=%v limit=%v [%d]: p %v m %v v %v, %s gives p %v m %v v %v",
					b.Name(), u.name, n, scale, limit, i, s.p[i], s.m[i], s.v[i], ref.Name(), r.p[i], r.m[i], r.v[i])
			}
		}
	}
}
