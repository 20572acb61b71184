package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// genGates writes the gated cells' fused element-wise steps: LSTMForward,
// LSTMBackward, GRUForward and GRUBackward. Every routine runs over the H
// units of one stream, one vector of units at a time, and reads and writes
// the H-wide gate blocks of that vector at offsets 0, H, 2H (and 3H).
func genGates(s isa) {
	genLSTMForward(s)
	genLSTMBackward(s)
	genGRUForward(s)
	genGRUBackward(s)
}

// sigmoidLimit bounds the argument of sigmoid. A unit saturated beyond it
// keeps σ ≥ σ(-30) ≈ 9.4e-14 (within 1e-13 of the exact value, and σ(30) is
// 1 in float32 anyway), so the tiny factors σ and σ(1-σ) that the forward
// and backward passes multiply by stay far above float32's subnormal range,
// where x86 arithmetic is slow. It is the kernels package's SigmoidLimit,
// which the pure-Go twins use too.
const sigmoidLimit = 30

// sigmoid sets x = σ(x) = 1/(1+e^-x), with the argument clamped to
// ±sigmoidLimit. With e = e^-|x| ∈ (0, 1] (exp's building block),
// σ(|x|) = 1/(1+e) and σ(-|x|) = e·σ(|x|): both keep full relative
// accuracy, where 0.5·tanh(x/2)+0.5 would lose the small values of σ to
// cancellation. NaN stays NaN.
func (s isa) sigmoid(x VecVirtual) {
	e := s.sigmoidBegin(x)
	s.exp(e)
	s.sigmoidEnd(x, e)
}

// sigmoidBegin returns -|x| clamped to -sigmoidLimit, the argument of the
// exp that sigmoid needs; a caller may compute it beside others (expN)
// before sigmoidEnd.
func (s isa) sigmoidBegin(x VecVirtual) VecVirtual {
	e := s.vec()
	s.and(cst("absmask", 0x7fffffff), x, e)
	lim := s.vec()
	VMOVUPS(cstf("sigmax", sigmoidLimit), lim)
	VMINPS(e, lim, e) // |x| as second source: NaN stays NaN
	s.xor(cst("signbit", 0x80000000), e, e)
	return e
}

// sigmoidEnd sets x = σ(x) from e = e^-|x|.
func (s isa) sigmoidEnd(x, e VecVirtual) {
	d, one := s.vec(), s.vec()
	VADDPS(cstf("one", 1), e, d)
	VMOVUPS(cstf("one", 1), one)
	if s.avx512 {
		k := K()
		VCMPPS(U8(1), cst("zero", 0), x, k) // k = x < 0
		VDIVPS(d, one, x)                   // σ(|x|)
		VMULPS(e, x, k, x)                  // σ(-|x|) where x < 0
		return
	}
	VDIVPS(d, one, d) // σ(|x|)
	VMULPS(d, e, e)   // σ(-|x|)
	VBLENDVPS(x, e, d, x)
}

// and, or and xor are the bitwise vector operations; EVEX VANDPS and
// friends need AVX512DQ, VPANDD and friends are AVX512F.
func (s isa) and(a, b, dst Op) {
	if s.avx512 {
		VPANDD(a, b, dst)
	} else {
		VPAND(a, b, dst)
	}
}

func (s isa) or(a, b, dst Op) {
	if s.avx512 {
		VPORD(a, b, dst)
	} else {
		VPOR(a, b, dst)
	}
}

func (s isa) xor(a, b, dst Op) {
	if s.avx512 {
		VPXORD(a, b, dst)
	} else {
		VPXOR(a, b, dst)
	}
}

// oneMinusSquare returns 1 - a², the derivative of tanh from its value,
// rounded once.
func (s isa) oneMinusSquare(a VecVirtual) VecVirtual {
	r := s.vec()
	VMOVUPS(cstf("one", 1), r)
	VFNMADD231PS(a, a, r)
	return r
}

// sigmoidGrad returns a - a² = σ(1-σ), the derivative of σ from its value a,
// rounded once. It is 0 where a rounded to 1, and at least about 9.4e-14
// elsewhere (see sigmoidLimit).
func (s isa) sigmoidGrad(a VecVirtual) VecVirtual {
	r := s.vec()
	VMOVAPS(a, r)
	VFNMADD231PS(a, a, r)
	return r
}

