package kerneltest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"charrnn/kernels"
)

// testGates is the family of the gated cells' element-wise steps: the LSTM
// and GRU forward and backward passes, each checked against the float64
// equations of Backend's doc comments with the error bounds of bounds.go.
func testGates(t *testing.T, b kernels.Backend) {
	t.Run("LSTM", func(t *testing.T) { testLSTM(t, b) })
	t.Run("GRU", func(t *testing.T) { testGRU(t, b) })
	t.Run("NaNPropagates", func(t *testing.T) { testGatesNaN(t, b) })
	t.Run("ShortSlices", func(t *testing.T) {
		const H = 30
		f3, f4 := full(3, H), full(4, H)
		s3, s4 := short(3, H), short(4, H)
		f1, s1 := full(1, H), short(1, H)
		checkShortSlicesPanic(t, map[string]func(){
			"LSTMForward gates":   func() { b.LSTMForward(s4, f4, f4, f1, f1, f1, f1) },
			"LSTMForward in":      func() { b.LSTMForward(f4, s4, f4, f1, f1, f1, f1) },
			"LSTMForward bias":    func() { b.LSTMForward(f4, f4, s4, f1, f1, f1, f1) },
			"LSTMForward cPrev":   func() { b.LSTMForward(f4, f4, f4, s1, f1, f1, f1) },
			"LSTMForward c":       func() { b.LSTMForward(f4, f4, f4, f1, s1, f1, f1) },
			"LSTMForward tc":      func() { b.LSTMForward(f4, f4, f4, f1, f1, s1, f1) },
			"LSTMBackward dgates": func() { b.LSTMBackward(s4, f4, f1, f1, f1, f1) },
			"LSTMBackward gates":  func() { b.LSTMBackward(f4, s4, f1, f1, f1, f1) },
			"LSTMBackward cPrev":  func() { b.LSTMBackward(f4, f4, s1, f1, f1, f1) },
			"LSTMBackward tc":     func() { b.LSTMBackward(f4, f4, f1, s1, f1, f1) },
			"LSTMBackward dh":     func() { b.LSTMBackward(f4, f4, f1, f1, s1, f1) },
			"GRUForward act":      func() { b.GRUForward(s3, f3, f3, f3, f3, f1, f1) },
			"GRUForward hg":       func() { b.GRUForward(f3, s3, f3, f3, f3, f1, f1) },
			"GRUForward in":       func() { b.GRUForward(f3, f3, s3, f3, f3, f1, f1) },
			"GRUForward bih":      func() { b.GRUForward(f3, f3, f3, s3, f3, f1, f1) },
			"GRUForward bhh":      func() { b.GRUForward(f3, f3, f3, f3, s3, f1, f1) },
			"GRUForward hPrev":    func() { b.GRUForward(f3, f3, f3, f3, f3, s1, f1) },
			"GRUBackward dx":      func() { b.GRUBackward(s3, f3, f3, f3, f1, f1, f1) },
			"GRUBackward dhg":     func() { b.GRUBackward(f3, s3, f3, f3, f1, f1, f1) },
			"GRUBackward act":     func() { b.GRUBackward(f3, f3, s3, f3, f1, f1, f1) },
			"GRUBackward hg":      func() { b.GRUBackward(f3, f3, f3, s3, f1, f1, f1) },
			"GRUBackward hPrev":   func() { b.GRUBackward(f3, f3, f3, f3, s1, f1, f1) },
			"GRUBackward dhPrev":  func() { b.GRUBackward(f3, f3, f3, f3, f1, f1, s1) },
		})
	})
	t.Run("NoAllocs", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(31, 32))
		const H = 65
		g4, d4, in4 := randSlice(rng, 4*H), randSlice(rng, 4*H), randSlice(rng, 4*H)
		g3, d3, in3 := randSlice(rng, 3*H), randSlice(rng, 3*H), randSlice(rng, 3*H)
		c, tc, h, prev, dh := randSlice(rng, H), randSlice(rng, H), randSlice(rng, H), randSlice(rng, H), randSlice(rng, H)
		checkNoAllocs(t, map[string]func(){
			"LSTMForward":       func() { b.LSTMForward(g4, in4, in4, prev, c, tc, h) },
			"LSTMBackward":      func() { b.LSTMBackward(d4, g4, prev, tc, dh, c) },
			"GRUForward":        func() { b.GRUForward(g3, d3, in3, in3, in3, prev, h) },
			"GRUBackward":       func() { b.GRUBackward(d3, in3, g3, d3, prev, dh, c) },
			"GRUBackward nil":   func() { b.GRUBackward(d3, in3, g3, d3, prev, dh, nil) },
			"LSTMForward alias": func() { b.LSTMForward(g4, in4, in4, c, c, tc, h) },
		})
	})
}

