package kerneltest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"charrnn/kernels"
)

// testElementwise is the family of fused element-wise ops: the forward and
// backward activations, the element-wise product and softmax with
// cross-entropy.
func testElementwise(t *testing.T, b kernels.Backend) {
	t.Run("AddTanh", func(t *testing.T) { testAddTanh(t, b) })
	t.Run("TanhGrad", func(t *testing.T) { testTanhGrad(t, b) })
	t.Run("Mul", func(t *testing.T) { testMul(t, b) })
	t.Run("SoftmaxXent", func(t *testing.T) { testSoftmaxXent(t, b) })
	t.Run("SoftmaxExp", func(t *testing.T) { testSoftmaxExp(t, b) })
	t.Run("NaNPropagates", func(t *testing.T) { testNaNPropagates(t, b) })
	t.Run("ShortSlices", func(t *testing.T) {
		const n = 30
		checkShortSlicesPanic(t, map[string]func(){
			"AddTanh a":  func() { b.AddTanh(full(1, n), short(1, n), full(1, n), full(1, n)) },
			"TanhGrad":   func() { b.TanhGrad(full(1, n), full(1, n), short(1, n)) },
			"Mul x":      func() { b.Mul(full(1, n), short(1, n), full(1, n)) },
			"Mul y":      func() { b.Mul(full(1, n), full(1, n), short(1, n)) },
			"Softmax":    func() { b.SoftmaxXent(full(1, n), full(1, n), short(1, n), 0) },
			"SoftmaxExp": func() { b.SoftmaxExp(full(1, n), short(1, n), 1) },
		})
	})
	t.Run("NoAllocs", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(13, 14))
		const n = 65
		y := randSlice(rng, 200)
		h, col, bias := randSlice(rng, n), randSlice(rng, n), randSlice(rng, n)
		checkNoAllocs(t, map[string]func(){
			"AddTanh":    func() { b.AddTanh(h, y, col, bias) },
			"TanhGrad":   func() { b.TanhGrad(h, col, bias) },
			"Mul":        func() { b.Mul(h, col, bias) },
			"Softmax":    func() { sinkF32 = b.SoftmaxXent(h, y, bias, 3) },
			"SoftmaxIn":  func() { sinkF32 = b.SoftmaxXent(h, h, bias, 0) },
			"SoftmaxExp": func() { sinkF32 = b.SoftmaxExp(h, y, 0.8) },
		})
	})
}

func testAddTanh(t *testing.T, b kernels.Backend) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range sizes {
		for _, alias := range []bool{false, true} {
			a, col, bias := newGuarded(rng, n), newGuarded(rng, n), newGuarded(rng, n)
			for i := range a.data {
				a.data[i] *= 12 // reach the saturated tails of tanh
			}
			aIn, colIn, biasIn := clone(a.data), clone(col.data), clone(bias.data)
			h := newGuarded(rng, n)
			if alias {
				h = a
			}
			b.AddTanh(h.data, a.data, col.data, bias.data)
			for i := range h.data {
				want := math.Tanh(float64(aIn[i]) + float64(colIn[i]) + float64(biasIn[i]))
				if d := math.Abs(float64(h.data[i]) - want); !(d <= 4e-7+2e-6*math.Abs(want)) {
					t.Fatalf("AddTanh n=%d alias=%v: h[%d] = %v, want %v", n, alias, i, h.data[i], want)
				}
			}
			h.check(t, "AddTanh")
			unchanged(t, "AddTanh col", colIn, col)
			unchanged(t, "AddTanh bias", biasIn, bias)
		}
	}
}

func testTanhGrad(t *testing.T, b kernels.Backend) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, n := range sizes {
		for _, alias := range []bool{false, true} {
			h, dh := newGuarded(rng, n), newGuarded(rng, n)
			hIn, dhIn := clone(h.data), clone(dh.data)
			dr := newGuarded(rng, n)
			if alias {
				dr = dh
			}
			b.TanhGrad(dr.data, h.data, dh.data)
			for i := range dr.data {
				hv := float64(hIn[i])
				want := (1 - hv*hv) * float64(dhIn[i])
				if d := math.Abs(float64(dr.data[i]) - want); !(d <= 3e-7*(math.Abs(float64(dhIn[i]))+1e-30)) {
					t.Fatalf("TanhGrad n=%d: dr[%d] = %v, want %v", n, i, dr.data[i], want)
				}
			}
			dr.check(t, "TanhGrad")
			unchanged(t, "TanhGrad h", hIn, h)
		}
	}
}

// testMul checks the element-wise product, which must be exact: a float32
// product is correctly rounded, and so is the float64 product of two float32
// values rounded to float32.
func testMul(t *testing.T, b kernels.Backend) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, n := range sizes {
		for _, alias := range []string{"none", "x", "y", "both"} {
			x, y := newGuarded(rng, n), newGuarded(rng, n+rng.IntN(2)) // y may be longer
			for i := range x.data {
				x.data[i] *= 3 // dropout masks hold 0 and 1/(1-p)
				if i%5 == 0 {
					x.data[i] = 0
				}
			}
			if alias == "both" {
				y = x
			}
			xIn, yIn := clone(x.data), clone(y.data)
			dst := newGuarded(rng, n)
			switch alias {
			case "x", "both":
				dst = x
			case "y":
				dst = y
			}
			b.Mul(dst.data[:n], x.data, y.data)
			for i := range n {
				want := float32(float64(xIn[i]) * float64(yIn[i]))
				if dst.data[i] != want {
					t.Fatalf("Mul n=%d alias=%s: dst[%d] = %v, want %v", n, alias, i, dst.data[i], want)
				}
			}
			dst.check(t, "Mul")
			if alias == "none" || alias == "y" {
				unchanged(t, "Mul x", xIn, x)
			}
			if alias == "none" || alias == "x" {
				unchanged(t, "Mul y", yIn, y)
			}
			for i := n; i < len(y.data); i++ {
				if y.data[i] != yIn[i] {
					t.Fatalf("Mul n=%d alias=%s: y[%d] past n written", n, alias, i)
				}
			}
		}
	}
}

