package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// genOptimizers writes the optimizer routines: SumSquares and SumSquaresWide
// for the gradient norm, and the parameter updates.
func genOptimizers(s isa) {
	genSumSquares(s)
	genSumSquaresWide(s)
	genSGDUpdate(s)
	genAdagradUpdate(s)
	genAdamUpdate(s, false)
	genAdamUpdate(s, true)
	genMomentumUpdate(s)
	genRMSpropUpdate(s)
}

// sumSquaresBlock is how many iterations of SumSquares' unrolled loop add
// into the float32 accumulators before they are widened and added to the
// float64 sums.
const sumSquaresBlock = 128

// genSumSquares writes SumSquares{isa}: the sum of x[i]² in float64. Four
// vector accumulators of float32 lanes run along x, in blocks: every
// sumSquaresBlock iterations their lanes are widened to float64, added to
// two float64 vector sums and cleared. A float32 lane so adds up at most 128
// squares before its rounding stops mattering, which keeps the relative error
// near float32's 6e-8 whatever n is (accumulating all of a 1.3M slab in
// float32 lanes drifts to a few 1e-6), for about 3% more instructions.
//
// The squares and the lane sums are float32, though: they overflow to +Inf
// when an element exceeds 1.8e19 or a lane's block sum 3.4e38, and squares
// below 1.2e-38 lose digits. Whenever that may have mattered the result is
// +Inf or below len(x)·2^-100; the kernels package then asks
// SumSquaresWide instead.
func genSumSquares(s isa) {
	text("SumSquares"+s.name, "func(x []float32) float64")
	Doc("SumSquares"+s.name+" returns the sum of x[i]*x[i] over len(x) elements, in float32 lanes widened",
		"to float64 every 128 vectors: accurate unless the result is +Inf or below len(x)*2^-100.")
	x := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	acc := []VecVirtual{s.zero(), s.zero(), s.zero(), s.zero()}
	sum := []VecVirtual{s.zero(), s.zero()}
	flush := func() {
		for i, a := range acc {
			lo, hi := s.vec(), s.vec()
			if s.avx512 {
				t := YMM()
				VEXTRACTF64X4(U8(1), a, t)
				VCVTPS2PD(a.AsY(), lo)
				VCVTPS2PD(t, hi)
				VPXORD(a, a, a)
			} else {
				t := XMM()
				VEXTRACTF128(U8(1), a, t)
				VCVTPS2PD(a.AsX(), lo)
				VCVTPS2PD(t, hi)
				VXORPS(a, a, a)
			}
			VADDPD(lo, sum[i%2], sum[i%2])
			VADDPD(hi, sum[i%2], sum[i%2])
		}
	}
	blk := GP64()
	MOVQ(U32(sumSquaresBlock), blk)
	Label("loop4")
	CMPQ(n, U32(4*s.lanes))
	JL(LabelRef("single"))
	for u := range acc {
		t := s.vec()
		VMOVUPS(Mem{Base: x, Disp: u * s.bytes()}, t)
		VFMADD231PS(t, t, acc[u])
	}
	ADDQ(U32(4*s.bytes()), x)
	SUBQ(U32(4*s.lanes), n)
	DECQ(blk)
	JNZ(LabelRef("loop4"))
	flush()
	MOVQ(U32(sumSquaresBlock), blk)
	JMP(LabelRef("loop4"))
	Label("single")
	// At most three vectors and a tail are left.
	s.vectorLoop("v", n, []Register{x}, func(mk *mask) {
		t := s.vec()
		s.load(Mem{Base: x}, t, mk) // lanes outside the mask are 0
		VFMADD231PS(t, t, acc[1])
	})
	flush()
	// Add the float64 lanes.
	VADDPD(sum[1], sum[0], sum[0])
	s.returnSumPD(sum[0])
	ret()
}

