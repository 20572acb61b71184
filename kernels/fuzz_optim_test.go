package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// FuzzOptimizer runs SumSquares and the SGD, Adagrad and Adam updates on
// random lengths, gradient magnitudes (2^-70 to 2^70, so that squares leave
// float32's range both ways), scales and limits, and compares every
// supported backend with the generic one. Non-finite results must match in
// kind; finite ones within float32 rounding of the largest term.
func FuzzOptimizer(f *testing.F) {
	for _, s := range [][4]int8{
		{1, 0, 0, 0}, {17, 0, 3, 1}, {100, 70, 0, 2}, {33, -70, 5, 3}, {127, 40, -3, 0}, {64, 65, 0, 0}, {5, -60, 10, 1},
	} {
		f.Add(uint64(s[0])*31, uint16(s[0])*23, s[1], s[2], uint8(s[3]))
	}
	f.Fuzz(func(t *testing.T, seed uint64, n16 uint16, magExp, scaleExp int8, limitSel uint8) {
		n := int(n16) % 5000
		rng := rand.New(rand.NewPCG(seed, uint64(n16)))
		mag := math.Ldexp(1, int(magExp)%71)
		scale := float32(math.Ldexp(1, int(scaleExp)%20))
		limit := []float32{float32(math.Inf(1)), 0.3, 5, 1e30}[int(limitSel)%4]
		g := make([]float32, n)
		for i := range g {
			g[i] = float32((rng.Float64()*2 - 1) * mag)
		}
		p, m, v := randSlice(rng, n), randSlice(rng, n), randSlice(rng, n)
		for i := range v {
			v[i] *= v[i] // second moments are non-negative
		}

		want := Generic{}.SumSquares(g)
		for _, b := range Supported() {
			got := b.SumSquares(g)
			if math.IsInf(want, 0) != math.IsInf(got, 0) || !(math.IsInf(want, 0) || math.Abs(got-want) <= tolerance(n, want)) {
				t.Fatalf("%s: SumSquares n=%d mag=%g = %v, generic %v", b.Name(), n, mag, got, want)
			}
		}

		type result struct{ p, m, v []float32 }
		run := func(b Backend, op int) result {
			r := result{clone(p), clone(m), clone(v)}
			switch op {
			case 0:
				b.SGDUpdate(r.p, g, 0.1, scale, limit)
			case 1:
				b.AdagradUpdate(r.p, g, r.v, 0.1, scale, limit)
			case 2:
				b.AdamUpdate(r.p, g, r.m, r.v, 0.01, 0.9, 0.999, 1e-8, scale, limit)
			}
			return r
		}
		same := func(what string, got, want float32, terms ...float64) bool {
			gf, wf := float64(got), float64(want)
			if math.IsNaN(wf) || math.IsInf(wf, 0) {
				return gf == wf || math.IsNaN(gf) && math.IsNaN(wf)
			}
			if math.IsNaN(gf) || math.IsInf(gf, 0) {
				return false
			}
			big := 1 + math.Abs(wf)
			for _, x := range terms {
				big = max(big, math.Abs(x))
			}
			return math.Abs(gf-wf) <= 1e-6*big
		}
		for op, name := range []string{"SGD", "Adagrad", "Adam"} {
			ref := run(Generic{}, op)
			for _, b := range Supported() {
				got := run(b, op)
				for i := 0; i < n; i++ {
					gi := conditioned(g[i], scale, limit)
					// The step's size bounds the rounding either side makes.
					var step float64
					switch op {
					case 0:
						step = 0.1 * gi
					case 1:
						step = 0.1 * gi / math.Sqrt(float64(ref.v[i])+AdagradEpsilon)
					case 2:
						step = 0.01 * float64(ref.m[i]) / (math.Sqrt(float64(ref.v[i])) + 1e-8)
					}
					if !same("m", got.m[i], ref.m[i], gi) || !same("v", got.v[i], ref.v[i], float64(ref.v[i]), gi*gi) ||
						!same("p", got.p[i], ref.p[i], float64(p[i]), step) {
						t.Fatalf("%s: %s n=%d mag=%g scale=%v limit=%v [%d]: p %v m %v v %v, generic p %v m %v v %v",
							b.Name(), name, n, mag, scale, limit, i, got.p[i], got.m[i], got.v[i], ref.p[i], ref.m[i], ref.v[i])
					}
				}
			}
		}
	})
}
