// Command _gen writes the AVX2 and AVX-512 assembly of charrnn/kernels/internal/asm
// with avo. It lives in its own module so avo never enters charrnn's go.mod.
//
//	cd kernels/_gen && go run . -out ../internal/asm/asm_amd64.s -stubs ../internal/asm/asm_amd64.go -pkg asm
//
// Every routine exists twice, once per instruction set, generated from the same
// code: isa says how wide a vector is and how a tail is masked. Every routine
// ends with VZEROUPPER before RET: leaving dirty upper halves of the vector
// registers makes later SSE code (the Go runtime's memmove, for one) run
// several times slower.
package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/gotypes"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// isa is one instruction set the routines are generated for.
type isa struct {
	name   string // suffix of every routine: "AVX512" or "AVX2"
	lanes  int    // float32 lanes in one vector register
	avx512 bool
	// Register blocking of the GEMM micro-kernels (see genBcast, genDotNT).
	bcastRows, bcastVecs int
	// gemvTVecs is the width in vectors of GemvT, the one-row broadcast
	// kernel for full strips of GEMV transposed: more independent
	// accumulators than GemmBcast1 has.
	gemvTVecs int
	// dotShapes lists rows, cols and unroll (vectors per step) of the DotNT
	// kernels.
	dotShapes [][3]int
}

var (
	avx512 = isa{name: "AVX512", lanes: 16, avx512: true, bcastRows: 6, bcastVecs: 4, gemvTVecs: 8, dotShapes: [][3]int{{4, 4, 1}, {4, 1, 2}}}
	avx2   = isa{name: "AVX2", lanes: 8, bcastRows: 4, bcastVecs: 2, gemvTVecs: 8, dotShapes: [][3]int{{2, 4, 1}, {4, 1, 2}}}
)

func (s isa) bytes() int { return 4 * s.lanes }

func (s isa) vec() VecVirtual {
	if s.avx512 {
		return ZMM()
	}
	return YMM()
}

func main() {
	ConstraintExpr("amd64,!noasm")
	genTables()
	for _, s := range []isa{avx512, avx2} {
		genDot(s)
		genAxpy(s)
		genScal(s)
		genAddTanh(s)
		genTanhGrad(s)
		genMaxSum(s)
		genExpSum(s)
		for r := 1; r <= s.bcastRows; r++ {
			genBcast(s, fmt.Sprintf("GemmBcast%d%s", r, s.name), r, s.bcastVecs, true)
		}
		genBcast(s, "GemvT"+s.name, 1, s.gemvTVecs, false)
		for _, sh := range s.dotShapes {
			genDotNT(s, sh[0], sh[1], sh[2])
		}
		genGemvN(s)
		if s.avx512 {
			genGemvRows(s) // on AVX2 it never beat GemvN's blocks
			genGemvShortN(s)
			genGemvShortT(s)
		}
		genGemvTrans(s)
		genFMAPeak(s)
		genSumSquares(s)
		genSumSquaresWide(s)
		genSGDUpdate(s)
		genAdagradUpdate(s)
		genAdamUpdate(s, false)
		genAdamUpdate(s, true)
		genMomentumUpdate(s)
		genRMSpropUpdate(s)
	}
	Generate()
}

// ---- constants -------------------------------------------------------------

var (
	maskW16 Mem // 17 uint16 opmasks: entry i has the low i bits set
	// permSum8 gathers lane 0 of each 128-bit lane, then lane 1 (see sum8).
	permSum8 Mem
	maskY8   Mem // 8 words of -1 then 8 of 0: the AVX2 mask for i lanes starts at word 8-i
	consts   = map[string]Mem{}
)

func genTables() {
	maskW16 = GLOBL("tailmask16", RODATA|NOPTR)
	for i := 0; i <= 16; i++ {
		DATA(2*i, U16(uint16(1<<i-1)))
	}
	permSum8 = GLOBL("permsum8", RODATA|NOPTR)
	for i, v := range []uint32{0, 4, 8, 12, 1, 5, 9, 13, 0, 0, 0, 0, 0, 0, 0, 0} {
		DATA(4*i, U32(v))
	}
	maskY8 = GLOBL("tailmask8", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		v := uint32(0)
		if i < 8 {
			v = 0xffffffff
		}
		DATA(4*i, U32(v))
	}
}

// cst returns a 64-byte constant holding bits in every lane, so that it can be
// used directly as a memory operand by both ZMM and YMM instructions.
func cst(name string, bits uint32) Mem {
	if m, ok := consts[name]; ok {
		return m
	}
	m := GLOBL("c_"+name, RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		DATA(4*i, U32(bits))
	}
	consts[name] = m
	return m
}

func cstf(name string, v float32) Mem { return cst(name, math.Float32bits(v)) }

// ---- masks, loads and stores -------------------------------------------------

// mask selects the first cnt lanes of a vector: an opmask register on
// AVX-512, a vector of all-ones words on AVX2 (for VMASKMOVPS).
type mask struct{ r Register }

// tailMask builds the mask of the first cnt lanes, 0 <= cnt <= lanes.
func (s isa) tailMask(cnt Register) mask {
	if s.avx512 {
		// The assembler takes no index register on a static symbol, so
		// the table's address goes into a register first.
		tab := GP64()
		LEAQ(maskW16, tab)
		k := K()
		KMOVW(Mem{Base: tab, Index: cnt, Scale: 2}, k)
		return mask{k}
	}
	t, tab := GP64(), GP64()
	MOVQ(U32(8), t)
	SUBQ(cnt, t)
	LEAQ(maskY8, tab)
	m := YMM()
	VMOVDQU(Mem{Base: tab, Index: t, Scale: 4}, m)
	return mask{m}
}

// load reads one vector; with a mask the lanes outside it read as zero and
// their memory is not touched (no fault past the end of a slice).
func (s isa) load(m Mem, dst VecVirtual, mk *mask) {
	switch {
	case mk == nil:
		VMOVUPS(m, dst)
	case s.avx512:
		VMOVUPS_Z(m, mk.r, dst)
	default:
		VMASKMOVPS(m, mk.r, dst)
	}
}

func (s isa) store(src VecVirtual, m Mem, mk *mask) {
	switch {
	case mk == nil:
		VMOVUPS(src, m)
	case s.avx512:
		VMOVUPS(src, mk.r, m)
	default:
		VMASKMOVPS(src, mk.r, m)
	}
}