// genSumSquaresWide writes SumSquaresWide{isa}: the sum of x[i]² in float64,
// like the generic backend. Every half vector of x is widened to a full vector
// of float64 (VCVTPS2PD straight from memory) and squared into one of eight
// float64 accumulators. A float64 square of a float32 is exact, so the
// result has the generic sum's accuracy, and none of float32's range limits:
// a square or a partial sum above 3.4e38 (an element above 1.8e19) stays
// finite, and squares below 1e-38 keep their digits. The engine relies on
// that: it decides from this sum whether gradients and parameters are finite.
// Widening halves the lanes per instruction, which makes it slower than
// SumSquares, so the kernels package uses it only where SumSquares' float32
// lanes fall short.
func genSumSquaresWide(s isa) {
	text("SumSquaresWide"+s.name, "func(x []float32) float64")
	Doc("SumSquaresWide"+s.name+" returns the sum of x[i]*x[i] over len(x) elements, accumulated in float64",
		"throughout: as accurate as the plain float64 loop, over the whole float32 range.")
	x := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	half := s.lanes / 2 // floats per vector of float64
	acc := make([]VecVirtual, 8)
	for i := range acc {
		acc[i] = s.zero()
	}
	// widen loads half floats at m as float64.
	widen := func(m Mem, mk *mask) VecVirtual {
		d := s.vec()
		switch {
		case mk == nil:
			VCVTPS2PD(m, d)
		case s.avx512:
			VCVTPS2PD_Z(m, mk.r, d) // lanes outside the mask are 0, not read
		default:
			t := XMM()
			VMASKMOVPS(m, mk.r.(VecVirtual).AsX(), t)
			VCVTPS2PD(t, d)
		}
		return d
	}
	Label("loop8")
	CMPQ(n, U32(len(acc)*half))
	JL(LabelRef("single"))
	for u := range acc {
		d := widen(Mem{Base: x, Disp: 4 * u * half}, nil)
		VFMADD231PD(d, d, acc[u])
	}
	ADDQ(U32(4*len(acc)*half), x)
	SUBQ(U32(len(acc)*half), n)
	JMP(LabelRef("loop8"))
	Label("single")
	CMPQ(n, U32(half))
	JL(LabelRef("tail"))
	d := widen(Mem{Base: x}, nil)
	VFMADD231PD(d, d, acc[0])
	ADDQ(U32(4*half), x)
	SUBQ(U32(half), n)
	JMP(LabelRef("single"))
	Label("tail")
	TESTQ(n, n)
	JZ(LabelRef("reduce"))
	mk := s.tailMask(n) // n < half: the low lanes of a full mask
	d = widen(Mem{Base: x}, &mk)
	VFMADD231PD(d, d, acc[1])
	Label("reduce")
	for w := len(acc) / 2; w > 0; w /= 2 {
		for i := 0; i < w; i++ {
			VADDPD(acc[i+w], acc[i], acc[i])
		}
	}
	s.returnSumPD(acc[0])
	ret()
}

// returnSumPD adds the float64 lanes of v and returns the sum as the
// routine's float64 result.
func (s isa) returnSumPD(v VecVirtual) {
	y := v
	if s.avx512 {
		t := YMM()
		VEXTRACTF64X4(U8(1), v, t)
		VADDPD(t, v.AsY(), t)
		y = t
	}
	lo := XMM()
	if s.avx512 {
		VEXTRACTF32X4(U8(1), y, lo)
	} else {
		VEXTRACTF128(U8(1), y, lo)
	}
	VADDPD(lo, y.AsX(), lo)
	hi := XMM()
	VMOVHLPS(lo, lo, hi)
	VADDSD(hi, lo, lo)
	VMOVSD(lo, param(ReturnIndex(0)))
}

// conditioner holds the broadcast parameters of the gradient conditioning
// every update starts with, g' = min(max(scale·g, -limit), limit).
type conditioner struct{ scale, lo, hi VecVirtual }

func (s isa) conditioner() conditioner {
	c := conditioner{scale: s.broadcast(param(Param("scale"))), hi: s.broadcast(param(Param("limit"))), lo: s.vec()}
	if s.avx512 {
		VPXORD(cst("signbit", 0x80000000), c.hi, c.lo) // EVEX VXORPS would need AVX512DQ
	} else {
		VXORPS(cst("signbit", 0x80000000), c.hi, c.lo)
	}
	return c
}

// condition loads a vector of g and returns it conditioned. MAXPS and MINPS
// return their second source operand (in Go's reversed order, the first)
// when either is NaN, so scale·g is that operand: a NaN gradient stays NaN and
// reaches the parameters, as in the generic backend, instead of being clipped
// into a plausible number. (The engine checks the norm is finite first.)
func (s isa) condition(c conditioner, g Mem, mk *mask) VecVirtual {
	t := s.vec()
	s.load(g, t, mk)
	VMULPS(c.scale, t, t)
	VMAXPS(t, c.lo, t)
	VMINPS(t, c.hi, t)
	return t
}

// oneMinus returns the broadcast 1 - x.
func (s isa) oneMinus(x VecVirtual) VecVirtual {
	r := s.vec()
	VMOVUPS(cstf("one", 1), r)
	VSUBPS(x, r, r)
	return r
}