// gateBlocks addresses the gate blocks of a vector of units: block k of
// pointer p is at p + k·H floats. h1 holds H·4 bytes, h3 three times that.
type gateBlocks struct{ h1, h3 Register }

// newGateBlocks computes the block offsets for H units.
func newGateBlocks(H Register) gateBlocks {
	g := gateBlocks{GP64(), GP64()}
	MOVQ(H, g.h1)
	SHLQ(U8(2), g.h1)
	LEAQ(Mem{Base: g.h1, Index: g.h1, Scale: 2}, g.h3)
	return g
}

func (g gateBlocks) at(p Register, k int) Mem {
	switch k {
	case 0:
		return Mem{Base: p}
	case 1:
		return Mem{Base: p, Index: g.h1, Scale: 1}
	case 2:
		return Mem{Base: p, Index: g.h1, Scale: 2}
	default:
		return Mem{Base: p, Index: g.h3, Scale: 1}
	}
}

func genLSTMForward(s isa) {
	text("LSTMForward"+s.name, "func(gates, in, bias, cPrev, c, tc, h []float32)")
	Doc("LSTMForward"+s.name+" is the LSTM cell's forward step over H = len(h) units: with the",
		"pre-activations gates+in+bias of the gates i, f, g, o (H each), it writes",
		"i = σ, f = σ, g = tanh, o = σ into gates, c = f*cPrev + i*g, tc = tanh(c) and",
		"h = o*tc. σ's argument is clamped to ±30. c may alias cPrev.")
	gates := Load(Param("gates").Base(), GP64())
	in := Load(Param("in").Base(), GP64())
	bias := Load(Param("bias").Base(), GP64())
	cPrev := Load(Param("cPrev").Base(), GP64())
	c := Load(Param("c").Base(), GP64())
	tc := Load(Param("tc").Base(), GP64())
	h := Load(Param("h").Base(), GP64())
	n := Load(Param("h").Len(), GP64())
	blk := newGateBlocks(n)
	s.vectorLoop("", n, []Register{gates, in, bias, cPrev, c, tc, h}, func(mk *mask) {
		// The four gates' nonlinearities are independent: their exps run
		// interleaved (expN), so the loop waits less on each exp's chain of
		// dependent FMAs (LSTMForward 15-20% faster on Zen 5, 5-8% on Zen 4).
		// GRU's r and z gained on Zen 5 and lost on Zen 4: they stay apart.
		act := make([]VecVirtual, 4)
		for k := range act {
			x, t := s.vec(), s.vec()
			s.load(blk.at(gates, k), x, mk)
			s.load(blk.at(in, k), t, mk)
			VADDPS(t, x, x)
			s.load(blk.at(bias, k), t, mk)
			VADDPS(t, x, x)
			act[k] = x
		}
		i, f, g, o := act[0], act[1], act[2], act[3]
		if s.avx512 {
			ei, ef, eo := s.sigmoidBegin(i), s.sigmoidBegin(f), s.sigmoidBegin(o)
			tg := s.tanhBegin(g)
			tg.small(s)
			s.expN(ei, ef, tg.l, eo)
			s.sigmoidEnd(i, ei)
			s.sigmoidEnd(f, ef)
			tg.large(s)
			tg.end(s, g)
			s.sigmoidEnd(o, eo)
		} else {
			// AVX2's 16 registers hold two chains at a time.
			ei, ef := s.sigmoidBegin(i), s.sigmoidBegin(f)
			s.expN(ei, ef)
			s.sigmoidEnd(i, ei)
			s.sigmoidEnd(f, ef)
			eo, tg := s.sigmoidBegin(o), s.tanhBegin(g)
			s.expN(tg.l, eo)
			tg.large(s)
			tg.small(s)
			tg.end(s, g)
			s.sigmoidEnd(o, eo)
		}
		for k, x := range act {
			s.store(x, blk.at(gates, k), mk)
		}
		cv, cp := s.vec(), s.vec()
		VMULPS(g, i, cv)
		s.load(Mem{Base: cPrev}, cp, mk)
		VFMADD231PS(cp, f, cv) // c = f*cPrev + i*g
		s.store(cv, Mem{Base: c}, mk)
		s.tanh(cv)
		s.store(cv, Mem{Base: tc}, mk)
		VMULPS(o, cv, cv)
		s.store(cv, Mem{Base: h}, mk)
	})
	ret()
}