// param is the memory operand of a scalar argument or result. Scalars are
// read and written with VEX/EVEX moves, never with SSE MOVSS (which avo's
// Load would use), because SSE cannot reach X16-X31.
func param(c Component) Mem {
	b, err := c.Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

func loadScalar(name string) VecVirtual {
	x := XMM()
	VMOVSS(param(Param(name)), x)
	return x
}

func storeResult(x VecVirtual) { VMOVSS(x.AsX(), param(ReturnIndex(0))) }

func (s isa) broadcast(x Op) VecVirtual {
	v := s.vec()
	VBROADCASTSS(x, v)
	return v
}

func (s isa) zero() VecVirtual {
	v := s.vec()
	if s.avx512 {
		VPXORD(v, v, v) // EVEX VXORPS would need AVX512DQ
	} else {
		VXORPS(v, v, v)
	}
	return v
}

// hsum adds the lanes of v; the result is in lane 0 of the returned XMM.
// op is VADDPS (sum) or VMAXPS (max).
func (s isa) hreduce(v VecVirtual, op func(...Op)) VecVirtual {
	var y VecVirtual = v
	if s.avx512 {
		t := YMM()
		VEXTRACTF64X4(U8(1), v, t)
		op(t, v.AsY(), t)
		y = t
	}
	x := XMM()
	if s.avx512 {
		VEXTRACTF32X4(U8(1), y, x) // VEX VEXTRACTF128 cannot reach Y16-Y31
	} else {
		VEXTRACTF128(U8(1), y, x)
	}
	op(x, y.AsX(), x)
	t := XMM()
	VMOVHLPS(x, x, t)
	op(t, x, x)
	VMOVSHDUP(x, t)
	op(t, x, x)
	return x
}

func vaddps(ops ...Op) { VADDPS(ops...) }
func vmaxps(ops ...Op) { VMAXPS(ops...) }

// text starts a routine. None of them keeps a pointer past its return, so the
// Go declarations say noescape and callers' slices may live on the stack.
func text(name, signature string) {
	TEXT(name, NOSPLIT, signature)
	Pragma("noescape")
}

func ret() {
	VZEROUPPER()
	RET()
}

// vectorLoop emits a loop over n elements, one vector at a time, calling
// body(nil) for every full vector and body(&tailMask) once for the rest.
// After each full vector the pointers advance by one vector.
func (s isa) vectorLoop(prefix string, n Register, ptrs []Register, body func(mk *mask)) {
	Label(prefix + "loop")
	CMPQ(n, U32(s.lanes))
	JL(LabelRef(prefix + "tail"))
	body(nil)
	for _, p := range ptrs {
		ADDQ(U32(s.bytes()), p)
	}
	SUBQ(U32(s.lanes), n)
	JMP(LabelRef(prefix + "loop"))
	Label(prefix + "tail")
	TESTQ(n, n)
	JZ(LabelRef(prefix + "done"))
	mk := s.tailMask(n)
	body(&mk)
	Label(prefix + "done")
}

// ---- BLAS level 1 ------------------------------------------------------------

func genDot(s isa) {
	text("Dot"+s.name, "func(x, y []float32) float32")
	Doc("Dot" + s.name + " returns the sum of x[i]*y[i] over len(x) elements.")
	x := Load(Param("x").Base(), GP64())
	y := Load(Param("y").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	// Four accumulators hide the FMA latency.
	acc := []VecVirtual{s.zero(), s.zero(), s.zero(), s.zero()}
	Label("loop4")
	CMPQ(n, U32(4*s.lanes))
	JL(LabelRef("single"))
	for u := range acc {
		t := s.vec()
		VMOVUPS(Mem{Base: x, Disp: u * s.bytes()}, t)
		VFMADD231PS(Mem{Base: y, Disp: u * s.bytes()}, t, acc[u])
	}
	ADDQ(U32(4*s.bytes()), x)
	ADDQ(U32(4*s.bytes()), y)
	SUBQ(U32(4*s.lanes), n)
	JMP(LabelRef("loop4"))
	Label("single")
	s.vectorLoop("v", n, []Register{x, y}, func(mk *mask) {
		t, u := s.vec(), s.vec()
		s.load(Mem{Base: x}, t, mk)
		s.load(Mem{Base: y}, u, mk)
		VFMADD231PS(u, t, acc[1])
	})
	VADDPS(acc[1], acc[0], acc[0])
	VADDPS(acc[3], acc[2], acc[2])
	VADDPS(acc[2], acc[0], acc[0])
	storeResult(s.hreduce(acc[0], vaddps))
	ret()
}

func genAxpy(s isa) {
	text("Axpy"+s.name, "func(alpha float32, x, y []float32)")
	Doc("Axpy" + s.name + " computes y[i] += alpha*x[i] over len(x) elements.")
	al := s.broadcast(loadScalar("alpha"))
	x := Load(Param("x").Base(), GP64())
	y := Load(Param("y").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	s.vectorLoop("", n, []Register{x, y}, func(mk *mask) {
		t, u := s.vec(), s.vec()
		s.load(Mem{Base: y}, t, mk)
		s.load(Mem{Base: x}, u, mk)
		VFMADD231PS(u, al, t)
		s.store(t, Mem{Base: y}, mk)
	})
	ret()
}

func genScal(s isa) {
	text("Scal"+s.name, "func(alpha float32, x []float32)")
	Doc("Scal" + s.name + " computes x[i] *= alpha.")
	al := s.broadcast(loadScalar("alpha"))
	x := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	s.vectorLoop("", n, []Register{x}, func(mk *mask) {
		t := s.vec()
		s.load(Mem{Base: x}, t, mk)
		VMULPS(al, t, t)
		s.store(t, Mem{Base: x}, mk)
	})
	ret()
}

// ---- fused element-wise ops --------------------------------------------------

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
func (s isa) exp(x VecVirtual) {
	lo := s.vec()
	VMOVUPS(cstf("explo", -87.3), lo)
	VMAXPS(x, lo, x)
	n := s.vec()
	VMULPS(cstf("log2e", math.Log2E), x, n)
	if s.avx512 {
		VRNDSCALEPS(U8(0), n, n) // round to nearest even
	} else {
		VROUNDPS(U8(0), n, n)
	}
	VFNMADD231PS(cstf("ln2hi", 0.693359375), n, x)
	VFNMADD231PS(cstf("ln2lo", -2.12194440e-4), n, x)
	p := s.vec()
	VMOVUPS(cstf("inv5040", 1.0/5040), p)
	for _, c := range []struct {
		name string
		v    float32
	}{{"inv720", 1.0 / 720}, {"inv120", 1.0 / 120}, {"inv24", 1.0 / 24}, {"inv6", 1.0 / 6}, {"half", 0.5}, {"one", 1}, {"one", 1}} {
		VFMADD213PS(cstf(c.name, c.v), x, p) // p = p*x + c
	}
	if s.avx512 {
		VSCALEFPS(n, p, x) // x = p * 2^n
	} else {
		// Add n to the exponent field; n >= -126 thanks to the clamp.
		VCVTPS2DQ(n, n)
		VPSLLD(U8(23), n, n)
		VPADDD(n, p, x)
	}
}

// tanh sets x = tanh(x).
//
// For |x| < 0.5 the odd Taylor series up to x^15 (next term < 5e-9) keeps
// full relative accuracy near 0 (tanh(0) is exactly 0); above, tanh|x| =
// 1 - 2/(e^{2|x|}+1) has no cancellation to fear. |x| is clamped to 9, where
// tanh is 1 to float32 precision; the sign is put back at the end.
func (s isa) tanh(x VecVirtual) {
	and := func(a, b, c Op) { VPAND(a, b, c) }
	or := func(a, b, c Op) { VPOR(a, b, c) }
	if s.avx512 {
		// EVEX VANDPS needs AVX512DQ; VPANDD is AVX512F.
		and = func(a, b, c Op) { VPANDD(a, b, c) }
		or = func(a, b, c Op) { VPORD(a, b, c) }
	}
	sign, ax := s.vec(), s.vec()
	and(cst("signbit", 0x80000000), x, sign)
	and(cst("absmask", 0x7fffffff), x, ax)
	nine := s.vec()
	VMOVUPS(cstf("nine", 9), nine)
	VMINPS(ax, nine, ax) // |x| as second source: NaN stays NaN

	// Large branch: l = 1 - 2/(e^{2|x|} + 1).
	l := s.vec()
	VADDPS(ax, ax, l)
	s.exp(l)
	VADDPS(cstf("one", 1), l, l)
	two := s.vec()
	VMOVUPS(cstf("two", 2), two)
	VDIVPS(l, two, l)
	one := s.vec()
	VMOVUPS(cstf("one", 1), one)
	VSUBPS(l, one, l)

	// Small branch: x + x^3*P(x^2).
	sq, p := s.vec(), s.vec()
	VMULPS(ax, ax, sq)
	VMOVUPS(cstf("t15", -929569.0/638512875), p)
	for _, c := range []struct {
		name string
		v    float64
	}{{"t13", 21844.0 / 6081075}, {"t11", -1382.0 / 155925}, {"t9", 62.0 / 2835}, {"t7", -17.0 / 315}, {"t5", 2.0 / 15}, {"t3", -1.0 / 3}} {
		VFMADD213PS(cstf(c.name, float32(c.v)), sq, p) // p = p*sq + c
	}
	VMULPS(ax, sq, sq)     // sq = |x|^3
	VFMADD213PS(ax, p, sq) // sq = p*|x|^3 + |x|
	if s.avx512 {
		k := K()
		VCMPPS(U8(1), cstf("halfthr", 0.5), ax, k) // k = |x| < 0.5
		VBLENDMPS(sq, l, k, ax)                    // ax = k ? small : large
	} else {
		m := s.vec()
		VCMPPS(U8(1), cstf("halfthr", 0.5), ax, m)
		VBLENDVPS(m, sq, l, ax)
	}
	or(sign, ax, x)
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
	s.vectorLoop("", n, []Register{h, a, col, bias}, func(mk *mask) {
		x, t := s.vec(), s.vec()
		s.load(Mem{Base: a}, x, mk)
		s.load(Mem{Base: col}, t, mk)
		VADDPS(t, x, x)
		s.load(Mem{Base: bias}, t, mk)
		VADDPS(t, x, x)
		s.tanh(x)
		s.store(x, Mem{Base: h}, mk)
	})
	ret()
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

// ---- GEMM micro-kernels ------------------------------------------------------

// genBcast writes GemmBcast{rows}{isa}, the micro-kernel for C = alpha*A*B +
// beta*C where B is read along its rows (NN, TN, and GEMV transposed):
//
//	C[r, 0:nc] = alpha * sum_l a[r*ars + l*als] * b[l*ldb + 0:nc] + beta*C[r, 0:nc]
//
// for r < rows and nc <= bcastVecs*lanes. A block of rows × bcastVecs vectors
// of C stays in registers for the whole k loop; each step loads bcastVecs
// vectors of a row of B and broadcasts one element of A per row of C, so
// every load feeds rows FMAs. When nc is short, masked loads read only the
// columns that exist.
//
// Without masked, nc must be exactly nv vectors: the kernel then needs no
// mask registers, which lets it be wider.
func genBcast(s isa, name string, rows, nv int, masked bool) {
	text(name, "func(k int, a []float32, ars, als int, b []float32, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool)")
	Doc(fmt.Sprintf("%s computes C[r, 0:nc] = alpha * sum_l a[r*ars + l*als] * b[l*ldb + 0:nc] + beta*C[r, 0:nc]", name),
		fmt.Sprintf("for r < %d and nc <= %d; C[r, j] is c[r*ldc + j]. With useBeta false C is not read.", rows, nv*s.lanes))
	if !masked {
		Doc(fmt.Sprintf("%s computes C = alpha * a · B + beta*C", name),
			fmt.Sprintf("for one row a = a[l*als], l < k, and nc == %d columns of B and C. With useBeta false C is not read.", nv*s.lanes))
	}
	k := Load(Param("k"), GP64())
	a0 := Load(Param("a").Base(), GP64())
	ars := Load(Param("ars"), GP64())
	SHLQ(U8(2), ars)
	als := Load(Param("als"), GP64())
	SHLQ(U8(2), als)
	bp := Load(Param("b").Base(), GP64())
	ldb := Load(Param("ldb"), GP64())
	SHLQ(U8(2), ldb)
	// Rows 3..5 of A are addressed from a second base so that every row is
	// base + {0,1,2}*ars with a hardware scale factor.
	var a3 GPVirtual
	if rows > 3 {
		a3 = GP64()
		LEAQ(Mem{Base: a0, Index: ars, Scale: 2}, a3)
		ADDQ(ars, a3)
	}
	aRow := func(r int) Mem {
		base := a0
		if r >= 3 {
			base, r = a3, r-3
		}
		if r == 0 {
			return Mem{Base: base}
		}
		return Mem{Base: base, Index: ars, Scale: uint8(r)}
	}
	// One mask per vector column of the block: lanes nc - v*lanes clamped
	// to [0, lanes].
	masks := make([]mask, nv)
	nc := Load(Param("nc"), GP64())
	for v := 0; v < nv && masked; v++ {
		cnt, lim := GP64(), GP64()
		MOVQ(nc, cnt)
		SUBQ(U32(v*s.lanes), cnt)
		XORQ(lim, lim)
		CMPQ(cnt, lim)
		CMOVQLT(lim, cnt)
		MOVQ(U32(s.lanes), lim)
		CMPQ(cnt, lim)
		CMOVQGT(lim, cnt)
		masks[v] = s.tailMask(cnt)
	}
	acc := make([][]VecVirtual, rows)
	for r := range acc {
		acc[r] = make([]VecVirtual, nv)
		for v := range acc[r] {
			acc[r][v] = s.zero()
		}
	}
	paths := []bool{true, false}
	if !masked {
		paths = paths[:1]
	}
	for _, full := range paths {
		p := "masked"
		if full && masked {
			CMPQ(nc, U32(nv*s.lanes))
			JNE(LabelRef("maskedloop"))
		}
		if full {
			p = "full"
		}
		Label(p + "loop")
		TESTQ(k, k)
		JZ(LabelRef(p + "end"))
		bv := make([]VecVirtual, nv)
		for v := range bv {
			bv[v] = s.vec()
			var mk *mask
			if !full {
				mk = &masks[v]
			}
			s.load(Mem{Base: bp, Disp: v * s.bytes()}, bv[v], mk)
		}
		for r := 0; r < rows; r++ {
			t := s.vec()
			VBROADCASTSS(aRow(r), t)
			for v := 0; v < nv; v++ {
				VFMADD231PS(bv[v], t, acc[r][v])
			}
		}
		ADDQ(als, a0)
		if rows > 3 {
			ADDQ(als, a3)
		}
		ADDQ(ldb, bp)
		DECQ(k)
		JMP(LabelRef(p + "loop"))

		// Epilogue: C = alpha*acc (+ beta*C).
		Label(p + "end")
		cp := Load(Param("c").Base(), GP64())
		ldc := Load(Param("ldc"), GP64())
		SHLQ(U8(2), ldc)
		al := s.broadcast(loadScalar("alpha"))
		for r := range acc {
			for v := range acc[r] {
				VMULPS(al, acc[r][v], acc[r][v])
			}
		}
		ub := Load(Param("useBeta"), GP8())
		TESTB(ub, ub)
		JZ(LabelRef(p + "store"))
		be := s.broadcast(loadScalar("beta"))
		cq := GP64()
		MOVQ(cp, cq)
		for r := range acc {
			for v := range acc[r] {
				t := s.vec()
				var mk *mask
				if !full {
					mk = &masks[v]
				}
				s.load(Mem{Base: cq, Disp: v * s.bytes()}, t, mk)
				VFMADD231PS(t, be, acc[r][v])
			}
			ADDQ(ldc, cq)
		}
		Label(p + "store")
		for r := range acc {
			for v := range acc[r] {
				var mk *mask
				if !full {
					mk = &masks[v]
				}
				s.store(acc[r][v], Mem{Base: cp, Disp: v * s.bytes()}, mk)
			}
			ADDQ(ldc, cp)
		}
		ret()
	}
}

// genDotNT writes DotNT{rows}x{cols}{isa}, the micro-kernel for C = alpha*A*Bᵀ
// + beta*C (and GEMV untransposed, with cols 1): every C[r, j] is the dot
// product of row r of A with row j of B, both contiguous.
//
//	C[r, j] = alpha * sum_l a[r*lda + l] * b[j*ldb + l] + beta*C[r, j]
//
// for r < mr <= rows and j < nc <= cols. rows×cols vector accumulators run
// along l; each step loads one vector of every row of A and B, so rows+cols
// loads feed rows*cols FMAs. Missing rows (r >= mr, j >= nc) read row 0
// again and are not stored. The lanes are added up once at the end.
//
// With unroll > 1 every accumulator is split in unroll partial sums over
// consecutive vectors, for more independent FMA chains when rows*cols is
// small (GEMV).
func genDotNT(s isa, rows, cols, unroll int) {
	name := fmt.Sprintf("DotNT%dx%d%s", rows, cols, s.name)
	text(name, "func(k int, a []float32, lda, mr int, b []float32, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool)")
	Doc(fmt.Sprintf("%s computes C[r, j] = alpha * sum_{l<k} a[r*lda + l] * b[j*ldb + l] + beta*C[r, j]", name),
		fmt.Sprintf("for r < mr <= %d and j < nc <= %d; C[r, j] is c[r*ldc + j]. With useBeta false C is not read.", rows, cols))
	rowPtrs := func(param, ld, cnt string, nrows int) []Register {
		p := make([]Register, nrows)
		p[0] = Load(Param(param).Base(), GP64())
		if nrows == 1 {
			return p
		}
		stride := Load(Param(ld), GP64())
		SHLQ(U8(2), stride)
		count := Load(Param(cnt), GP64())
		for r := 1; r < nrows; r++ {
			p[r] = GP64()
			MOVQ(p[r-1], p[r])
			ADDQ(stride, p[r])
			CMPQ(count, U32(r))
			CMOVQLE(p[0], p[r]) // row r does not exist: read row 0 again
		}
		return p
	}
	pa := rowPtrs("a", "lda", "mr", rows)
	pb := rowPtrs("b", "ldb", "nc", cols)
	acc := s.dotLoop("", Load(Param("k"), GP64()), pa, pb, unroll)
	if cols == 4 && rows == s.lanes/4 {
		s.dotNTStoreTree(acc)
		return
	}
	if cols == 1 && rows == 4 {
		// GEMV: a column of C that is contiguous (ldc 1) is stored as one
		// vector; any other ldc takes the scalar path below.
		ldc := Load(Param("ldc"), GP64())
		CMPQ(ldc, U32(1))
		JNE(LabelRef("scalar"))
		s.dotNTStoreColumn(acc)
		Label("scalar")
	}
	al := loadScalar("alpha")
	be := loadScalar("beta")
	ub := Load(Param("useBeta"), GP8())
	mr := Load(Param("mr"), GP64())
	nc := Load(Param("nc"), GP64())
	cp := Load(Param("c").Base(), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	for r := 0; r < rows; r++ {
		if r > 0 {
			CMPQ(mr, U32(r))
			JLE(LabelRef("done"))
		}
		for j := 0; j < cols; j++ {
			skip := fmt.Sprintf("r%dc%d", r, j)
			if j > 0 {
				CMPQ(nc, U32(j))
				JLE(LabelRef(skip))
			}
			x := s.hreduce(acc[r][j], vaddps)
			VMULSS(al, x, x)
			TESTB(ub, ub)
			JZ(LabelRef(skip + "st"))
			VFMADD231SS(Mem{Base: cp, Disp: 4 * j}, be, x)
			Label(skip + "st")
			VMOVSS(x, Mem{Base: cp, Disp: 4 * j})
			Label(skip)
		}
		ADDQ(ldc, cp)
	}
	Label("done")
	ret()
}

// dotLoop emits the accumulation loop of a DotNT kernel over n elements:
// len(pa)×len(pb) dot products of the rows pa with the rows pb, each split
// in unroll partial sums that are added together at the end. It returns
// acc[r][j], the vector of lane partial sums of row r with row j. Labels
// start with prefix.
func (s isa) dotLoop(prefix string, n Register, pa, pb []Register, unroll int) [][]VecVirtual {
	rows, cols := len(pa), len(pb)
	off := GP64()
	XORQ(off, off)
	// acc[u][r][j]: partial sum u of C[r, j].
	acc := make([][][]VecVirtual, unroll)
	for u := range acc {
		acc[u] = make([][]VecVirtual, rows)
		for r := range acc[u] {
			acc[u][r] = make([]VecVirtual, cols)
			for j := range acc[u][r] {
				acc[u][r][j] = s.zero()
			}
		}
	}
	step := func(u int, mk *mask) {
		bv := make([]VecVirtual, cols)
		for j := range bv {
			bv[j] = s.vec()
			s.load(Mem{Base: pb[j], Index: off, Scale: 1, Disp: u * s.bytes()}, bv[j], mk)
		}
		for r := 0; r < rows; r++ {
			av := s.vec()
			s.load(Mem{Base: pa[r], Index: off, Scale: 1, Disp: u * s.bytes()}, av, mk)
			for j := 0; j < cols; j++ {
				VFMADD231PS(bv[j], av, acc[u][r][j])
			}
		}
	}
	if unroll > 1 {
		Label(prefix + "loopu")
		CMPQ(n, U32(unroll*s.lanes))
		JL(LabelRef(prefix + "loop"))
		for u := 0; u < unroll; u++ {
			step(u, nil)
		}
		ADDQ(U32(unroll*s.bytes()), off)
		SUBQ(U32(unroll*s.lanes), n)
		JMP(LabelRef(prefix + "loopu"))
	}
	Label(prefix + "loop")
	CMPQ(n, U32(s.lanes))
	JL(LabelRef(prefix + "tail"))
	step(0, nil)
	ADDQ(U32(s.bytes()), off)
	SUBQ(U32(s.lanes), n)
	JMP(LabelRef(prefix + "loop"))
	Label(prefix + "tail")
	TESTQ(n, n)
	JZ(LabelRef(prefix + "reduce"))
	mk := s.tailMask(n)
	step(0, &mk)

	Label(prefix + "reduce")
	for u := 1; u < unroll; u++ {
		for r := range acc[0] {
			for j := range acc[0][r] {
				VADDPS(acc[u][r][j], acc[0][r][j], acc[0][r][j])
			}
		}
	}
	return acc[0]
}

// dotNTStoreTree finishes a DotNT kernel with 4 columns and as many rows as
// 128-bit lanes in a vector (4×4 on AVX-512, 2×4 on AVX2): instead of adding
// up each accumulator on its own, a tree of lane shuffles and adds reduces
// all of them at once into one vector whose 128-bit lane r holds C[r, 0:4].
// That lane is then scaled, blended with beta*C and stored with a mask of nc
// columns.
func (s isa) dotNTStoreTree(acc [][]VecVirtual) {
	rows := len(acc)
	var f VecVirtual
	if s.avx512 {
		// v[c*4+r] = acc[r][c]. Level 1 adds 256-bit halves of pairs,
		// level 2 the 128-bit lanes, so that u[c] has in lane r the four
		// partial sums of (r, c).
		v := make([]VecVirtual, 16)
		for r := 0; r < 4; r++ {
			for c := 0; c < 4; c++ {
				v[c*4+r] = acc[r][c]
			}
		}
		u := s.addLanes(s.addHalves(v))
		// Within each lane: e01 = [(r,0) pair sums, (r,1) pair sums], then
		// f = [(r,0) (r,1) (r,2) (r,3)].
		f = s.pairs(s.pairs(u[0], u[1]), s.pairs(u[2], u[3]))
	} else {
		// v[2c+r] = acc[r][c]; w[p] = [v[2p] halves added | v[2p+1]
		// halves added]; two horizontal adds finish the sums.
		v := make([]VecVirtual, 8)
		for r := 0; r < 2; r++ {
			for c := 0; c < 4; c++ {
				v[2*c+r] = acc[r][c]
			}
		}
		w := make([]VecVirtual, 4)
		for p := range w {
			lo, hi := s.vec(), s.vec()
			VPERM2F128(U8(0x20), v[2*p+1], v[2*p], lo) // [x.lo y.lo]
			VPERM2F128(U8(0x31), v[2*p+1], v[2*p], hi) // [x.hi y.hi]
			VADDPS(hi, lo, lo)
			w[p] = lo
		}
		h01, h23 := s.vec(), s.vec()
		VHADDPS(w[1], w[0], h01)
		VHADDPS(w[3], w[2], h23)
		f = s.vec()
		VHADDPS(h23, h01, f)
	}
	al := s.broadcast(loadScalar("alpha"))
	VMULPS(al, f, f)

	nc := Load(Param("nc"), GP64())
	mk := s.tailMask(nc)
	mr := Load(Param("mr"), GP64())
	cp := Load(Param("c").Base(), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	ub := Load(Param("useBeta"), GP8())
	be := s.broadcast(loadScalar("beta"))
	for r := 0; r < rows; r++ {
		if r > 0 {
			CMPQ(mr, U32(r))
			JLE(LabelRef("done"))
		}
		// Copy lane r out first: a VEX/EVEX write to f's low lane would
		// clear the lanes above it.
		x := XMM()
		if r == 0 {
			VMOVAPS(f.AsX(), x)
		} else {
			if s.avx512 {
				VEXTRACTF32X4(U8(r), f, x)
			} else {
				VEXTRACTF128(U8(r), f, x)
			}
		}
		lbl := fmt.Sprintf("store%d", r)
		TESTB(ub, ub)
		JZ(LabelRef(lbl))
		t := XMM()
		if s.avx512 {
			VMOVUPS_Z(Mem{Base: cp}, mk.r, t)
		} else {
			VMASKMOVPS(Mem{Base: cp}, mk.r.(VecVirtual).AsX(), t)
		}
		VFMADD231PS(t, be.AsX(), x)
		Label(lbl)
		if s.avx512 {
			VMOVUPS(x, mk.r, Mem{Base: cp})
		} else {
			VMASKMOVPS(x, mk.r.(VecVirtual).AsX(), Mem{Base: cp})
		}
		ADDQ(ldc, cp)
	}
	Label("done")
	ret()
}

// dotNTStoreColumn finishes a DotNT4x1 kernel whose C column is contiguous:
// the four accumulators are reduced together into one XMM [C0 C1 C2 C3]
// (half the shuffles of four separate reductions), scaled, blended with
// beta*C and stored with a mask of mr lanes.
func (s isa) dotNTStoreColumn(acc [][]VecVirtual) {
	x := s.columnSum(acc)
	al := XMM()
	VBROADCASTSS(param(Param("alpha")), al)
	VMULPS(al, x, x)

	mr := Load(Param("mr"), GP64())
	mk := s.tailMask(mr)
	cp := Load(Param("c").Base(), GP64())
	ub := Load(Param("useBeta"), GP8())
	TESTB(ub, ub)
	JZ(LabelRef("colstore"))
	be, t := XMM(), XMM()
	VBROADCASTSS(param(Param("beta")), be)
	if s.avx512 {
		VMOVUPS_Z(Mem{Base: cp}, mk.r, t)
	} else {
		VMASKMOVPS(Mem{Base: cp}, mk.r.(VecVirtual).AsX(), t)
	}
	VFMADD231PS(t, be, x)
	Label("colstore")
	if s.avx512 {
		VMOVUPS(x, mk.r, Mem{Base: cp})
	} else {
		VMASKMOVPS(x, mk.r.(VecVirtual).AsX(), Mem{Base: cp})
	}
	ret()
}

// The AVX-512 reduction trees below add up many accumulators' lanes at once,
// every accumulator through the same sequence of adds.

// addHalves adds, for each pair x, y of vectors in v, the 256-bit halves of
// each: per 128-bit lane, [x.l0+x.l2, x.l1+x.l3, y.l0+y.l2, y.l1+y.l3].
func (s isa) addHalves(v []VecVirtual) []VecVirtual {
	w := make([]VecVirtual, len(v)/2)
	for p := range w {
		lo, hi := s.vec(), s.vec()
		VSHUFF32X4(U8(0x44), v[2*p+1], v[2*p], lo) // [x.l0 x.l1 y.l0 y.l1]
		VSHUFF32X4(U8(0xEE), v[2*p+1], v[2*p], hi) // [x.l2 x.l3 y.l2 y.l3]
		VADDPS(hi, lo, lo)
		w[p] = lo
	}
	return w
}

// addLanes takes pairs x, y of addHalves' results, each two accumulators'
// worth, and adds their lanes 0+1 and 2+3: lane r of the result holds the
// four partial sums of the r-th of the four accumulators behind x and y.
func (s isa) addLanes(w []VecVirtual) []VecVirtual {
	u := make([]VecVirtual, len(w)/2)
	for q := range u {
		lo, hi := s.vec(), s.vec()
		VSHUFF32X4(U8(0x88), w[2*q+1], w[2*q], lo) // lanes 0, 2 of each
		VSHUFF32X4(U8(0xDD), w[2*q+1], w[2*q], hi) // lanes 1, 3 of each
		VADDPS(hi, lo, lo)
		u[q] = lo
	}
	return u
}

// pairs adds neighbouring elements within each 128-bit lane of x and y:
// [x0+x1, x2+x3, y0+y1, y2+y3].
func (s isa) pairs(x, y VecVirtual) VecVirtual {
	a, b := s.vec(), s.vec()
	VSHUFPS(U8(0x88), y, x, a) // [x0 x2 y0 y2]
	VSHUFPS(U8(0xDD), y, x, b) // [x1 x3 y1 y3]
	VADDPS(b, a, a)
	return a
}

// columnSum adds up the lanes of the four accumulators acc[r][0] of a 4×1
// DotNT block together and returns the XMM [C0 C1 C2 C3] of their sums.
func (s isa) columnSum(acc [][]VecVirtual) VecVirtual {
	v := []VecVirtual{acc[0][0], acc[1][0], acc[2][0], acc[3][0]}
	// Add 128-bit lanes until every row's partial sums fill one lane:
	// u has in lane r (or, on AVX2, in lane r%2 of w[r/2]) four partials.
	var y0, y1 VecVirtual // YMMs with lanes [row0 | row1] and [row2 | row3]
	if s.avx512 {
		// addHalves gives [r0 r0 r1 r1] and [r2 r2 r3 r3] (128-bit
		// lanes), addLanes u = [r0 r1 r2 r3].
		lo := s.addLanes(s.addHalves(v))[0]
		y0, y1 = lo.AsY().(VecVirtual), YMM()
		VEXTRACTF64X4(U8(1), lo, y1)
	} else {
		w := make([]VecVirtual, 2)
		for p := range w {
			lo, hi := s.vec(), s.vec()
			VPERM2F128(U8(0x20), v[2*p+1], v[2*p], lo)
			VPERM2F128(U8(0x31), v[2*p+1], v[2*p], hi)
			VADDPS(hi, lo, lo)
			w[p] = lo
		}
		y0, y1 = w[0], w[1]
	}
	// hadd(y0, y1): lane 0 [r0 r0 r2 r2], lane 1 [r1 r1 r3 r3] (pair sums);
	// hadd again: lane 0 [r0 r2 ...], lane 1 [r1 r3 ...]; interleave.
	h := YMM()
	VHADDPS(y1, y0, h)
	VHADDPS(h, h, h)
	hi := XMM()
	VEXTRACTF128(U8(1), h, hi)
	x := XMM()
	VUNPCKLPS(hi, h.AsX(), x) // [r0 r1 r2 r3]
	return x
}

// genFMAPeak writes FMAPeak{isa}, the yardstick of the GEMM benchmarks: n
// iterations of 12 independent vector FMAs, enough chains to keep two FMA
// pipes busy through a 4-6 cycle latency, with nothing else in the loop but
// the counter. It returns one lane of the result so the work is observable.
func genFMAPeak(s isa) {
	text("FMAPeak"+s.name, "func(n int) float32")
	Doc("FMAPeak"+s.name+" runs n iterations of 12 independent vector FMAs and returns one lane",
		"of their sum: a measure of the FMA throughput of one core.")
	n := Load(Param("n"), GP64())
	x := s.vec()
	VMOVUPS(cstf("fmapeakx", 0.5), x)
	acc := make([]VecVirtual, 12)
	for i := range acc {
		acc[i] = s.zero()
	}
	Label("loop")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	for i := range acc {
		VFMADD231PS(x, x, acc[i])
	}
	DECQ(n)
	JMP(LabelRef("loop"))
	Label("done")
	for i := 1; i < len(acc); i++ {
		VADDPS(acc[i], acc[0], acc[0])
	}
	storeResult(acc[0])
	ret()
}

// ---- optimizer ---------------------------------------------------------------

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
// Widening halves the lanes per instruction: measured, it takes about twice
// as long as SumSquares from L2 (and on AVX2 from L3 too), so the kernels
// package uses it only where SumSquares' float32 lanes fall short.
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

// gemvArgs loads what a whole-GEMV kernel starts from: m, A's base and row
// stride in bytes, and the bases of x and y. With m <= 0 it jumps to "done".
func gemvArgs() (m, a, lda, x, y Register) {
	m = Load(Param("m"), GP64())
	a = Load(Param("a").Base(), GP64())
	lda = Load(Param("lda"), GP64())
	SHLQ(U8(2), lda)
	x = Load(Param("x").Base(), GP64())
	y = Load(Param("y").Base(), GP64())
	TESTQ(m, m)
	JLE(LabelRef("done"))
	return m, a, lda, x, y
}

// genGemvN writes GemvN{isa}: y = alpha*A·x + beta*y for a whole m×n matrix
// in one call. It runs the DotNT4x1 block (the same loop and the same
// reduction, so every y[i] is bit-identical to DotNT4x1's) over the rows
// four at a time; the last block has min(4, rows left) rows, the missing ones
// reading its first row again and not stored.
func genGemvN(s isa) {
	name := "GemvN" + s.name
	text(name, "func(m, n int, a []float32, lda int, x, y []float32, alpha, beta float32, useBeta bool)")
	Doc(fmt.Sprintf("%s computes y[i] = alpha * sum_{l<n} a[i*lda + l] * x[l] + beta*y[i] for i < m,", name),
		"summing each row exactly as DotNT4x1 does. With useBeta false y is not read.")
	m, p0, lda, xp, yp := gemvArgs()
	Label("block")
	pa := []Register{p0, GP64(), GP64(), GP64()}
	for r := 1; r < 4; r++ {
		MOVQ(pa[r-1], pa[r])
		ADDQ(lda, pa[r])
		CMPQ(m, U32(r))
		CMOVQLE(p0, pa[r]) // row r of the block does not exist: read row 0 again
	}
	acc := s.dotLoop("", Load(Param("n"), GP64()), pa, []Register{xp}, 2)
	x := s.columnSum(acc)
	al := XMM()
	VBROADCASTSS(param(Param("alpha")), al)
	VMULPS(al, x, x)
	mr, four := GP64(), GP64()
	MOVQ(m, mr)
	MOVQ(U32(4), four)
	CMPQ(mr, four)
	CMOVQGT(four, mr)
	mk := s.tailMask(mr)
	ub := Load(Param("useBeta"), GP8())
	TESTB(ub, ub)
	JZ(LabelRef("store"))
	be, t := XMM(), XMM()
	VBROADCASTSS(param(Param("beta")), be)
	if s.avx512 {
		VMOVUPS_Z(Mem{Base: yp}, mk.r, t)
	} else {
		VMASKMOVPS(Mem{Base: yp}, mk.r.(VecVirtual).AsX(), t)
	}
	VFMADD231PS(t, be, x)
	Label("store")
	if s.avx512 {
		VMOVUPS(x, mk.r, Mem{Base: yp})
	} else {
		VMASKMOVPS(x, mk.r.(VecVirtual).AsX(), Mem{Base: yp})
	}
	ADDQ(U32(16), yp)
	LEAQ(Mem{Base: p0, Index: lda, Scale: 4}, p0)
	SUBQ(U32(4), m)
	JG(LabelRef("block"))
	Label("done")
	ret()
}

// storeY finishes a transposed GEMV's strip: y[v] = acc[v] (already scaled
// by alpha) + beta*y[v] for the strip's vectors at yp, y not read when the
// useBeta argument is false; masked(v) is vector v's mask, or nil.
func (s isa) storeY(prefix string, acc []VecVirtual, yp Register, masked func(v int) *mask) {
	ub := Load(Param("useBeta"), GP8())
	TESTB(ub, ub)
	JZ(LabelRef(prefix + "store"))
	be := s.broadcast(param(Param("beta")))
	for v := range acc {
		c := s.vec()
		s.load(Mem{Base: yp, Disp: v * s.bytes()}, c, masked(v))
		VFMADD231PS(c, be, acc[v])
	}
	Label(prefix + "store")
	for v := range acc {
		s.store(acc[v], Mem{Base: yp, Disp: v * s.bytes()}, masked(v))
	}
}

// genGemvTrans writes GemvTrans{isa}: yᵀ = alpha*xᵀA + beta*yᵀ for a whole
// m×n matrix in one call. Strips of gemvTVecs vectors of y are held in
// registers while all m rows stream past them, then one last strip of as
// many vectors as the columns left need, its last vector masked. Every y[j]
// is summed over the rows in order, exactly as GemvT and GemmBcast1 do.
func genGemvTrans(s isa) {
	name := "GemvTrans" + s.name
	text(name, "func(m, n int, a []float32, lda int, x, y []float32, alpha, beta float32, useBeta bool)")
	Doc(fmt.Sprintf("%s computes y[j] = alpha * sum_{l<m} x[l] * a[l*lda + j] + beta*y[j] for j < n,", name),
		"summing each column exactly as GemvT and GemmBcast1 do. With useBeta false y is not read.")
	W := s.gemvTVecs
	width := W * s.lanes
	n := Load(Param("n"), GP64())
	bp := Load(Param("a").Base(), GP64())
	yp := Load(Param("y").Base(), GP64())
	lda := Load(Param("lda"), GP64())
	SHLQ(U8(2), lda)

	// strip emits one sweep over the rows for nv vectors of y at bp, yp;
	// with mk the last of them is masked.
	strip := func(prefix string, nv int, mk *mask) {
		ap, xq := GP64(), Load(Param("x").Base(), GP64())
		MOVQ(bp, ap)
		k := Load(Param("m"), GP64())
		acc := make([]VecVirtual, nv)
		for v := range acc {
			acc[v] = s.zero()
		}
		masked := func(v int) *mask {
			if v == nv-1 {
				return mk
			}
			return nil
		}
		Label(prefix + "row")
		TESTQ(k, k)
		JZ(LabelRef(prefix + "end"))
		t := s.vec()
		VBROADCASTSS(Mem{Base: xq}, t)
		for v := range acc {
			if mkv := masked(v); mkv != nil {
				b := s.vec()
				s.load(Mem{Base: ap, Disp: v * s.bytes()}, b, mkv)
				VFMADD231PS(b, t, acc[v])
			} else {
				VFMADD231PS(Mem{Base: ap, Disp: v * s.bytes()}, t, acc[v])
			}
		}
		ADDQ(lda, ap)
		ADDQ(U32(4), xq)
		DECQ(k)
		JMP(LabelRef(prefix + "row"))

		Label(prefix + "end")
		al := s.broadcast(loadScalar("alpha"))
		for v := range acc {
			VMULPS(al, acc[v], acc[v])
		}
		s.storeY(prefix, acc, yp, masked)
	}

	Label("strip")
	CMPQ(n, U32(width))
	JL(LabelRef("last"))
	strip("full", W, nil)
	ADDQ(U32(4*width), bp)
	ADDQ(U32(4*width), yp)
	SUBQ(U32(width), n)
	JMP(LabelRef("strip"))

	// 0 < n < width columns are left: a strip of ceil(n/lanes) vectors.
	Label("last")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	for v := 1; v < W; v++ {
		CMPQ(n, U32(v*s.lanes))
		JLE(LabelRef(fmt.Sprintf("last%d", v)))
	}
	for v := W; v >= 1; v-- {
		Label(fmt.Sprintf("last%d", v))
		SUBQ(U32((v-1)*s.lanes), n)
		mk := s.tailMask(n)
		strip(fmt.Sprintf("last%d", v), v, &mk)
		if v > 1 {
			JMP(LabelRef("done"))
		}
	}
	Label("done")
	ret()
}

// genGemvRows writes GemvRows{isa}: y = alpha*A*x + beta*y one row at a
// time, in memory order. One ascending stream is what the prefetchers follow
// best: a long-row matrix streams from L2 about half as fast again as with
// GemvN's four interleaved rows (and walking the rows backwards, to reuse
// what the previous call left in L2, made it slower, not faster). Short rows
// are GemvN's: one row's horizontal sum is too short to hide its latency.
func genGemvRows(s isa) {
	name := "GemvRows" + s.name
	text(name, "func(m, n int, a []float32, lda int, x, y []float32, alpha, beta float32, useBeta bool)")
	Doc(fmt.Sprintf("%s computes y[i] = alpha * sum_{l<n} a[i*lda + l] * x[l] + beta*y[i] for i < m,", name),
		"one row after the other. With useBeta false y is not read.")
	m, p, lda, xp, yp := gemvArgs()
	Label("row")
	acc := s.dotLoop("", Load(Param("n"), GP64()), []Register{p}, []Register{xp}, 8)
	x := s.hreduce(acc[0][0], vaddps)
	VMULSS(param(Param("alpha")), x, x)
	ub := Load(Param("useBeta"), GP8())
	TESTB(ub, ub)
	JZ(LabelRef("store"))
	be := loadScalar("beta")
	VFMADD231SS(Mem{Base: yp}, be, x)
	Label("store")
	VMOVSS(x, Mem{Base: yp})
	ADDQ(U32(4), yp)
	ADDQ(lda, p)
	DECQ(m)
	JNZ(LabelRef("row"))
	Label("done")
	ret()
}

// shortVecs is the most vectors a row (GemvShortN) or the output
// (GemvShortT) of a short GEMV may span: 128 floats on AVX-512.
const shortVecs = 8

// shortDispatch emits a jump on nv = ceil(n/lanes) in 1..shortVecs to one
// copy of body per nv, each generated for its own register count.
func (s isa) shortDispatch(n Register, body func(prefix string, nv int)) {
	for v := 1; v < shortVecs; v++ {
		CMPQ(n, U32(v*s.lanes))
		JLE(LabelRef(fmt.Sprintf("nv%d", v)))
	}
	for v := shortVecs; v >= 1; v-- {
		Label(fmt.Sprintf("nv%d", v))
		body(fmt.Sprintf("nv%d", v), v)
		JMP(LabelRef("done"))
	}
}

// lastMask is the mask of the last of nv vectors over n floats.
func (s isa) lastMask(n Register, nv int) mask {
	cnt := GP64()
	MOVQ(n, cnt)
	SUBQ(U32((nv-1)*s.lanes), cnt)
	return s.tailMask(cnt)
}

// genGemvShortN writes GemvShortN{isa}: y = alpha*A*x + beta*y for rows of
// at most shortVecs vectors, the recurrence's GEMV at small H. x stays in
// registers; eight rows at a time each get one accumulator, so there are
// eight independent FMA chains and no x reloads, and one shuffle tree adds
// up all eight at once. A row sums the same way wherever it falls in its
// group, so the result does not depend on m.
func genGemvShortN(s isa) {
	const R = 8 // rows per group: the eight lanes of the YMM stored to y
	name := "GemvShortN" + s.name
	text(name, "func(m, n int, a []float32, lda int, x, y []float32, alpha, beta float32, useBeta bool)")
	Doc(fmt.Sprintf("%s computes y[i] = alpha * sum_{l<n} a[i*lda + l] * x[l] + beta*y[i] for i < m", name),
		fmt.Sprintf("and 0 < n <= %d. With useBeta false y is not read.", shortVecs*16))
	n := Load(Param("n"), GP64())
	s.shortDispatch(n, func(prefix string, nv int) {
		mk := s.lastMask(n, nv)
		xp := Load(Param("x").Base(), GP64())
		xs := make([]VecVirtual, nv)
		for v := range xs {
			xs[v] = s.vec()
			var vm *mask
			if v == nv-1 {
				vm = &mk
			}
			s.load(Mem{Base: xp, Disp: v * s.bytes()}, xs[v], vm)
		}
		idx := s.vec()
		VMOVUPS(permSum8, idx)
		al, be := YMM(), YMM()
		VBROADCASTSS(param(Param("alpha")), al)
		VBROADCASTSS(param(Param("beta")), be)
		rem := Load(Param("m"), GP64())
		pa := Load(Param("a").Base(), GP64())
		lda := Load(Param("lda"), GP64())
		SHLQ(U8(2), lda)
		yp := Load(Param("y").Base(), GP64())

		Label(prefix + "group")
		TESTQ(rem, rem)
		JLE(LabelRef("done"))
		// Row r of the group, or row 0 again past the end of A.
		p := make([]Register, R)
		p[0] = pa
		for r := 1; r < R; r++ {
			p[r] = GP64()
			MOVQ(p[r-1], p[r])
			ADDQ(lda, p[r])
			CMPQ(rem, U32(r))
			CMOVQLE(pa, p[r])
		}
		acc := make([]VecVirtual, R)
		for v := 0; v < nv; v++ {
			for r := range acc {
				src := Op(Mem{Base: p[r], Disp: v * s.bytes()})
				if v == nv-1 {
					t := s.vec()
					s.load(Mem{Base: p[r], Disp: v * s.bytes()}, t, &mk)
					src = t
				}
				if v == 0 {
					acc[r] = s.vec()
					VMULPS(src, xs[v], acc[r]) // exactly FMA onto zero
				} else {
					VFMADD231PS(src, xs[v], acc[r])
				}
			}
		}
		f := s.sum8(acc, idx)
		VMULPS(al, f, f)
		cnt := GP64()
		MOVQ(U32(R), cnt)
		CMPQ(rem, cnt)
		CMOVQLT(rem, cnt)
		rm := s.tailMask(cnt)
		ub := Load(Param("useBeta"), GP8())
		TESTB(ub, ub)
		JZ(LabelRef(prefix + "store"))
		t := YMM()
		VMOVUPS_Z(Mem{Base: yp}, rm.r, t)
		VFMADD231PS(t, be, f)
		Label(prefix + "store")
		VMOVUPS(f, rm.r, Mem{Base: yp})
		ADDQ(U32(4*R), yp)
		LEAQ(Mem{Base: pa, Index: lda, Scale: R}, pa)
		SUBQ(U32(R), rem)
		JMP(LabelRef(prefix + "group"))
	})
	Label("done")
	ret()
}

// sum8 adds up the lanes of each of eight AVX-512 accumulators and returns
// the YMM of the eight sums, in order. Every accumulator takes the same
// path through the tree: 256-bit halves, then 128-bit lanes, then pairs.
func (s isa) sum8(acc []VecVirtual, idx VecVirtual) VecVirtual {
	// u[q] has in lane r the four partial sums of accumulator 4q+r.
	u := s.addLanes(s.addHalves(acc))
	p := s.pairs(u[0], u[1]) // lane r: halves of r, then of r+4
	q := s.pairs(p, p)       // lane r: [sum r, sum r+4, sum r, sum r+4]
	f := s.vec()
	VPERMPS(q, idx, f)
	return f.AsY().(VecVirtual)
}

// genGemvShortT writes GemvShortT{isa}: yᵀ = alpha*xᵀA + beta*yᵀ for an
// output of at most shortVecs vectors, the backward recurrence's GEMV at
// small H. The whole of y is in registers, twice: even rows add into one
// set and odd rows into the other, which halves the FMA chains' length
// (one set alone waits on FMA latency), and the two are added at the end.
// A column's sum does not depend on the others, so neither on n.
func genGemvShortT(s isa) {
	name := "GemvShortT" + s.name
	text(name, "func(m, n int, a []float32, lda int, x, y []float32, alpha, beta float32, useBeta bool)")
	Doc(fmt.Sprintf("%s computes y[j] = alpha * sum_{l<m} x[l] * a[l*lda + j] + beta*y[j] for j < n", name),
		fmt.Sprintf("and 0 < n <= %d: the even rows' sum plus the odd rows'. With useBeta false y is not read.", shortVecs*16))
	n := Load(Param("n"), GP64())
	s.shortDispatch(n, func(prefix string, nv int) {
		mk := s.lastMask(n, nv)
		masked := func(v int) *mask {
			if v == nv-1 {
				return &mk
			}
			return nil
		}
		even, odd := make([]VecVirtual, nv), make([]VecVirtual, nv)
		for v := range even {
			even[v], odd[v] = s.zero(), s.zero()
		}
		ap := Load(Param("a").Base(), GP64())
		xq := Load(Param("x").Base(), GP64())
		lda := Load(Param("lda"), GP64())
		SHLQ(U8(2), lda)
		k := Load(Param("m"), GP64())
		fma := func(acc []VecVirtual, row Mem, xv VecVirtual) {
			for v := range acc {
				m := row
				m.Disp += v * s.bytes()
				if mv := masked(v); mv != nil {
					t := s.vec()
					s.load(m, t, mv)
					VFMADD231PS(t, xv, acc[v])
				} else {
					VFMADD231PS(m, xv, acc[v])
				}
			}
		}
		Label(prefix + "pair")
		CMPQ(k, U32(2))
		JL(LabelRef(prefix + "single"))
		x0, x1 := s.broadcast(Mem{Base: xq}), s.broadcast(Mem{Base: xq, Disp: 4})
		fma(even, Mem{Base: ap}, x0)
		fma(odd, Mem{Base: ap, Index: lda, Scale: 1}, x1)
		LEAQ(Mem{Base: ap, Index: lda, Scale: 2}, ap)
		ADDQ(U32(8), xq)
		SUBQ(U32(2), k)
		JMP(LabelRef(prefix + "pair"))

		Label(prefix + "single")
		TESTQ(k, k)
		JZ(LabelRef(prefix + "end"))
		fma(even, Mem{Base: ap}, s.broadcast(Mem{Base: xq}))

		Label(prefix + "end")
		al := s.broadcast(param(Param("alpha")))
		for v := range even {
			VADDPS(odd[v], even[v], even[v])
			VMULPS(al, even[v], even[v])
		}
		s.storeY(prefix, even, Load(Param("y").Base(), GP64()), masked)
	})
	Label("done")
	ret()
}