// regime is a range of pre-activations the steps are tried on.
type regime struct {
	name string
	// scale multiplies the recurrent product (gates, hg), which dominates
	// the pre-activations: 4 is a unit in its working range, 30 the
	// saturated range the engine meets, 100 beyond σ's clamp and beyond
	// where e^-x leaves float32's normal range (87).
	scale float32
	// awayFromZero is the smallest magnitude of the states and incoming
	// gradients: products of saturated factors with them must stay normal
	// (a backend that let σ reach 1e-40 would then fail checkNormal).
	awayFromZero float32
}

var regimes = []regime{{"moderate", 4, 0}, {"saturated", 30, 0.1}, {"beyond", 100, 0.1}}

// newState is a guarded slice of n values in ±[lo, 1).
func newState(rng *rand.Rand, n int, lo float32) *guarded {
	g := newGuarded(rng, n)
	for i, v := range g.data {
		g.data[i] = float32(math.Copysign(float64(lo+(1-lo)*float32(math.Abs(float64(v)))), float64(v)))
	}
	return g
}

func scaled(g *guarded, s float32) *guarded {
	for i := range g.data {
		g.data[i] *= s
	}
	return g
}

func exacts(s []float32) []val {
	v := make([]val, len(s))
	for i, x := range s {
		v[i] = exact(x)
	}
	return v
}

// oneMinus is 1 - x, exact in float32 for x in [0.5, 2] (Sterbenz): the
// factors 1-σ of a saturated σ keep their digits.
func oneMinus(x val) val {
	v := 1 - x.v
	e := x.e
	if !(x.v >= 0.5 && x.v <= 2) {
		e += ulp * math.Abs(v)
	}
	return val{v, e}
}

// sigmoidGrad is σ(1-σ) from σ's value.
func sigmoidGrad(s val) val { return s.mul(oneMinus(s)) }

// tanhGrad is 1 - t² from tanh's value, allowing the cancellation of an
// unfused 1 - t*t.
func tanhGrad(t val) val { return exact(1).sub(t.mul(t)) }

// lstmForwardRef is the float64 LSTM step of Backend.LSTMForward for unit j.
func lstmForwardRef(gates, in, bias, cPrev []float32, H, j int) (act [4]val, c, tc, h val) {
	for k := range act {
		pre := sum(exact(gates[k*H+j]), exact(in[k*H+j]), exact(bias[k*H+j]))
		if k == 2 {
			act[k] = tanh(pre)
		} else {
			act[k] = sigmoid(pre)
		}
	}
	i, f, g, o := act[0], act[1], act[2], act[3]
	c = muladd(f, exact(cPrev[j]), i.mul(g))
	tc = tanh(c)
	return act, c, tc, o.mul(tc)
}

