package kernels

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"testing"
)

// The conformance suite: every backend this CPU supports runs the same table
// of shapes against a plain float64 reference. A backend is done when this
// suite passes on it.

// sizes are the vector and matrix dimensions every op is tried at: empty,
// tiny, around the 8- and 16-lane register widths, and the model's sizes.
var sizes = []int{0, 1, 7, 15, 16, 17, 33, 65, 100, 512, 513}

// gemmSizes keeps the full m×n×k cross product affordable; bigGemmShapes
// adds the engine's real shapes on top.
var gemmSizes = []int{0, 1, 7, 16, 17, 33, 65, 100}

var bigGemmShapes = [][3]int{
	{32, 512, 512}, {512, 32, 512}, {512, 512, 32}, {100, 65, 512}, {65, 512, 100},
	{513, 17, 33}, {17, 513, 65}, {33, 65, 513}, {3200, 65, 16},
}

const guardValue = -7777.25

// guarded is a slice placed at an unaligned offset inside a larger buffer,
// with guard values before and after it that no op may touch.
type guarded struct {
	buf  []float32
	off  int
	data []float32
}

func newGuarded(rng *rand.Rand, n int) *guarded {
	off := 1 + rng.IntN(3) // never 64-byte aligned
	buf := make([]float32, off+n+17)
	for i := range buf {
		buf[i] = guardValue
	}
	g := &guarded{buf: buf, off: off, data: buf[off : off+n]}
	for i := range g.data {
		g.data[i] = rng.Float32()*2 - 1
	}
	return g
}

// check fails the test if a guard value changed; skip reports indices inside
// data that are padding (between rows) and must also stay untouched.
func (g *guarded) check(t *testing.T, what string) {
	t.Helper()
	for i := 0; i < g.off; i++ {
		if g.buf[i] != guardValue {
			t.Fatalf("%s: guard before the output overwritten at -%d: %v", what, g.off-i, g.buf[i])
		}
	}
	for i := g.off + len(g.data); i < len(g.buf); i++ {
		if g.buf[i] != guardValue {
			t.Fatalf("%s: guard after the output overwritten at +%d: %v", what, i-g.off-len(g.data), g.buf[i])
		}
	}
}

// tolerance bounds float32 rounding for a sum of k products whose absolute
// values add up to absSum.
func tolerance(k int, absSum float64) float64 {
	return float64(k+2)*1.2e-7*absSum + 1e-30
}

// backendWrapper turns a backend into another one that must pass the same
// suite, such as Parallel (see parallel_test.go).
type backendWrapper struct {
	name string
	wrap func(Backend) Backend
}

var backendWrappers []backendWrapper

// forEachBackend runs f on every supported backend and on every wrapper of
// each.
func forEachBackend(t *testing.T, f func(t *testing.T, b Backend)) {
	for _, b := range Supported() {
		t.Run(b.Name(), func(t *testing.T) { f(t, b) })
		for _, w := range backendWrappers {
			t.Run(b.Name()+"+"+w.name, func(t *testing.T) {
				wb := w.wrap(b)
				if c, ok := wb.(io.Closer); ok {
					defer c.Close()
				}
				f(t, wb)
			})
		}
	}
}

func TestBackendsRegistered(t *testing.T) {
	if _, err := Lookup("generic"); err != nil {
		t.Fatal(err)
	}
	if _, err := Lookup("no-such-backend"); err == nil {
		t.Fatal("Lookup of an unknown backend succeeded")
	}
	if Best() == nil || Best().Name() != Supported()[0].Name() {
		t.Fatal("Best is not the first supported backend")
	}
	t.Logf("compiled in: %v; supported here: %v", Names(), supportedNames())
}

func TestGemv(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		rng := rand.New(rand.NewPCG(1, 2))
		for _, trans := range []bool{false, true} {
			for _, m := range sizes {
				for _, n := range sizes {
					for _, ab := range [][2]float32{{1, 0}, {-0.5, 1}, {1.5, 0.25}} {
						name := fmt.Sprintf("trans=%v m=%d n=%d alpha=%v beta=%v", trans, m, n, ab[0], ab[1])
						checkGemv(t, b, rng, name, trans, m, n, ab[0], ab[1])
					}
				}
			}
		}
	})
}