func genLSTMBackward(s isa) {
	text("LSTMBackward"+s.name, "func(dgates, gates, cPrev, tc, dh, dc []float32)")
	Doc("LSTMBackward"+s.name+" is the backward pass of LSTMForward over H = len(dc) units:",
		"with dct = dc + dh*o*(1-tc²), it writes the gradients of the pre-activations",
		"dgates = (dct*g*i(1-i), dct*cPrev*f(1-f), dct*i*(1-g²), dh*tc*o(1-o)) and",
		"dc = dct*f. dgates may alias gates.")
	dgates := Load(Param("dgates").Base(), GP64())
	gates := Load(Param("gates").Base(), GP64())
	cPrev := Load(Param("cPrev").Base(), GP64())
	tc := Load(Param("tc").Base(), GP64())
	dh := Load(Param("dh").Base(), GP64())
	dc := Load(Param("dc").Base(), GP64())
	n := Load(Param("dc").Len(), GP64())
	blk := newGateBlocks(n)
	s.vectorLoop("", n, []Register{dgates, gates, cPrev, tc, dh, dc}, func(mk *mask) {
		act := make([]VecVirtual, 4)
		for k := range act {
			act[k] = s.vec()
			s.load(blk.at(gates, k), act[k], mk)
		}
		i, f, g, o := act[0], act[1], act[2], act[3]
		t, dhv, dct := s.vec(), s.vec(), s.vec()
		s.load(Mem{Base: tc}, t, mk)
		s.load(Mem{Base: dh}, dhv, mk)
		s.load(Mem{Base: dc}, dct, mk)
		w := s.vec()
		VMULPS(o, dhv, w)
		VFMADD231PS(s.oneMinusSquare(t), w, dct) // dct = dc + dh*o*(1-tc²)

		d := s.vec()
		VMULPS(g, dct, w)
		VMULPS(s.sigmoidGrad(i), w, d)
		s.store(d, blk.at(dgates, 0), mk)
		s.load(Mem{Base: cPrev}, w, mk)
		VMULPS(dct, w, w)
		VMULPS(s.sigmoidGrad(f), w, d)
		s.store(d, blk.at(dgates, 1), mk)
		VMULPS(i, dct, w)
		VMULPS(s.oneMinusSquare(g), w, d)
		s.store(d, blk.at(dgates, 2), mk)
		VMULPS(t, dhv, w)
		VMULPS(s.sigmoidGrad(o), w, d)
		s.store(d, blk.at(dgates, 3), mk)
		VMULPS(f, dct, dct)
		s.store(dct, Mem{Base: dc}, mk)
	})
	ret()
}

func genGRUForward(s isa) {
	text("GRUForward"+s.name, "func(act, hg, in, bih, bhh, hPrev, h []float32)")
	Doc("GRUForward"+s.name+" is the GRU cell's forward step over H = len(h) units, gates r, z, n",
		"(H each): r = σ(in_r+bih_r+hg_r+bhh_r), z likewise, n = tanh(in_n+bih_n + r*(hg_n+bhh_n)),",
		"h = (1-z)*n + z*hPrev. It writes r, z, n to act and hg_n+bhh_n to hg's third block.",
		"σ's argument is clamped to ±30. h may alias hPrev.")
	act := Load(Param("act").Base(), GP64())
	hg := Load(Param("hg").Base(), GP64())
	in := Load(Param("in").Base(), GP64())
	bih := Load(Param("bih").Base(), GP64())
	bhh := Load(Param("bhh").Base(), GP64())
	hPrev := Load(Param("hPrev").Base(), GP64())
	h := Load(Param("h").Base(), GP64())
	n := Load(Param("h").Len(), GP64())
	blk := newGateBlocks(n)
	s.vectorLoop("", n, []Register{act, hg, in, bih, bhh, hPrev, h}, func(mk *mask) {
		// sum returns in_k + bih_k (+ hg_k + bhh_k), added left to right.
		sum := func(k int, rec bool) VecVirtual {
			x, t := s.vec(), s.vec()
			s.load(blk.at(in, k), x, mk)
			ps := []Register{bih}
			if rec {
				ps = append(ps, hg, bhh)
			}
			for _, p := range ps {
				s.load(blk.at(p, k), t, mk)
				VADDPS(t, x, x)
			}
			return x
		}
		r := sum(0, true)
		s.sigmoid(r)
		s.store(r, blk.at(act, 0), mk)
		z := sum(1, true)
		s.sigmoid(z)
		s.store(z, blk.at(act, 1), mk)

		hn, t := s.vec(), s.vec()
		s.load(blk.at(hg, 2), hn, mk)
		s.load(blk.at(bhh, 2), t, mk)
		VADDPS(t, hn, hn)
		s.store(hn, blk.at(hg, 2), mk)
		nv := sum(2, false)
		VFMADD231PS(hn, r, nv) // in_n + bih_n + r*hn
		s.tanh(nv)
		s.store(nv, blk.at(act, 2), mk)

		hv := s.vec()
		VMOVUPS(cstf("one", 1), hv)
		VSUBPS(z, hv, hv)
		VMULPS(nv, hv, hv) // (1-z)*n
		s.load(Mem{Base: hPrev}, t, mk)
		VFMADD231PS(t, z, hv)
		s.store(hv, Mem{Base: h}, mk)
	})
	ret()
}

