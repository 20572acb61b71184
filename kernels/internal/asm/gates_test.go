package asm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// guardedVec is a vector of n random values in [-scale, scale) with guard
// values after it, which no routine may overwrite.
type guardedVec struct{ buf, v []float32 }

func newGuardedVec(rng *rand.Rand, n int, scale float32) guardedVec {
	buf := make([]float32, n+17)
	for i := range buf {
		buf[i] = guard
	}
	g := guardedVec{buf, buf[:n]}
	for i := range g.v {
		g.v[i] = (rng.Float32()*2 - 1) * scale
	}
	return g
}

func (g guardedVec) clone() guardedVec {
	b := append([]float32(nil), g.buf...)
	return guardedVec{b, b[:len(g.v)]}
}

// compare holds got to want elementwise: relative error at most rel, or
// absolute at most abs; guards untouched.
func compare(t *testing.T, name string, got, want guardedVec, rel, abs float64) {
	t.Helper()
	for i := range got.buf {
		g, w := float64(got.buf[i]), float64(want.buf[i])
		if i >= len(got.v) {
			if got.buf[i] != guard {
				t.Fatalf("%s: wrote past the end at +%d", name, i-len(got.v))
			}
			continue
		}
		if d := math.Abs(g - w); !(d <= rel*math.Abs(w) || d <= abs) {
			t.Fatalf("%s[%d] = %v, ref %v", name, i, g, w)
		}
	}
}

// TestGates holds the gated cells' routines to their references in ref.go,
// at every tail length, on moderate and on saturated pre-activations. The
// forward routines differ from the references by the σ and tanh
// approximations (TestGateActivations measures them); the backward ones and
// Mul use the same float32 operations in the same order and must agree bit
// for bit (fma32 could differ by an ulp in a double-rounding tie, which these
// inputs do not meet).
func TestGates(t *testing.T) {
	forEachISA(t, func(t *testing.T, s isaSet) {
		rng := rand.New(rand.NewPCG(21, 22))
		for _, H := range []int{0, 1, s.lanes - 1, s.lanes, s.lanes + 1, 2*s.lanes + 3, 100, 512, 513} {
			for _, scale := range []float32{3, 120} {
				name := func(op string) string { return fmt.Sprintf("%s H=%d scale=%v", op, H, scale) }
				// LSTM: the forward pass, then the backward pass on its results.
				gates, in, bias := newGuardedVec(rng, 4*H, scale), newGuardedVec(rng, 4*H, 1), newGuardedVec(rng, 4*H, 1)
				cPrev, c, tc, h := newGuardedVec(rng, H, 2), newGuardedVec(rng, H, 1), newGuardedVec(rng, H, 1), newGuardedVec(rng, H, 1)
				wg, wc, wtc, wh := gates.clone(), c.clone(), tc.clone(), h.clone()
				s.lstmF(gates.v, in.v, bias.v, cPrev.v, c.v, tc.v, h.v)
				lstmForwardRef(wg.v, in.v, bias.v, cPrev.v, wc.v, wtc.v, wh.v)
				for _, o := range []struct {
					n         string
					got, want guardedVec
				}{{"gates", gates, wg}, {"c", c, wc}, {"tc", tc, wtc}, {"h", h, wh}} {
					compare(t, name("LSTMForward "+o.n), o.got, o.want, 1e-6, 1e-6)
				}
				dgates, dh, dc := newGuardedVec(rng, 4*H, 1), newGuardedVec(rng, H, 1), newGuardedVec(rng, H, 1)
				wdg, wdc := dgates.clone(), dc.clone()
				s.lstmB(dgates.v, wg.v, cPrev.v, wtc.v, dh.v, dc.v)
				lstmBackwardRef(wdg.v, wg.v, cPrev.v, wtc.v, dh.v, wdc.v)
				compare(t, name("LSTMBackward dgates"), dgates, wdg, 0, 0)
				compare(t, name("LSTMBackward dc"), dc, wdc, 0, 0)

				// GRU, with and without dhPrev.
				act, hg := newGuardedVec(rng, 3*H, 1), newGuardedVec(rng, 3*H, scale)
				gin, bih, bhh := newGuardedVec(rng, 3*H, 1), newGuardedVec(rng, 3*H, 1), newGuardedVec(rng, 3*H, 1)
				hPrev, hn := newGuardedVec(rng, H, 1), newGuardedVec(rng, H, 1)
				wact, whg, whn := act.clone(), hg.clone(), hn.clone()
				s.gruF(act.v, hg.v, gin.v, bih.v, bhh.v, hPrev.v, hn.v)
				gruForwardRef(wact.v, whg.v, gin.v, bih.v, bhh.v, hPrev.v, whn.v)
				compare(t, name("GRUForward act"), act, wact, 1e-6, 1e-6)
				compare(t, name("GRUForward hg"), hg, whg, 0, 0)
				compare(t, name("GRUForward h"), hn, whn, 1e-6, 1e-6)
				for _, acc := range []bool{false, true} {
					dx, dhg, dhPrev := newGuardedVec(rng, 3*H, 1), newGuardedVec(rng, 3*H, 1), newGuardedVec(rng, H, 1)
					wdx, wdhg, wdhPrev := dx.clone(), dhg.clone(), dhPrev.clone()
					dp, wdp := dhPrev.v, wdhPrev.v
					if !acc {
						dp, wdp = nil, nil
					}
					s.gruB(dx.v, dhg.v, wact.v, whg.v, hPrev.v, dh.v, dp)
					gruBackwardRef(wdx.v, wdhg.v, wact.v, whg.v, hPrev.v, dh.v, wdp)
					compare(t, name(fmt.Sprintf("GRUBackward acc=%v dx", acc)), dx, wdx, 0, 0)
					compare(t, name(fmt.Sprintf("GRUBackward acc=%v dhg", acc)), dhg, wdhg, 0, 0)
					compare(t, name(fmt.Sprintf("GRUBackward acc=%v dhPrev", acc)), dhPrev, wdhPrev, 0, 0)
				}

				x, y, dst := newGuardedVec(rng, H, scale), newGuardedVec(rng, H, 1), newGuardedVec(rng, H, 1)
				want := dst.clone()
				s.mul(dst.v, x.v, y.v)
				mulRef(want.v, x.v, y.v)
				compare(t, name("Mul"), dst, want, 0, 0)
			}
		}
	})
}