func checkGemv(t *testing.T, b Backend, rng *rand.Rand, name string, trans bool, m, n int, alpha, beta float32) {
	t.Helper()
	lda := n + rng.IntN(3)
	a := newGuarded(rng, max(0, (m-1)*lda+n))
	xn, yn := n, m
	if trans {
		xn, yn = m, n
	}
	x := newGuarded(rng, xn)
	y := newGuarded(rng, yn)
	if beta == 0 {
		for i := range y.data {
			y.data[i] = float32(math.NaN()) // beta == 0 must not read y
		}
	}
	aIn, xIn, yIn := clone(a.data), clone(x.data), clone(y.data)

	b.Gemv(trans, m, n, alpha, a.data, lda, x.data, beta, y.data)

	for i := 0; i < yn; i++ {
		var want, abs float64
		for j := 0; j < xn; j++ {
			var av float64
			if trans {
				av = float64(aIn[j*lda+i])
			} else {
				av = float64(aIn[i*lda+j])
			}
			p := float64(alpha) * av * float64(xIn[j])
			want += p
			abs += math.Abs(p)
		}
		if beta != 0 {
			want += float64(beta) * float64(yIn[i])
			abs += math.Abs(float64(beta) * float64(yIn[i]))
		}
		if d := math.Abs(float64(y.data[i]) - want); !(d <= tolerance(xn, abs)) {
			t.Fatalf("%s: y[%d] = %v, want %v", name, i, y.data[i], want)
		}
	}
	y.check(t, name)
	unchanged(t, name+" A", aIn, a)
	unchanged(t, name+" x", xIn, x)
}

func TestGemm(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		rng := rand.New(rand.NewPCG(3, 4))
		var shapes [][3]int
		for _, m := range gemmSizes {
			for _, n := range gemmSizes {
				for _, k := range gemmSizes {
					shapes = append(shapes, [3]int{m, n, k})
				}
			}
		}
		shapes = append(shapes, bigGemmShapes...)
		betas := [][2]float32{{1, 0}, {-0.5, 1}, {1.5, 0.25}}
		for i, s := range shapes {
			for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
				ab := betas[(i+len(tr))%len(betas)]
				checkGemm(t, b, rng, tr[0], tr[1], s[0], s[1], s[2], ab[0], ab[1])
			}
		}
	})
}

func checkGemm(t *testing.T, b Backend, rng *rand.Rand, transA, transB bool, m, n, k int, alpha, beta float32) {
	t.Helper()
	name := fmt.Sprintf("transA=%v transB=%v m=%d n=%d k=%d alpha=%v beta=%v", transA, transB, m, n, k, alpha, beta)
	// Stored shapes: A is m×k (or k×m when transposed), B is k×n (or n×k).
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	lda, ldb, ldc := ac+rng.IntN(3), bc+rng.IntN(3), n+rng.IntN(3)
	a := newGuarded(rng, max(0, (ar-1)*lda+ac))
	bb := newGuarded(rng, max(0, (br-1)*ldb+bc))
	c := newGuarded(rng, max(0, (m-1)*ldc+n))
	// Padding between rows of C is part of the caller's memory too.
	for i := 0; i < m; i++ {
		for j := n; j < ldc && i*ldc+j < len(c.data); j++ {
			c.data[i*ldc+j] = guardValue
		}
		if beta == 0 {
			for j := 0; j < n; j++ {
				c.data[i*ldc+j] = float32(math.NaN())
			}
		}
	}
	aIn, bIn, cIn := clone(a.data), clone(bb.data), clone(c.data)

	b.Gemm(transA, transB, m, n, k, alpha, a.data, lda, bb.data, ldb, beta, c.data, ldc)

	at := func(i, l int) float64 {
		if transA {
			return float64(aIn[l*lda+i])
		}
		return float64(aIn[i*lda+l])
	}
	bt := func(l, j int) float64 {
		if transB {
			return float64(bIn[j*ldb+l])
		}
		return float64(bIn[l*ldb+j])
	}
	for i := 0; i < m; i++ {
		for j := 0; j < ldc && i*ldc+j < len(c.data); j++ {
			got := c.data[i*ldc+j]
			if j >= n {
				if got != guardValue {
					t.Fatalf("%s: padding C[%d,%d] overwritten: %v", name, i, j, got)
				}
				continue
			}
			var want, abs float64
			for l := 0; l < k; l++ {
				p := float64(alpha) * at(i, l) * bt(l, j)
				want += p
				abs += math.Abs(p)
			}
			if beta != 0 {
				want += float64(beta) * float64(cIn[i*ldc+j])
				abs += math.Abs(float64(beta) * float64(cIn[i*ldc+j]))
			}
			if d := math.Abs(float64(got) - want); !(d <= tolerance(k, abs)) {
				t.Fatalf("%s: C[%d,%d] = %v, want %v", name, i, j, got, want)
			}
		}
	}
	c.check(t, name)
	unchanged(t, name+" A", aIn, a)
	unchanged(t, name+" B", bIn, bb)
}