func genGRUBackward(s isa) {
	text("GRUBackward"+s.name, "func(dx, dhg, act, hg, hPrev, dh, dhPrev []float32)")
	Doc("GRUBackward"+s.name+" is the backward pass of GRUForward over H = len(dh) units: with",
		"dan = dh*(1-z)*(1-n²), it writes dx = (dan*hn*r(1-r), dh*(hPrev-n)*z(1-z), dan)",
		"where hn is hg's third block, and dhg = dx except dhg_n = dan*r; it adds dh*z to",
		"dhPrev unless dhPrev is empty. dx may alias act.")
	dx := Load(Param("dx").Base(), GP64())
	dhg := Load(Param("dhg").Base(), GP64())
	act := Load(Param("act").Base(), GP64())
	hg := Load(Param("hg").Base(), GP64())
	hPrev := Load(Param("hPrev").Base(), GP64())
	dh := Load(Param("dh").Base(), GP64())
	dhPrev := Load(Param("dhPrev").Base(), GP64())
	n := Load(Param("dh").Len(), GP64())
	accumulate := Load(Param("dhPrev").Len(), GP64())
	blk := newGateBlocks(n)
	ptrs := []Register{dx, dhg, act, hg, hPrev, dh, dhPrev}
	body := func(acc bool) func(mk *mask) {
		return func(mk *mask) {
			r, z, nv, d := s.vec(), s.vec(), s.vec(), s.vec()
			s.load(blk.at(act, 0), r, mk)
			s.load(blk.at(act, 1), z, mk)
			s.load(blk.at(act, 2), nv, mk)
			s.load(Mem{Base: dh}, d, mk)

			dan, w := s.vec(), s.vec()
			VMOVUPS(cstf("one", 1), dan)
			VSUBPS(z, dan, dan)
			VMULPS(d, dan, dan) // dh*(1-z)
			VMULPS(s.oneMinusSquare(nv), dan, dan)
			s.store(dan, blk.at(dx, 2), mk)
			VMULPS(r, dan, w)
			s.store(w, blk.at(dhg, 2), mk)

			s.load(blk.at(hg, 2), w, mk)
			VMULPS(dan, w, w)
			VMULPS(s.sigmoidGrad(r), w, w)
			s.store(w, blk.at(dx, 0), mk)
			s.store(w, blk.at(dhg, 0), mk)

			s.load(Mem{Base: hPrev}, w, mk)
			VSUBPS(nv, w, w)
			VMULPS(d, w, w) // dh*(hPrev-n)
			VMULPS(s.sigmoidGrad(z), w, w)
			s.store(w, blk.at(dx, 1), mk)
			s.store(w, blk.at(dhg, 1), mk)

			if acc {
				s.load(Mem{Base: dhPrev}, w, mk)
				VFMADD231PS(z, d, w)
				s.store(w, Mem{Base: dhPrev}, mk)
			}
		}
	}
	TESTQ(accumulate, accumulate)
	JZ(LabelRef("noacc"))
	s.vectorLoop("acc", n, ptrs, body(true))
	ret()
	Label("noacc")
	s.vectorLoop("", n, ptrs, body(false))
	ret()
}