func testLSTM(t *testing.T, b kernels.Backend) {
	rng := rand.New(rand.NewPCG(33, 34))
	for _, H := range sizes {
		for _, rg := range regimes {
			for _, alias := range []bool{false, true} {
				name := fmt.Sprintf("H=%d %s alias=%v", H, rg.name, alias)
				gates := scaled(newGuarded(rng, 4*H), rg.scale)
				in, bias := newGuarded(rng, 4*H), newGuarded(rng, 4*H)
				cPrev := newState(rng, H, rg.awayFromZero)
				gIn, inIn, biasIn, cPrevIn := clone(gates.data), clone(in.data), clone(bias.data), clone(cPrev.data)
				c, tc, h := newGuarded(rng, H), newGuarded(rng, H), newGuarded(rng, H)
				if alias {
					c = cPrev // c may alias cPrev
				}
				b.LSTMForward(gates.data, in.data, bias.data, cPrev.data, c.data, tc.data, h.data)

				wantG, wantC, wantTC, wantH := make([]val, 4*H), make([]val, H), make([]val, H), make([]val, H)
				for j := 0; j < H; j++ {
					var act [4]val
					act, wantC[j], wantTC[j], wantH[j] = lstmForwardRef(gIn, inIn, biasIn, cPrevIn, H, j)
					for k := range act {
						wantG[k*H+j] = act[k]
					}
				}
				checkVals(t, "LSTMForward "+name+" gates", gates.data, wantG)
				checkVals(t, "LSTMForward "+name+" c", c.data, wantC)
				checkVals(t, "LSTMForward "+name+" tc", tc.data, wantTC)
				checkVals(t, "LSTMForward "+name+" h", h.data, wantH)
				for k := range 4 {
					lo := float32(0)
					if k == 2 {
						lo = -1
					}
					checkRange(t, fmt.Sprintf("LSTMForward %s gate %d", name, k), gates.data[k*H:(k+1)*H], lo, 1)
				}
				checkRange(t, "LSTMForward "+name+" tc", tc.data, -1, 1)
				checkRange(t, "LSTMForward "+name+" h", h.data, -1, 1)
				for _, o := range []*guarded{gates, c, tc, h} {
					checkNormal(t, "LSTMForward "+name, o.data)
					o.check(t, "LSTMForward "+name)
				}
				unchanged(t, "LSTMForward "+name+" in", inIn, in)
				unchanged(t, "LSTMForward "+name+" bias", biasIn, bias)
				if !alias {
					unchanged(t, "LSTMForward "+name+" cPrev", cPrevIn, cPrev)
				}

				// The backward pass, from this forward pass's activations.
				act, tcIn := clone(gates.data), clone(tc.data)
				dh, dc := newState(rng, H, rg.awayFromZero), newState(rng, H, rg.awayFromZero)
				dhIn, dcIn := clone(dh.data), clone(dc.data)
				dgates := newGuarded(rng, 4*H)
				if alias {
					dgates = gates // dgates may alias gates
				}
				cp := newGuarded(rng, H) // cPrev as it was: c overwrote it when aliased
				copy(cp.data, cPrevIn)
				b.LSTMBackward(dgates.data, gates.data, cp.data, tc.data, dh.data, dc.data)
				wantDG, wantDC := make([]val, 4*H), make([]val, H)
				for j := 0; j < H; j++ {
					i, f, g, o := exact(act[j]), exact(act[H+j]), exact(act[2*H+j]), exact(act[3*H+j])
					tv, dhv := exact(tcIn[j]), exact(dhIn[j])
					dct := muladd(dhv.mul(o), tanhGrad(tv), exact(dcIn[j]))
					wantDG[j] = dct.mul(g).mul(sigmoidGrad(i))
					wantDG[H+j] = dct.mul(exact(cPrevIn[j])).mul(sigmoidGrad(f))
					wantDG[2*H+j] = dct.mul(i).mul(tanhGrad(g))
					wantDG[3*H+j] = dhv.mul(tv).mul(sigmoidGrad(o))
					wantDC[j] = dct.mul(f)
				}
				checkVals(t, "LSTMBackward "+name+" dgates", dgates.data, wantDG)
				checkVals(t, "LSTMBackward "+name+" dc", dc.data, wantDC)
				for _, o := range []*guarded{dgates, dc} {
					checkNormal(t, "LSTMBackward "+name, o.data)
					o.check(t, "LSTMBackward "+name)
				}
				if !alias {
					unchanged(t, "LSTMBackward "+name+" gates", act, gates)
				}
				unchanged(t, "LSTMBackward "+name+" cPrev", cPrevIn, cp)
				unchanged(t, "LSTMBackward "+name+" tc", tcIn, tc)
				unchanged(t, "LSTMBackward "+name+" dh", dhIn, dh)
			}
		}
	}
}

