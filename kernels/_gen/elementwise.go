package main

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// genElementwise writes the fused element-wise ops of the recurrence and of
// softmax: AddTanh, TanhGrad, MaxSum and ExpSum; and Mul, which applies
// dropout masks.
func genElementwise(s isa) {
	genAddTanh(s)
	genTanhGrad(s)
	genMul(s)
	genMaxSum(s)
	genExpSum(s)
}

// exp sets x = e^x for x <= 88 (the callers guarantee it). Below -87.3 the
// result is clamped to about 1.2e-38 instead of underflowing, which is far
// inside every tolerance and keeps the AVX2 exponent trick in range.
//
// e^x = 2^n * e^r with n = round(x/ln2) and |r| <= ln2/2; e^r is its Taylor
// polynomial of degree 7 (truncation error < 6e-9 relative). ln2 is split in a
// high part with few mantissa bits (n*ln2hi is exact) and a low correction.
//
// A NaN input gives NaN: MAXPS returns its second source operand when either
// is NaN, so x is that operand (in Go's reversed order, the first).
func (s isa) exp(x VecVirtual) { s.expN(x) }

// expN sets each x = e^x as exp does, its steps interleaved: each
// instruction is written for every x before the next, so that the
// independent chains overlap instead of waiting on one another's latency
// (a chain of 13 dependent instructions each). Every x is rounded exactly
// as exp rounds it alone.
func (s isa) expN(xs ...VecVirtual) {
	each := func(f func(i int, x VecVirtual)) {
		for i, x := range xs {
			f(i, x)
		}
	}
	lo := s.vec()
	VMOVUPS(cstf("explo", -87.3), lo)
	ns, ps := make([]VecVirtual, len(xs)), make([]VecVirtual, len(xs))
	each(func(i int, x VecVirtual) { VMAXPS(x, lo, x) })
	each(func(i int, x VecVirtual) {
		ns[i] = s.vec()
		VMULPS(cstf("log2e", math.Log2E), x, ns[i])
	})
	each(func(i int, x VecVirtual) {
		if s.avx512 {
			VRNDSCALEPS(U8(0), ns[i], ns[i]) // round to nearest even
		} else {
			VROUNDPS(U8(0), ns[i], ns[i])
		}
	})
	each(func(i int, x VecVirtual) { VFNMADD231PS(cstf("ln2hi", 0.693359375), ns[i], x) })
	each(func(i int, x VecVirtual) { VFNMADD231PS(cstf("ln2lo", -2.12194440e-4), ns[i], x) })
	each(func(i int, x VecVirtual) {
		ps[i] = s.vec()
		VMOVUPS(cstf("inv5040", 1.0/5040), ps[i])
	})
	for _, c := range []struct {
		name string
		v    float32
	}{{"inv720", 1.0 / 720}, {"inv120", 1.0 / 120}, {"inv24", 1.0 / 24}, {"inv6", 1.0 / 6}, {"half", 0.5}, {"one", 1}, {"one", 1}} {
		each(func(i int, x VecVirtual) { VFMADD213PS(cstf(c.name, c.v), x, ps[i]) }) // p = p*x + c
	}
	each(func(i int, x VecVirtual) {
		n, p := ns[i], ps[i]
		if s.avx512 {
			VSCALEFPS(n, p, x) // x = p * 2^n
		} else {
			// Add n to the exponent field; n >= -126 thanks to the clamp.
			VCVTPS2DQ(n, n)
			VPSLLD(U8(23), n, n)
			VPADDD(n, p, x)
		}
	})
}

// tanh sets x = tanh(x).
//
// For |x| < 0.5 the odd Taylor series up to x^15 (next term < 5e-9) keeps
// full relative accuracy near 0 (tanh(0) is exactly 0); above, tanh|x| =
// 1 - 2/(e^{2|x|}+1) has no cancellation to fear. |x| is clamped to 9, where
// tanh is 1 to float32 precision; the sign is put back at the end.
func (s isa) tanh(x VecVirtual) { s.tanhN(x) }

// tanhN sets each x = tanh(x) as tanh does, its steps interleaved as
// expN's are: one tanh is a chain of about 35 dependent instructions, and
// alone the loop waits on it (AddTanh of 512 took 343 ns on a Zen 5).
func (s isa) tanhN(xs ...VecVirtual) {
	ts := make([]*tanhParts, len(xs))
	ls := make([]VecVirtual, len(xs))
	for i, x := range xs {
		ts[i] = s.tanhBegin(x)
		ls[i] = ts[i].l
	}
	s.expN(ls...)
	s.largeN(ts...)
	s.smallN(ts...)
	for i, t := range ts {
		t.end(s, xs[i])
	}
}

// tanhParts is a tanh under way, cut where it needs e^{2|x|}, so that a
// caller can compute that exp beside others (expN): tanhBegin, then exp of
// l, then large and small in either order, then end.
type tanhParts struct {
	sign, ax, l, sq VecVirtual
}