// TestGateActivations measures σ and tanh as the gate routines compute them
// against float64, over a fine grid and the special points, and bounds their
// relative errors by 4·2^-24 (a few float32 ulps) everywhere: σ is built
// from e^-|x| without cancellation, tanh from a series near 0 and from
// e^2|x| above. It reads them from
// LSTMForward, where gate i is σ and gate g is tanh of the pre-activation.
func TestGateActivations(t *testing.T) {
	forEachISA(t, func(t *testing.T, s isaSet) {
		var xs []float32
		for x := -40.0; x <= 40; x += 1.0 / 256 {
			xs = append(xs, float32(x))
		}
		xs = append(xs, 0, float32(math.Copysign(0, -1)), 1e-30, -1e-30, 1e-7, -3e-4, 0.4999999, 0.5, 8.999, 9, 29.99, 30, 30.01, -30, -87.5, 88.8, -200, 200,
			float32(math.Inf(1)), float32(math.Inf(-1)))
		H := len(xs)
		gates, zero := make([]float32, 4*H), make([]float32, 4*H)
		copy(gates, xs)
		copy(gates[2*H:], xs)
		c, tc, h := make([]float32, H), make([]float32, H), make([]float32, H)
		s.lstmF(gates, zero, zero, zero, c, tc, h)
		var sigRel, tanhAbs, tanhRel float64
		for j, x := range xs {
			xc := math.Max(-sigmoidLimit, math.Min(sigmoidLimit, float64(x)))
			sig := 1 / (1 + math.Exp(-xc))
			got := float64(gates[j])
			if r := math.Abs(got-sig) / sig; !(r <= 4*0x1p-24) {
				t.Fatalf("σ(%v) = %v, want %v (clamped to ±%d)", x, got, sig, sigmoidLimit)
			} else {
				sigRel = max(sigRel, r)
			}
			th := math.Tanh(float64(x))
			got = float64(gates[2*H+j])
			d := math.Abs(got - th)
			if !(d <= 4*0x1p-24*math.Abs(th)) {
				t.Fatalf("tanh(%v) = %v, want %v", x, got, th)
			}
			tanhAbs = max(tanhAbs, d)
			if th != 0 {
				tanhRel = max(tanhRel, d/math.Abs(th))
			}
		}
		t.Logf("σ: max relative error %.3g (%.2f·2^-24); tanh: max absolute error %.3g, relative %.3g (%.2f·2^-24)",
			sigRel, sigRel/0x1p-24, tanhAbs, tanhRel, tanhRel/0x1p-24)

		nan := float32(math.NaN())
		for _, H := range []int{1, s.lanes + 3} {
			gates, zero := make([]float32, 4*H), make([]float32, 4*H)
			for k := range 4 {
				gates[k*H+H-1] = nan
			}
			c, tc, h := make([]float32, H), make([]float32, H), make([]float32, H)
			s.lstmF(gates, zero, zero, zero, c, tc, h)
			for k := range 4 {
				if !math.IsNaN(float64(gates[k*H+H-1])) {
					t.Fatalf("H=%d: gate %d of a NaN pre-activation = %v", H, k, gates[k*H+H-1])
				}
			}
			if !math.IsNaN(float64(h[H-1])) {
				t.Fatalf("H=%d: h = %v from NaN pre-activations", H, h[H-1])
			}
		}
	})
}