func testSoftmaxXent(t *testing.T, b kernels.Backend) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, n := range sizes[1:] {
		for _, spread := range []float32{1, 30, 200} { // 200: exp overflows without the max shift
			for _, alias := range []bool{false, true} {
				logits, bias := newGuarded(rng, n), newGuarded(rng, n)
				for i := range logits.data {
					logits.data[i] *= spread
				}
				target := rng.IntN(n)
				lIn, biasIn := clone(logits.data), clone(bias.data)
				d := newGuarded(rng, n)
				if alias {
					d = logits
				}
				loss := b.SoftmaxXent(d.data, logits.data, bias.data, target)

				maxv := math.Inf(-1)
				for i := range lIn {
					maxv = math.Max(maxv, float64(lIn[i])+float64(biasIn[i]))
				}
				var sum float64
				for i := range lIn {
					sum += math.Exp(float64(lIn[i]) + float64(biasIn[i]) - maxv)
				}
				wantLoss := math.Log(sum) - (float64(lIn[target]) + float64(biasIn[target]) - maxv)
				name := fmt.Sprintf("SoftmaxXent n=%d spread=%v alias=%v", n, spread, alias)
				if math.Abs(float64(loss)-wantLoss) > 1e-5*(1+math.Abs(wantLoss)) {
					t.Fatalf("%s: loss = %v, want %v", name, loss, wantLoss)
				}
				for i := range d.data {
					want := math.Exp(float64(lIn[i])+float64(biasIn[i])-maxv) / sum
					if i == target {
						want--
					}
					if diff := math.Abs(float64(d.data[i]) - want); diff > 2e-6*(1+math.Abs(want)) {
						t.Fatalf("%s: d[%d] = %v, want %v", name, i, d.data[i], want)
					}
				}
				d.check(t, name)
				unchanged(t, name+" bias", biasIn, bias)
			}
		}
	}
}

func testSoftmaxExp(t *testing.T, b kernels.Backend) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, n := range sizes[1:] {
		// 200: exp overflows without the max shift; an offset of 1e6 keeps
		// the differences only if the maximum is taken off before scaling.
		for _, c := range []struct{ spread, offset float32 }{{1, 0}, {30, 0}, {200, 0}, {4, 1e6}} {
			for _, scale := range []float32{1, 0.5, 1.7, 1.0 / 81} {
				for _, alias := range []bool{false, true} {
					spread := c.spread
					logits := newGuarded(rng, n)
					for i := range logits.data {
						logits.data[i] = logits.data[i]*spread + c.offset
					}
					lIn := clone(logits.data)
					p := newGuarded(rng, n)
					if alias {
						p = logits
					}
					sum := b.SoftmaxExp(p.data, logits.data, scale)

					// The reference: float64 exp of the float32 arguments.
					maxv := float32(math.Inf(-1))
					for _, v := range lIn {
						maxv = max(maxv, v)
					}
					var wantSum float64
					name := fmt.Sprintf("SoftmaxExp n=%d spread=%v offset=%v scale=%v alias=%v", n, spread, c.offset, scale, alias)
					for i, v := range lIn {
						want := math.Exp(float64(scale * (v - maxv)))
						wantSum += want
						if diff := math.Abs(float64(p.data[i]) - want); diff > 2e-6*want+1e-30 {
							t.Fatalf("%s: p[%d] = %v, want %v", name, i, p.data[i], want)
						}
					}
					if math.Abs(float64(sum)-wantSum) > 2e-6*wantSum {
						t.Fatalf("%s: sum = %v, want %v", name, sum, wantSum)
					}
					p.check(t, name)
					if !alias {
						unchanged(t, name+" logits", lIn, logits)
					}
				}
			}
		}
	}
}

// testNaNPropagates pins that a NaN in the activations reaches the output
// and the loss, as in the generic backend: a diverging training run must
// show NaN, not be clamped into plausible numbers by a vectorised tanh or exp.
func testNaNPropagates(t *testing.T, b kernels.Backend) {
	nan := float32(math.NaN())
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
			if sum := b.SoftmaxExp(d, logits, 1); !math.IsNaN(float64(sum)) {
				t.Fatalf("SoftmaxExp n=%d: NaN logit at %d gives sum %v", n, pos, sum)
			}
			logits[pos] = float32(math.Inf(1))
			if sum := b.SoftmaxExp(d, logits, 1); !math.IsNaN(float64(sum)) {
				t.Fatalf("SoftmaxExp n=%d: +Inf logit at %d gives sum %v", n, pos, sum)
			}
		}
	}
}