// tanhBegin clamps |x| and sets l = 2|x|, the argument of the exp.
func (s isa) tanhBegin(x VecVirtual) *tanhParts {
	t := &tanhParts{sign: s.vec(), ax: s.vec(), l: s.vec()}
	s.and(cst("signbit", 0x80000000), x, t.sign)
	s.and(cst("absmask", 0x7fffffff), x, t.ax)
	nine := s.vec()
	VMOVUPS(cstf("nine", 9), nine)
	VMINPS(t.ax, nine, t.ax) // |x| as second source: NaN stays NaN
	VADDPS(t.ax, t.ax, t.l)
	return t
}

// large sets l = 1 - 2/(l + 1), l being e^{2|x|}: the large branch.
func (t *tanhParts) large(s isa) { s.largeN(t) }

// largeN is large for each t, interleaved.
func (s isa) largeN(ts ...*tanhParts) {
	one, two := s.vec(), s.vec()
	VMOVUPS(cstf("one", 1), one)
	VMOVUPS(cstf("two", 2), two)
	for _, t := range ts {
		VADDPS(one, t.l, t.l)
	}
	for _, t := range ts {
		VDIVPS(t.l, two, t.l)
	}
	for _, t := range ts {
		VSUBPS(t.l, one, t.l)
	}
}

// small computes the small branch, |x| + |x|^3*P(x^2).
func (t *tanhParts) small(s isa) { s.smallN(t) }

// smallN is small for each t, interleaved.
func (s isa) smallN(ts ...*tanhParts) {
	ps := make([]VecVirtual, len(ts))
	for i, t := range ts {
		t.sq, ps[i] = s.vec(), s.vec()
		VMULPS(t.ax, t.ax, t.sq)
		VMOVUPS(cstf("t15", -929569.0/638512875), ps[i])
	}
	for _, c := range []struct {
		name string
		v    float64
	}{{"t13", 21844.0 / 6081075}, {"t11", -1382.0 / 155925}, {"t9", 62.0 / 2835}, {"t7", -17.0 / 315}, {"t5", 2.0 / 15}, {"t3", -1.0 / 3}} {
		for i, t := range ts {
			VFMADD213PS(cstf(c.name, float32(c.v)), t.sq, ps[i]) // p = p*sq + c
		}
	}
	for _, t := range ts {
		VMULPS(t.ax, t.sq, t.sq) // sq = |x|^3
	}
	for i, t := range ts {
		VFMADD213PS(t.ax, ps[i], t.sq) // sq = p*|x|^3 + |x|
	}
}

// end picks the branch by |x| and puts the sign back into x.
func (t *tanhParts) end(s isa, x VecVirtual) {
	ax := t.ax
	if s.avx512 {
		k := K()
		VCMPPS(U8(1), cstf("halfthr", 0.5), ax, k) // k = |x| < 0.5
		VBLENDMPS(t.sq, t.l, k, ax)                // ax = k ? small : large
	} else {
		m := s.vec()
		VCMPPS(U8(1), cstf("halfthr", 0.5), ax, m)
		VBLENDVPS(m, t.sq, t.l, ax)
	}
	s.or(t.sign, ax, x)
}

func genAddTanh(s isa) {
	text("AddTanh"+s.name, "func(h, a, col, bias []float32)")
	Doc("AddTanh"+s.name+" sets h[i] = tanh(a[i] + col[i] + bias[i]) over len(h) elements.",
		"h may alias a.")
	h := Load(Param("h").Base(), GP64())
	a := Load(Param("a").Base(), GP64())
	col := Load(Param("col").Base(), GP64())
	bias := Load(Param("bias").Base(), GP64())
	n := Load(Param("h").Len(), GP64())
	// Blocks of tanhBlock vectors, their tanhs interleaved (tanhN), then
	// one vector at a time.
	body := func(vecs int, mk *mask) {
		xs := make([]VecVirtual, vecs)
		for v := range xs {
			off := v * s.bytes()
			x, t := s.vec(), s.vec()
			s.load(Mem{Base: a, Disp: off}, x, mk)
			s.load(Mem{Base: col, Disp: off}, t, mk)
			VADDPS(t, x, x)
			s.load(Mem{Base: bias, Disp: off}, t, mk)
			VADDPS(t, x, x)
			xs[v] = x
		}
		s.tanhN(xs...)
		for v, x := range xs {
			s.store(x, Mem{Base: h, Disp: v * s.bytes()}, mk)
		}
	}
	ptrs := []Register{h, a, col, bias}
	block := s.tanhBlock()
	Label("block")
	CMPQ(n, U32(block*s.lanes))
	JL(LabelRef("loop"))
	body(block, nil)
	for _, p := range ptrs {
		ADDQ(U32(block*s.bytes()), p)
	}
	SUBQ(U32(block*s.lanes), n)
	JMP(LabelRef("block"))
	s.vectorLoop("", n, ptrs, func(mk *mask) { body(1, mk) })
	ret()
}