// updateLoop is vectorLoop for the optimizer updates, unrolled: while n
// holds updateUnroll full vectors, body runs on each of them (at disp bytes
// past the pointers) before the pointers advance; the rest goes through
// vectorLoop.
func (s isa) updateLoop(n Register, ptrs []Register, body func(mk *mask, disp int)) {
	Label("loopu")
	CMPQ(n, U32(updateUnroll*s.lanes))
	JL(LabelRef("loop"))
	for u := 0; u < updateUnroll; u++ {
		body(nil, u*s.bytes())
	}
	for _, p := range ptrs {
		ADDQ(U32(updateUnroll*s.bytes()), p)
	}
	SUBQ(U32(updateUnroll*s.lanes), n)
	JMP(LabelRef("loopu"))
	s.vectorLoop("", n, ptrs, func(mk *mask) { body(mk, 0) })
}

// updateUnroll is how many vectors one iteration of updateLoop handles.
const updateUnroll = 2

// updateDoc is the comment shared by the update routines.
const updateDoc = "over len(p) elements, with g' = min(max(scale*g[i], -limit), limit); g is not written."

func genSGDUpdate(s isa) {
	name := "SGDUpdate" + s.name
	text(name, "func(p, g []float32, lr, scale, limit float32)")
	Doc(name+" computes p[i] -= lr*g'", updateDoc)
	p := Load(Param("p").Base(), GP64())
	g := Load(Param("g").Base(), GP64())
	n := Load(Param("p").Len(), GP64())
	c := s.conditioner()
	lr := s.broadcast(param(Param("lr")))
	s.updateLoop(n, []Register{p, g}, func(mk *mask, disp int) {
		gc := s.condition(c, Mem{Base: g, Disp: disp}, mk)
		pv := s.vec()
		s.load(Mem{Base: p, Disp: disp}, pv, mk)
		VFNMADD231PS(gc, lr, pv) // p -= lr*g'
		s.store(pv, Mem{Base: p, Disp: disp}, mk)
	})
	ret()
}

func genAdagradUpdate(s isa) {
	name := "AdagradUpdate" + s.name
	text(name, "func(p, g, mem []float32, lr, eps, scale, limit float32)")
	Doc(name+" computes mem[i] += g'^2, p[i] -= lr*g'/sqrt(mem[i] + eps)", updateDoc)
	p := Load(Param("p").Base(), GP64())
	g := Load(Param("g").Base(), GP64())
	mem := Load(Param("mem").Base(), GP64())
	n := Load(Param("p").Len(), GP64())
	c := s.conditioner()
	lr := s.broadcast(param(Param("lr")))
	eps := s.broadcast(param(Param("eps")))
	s.updateLoop(n, []Register{p, g, mem}, func(mk *mask, disp int) {
		gc := s.condition(c, Mem{Base: g, Disp: disp}, mk)
		m, pv, d := s.vec(), s.vec(), s.vec()
		s.load(Mem{Base: mem, Disp: disp}, m, mk)
		VFMADD231PS(gc, gc, m) // mem += g'*g'
		s.store(m, Mem{Base: mem, Disp: disp}, mk)
		// A true square root and division, not RSQRTPS: the
		// approximation's 12 bits are far from float32 accuracy.
		VADDPS(eps, m, d)
		VSQRTPS(d, d)
		VMULPS(lr, gc, gc)
		VDIVPS(d, gc, gc)
		s.load(Mem{Base: p, Disp: disp}, pv, mk)
		VSUBPS(gc, pv, pv)
		s.store(pv, Mem{Base: p, Disp: disp}, mk)
	})
	ret()
}