// gruForwardRef is the float64 GRU step of Backend.GRUForward for unit j.
func gruForwardRef(hg, in, bih, bhh, hPrev []float32, H, j int) (r, z, n, hn, h val) {
	r = sigmoid(sum(exact(in[j]), exact(bih[j]), exact(hg[j]), exact(bhh[j])))
	z = sigmoid(sum(exact(in[H+j]), exact(bih[H+j]), exact(hg[H+j]), exact(bhh[H+j])))
	hn = sum(exact(hg[2*H+j]), exact(bhh[2*H+j]))
	n = tanh(muladd(r, hn, sum(exact(in[2*H+j]), exact(bih[2*H+j]))))
	h = muladd(z, exact(hPrev[j]), oneMinus(z).mul(n))
	return r, z, n, hn, h
}

func testGRU(t *testing.T, b kernels.Backend) {
	rng := rand.New(rand.NewPCG(35, 36))
	for _, H := range sizes {
		for _, rg := range regimes {
			for _, alias := range []bool{false, true} {
				name := fmt.Sprintf("H=%d %s alias=%v", H, rg.name, alias)
				hg := scaled(newGuarded(rng, 3*H), rg.scale)
				in, bih, bhh := newGuarded(rng, 3*H), newGuarded(rng, 3*H), newGuarded(rng, 3*H)
				hPrev := newState(rng, H, rg.awayFromZero)
				hgIn, inIn, bihIn, bhhIn, hPrevIn := clone(hg.data), clone(in.data), clone(bih.data), clone(bhh.data), clone(hPrev.data)
				act, h := newGuarded(rng, 3*H), newGuarded(rng, H)
				if alias {
					h = hPrev // h may alias hPrev
				}
				b.GRUForward(act.data, hg.data, in.data, bih.data, bhh.data, hPrev.data, h.data)

				wantAct, wantHg, wantH := make([]val, 3*H), exacts(hgIn), make([]val, H)
				for j := 0; j < H; j++ {
					wantAct[j], wantAct[H+j], wantAct[2*H+j], wantHg[2*H+j], wantH[j] = gruForwardRef(hgIn, inIn, bihIn, bhhIn, hPrevIn, H, j)
				}
				checkVals(t, "GRUForward "+name+" act", act.data, wantAct)
				checkVals(t, "GRUForward "+name+" hg", hg.data, wantHg)
				checkVals(t, "GRUForward "+name+" h", h.data, wantH)
				checkRange(t, "GRUForward "+name+" r, z", act.data[:2*H], 0, 1)
				checkRange(t, "GRUForward "+name+" n", act.data[2*H:], -1, 1)
				checkRange(t, "GRUForward "+name+" h", h.data, -1, 1)
				for _, o := range []*guarded{act, hg, h} {
					checkNormal(t, "GRUForward "+name, o.data)
					o.check(t, "GRUForward "+name)
				}
				unchanged(t, "GRUForward "+name+" in", inIn, in)
				unchanged(t, "GRUForward "+name+" bih", bihIn, bih)
				unchanged(t, "GRUForward "+name+" bhh", bhhIn, bhh)
				if !alias {
					unchanged(t, "GRUForward "+name+" hPrev", hPrevIn, hPrev)
				}

				// The backward pass, from this forward pass's results, with
				// and without dhPrev.
				actIn, hnIn := clone(act.data), clone(hg.data)
				for _, accumulate := range []bool{true, false} {
					name := fmt.Sprintf("%s dhPrev=%v", name, accumulate)
					dh, dhPrev := newState(rng, H, rg.awayFromZero), newState(rng, H, rg.awayFromZero)
					dhIn, dhPrevIn := clone(dh.data), clone(dhPrev.data)
					dx, dhg := newGuarded(rng, 3*H), newGuarded(rng, 3*H)
					if alias {
						copy(act.data, actIn) // the last pass wrote dx over it
						dx = act              // dx may alias act
					}
					dp := dhPrev.data
					if !accumulate {
						dp = nil
					}
					b.GRUBackward(dx.data, dhg.data, act.data, hg.data, hPrevIn, dh.data, dp)
					wantDx, wantDhg, wantDhPrev := make([]val, 3*H), make([]val, 3*H), exacts(dhPrevIn)
					for j := 0; j < H; j++ {
						r, z, n := exact(actIn[j]), exact(actIn[H+j]), exact(actIn[2*H+j])
						dhv := exact(dhIn[j])
						dan := dhv.mul(oneMinus(z)).mul(tanhGrad(n))
						dar := dan.mul(exact(hnIn[2*H+j])).mul(sigmoidGrad(r))
						daz := dhv.mul(exact(hPrevIn[j]).sub(n)).mul(sigmoidGrad(z))
						wantDx[j], wantDx[H+j], wantDx[2*H+j] = dar, daz, dan
						wantDhg[j], wantDhg[H+j], wantDhg[2*H+j] = dar, daz, dan.mul(r)
						if accumulate {
							wantDhPrev[j] = muladd(dhv, z, exact(dhPrevIn[j]))
						}
					}
					checkVals(t, "GRUBackward "+name+" dx", dx.data, wantDx)
					checkVals(t, "GRUBackward "+name+" dhg", dhg.data, wantDhg)
					checkVals(t, "GRUBackward "+name+" dhPrev", dhPrev.data, wantDhPrev)
					for _, o := range []*guarded{dx, dhg, dhPrev} {
						checkNormal(t, "GRUBackward "+name, o.data)
						o.check(t, "GRUBackward "+name)
					}
					if !alias {
						unchanged(t, "GRUBackward "+name+" act", actIn, act)
					}
					unchanged(t, "GRUBackward "+name+" hg", hnIn, hg)
					unchanged(t, "GRUBackward "+name+" dh", dhIn, dh)
				}
			}
		}
	}
}