// tanhBlock is how many vectors' tanhs AddTanh interleaves: as many as the
// registers hold (each chain keeps about six live).
func (s isa) tanhBlock() int {
	if s.avx512 {
		return 4
	}
	return 2
}

func genTanhGrad(s isa) {
	text("TanhGrad"+s.name, "func(dr, h, dh []float32)")
	Doc("TanhGrad"+s.name+" sets dr[i] = (1 - h[i]^2) * dh[i] over len(dr) elements.",
		"dr may alias dh.")
	dr := Load(Param("dr").Base(), GP64())
	h := Load(Param("h").Base(), GP64())
	dh := Load(Param("dh").Base(), GP64())
	n := Load(Param("dr").Len(), GP64())
	one := s.vec()
	VMOVUPS(cstf("one", 1), one)
	s.vectorLoop("", n, []Register{dr, h, dh}, func(mk *mask) {
		hv, t, d := s.vec(), s.vec(), s.vec()
		s.load(Mem{Base: h}, hv, mk)
		s.load(Mem{Base: dh}, d, mk)
		VMOVAPS(one, t)
		VFNMADD231PS(hv, hv, t) // t = 1 - h*h
		VMULPS(d, t, t)
		s.store(t, Mem{Base: dr}, mk)
	})
	ret()
}

func genMul(s isa) {
	text("Mul"+s.name, "func(dst, x, y []float32)")
	Doc("Mul"+s.name+" sets dst[i] = x[i] * y[i] over len(dst) elements.",
		"dst may alias x or y.")
	dst := Load(Param("dst").Base(), GP64())
	x := Load(Param("x").Base(), GP64())
	y := Load(Param("y").Base(), GP64())
	n := Load(Param("dst").Len(), GP64())
	s.vectorLoop("", n, []Register{dst, x, y}, func(mk *mask) {
		t, u := s.vec(), s.vec()
		s.load(Mem{Base: x}, t, mk)
		s.load(Mem{Base: y}, u, mk)
		VMULPS(u, t, t)
		s.store(t, Mem{Base: dst}, mk)
	})
	ret()
}

func genMaxSum(s isa) {
	text("MaxSum"+s.name, "func(x, y []float32) float32")
	Doc("MaxSum" + s.name + " returns the largest x[i]+y[i] over len(x) elements (-Inf if none).")
	x := Load(Param("x").Base(), GP64())
	y := Load(Param("y").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	acc := s.vec()
	VMOVUPS(cst("neginf", 0xff800000), acc)
	s.vectorLoop("", n, []Register{x, y}, func(mk *mask) {
		t, u := s.vec(), s.vec()
		s.load(Mem{Base: x}, t, mk)
		s.load(Mem{Base: y}, u, mk)
		VADDPS(u, t, t)
		switch {
		case mk == nil:
			VMAXPS(t, acc, acc)
		case s.avx512:
			VMAXPS(t, acc, mk.r, acc) // lanes outside the mask keep acc
		default:
			ninf := s.vec()
			VMOVUPS(cst("neginf", 0xff800000), ninf)
			VBLENDVPS(mk.r, t, ninf, t) // lanes outside the mask become -Inf
			VMAXPS(t, acc, acc)
		}
	})
	storeResult(s.hreduce(acc, vmaxps))
	ret()
}

func genExpSum(s isa) {
	text("ExpSum"+s.name, "func(d, x, y []float32, shift float32) float32")
	Doc("ExpSum"+s.name+" sets d[i] = exp(x[i] + y[i] - shift) over len(d) elements and returns their sum.",
		"Every x[i]+y[i]-shift must be at most 88; d may alias x.")
	d := Load(Param("d").Base(), GP64())
	x := Load(Param("x").Base(), GP64())
	y := Load(Param("y").Base(), GP64())
	n := Load(Param("d").Len(), GP64())
	sh := s.broadcast(loadScalar("shift"))
	sum := s.zero()
	s.vectorLoop("", n, []Register{d, x, y}, func(mk *mask) {
		t, u := s.vec(), s.vec()
		s.load(Mem{Base: x}, t, mk)
		s.load(Mem{Base: y}, u, mk)
		VADDPS(u, t, t)
		VSUBPS(sh, t, t)
		s.exp(t)
		s.store(t, Mem{Base: d}, mk)
		switch {
		case mk == nil:
			VADDPS(t, sum, sum)
		case s.avx512:
			VADDPS(t, sum, mk.r, sum)
		default:
			VANDPS(mk.r, t, t)
			VADDPS(t, sum, sum)
		}
	})
	storeResult(s.hreduce(sum, vaddps))
	ret()
}
