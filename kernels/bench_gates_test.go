package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Benchmarks of the gated cells' element-wise steps and Mul, one stream at
// the hidden sizes of the standard workloads, on every backend this CPU
// supports:
//
//	BenchmarkLSTMForward/backend=avx512/H=512
//
// elements/s counts hidden units (Mul: elements) per second.

// gateInputs are one stream's buffers for both cells. The scale of the
// pre-activations is in the input projections (in, in3), which the steps
// only read: the forward steps write their activations over the recurrent
// products (gates, hg), which stay in [-1, 1] from the second call on.
// b_hn is 0, so that hg's n part, which GRUForward sets to hg_n + b_hn,
// does not drift. The backward steps read the activations of one forward
// call; the gradients they accumulate into (dc, dhPrev) stay finite.
type gateInputs struct {
	gates, in, bias, dgates            []float32 // 4H
	act, hg, in3, bih, bhh, dx, dhg    []float32 // 3H
	cPrev, c, tc, h, dh, dc, hPrev, dp []float32 // H
}

func newGateInputs(be Backend, H int, scale float32) *gateInputs {
	rng := rand.New(rand.NewPCG(uint64(H), 7))
	r := func(n int, s float32) []float32 {
		v := randSlice(rng, n)
		for i := range v {
			v[i] *= s
		}
		return v
	}
	g := &gateInputs{
		gates: r(4*H, 1), in: r(4*H, scale), bias: r(4*H, 1), dgates: r(4*H, 1),
		act: r(3*H, 1), hg: r(3*H, 1), in3: r(3*H, scale), bih: r(3*H, 1), bhh: r(3*H, 1), dx: r(3*H, 1), dhg: r(3*H, 1),
		cPrev: r(H, 1), c: r(H, 1), tc: r(H, 1), h: r(H, 1), dh: r(H, 1), dc: r(H, 1), hPrev: r(H, 1), dp: r(H, 1),
	}
	clear(g.bhh[2*H:])
	be.LSTMForward(g.gates, g.in, g.bias, g.cPrev, g.c, g.tc, g.h)
	be.GRUForward(g.act, g.hg, g.in3, g.bih, g.bhh, g.hPrev, g.h)
	return g
}

// gateOps are the benchmarked steps; the forward ones write into scratch
// copies (dgates, dhg) of the recurrent products.
var gateOps = []struct {
	name string
	run  func(be Backend, g *gateInputs)
}{
	{"LSTMForward", func(be Backend, g *gateInputs) {
		be.LSTMForward(g.dgates, g.in, g.bias, g.cPrev, g.c, g.tc, g.h)
	}},
	{"LSTMBackward", func(be Backend, g *gateInputs) {
		be.LSTMBackward(g.dgates, g.gates, g.cPrev, g.tc, g.dh, g.dc)
	}},
	{"GRUForward", func(be Backend, g *gateInputs) {
		be.GRUForward(g.dx, g.dhg, g.in3, g.bih, g.bhh, g.hPrev, g.h)
	}},
	{"GRUBackward", func(be Backend, g *gateInputs) {
		be.GRUBackward(g.dx, g.dhg, g.act, g.hg, g.hPrev, g.dh, g.dp)
	}},
}

// benchGates runs op for H = 256 and 512 on every backend, on inputs of
// the given pre-activation scale.
func benchGates(b *testing.B, op func(be Backend, g *gateInputs), scale float32) {
	for _, be := range Supported() {
		b.Run("backend="+be.Name(), func(b *testing.B) {
			for _, H := range []int{256, 512} {
				b.Run(fmt.Sprintf("H=%d", H), func(b *testing.B) {
					g := newGateInputs(be, H, scale)
					b.ResetTimer()
					for range b.N {
						op(be, g)
					}
					b.ReportMetric(float64(H)*float64(b.N)/b.Elapsed().Seconds(), "elements/s")
				})
			}
		})
	}
}

func BenchmarkLSTMForward(b *testing.B)  { benchGates(b, gateOps[0].run, 4) }
func BenchmarkLSTMBackward(b *testing.B) { benchGates(b, gateOps[1].run, 4) }
func BenchmarkGRUForward(b *testing.B)   { benchGates(b, gateOps[2].run, 4) }
func BenchmarkGRUBackward(b *testing.B)  { benchGates(b, gateOps[3].run, 4) }

// BenchmarkGatesSaturated runs the steps on pre-activations up to ±100,
// most units saturated and many beyond σ's clamp: against the benchmarks
// above, it shows what saturation costs.
func BenchmarkGatesSaturated(b *testing.B) {
	for _, op := range gateOps {
		b.Run("op="+op.name, func(b *testing.B) { benchGates(b, op.run, 100) })
	}
}

// BenchmarkMul times the dropout product over one step's B·H (32·512) and
// one stream's H floats.
func BenchmarkMul(b *testing.B) {
	for _, be := range Supported() {
		b.Run("backend="+be.Name(), func(b *testing.B) {
			for _, n := range []int{512, 16384} {
				b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
					rng := rand.New(rand.NewPCG(9, 10))
					dst, x, y := randSlice(rng, n), randSlice(rng, n), randSlice(rng, n)
					b.ResetTimer()
					for range b.N {
						be.Mul(dst, x, y)
					}
					b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "elements/s")
				})
			}
		})
	}
}

// BenchmarkSubnormalPenalty measures what subnormal operands cost this CPU,
// the reason σ is clamped: TanhGrad, (1-h²)·dh, with dh normal, with dh
// such that every product is subnormal, and with dh itself subnormal.
func BenchmarkSubnormalPenalty(b *testing.B) {
	for _, be := range Supported() {
		b.Run("backend="+be.Name(), func(b *testing.B) {
			for _, c := range []struct {
				name string
				dh   float32
			}{{"normal", 1e-30}, {"subnormal-result", 1e-38}, {"subnormal-operand", 1e-40}} {
				b.Run("dh="+c.name, func(b *testing.B) {
					const n = 512
					h, dh, dr := make([]float32, n), make([]float32, n), make([]float32, n)
					for i := range h {
						h[i], dh[i] = 0.5, c.dh
					}
					for range b.N {
						be.TanhGrad(dr, h, dh)
					}
				})
			}
		})
	}
}