// testGatesNaN pins that a NaN pre-activation of any gate reaches h, as a
// NaN must reach the loss for the engine's guard to see a diverging run.
func testGatesNaN(t *testing.T, b kernels.Backend) {
	nan := float32(math.NaN())
	for _, H := range []int{1, 7, 16, 33} {
		for pos := 0; pos < H; pos += 5 {
			for k := range 4 {
				gates, zero, c := make([]float32, 4*H), make([]float32, 4*H), make([]float32, H)
				h, tc := make([]float32, H), make([]float32, H)
				gates[k*H+pos] = nan
				b.LSTMForward(gates, zero, zero, zero[:H], c, tc, h)
				if !math.IsNaN(float64(h[pos])) {
					t.Fatalf("LSTMForward H=%d: NaN pre-activation of gate %d at %d gives h = %v", H, k, pos, h[pos])
				}
			}
			for k := range 3 {
				act, hg, zero, h := make([]float32, 3*H), make([]float32, 3*H), make([]float32, 3*H), make([]float32, H)
				hg[k*H+pos] = nan
				b.GRUForward(act, hg, zero, zero, zero, zero[:H], h)
				if !math.IsNaN(float64(h[pos])) {
					t.Fatalf("GRUForward H=%d: NaN pre-activation of gate %d at %d gives h = %v", H, k, pos, h[pos])
				}
			}
		}
	}
}
