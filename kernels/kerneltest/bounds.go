package kerneltest

import (
	"math"
	"testing"

	"charrnn/kernels"
)

// The gated cells' references are computed in float64 together with a bound
// on how far a correct float32 implementation may be from them, so that one
// tolerance fits every unit: a saturated gate (σ ≈ 1e-13) is held to its
// relative accuracy as much as one at 0.5, and a sum that cancels is held to
// the rounding of its terms, not of its result.
//
// The bound propagates two allowances through the equations, to first order:
//   - every float32 operation rounds, by at most ulp = 2^-24 relative to its
//     result (a sum, whatever its order, by ulp per term and partial sum);
//   - every σ and tanh may differ from the exact function by actErr relative,
//     plus its derivative times the error of its argument.
//
// An implementation passes when it is within 2× the bound (the factor covers
// the second-order terms left out, and fused versus separate multiply-adds).

const ulp = 0x1p-24

// actErr is the relative error allowed to σ and tanh: 6 float32 roundings.
// The AVX2 and AVX-512 approximations (exp's polynomial, one division) reach
// 2.8·2^-24 for σ and 1.7·2^-24 for tanh over a fine sweep, the generic
// backend's float64 functions 0.5·2^-24 (the final rounding); 6 leaves
// room for a cheaper approximation but catches any with a fixed absolute
// error (σ ≈ 1e-13 near its saturation would be off by orders of magnitude).
const actErr = 6 * ulp

// val is a reference value v and the bound e on a float32 implementation's
// distance from it.
type val struct{ v, e float64 }

func exact(x float32) val { return val{float64(x), 0} }

// sum adds terms in float32, in any order: each partial sum rounds.
func sum(terms ...val) val {
	var r val
	var mag float64
	for _, t := range terms {
		r.v += t.v
		r.e += t.e
		mag += math.Abs(t.v)
	}
	r.e += float64(len(terms)-1) * ulp * mag
	return r
}

func (a val) sub(b val) val { return sum(a, val{-b.v, b.e}) }

func (a val) mul(b val) val {
	v := a.v * b.v
	return val{v, math.Abs(a.v)*b.e + math.Abs(b.v)*a.e + a.e*b.e + ulp*math.Abs(v)}
}

// muladd is a*b + c, fused or not.
func muladd(a, b, c val) val {
	ab := a.v * b.v
	v := ab + c.v
	return val{v, math.Abs(a.v)*b.e + math.Abs(b.v)*a.e + a.e*b.e + c.e + ulp*(math.Abs(ab)+math.Abs(v))}
}

// activation applies f, whose derivative is largest at 0 and decreases
// away from it, to x: the argument's error counts with f's steepest slope
// over [x-e, x+e].
func activation(x val, f, df func(float64) float64) val {
	nearest := 0.0
	if x.v-x.e > 0 {
		nearest = x.v - x.e
	} else if x.v+x.e < 0 {
		nearest = x.v + x.e
	}
	v := f(x.v)
	return val{v, df(nearest)*x.e + actErr*math.Abs(v)}
}

func sigmoid64(x float64) float64 {
	return 1 / (1 + math.Exp(-min(max(x, -kernels.SigmoidLimit), kernels.SigmoidLimit)))
}

func sigmoid(x val) val {
	return activation(x, sigmoid64, func(x float64) float64 { s := sigmoid64(x); return s * (1 - s) })
}

func tanh(x val) val {
	return activation(x, math.Tanh, func(x float64) float64 { t := math.Tanh(x); return 1 - t*t })
}

// checkVals compares got with the references: within twice the bound, and
// never NaN unless the reference is.
func checkVals(t *testing.T, what string, got []float32, want []val) {
	t.Helper()
	for i, w := range want {
		g := float64(got[i])
		if math.IsNaN(w.v) {
			if !math.IsNaN(g) {
				t.Fatalf("%s[%d] = %v, want NaN", what, i, g)
			}
			continue
		}
		if d := math.Abs(g - w.v); !(d <= 2*w.e) {
			t.Fatalf("%s[%d] = %v, want %v ± %.3g (off by %.3g)", what, i, g, w.v, 2*w.e, d)
		}
	}
}

// checkNormal fails the test if an output is subnormal: the backends keep
// saturated units' factors away from the subnormal range, where x86
// arithmetic (in this step and in the products that read its results) is
// slow.
func checkNormal(t *testing.T, what string, got []float32) {
	t.Helper()
	for i, g := range got {
		if g != 0 && math.Abs(float64(g)) < 0x1p-126 {
			t.Fatalf("%s[%d] = %v is subnormal", what, i, g)
		}
	}
}

// checkRange fails the test unless every output is in [lo, hi].
func checkRange(t *testing.T, what string, got []float32, lo, hi float32) {
	t.Helper()
	for i, g := range got {
		if !(g >= lo && g <= hi) {
			t.Fatalf("%s[%d] = %v, outside [%v, %v]", what, i, g, lo, hi)
		}
	}
}