// genAdamUpdate writes AdamUpdate{isa} or, with decay, AdamWUpdate{isa}.
// With decay 0 AdamW computes exactly what Adam does: decay·p + step is then
// step.
func genAdamUpdate(s isa, decay bool) {
	name, sig := "AdamUpdate"+s.name, "func(p, g, m, v []float32, alpha, beta1, beta2, eps, scale, limit float32)"
	rule := "p[i] -= alpha*m[i]/(sqrt(v[i]) + eps)"
	if decay {
		name, sig = "AdamWUpdate"+s.name, "func(p, g, m, v []float32, alpha, beta1, beta2, eps, decay, scale, limit float32)"
		rule = "p[i] -= decay*p[i] + alpha*m[i]/(sqrt(v[i]) + eps)"
	}
	text(name, sig)
	Doc(name+" computes m[i] = beta1*m[i] + (1-beta1)*g', v[i] = beta2*v[i] + (1-beta2)*g'^2,", rule, updateDoc)
	p := Load(Param("p").Base(), GP64())
	g := Load(Param("g").Base(), GP64())
	mp := Load(Param("m").Base(), GP64())
	vp := Load(Param("v").Base(), GP64())
	n := Load(Param("p").Len(), GP64())
	c := s.conditioner()
	alpha := s.broadcast(param(Param("alpha")))
	b1 := s.broadcast(param(Param("beta1")))
	b2 := s.broadcast(param(Param("beta2")))
	c1, c2 := s.oneMinus(b1), s.oneMinus(b2)
	eps := s.broadcast(param(Param("eps")))
	var dc VecVirtual
	if decay {
		dc = s.broadcast(param(Param("decay")))
	}
	s.updateLoop(n, []Register{p, g, mp, vp}, func(mk *mask, disp int) {
		gc := s.condition(c, Mem{Base: g, Disp: disp}, mk)
		m, v, t := s.vec(), s.vec(), s.vec()
		s.load(Mem{Base: mp, Disp: disp}, m, mk)
		VMULPS(c1, gc, t)
		VFMADD213PS(t, b1, m) // m = beta1*m + (1-beta1)*g'
		s.store(m, Mem{Base: mp, Disp: disp}, mk)
		s.load(Mem{Base: vp, Disp: disp}, v, mk)
		VMULPS(c2, gc, t)
		VMULPS(gc, t, t)
		VFMADD213PS(t, b2, v) // v = beta2*v + (1-beta2)*g'*g'
		s.store(v, Mem{Base: vp, Disp: disp}, mk)
		VSQRTPS(v, v)
		VADDPS(eps, v, v)
		VMULPS(alpha, m, m)
		VDIVPS(v, m, m) // the step
		pv := s.vec()
		s.load(Mem{Base: p, Disp: disp}, pv, mk)
		if decay {
			VFMADD231PS(pv, dc, m) // step += decay*p, p as it was
		}
		VSUBPS(m, pv, pv)
		s.store(pv, Mem{Base: p, Disp: disp}, mk)
	})
	ret()
}

func genMomentumUpdate(s isa) {
	name := "MomentumUpdate" + s.name
	text(name, "func(p, g, vel []float32, lr, mu, scale, limit float32)")
	Doc(name+" computes vel[i] = mu*vel[i] + g', p[i] -= lr*vel[i]", updateDoc)
	p := Load(Param("p").Base(), GP64())
	g := Load(Param("g").Base(), GP64())
	vp := Load(Param("vel").Base(), GP64())
	n := Load(Param("p").Len(), GP64())
	c := s.conditioner()
	lr := s.broadcast(param(Param("lr")))
	mu := s.broadcast(param(Param("mu")))
	s.updateLoop(n, []Register{p, g, vp}, func(mk *mask, disp int) {
		gc := s.condition(c, Mem{Base: g, Disp: disp}, mk)
		v, pv := s.vec(), s.vec()
		s.load(Mem{Base: vp, Disp: disp}, v, mk)
		VFMADD213PS(gc, mu, v) // vel = mu*vel + g'
		s.store(v, Mem{Base: vp, Disp: disp}, mk)
		s.load(Mem{Base: p, Disp: disp}, pv, mk)
		VFNMADD231PS(v, lr, pv) // p -= lr*vel, the same rounding as SGD when mu is 0
		s.store(pv, Mem{Base: p, Disp: disp}, mk)
	})
	ret()
}

func genRMSpropUpdate(s isa) {
	name := "RMSpropUpdate" + s.name
	text(name, "func(p, g, ms []float32, lr, rho, eps, scale, limit float32)")
	Doc(name+" computes ms[i] = rho*ms[i] + (1-rho)*g'^2, p[i] -= lr*g'/(sqrt(ms[i]) + eps)", updateDoc)
	p := Load(Param("p").Base(), GP64())
	g := Load(Param("g").Base(), GP64())
	mp := Load(Param("ms").Base(), GP64())
	n := Load(Param("p").Len(), GP64())
	c := s.conditioner()
	lr := s.broadcast(param(Param("lr")))
	rho := s.broadcast(param(Param("rho")))
	cr := s.oneMinus(rho)
	eps := s.broadcast(param(Param("eps")))
	s.updateLoop(n, []Register{p, g, mp}, func(mk *mask, disp int) {
		gc := s.condition(c, Mem{Base: g, Disp: disp}, mk)
		m, t, pv := s.vec(), s.vec(), s.vec()
		s.load(Mem{Base: mp, Disp: disp}, m, mk)
		VMULPS(cr, gc, t)
		VMULPS(gc, t, t)
		VFMADD213PS(t, rho, m) // ms = rho*ms + (1-rho)*g'*g'
		s.store(m, Mem{Base: mp, Disp: disp}, mk)
		VSQRTPS(m, m)
		VADDPS(eps, m, m)
		VMULPS(lr, gc, gc)
		VDIVPS(m, gc, gc)
		s.load(Mem{Base: p, Disp: disp}, pv, mk)
		VSUBPS(gc, pv, pv)
		s.store(pv, Mem{Base: p, Disp: disp}, mk)
	})
	ret()
}