func TestAxpyDot(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		rng := rand.New(rand.NewPCG(5, 6))
		for _, n := range sizes {
			x, y := newGuarded(rng, n), newGuarded(rng, n+rng.IntN(2)) // y may be longer
			xIn, yIn := clone(x.data), clone(y.data)
			alpha := rng.Float32()*4 - 2

			var want, abs float64
			for i := range xIn {
				want += float64(xIn[i]) * float64(yIn[i])
				abs += math.Abs(float64(xIn[i]) * float64(yIn[i]))
			}
			if got := b.Dot(x.data, y.data); !(math.Abs(float64(got)-want) <= tolerance(n, abs)) {
				t.Fatalf("Dot n=%d = %v, want %v", n, got, want)
			}

			b.Axpy(alpha, x.data, y.data)
			for i := range y.data {
				want := float64(yIn[i])
				if i < n {
					want += float64(alpha) * float64(xIn[i])
				}
				if d := math.Abs(float64(y.data[i]) - want); !(d <= tolerance(1, math.Abs(want)+math.Abs(float64(yIn[i])))) {
					t.Fatalf("Axpy n=%d: y[%d] = %v, want %v", n, i, y.data[i], want)
				}
			}
			y.check(t, fmt.Sprintf("Axpy n=%d", n))
			unchanged(t, "Axpy x", xIn, x)
		}
	})
}

func TestAddTanh(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
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
	})
}

func TestTanhGrad(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
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
	})
}

func TestSoftmaxXent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
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
	})
}

func clone(s []float32) []float32 { return append([]float32(nil), s...) }

func unchanged(t *testing.T, what string, want []float32, g *guarded) {
	t.Helper()
	for i := range want {
		if g.data[i] != want[i] && !(math.IsNaN(float64(want[i])) && math.IsNaN(float64(g.data[i]))) {
			t.Fatalf("%s: input modified at %d: %v, was %v", what, i, g.data[i], want[i])
		}
	}
	g.check(t, what)
}

func TestSumSquares(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
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
	})
}

// TestSumSquaresRange pins that SumSquares keeps the float64 sum's range
// and accuracy over all of float32 on every backend: the engine takes a
// finite result to mean finite gradients and parameters, and the norm of
// tiny gradients still sets how they are clipped.
func TestSumSquaresRange(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
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
	})
}

// updateCase is one optimizer update's inputs, with the conditioning
// parameters chosen so that some elements are clipped and some are not.
type updateCase struct {
	n            int
	scale, limit float32
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

func conditioned(g, scale, limit float32) float64 {
	return math.Min(math.Max(float64(g)*float64(scale), -float64(limit)), float64(limit))
}

func TestOptimizerUpdates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		rng := rand.New(rand.NewPCG(15, 16))
		for _, c := range updateCases() {
			name := fmt.Sprintf("n=%d scale=%v limit=%v", c.n, c.scale, c.limit)
			p, g := newGuarded(rng, c.n), newGuarded(rng, c.n)
			s1, s2 := newGuarded(rng, c.n), newGuarded(rng, c.n)
			for i := range s2.data {
				s1.data[i] = float32(math.Abs(float64(s1.data[i]))) // Adagrad's memory is a sum of squares
				s2.data[i] = s1.data[i] * s1.data[i]                // so is Adam's v
			}
			pIn, gIn, s1In, s2In := clone(p.data), clone(g.data), clone(s1.data), clone(s2.data)
			near := func(what string, got float32, want float64) {
				t.Helper()
				if d := math.Abs(float64(got) - want); !(d <= 4e-7*(1+math.Abs(want))) {
					t.Fatalf("%s %s: got %v, want %v", what, name, got, want)
				}
			}

			b.SGDUpdate(p.data, g.data, 0.1, c.scale, c.limit)
			for i := range pIn {
				near("SGDUpdate p", p.data[i], float64(pIn[i])-0.1*conditioned(gIn[i], c.scale, c.limit))
			}
			p.check(t, "SGDUpdate")
			unchanged(t, "SGDUpdate g", gIn, g)

			copy(p.data, pIn)
			b.AdagradUpdate(p.data, g.data, s1.data, 0.1, c.scale, c.limit)
			for i := range pIn {
				gi := conditioned(gIn[i], c.scale, c.limit)
				mem := float64(s1In[i]) + gi*gi
				near("AdagradUpdate mem", s1.data[i], mem)
				near("AdagradUpdate p", p.data[i], float64(pIn[i])-0.1*gi/math.Sqrt(mem+AdagradEpsilon))
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
				near("AdamUpdate m", s1.data[i], m)
				near("AdamUpdate v", s2.data[i], v)
				near("AdamUpdate p", p.data[i], float64(pIn[i])-0.01*m/(math.Sqrt(v)+1e-8))
			}
			p.check(t, "AdamUpdate p")
			s1.check(t, "AdamUpdate m")
			s2.check(t, "AdamUpdate v")
			unchanged(t, "AdamUpdate g", gIn, g)
		}
	})
}
