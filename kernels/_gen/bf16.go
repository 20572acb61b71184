package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// genBF16 writes the bfloat16 kernels, for AVX-512 with AVX512_BF16 only:
// conversion from float32 (plain, transposing, and into pairs of rows for
// the GEMM), the GEMM and GEMV with bfloat16 operands and float32
// accumulation, and BF16Peak, the probe of VDPBF16PS throughput. The BF16
// instructions are placeholders encoded into bytes after avo has run
// (bf16enc.go).
//
// Every dot product is summed in a fixed order, so that an output depends
// only on its operands and k: the GEMM (broadcast form, genGemmBF16Block)
// gives each output one lane of one accumulator, which adds the pairs of k
// in order, the odd element of a pair first, as VDPBF16PS does; the GEMV
// spreads a row's 32-element steps over eight accumulators, lane q taking
// elements 2q and 2q+1 of each, adds them, then adds the 16 lanes by one
// fixed tree (reduce.go). The pure-Go twins in internal/asm repeat exactly
// this.
func genBF16(s isa) {
	if !s.avx512 {
		return
	}
	genToBF16(s)
	genToBF16T(s, false)
	genToBF16Pairs(s)
	genToBF16T(s, true)
	genGemmBF16(s)
	genGemvBF16(s)
	genDPBF16(s)
	genBF16Peak(s)
}

// maskD32 is 33 uint32 opmasks: entry i has the low i bits set (word masks
// of a ZMM).
func maskD32() Mem {
	return global("tailmask32", func() {
		for i := 0; i <= 32; i++ {
			DATA(4*i, U32(uint32(1<<i-1)))
		}
	})
}

// wordTailMask returns the opmask of the first cnt (0-32) words of a ZMM.
func wordTailMask(cnt Register) Register {
	tab := GP64()
	LEAQ(maskD32(), tab)
	k := K()
	KMOVD(Mem{Base: tab, Index: cnt, Scale: 4}, k)
	return k
}

// genToBF16 writes ToBF16{isa}: dst[i] = bf16(src[i]) for i < len(src), 32
// at a time with VCVTNE2PS2BF16, the rest 16 at a time with masks.
func genToBF16(s isa) {
	name := "ToBF16" + s.name
	text(name, "func(dst []uint16, src []float32)")
	Doc(name+" rounds src[i] to bfloat16 into dst[i] for i < len(src): round to nearest even,",
		"NaN kept NaN (quieted), subnormal inputs flushed to zero of their sign.")
	n := Load(Param("src").Len(), GP64())
	sp := Load(Param("src").Base(), GP64())
	dp := Load(Param("dst").Base(), GP64())
	Label("loop")
	CMPQ(n, U32(32))
	JL(LabelRef("tail"))
	lo, hi, out := s.vec(), s.vec(), s.vec()
	VMOVUPS(Mem{Base: sp}, lo)
	VMOVUPS(Mem{Base: sp, Disp: 64}, hi)
	vcvtne2ps2bf16(lo, hi, out) // low words from lo
	VMOVDQU32(out, Mem{Base: dp})
	ADDQ(U32(128), sp)
	ADDQ(U32(64), dp)
	SUBQ(U32(32), n)
	JMP(LabelRef("loop"))

	Label("tail")
	TESTQ(n, n)
	JLE(LabelRef("done"))
	cnt, sixteen := GP64(), GP64()
	MOVQ(n, cnt)
	MOVQ(U32(16), sixteen)
	CMPQ(cnt, sixteen)
	CMOVQGT(sixteen, cnt)
	mk := s.tailMask(cnt) // also the mask of cnt words of a YMM
	v, y := s.vec(), YMM()
	VMOVUPS_Z(Mem{Base: sp}, mk.r, v)
	vcvtneps2bf16(v, y)
	VMOVDQU16(y, mk.r, Mem{Base: dp})
	ADDQ(U32(64), sp)
	ADDQ(U32(32), dp)
	SUBQ(U32(16), n)
	JMP(LabelRef("tail"))
	Label("done")
	ret()
}

// genToBF16Pairs writes ToBF16Pairs{isa}: two rows converted to bfloat16
// and interleaved, 16 columns at a time (VCVTNE2PS2BF16 puts the two rows'
// words side by side, VPERMW interleaves them), the rest with masks.
func genToBF16Pairs(s isa) {
	name := "ToBF16Pairs" + s.name
	text(name, "func(dst []uint16, lo, hi []float32)")
	Doc(name+" computes dst[2j] = bf16(lo[j]) and dst[2j+1] = bf16(hi[j]) for j < len(lo),",
		"rounding as ToBF16 does.")
	n := Load(Param("lo").Len(), GP64())
	lp := Load(Param("lo").Base(), GP64())
	hp := Load(Param("hi").Base(), GP64())
	dp := Load(Param("dst").Base(), GP64())
	idx := s.vec()
	VMOVDQU16(interleaveWords(), idx)
	pack := func(mk *mask) {
		l, h, w := s.vec(), s.vec(), s.vec()
		s.load(Mem{Base: lp}, l, mk)
		s.load(Mem{Base: hp}, h, mk)
		vcvtne2ps2bf16(l, h, w) // low words from lo
		VPERMW(w, idx, w)
		if mk == nil {
			VMOVDQU32(w, Mem{Base: dp})
		} else {
			VMOVDQU32(w, mk.r, Mem{Base: dp})
		}
	}
	Label("loop")
	CMPQ(n, U32(s.lanes))
	JL(LabelRef("tail"))
	pack(nil)
	ADDQ(U32(s.bytes()), lp)
	ADDQ(U32(s.bytes()), hp)
	ADDQ(U32(s.bytes()), dp)
	SUBQ(U32(s.lanes), n)
	JMP(LabelRef("loop"))
	Label("tail")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	mk := s.tailMask(n)
	pack(&mk)
	Label("done")
	ret()
}

// interleaveWords is the VPERMW index that interleaves the two halves of a
// ZMM's 32 words: word 2j from word j, word 2j+1 from word 16+j.
func interleaveWords() Mem {
	return global("interleavewords", func() {
		for j := 0; j < 16; j++ {
			DATA(4*j, U16(uint16(j)))
			DATA(4*j+2, U16(uint16(16+j)))
		}
	})
}

// genToBF16T writes ToBF16T{isa} and, with pairs, ToBF16PairsT{isa}: one
// strip of 16 rows of src, converted and transposed, 16×16 tiles at a time.
// Each tile is loaded as 16 row vectors (with pairs, 32 floats of a row
// converted into 16 pairs of bfloat16, one dword each), transposed in
// registers (four rounds of 16 shuffles) and every column stored as a row
// of dst (without pairs, converted first). A pair is moved as one float32
// would be, so the same shuffles transpose both.
func genToBF16T(s isa, pairs bool) {
	unit, sz := "cols", 1 // sz: log2 of a dst element's words
	if pairs {
		unit, sz = "pairs", 2
		name := "ToBF16PairsT" + s.name
		text(name, "func(dst []uint16, ldd int, src []float32, lds, pairs int)")
		Doc(name+" packs the transpose of src pair-packed: dst[2*(p*ldd + i) + e] =",
			"bf16(src[i*lds + 2p + e]) for i < 16, p < pairs and e < 2, pairs a multiple of 16,",
			"rounding as ToBF16 does.")
	} else {
		name := "ToBF16T" + s.name
		text(name, "func(dst []uint16, ldd int, src []float32, lds, cols int)")
		Doc(name+" computes dst[j*ldd + i] = bf16(src[i*lds + j]) for i < 16 and j < cols,",
			"cols a multiple of 16, rounding as ToBF16 does.")
	}
	cols := Load(Param(unit), GP64())
	lds := Load(Param("lds"), GP64())
	SHLQ(U8(2), lds)
	lds3 := GP64()
	LEAQ(Mem{Base: lds, Index: lds, Scale: 2}, lds3)
	ldd := Load(Param("ldd"), GP64())
	SHLQ(U8(sz), ldd)
	ldd3 := GP64()
	LEAQ(Mem{Base: ldd, Index: ldd, Scale: 2}, ldd3)
	// Rows 4q..4q+3 of the tile (of src, and of dst's tile) are addressed
	// from base q.
	sb := make([]Register, 4)
	db := make([]Register, 4)
	sb[0] = Load(Param("src").Base(), GP64())
	db[0] = Load(Param("dst").Base(), GP64())
	for q := 1; q < 4; q++ {
		sb[q], db[q] = GP64(), GP64()
		LEAQ(Mem{Base: sb[q-1], Index: lds, Scale: 4}, sb[q])
		LEAQ(Mem{Base: db[q-1], Index: ldd, Scale: 4}, db[q])
	}
	row := func(base []Register, ld, ld3 Register, r int) Mem {
		b := base[r/4]
		switch r % 4 {
		case 0:
			return Mem{Base: b}
		case 3:
			return Mem{Base: b, Index: ld3, Scale: 1}
		}
		return Mem{Base: b, Index: ld, Scale: uint8(r % 4)}
	}
	Label("tile")
	TESTQ(cols, cols)
	JLE(LabelRef("done"))
	r := make([]VecVirtual, 16)
	for i := range r {
		r[i] = s.vec()
		m := row(sb, lds, lds3, i)
		VMOVUPS(m, r[i])
		if pairs {
			hi := s.vec()
			VMOVUPS(m.Offset(64), hi)
			vcvtne2ps2bf16(r[i], hi, r[i]) // low words from the first 16
		}
	}
	// Interleave rows pairwise, then pairs of pairs: u[4q+e] holds in
	// 128-bit lane L column 4L+e of rows 4q..4q+3.
	t := make([]VecVirtual, 16)
	for p := 0; p < 8; p++ {
		t[2*p], t[2*p+1] = s.vec(), s.vec()
		VUNPCKLPS(r[2*p+1], r[2*p], t[2*p])   // [a0 b0 a1 b1] per lane
		VUNPCKHPS(r[2*p+1], r[2*p], t[2*p+1]) // [a2 b2 a3 b3]
	}
	u := make([]VecVirtual, 16)
	for q := 0; q < 4; q++ {
		for e := range 4 {
			u[4*q+e] = s.vec()
		}
		VUNPCKLPD(t[4*q+2], t[4*q], u[4*q])     // [a0 b0 c0 d0]
		VUNPCKHPD(t[4*q+2], t[4*q], u[4*q+1])   // [a1 b1 c1 d1]
		VUNPCKLPD(t[4*q+3], t[4*q+1], u[4*q+2]) // [a2 b2 c2 d2]
		VUNPCKHPD(t[4*q+3], t[4*q+1], u[4*q+3]) // [a3 b3 c3 d3]
	}
	// Column 4L+e gathers lane L of u[e], u[4+e], u[8+e], u[12+e].
	for e := 0; e < 4; e++ {
		v := make([]VecVirtual, 4)
		for i := range v {
			v[i] = s.vec()
		}
		VSHUFF32X4(U8(0x44), u[4+e], u[e], v[0])    // [x0.L0 x0.L1 x1.L0 x1.L1]
		VSHUFF32X4(U8(0xEE), u[4+e], u[e], v[1])    // [x0.L2 x0.L3 x1.L2 x1.L3]
		VSHUFF32X4(U8(0x44), u[12+e], u[8+e], v[2]) // [x2.L0 x2.L1 x3.L0 x3.L1]
		VSHUFF32X4(U8(0xEE), u[12+e], u[8+e], v[3]) // [x2.L2 x2.L3 x3.L2 x3.L3]
		for L := 0; L < 4; L++ {
			col := s.vec()
			imm := U8(0x88) // lanes 0 and 2 of each
			if L%2 == 1 {
				imm = U8(0xDD) // lanes 1 and 3
			}
			VSHUFF32X4(imm, v[2+L/2], v[L/2], col)
			if pairs {
				VMOVDQU32(col, row(db, ldd, ldd3, 4*L+e))
				continue
			}
			y := YMM()
			vcvtneps2bf16(col, y)
			VMOVDQU32(y, row(db, ldd, ldd3, 4*L+e))
		}
	}
	for q := 0; q < 4; q++ {
		ADDQ(U32(64*sz), sb[q])
		LEAQ(Mem{Base: db[q], Index: ldd, Scale: 8}, db[q])
		LEAQ(Mem{Base: db[q], Index: ldd, Scale: 8}, db[q])
	}
	SUBQ(U32(16), cols)
	JMP(LabelRef("tile"))
	Label("done")
	ret()
}

// The broadcast-form GEMM's register block: a kernel keeps up to
// bf16GemmRows rows × bf16GemmVecs vectors of C (16 columns each) in
// accumulators for the whole k loop. Each step of two k loads bf16GemmVecs
// vectors of pairs of B and broadcasts one pair of A per row, so every
// load of B feeds bf16GemmRows VDPBF16PS and no sum needs reducing across
// lanes at the end.
const (
	bf16GemmRows = 6
	bf16GemmVecs = 4
)

// genGemmBF16 writes GemmBF16{rows}{isa}, the micro-kernels of C =
// alpha*A·B + beta*C with bfloat16 operands (see genGemmBF16Block), for
// every block height 1..bf16GemmRows.
func genGemmBF16(s isa) {
	for r := 1; r <= bf16GemmRows; r++ {
		genGemmBF16Block(s, r)
	}
}

// genGemmBF16Block writes the kernel for rows rows of C against all nc
// columns of a pair-packed B (k×n stored as ⌈k/2⌉ rows of ldb pairs, the pair
// (B[2p, j], B[2p+1, j]) one dword at b + 4*(p*ldb + j), a last odd row
// paired with zeros). A is row-major (element (r, l) at word r*lda + l).
//
// C[r, j0:j0+16] is one accumulator; at step p it gets VDPBF16PS of the
// pair of A broadcast to every lane and of the vector of pairs of B, so
// every output is one chain over p in order, whatever the block: the
// result depends on its row of A, its column of B and k only. With odd k
// the last element of a row of A is read as one word and paired with a
// zero (its neighbour in memory is outside A).
func genGemmBF16Block(s isa, rows int) {
	name := fmt.Sprintf("GemmBF16%d%s", rows, s.name)
	text(name, "func(k int, a []uint16, lda int, b []uint16, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool)")
	Doc(fmt.Sprintf("%s computes C[r, j] = alpha * sum_{l<k} a[r*lda + l] * B[l, j] + beta*C[r, j]", name),
		fmt.Sprintf("for r < %d and j < nc over bfloat16 a and B, B pair-packed (ldb pairs a row),", rows),
		"accumulating in float32; C[r, j] is c[r*ldc + j]. With useBeta false C is not read.")
	lda := Load(Param("lda"), GP64())
	SHLQ(U8(1), lda)
	var lda3 GPVirtual
	if rows > 3 {
		lda3 = GP64()
		LEAQ(Mem{Base: lda, Index: lda, Scale: 2}, lda3)
	}
	ldb := Load(Param("ldb"), GP64())
	SHLQ(U8(2), ldb)
	bp := Load(Param("b").Base(), GP64())
	cp := Load(Param("c").Base(), GP64())
	nc := Load(Param("nc"), GP64())

	// Blocks of bf16GemmVecs vectors while more than one vector's columns
	// are left, then, for the last 1-16 columns, a block of one vector
	// rather than one of mostly masked-off lanes.
	block := func(prefix string, nv, above int) {
		Label(prefix)
		CMPQ(nc, U32(above))
		JLE(LabelRef(prefix + "end"))
		gemmBF16Columns(s, prefix, nv, rows, gemmBF16Ptrs{lda: lda, lda3: lda3, ldb: ldb, bp: bp, cp: cp, nc: nc})
		JMP(LabelRef(prefix))
		Label(prefix + "end")
	}
	block("wide", bf16GemmVecs, s.lanes)
	block("narrow", 1, 0)
	ret()
}

// gemmBF16Ptrs are the registers a GEMM kernel's blocks share: strides in
// bytes (lda3 is 3·lda, for row-major A of more than 3 rows), the next
// block's B and C and the columns left.
type gemmBF16Ptrs struct {
	lda, lda3, ldb, bp, cp, nc Register
}

// gemmBF16Columns emits one block of genGemmBF16Block: rows × nv vectors
// of C over all of k, then bp, cp and nc moved on to the next block.
func gemmBF16Columns(s isa, prefix string, nv, rows int, g gemmBF16Ptrs) {
	lda, lda3, ldb, bp, cp, nc := g.lda, g.lda3, g.ldb, g.bp, g.cp, g.nc
	// One mask per vector column of the block.
	masks := make([]mask, nv)
	for v := range masks {
		masks[v] = s.vectorMask(nc, v, false)
	}
	// Rows 4 and up of A are addressed from a second base, so that every
	// row is a base plus 0-3 strides.
	aq := Load(Param("a").Base(), GP64())
	var a4 GPVirtual
	if rows > 4 {
		a4 = GP64()
		LEAQ(Mem{Base: aq, Index: lda, Scale: 4}, a4)
	}
	aAt := func(r int) Mem {
		base := aq
		if r >= 4 {
			base, r = a4, r-4
		}
		switch r {
		case 0:
			return Mem{Base: base}
		case 3:
			return Mem{Base: base, Index: lda3, Scale: 1}
		}
		return Mem{Base: base, Index: lda, Scale: uint8(r)}
	}
	// C's block is fetched now, so that the epilogue does not stall on it
	// (see genBcast).
	{
		ldc := Load(Param("ldc"), GP64())
		SHLQ(U8(2), ldc)
		s.prefetchBlock(cp, ldc, rows, nv)
	}
	bq := GP64()
	MOVQ(bp, bq)
	// The accumulators start as zeros loaded from memory: avo takes
	// VPXORD v, v, v for a read of v, which would keep one block's
	// accumulators live through the other block, where registers run out.
	acc := make([][]VecVirtual, rows)
	for r := range acc {
		acc[r] = make([]VecVirtual, nv)
		for v := range acc[r] {
			acc[r][v] = s.vec()
			VMOVUPS(cst("zero", 0), acc[r][v])
		}
	}
	loadB := func() []VecVirtual {
		bv := make([]VecVirtual, nv)
		for v := range bv {
			bv[v] = s.vec()
			VMOVDQU32_Z(Mem{Base: bq, Disp: v * s.bytes()}, masks[v].r, bv[v])
		}
		return bv
	}
	steps := Load(Param("k"), GP64())
	SHRQ(U8(1), steps)
	Label(prefix + "kloop")
	TESTQ(steps, steps)
	JZ(LabelRef(prefix + "kend"))
	bv := loadB()
	for r := range acc {
		t := s.vec()
		VPBROADCASTD(aAt(r), t)
		for v := range bv {
			vdpbf16ps(bv[v], t, acc[r][v])
		}
	}
	ADDQ(ldb, bq)
	ADDQ(U32(4), aq)
	if rows > 4 {
		ADDQ(U32(4), a4)
	}
	DECQ(steps)
	JMP(LabelRef(prefix + "kloop"))
	Label(prefix + "kend")
	odd := Load(Param("k"), GP64())
	TESTQ(U32(1), odd)
	JZ(LabelRef(prefix + "scale"))
	bv = loadB()
	for r := range acc {
		w := GP32()
		MOVWLZX(aAt(r), w)
		t := s.vec()
		VPBROADCASTD(w, t)
		for v := range bv {
			vdpbf16ps(bv[v], t, acc[r][v])
		}
	}

	// C = alpha*acc (+ beta*C), the product rounded before the fused add.
	Label(prefix + "scale")
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	cq := GP64()
	MOVQ(cp, cq)
	mks := make([]*mask, nv)
	for v := range masks {
		mks[v] = &masks[v]
	}
	s.storeBlock(prefix, acc, cq, ldc, mks)
	ADDQ(U32(nv*s.bytes()), cp)
	ADDQ(U32(nv*s.bytes()), bp)
	SUBQ(U32(nv*s.lanes), nc)
}

// gemvBF16Chains is how many accumulators a GEMV row has: 32-element step j
// of the row goes into accumulator j%gemvBF16Chains, enough independent
// VDPBF16PS chains to stream one row at a time.
const gemvBF16Chains = 8

// genGemvBF16 writes GemvBF16{isa}: y = alpha*A·x + beta*y for bfloat16 A
// and x. A is read in address order, each row whole before the next, one
// ascending stream, as the float32 GemvRows does: eight interleaved rows
// with one chain each streamed A from L2 markedly slower, and so did one
// row at a time with one or four chains. A row's gemvBF16Chains
// accumulators are added by a fixed tree, ((0+1)+(2+3))+((4+5)+(6+7)), a
// last partial step (zero-filled) going into the accumulator its index
// names; eight rows' sums are then reduced together (sum8). Rows past m in
// the last block read the block's first row again and are not stored, so a
// row sums the same way wherever it falls: y[i] depends on row i, x and n
// only. Rows of the lengths in gemvBF16Held keep x in registers
// (genGemvBF16Held).
func genGemvBF16(s isa) {
	name := "GemvBF16" + s.name
	text(name, "func(m, n int, a []uint16, lda int, x []uint16, y []float32, alpha, beta float32, useBeta bool)")
	Doc(name+" computes y[i] = alpha * sum_{l<n} a[i*lda + l] * x[l] + beta*y[i] for i < m,",
		"over bfloat16 a and x, accumulating in float32. With useBeta false y is not read.")
	m := Load(Param("m"), GP64())
	TESTQ(m, m)
	JLE(LabelRef("done"))
	ab := Load(Param("a").Base(), GP64())
	lda := Load(Param("lda"), GP64())
	SHLQ(U8(1), lda)
	yp := Load(Param("y").Base(), GP64())
	xb := Load(Param("x").Base(), GP64())
	n := Load(Param("n"), GP64())
	kt := GP64()
	MOVQ(n, kt)
	ANDQ(U32(31), kt)
	kmask := wordTailMask(kt)
	// full is the bytes of a row's whole 32-element steps, group those of
	// its whole groups of gemvBF16Chains steps.
	full, group := GP64(), GP64()
	MOVQ(n, full)
	ANDQ(I32(-32), full)
	SHLQ(U8(1), full)
	MOVQ(full, group)
	ANDQ(I32(-64*gemvBF16Chains), group)
	for _, hn := range gemvBF16Held {
		CMPQ(n, U32(hn))
		JE(LabelRef(fmt.Sprintf("held%d", hn)))
	}
	idx := s.vec()
	VMOVUPS(permSum8(), idx)

	Label("block")
	sums := make([]VecVirtual, 8)
	p := GP64()
	MOVQ(ab, p)
	for r := range sums {
		pre := fmt.Sprintf("row%d", r)
		if r > 0 {
			// Past m: the block's first row again. A branch, not a
			// CMOV, which made the row's loads wait and measured
			// markedly slower.
			ADDQ(lda, p)
			CMPQ(m, U32(r))
			JG(LabelRef(pre + "start"))
			MOVQ(ab, p)
			Label(pre + "start")
		}
		acc := gemvBF16Zeros(s)
		off := GP64()
		XORQ(off, off)
		Label(pre + "group")
		CMPQ(off, group)
		JGE(LabelRef(pre + "steps"))
		for c := range acc {
			xv := s.vec()
			VMOVDQU16(Mem{Base: xb, Index: off, Scale: 1, Disp: 64 * c}, xv)
			vdpbf16ps(Mem{Base: p, Index: off, Scale: 1, Disp: 64 * c}, xv, acc[c])
		}
		ADDQ(U32(64*gemvBF16Chains), off)
		JMP(LabelRef(pre + "group"))
		// Fewer than gemvBF16Chains whole steps are left: step c of them
		// goes into accumulator c, and so does the partial step after them.
		Label(pre + "steps")
		for c := range acc {
			tail := fmt.Sprintf("%stail%d", pre, c)
			CMPQ(off, full)
			JGE(LabelRef(tail))
			xv := s.vec()
			VMOVDQU16(Mem{Base: xb, Index: off, Scale: 1}, xv)
			vdpbf16ps(Mem{Base: p, Index: off, Scale: 1}, xv, acc[c])
			ADDQ(U32(64), off)
		}
		JMP(LabelRef(pre + "add"))
		for c := range acc {
			Label(fmt.Sprintf("%stail%d", pre, c))
			TESTQ(kt, kt)
			JZ(LabelRef(pre + "add"))
			xt, at := s.vec(), s.vec()
			VMOVDQU16_Z(Mem{Base: xb, Index: off, Scale: 1}, kmask, xt)
			VMOVDQU16_Z(Mem{Base: p, Index: off, Scale: 1}, kmask, at)
			vdpbf16ps(at, xt, acc[c])
			JMP(LabelRef(pre + "add"))
		}
		Label(pre + "add")
		gemvBF16AddChains(acc)
		sums[r] = acc[0]
	}

	gemvBF16Store(s, "", s.sum8(sums, idx), m, yp)
	LEAQ(Mem{Base: ab, Index: lda, Scale: 8}, ab)
	SUBQ(U32(8), m)
	JG(LabelRef("block"))
	JMP(LabelRef("done"))

	spill := AllocLocal(64 * 8)
	for _, n := range gemvBF16Held {
		genGemvBF16Held(s, n, m, ab, lda, xb, yp, spill)
	}
	Label("done")
	ret()
}

// gemvBF16Held are the row lengths whose x GemvBF16 keeps in registers
// (at most 16 ZMMs): the recurrences' and the output layer's rows at
// H = 256 and 512. With x held each 64 bytes of A cost one load, not two:
// 512×512 streamed from L2 at 180 GB/s against 168-172, 2048×512 from L3
// at 108-110 against 84-86 (BenchmarkGemvBF16, one core).
var gemvBF16Held = []int{256, 512}

// genGemvBF16Held writes GemvBF16's loop for rows of exactly n elements,
// x in registers; every sum is made as in the general loop, in the same
// order, so the bits are the same.
//
// Each 64 bytes of a row is prefetched into L1 as the same 64 bytes of the
// row before are read. Left to the hardware prefetchers, a matrix in L2
// streamed at 128-138 GB/s on the Zen 5; with the prefetch 512×512 takes
// 2.7-2.8 µs against 3.1-3.2 (190 GB/s), 1024×256 3.5-3.7 against 4.8, and
// a matrix from L3 (2048×512) is level (one core, 2026-12-02). One row ahead
// measured faster than two, four or eight, and every line faster than every
// other line. The general loop does not prefetch: its rows of 1,000 and
// more elements, from L3, were level or slower with it (512×2048: 22-23 µs
// against 22.4, split over both cores 14.5-14.8 against 12.8).
func genGemvBF16Held(s isa, n int, m, ab, lda, xb, yp Register, sumsMem Mem) {
	pre := fmt.Sprintf("held%d", n)
	Label(pre)
	Label(pre + "block")
	xs := make([]VecVirtual, n/32)
	for j := range xs {
		xs[j] = s.vec()
		VMOVDQU16(Mem{Base: xb, Disp: 64 * j}, xs[j])
	}
	p := GP64()
	MOVQ(ab, p)
	for r := range 8 {
		row := fmt.Sprintf("%srow%d", pre, r)
		if r > 0 { // past m: the block's first row again, as above
			ADDQ(lda, p)
			CMPQ(m, U32(r))
			JG(LabelRef(row))
			MOVQ(ab, p)
			Label(row)
		}
		acc := gemvBF16Zeros(s)
		for j := range xs {
			PREFETCHT0(Mem{Base: p, Index: lda, Scale: 1, Disp: 64 * j}) // the next row
			vdpbf16ps(Mem{Base: p, Disp: 64 * j}, xs[j], acc[j%gemvBF16Chains])
		}
		gemvBF16AddChains(acc)
		// Spilled: eight rows' sums and x do not fit in the registers.
		VMOVUPS(acc[0], sumsMem.Offset(64*r))
	}
	sums := make([]VecVirtual, 8)
	for r := range sums {
		sums[r] = s.vec()
		VMOVUPS(sumsMem.Offset(64*r), sums[r])
	}
	idx := s.vec()
	VMOVUPS(permSum8(), idx)
	gemvBF16Store(s, pre, s.sum8(sums, idx), m, yp)
	LEAQ(Mem{Base: ab, Index: lda, Scale: 8}, ab)
	SUBQ(U32(8), m)
	JG(LabelRef(pre + "block"))
	JMP(LabelRef("done"))
}

// gemvBF16Zeros returns a row's gemvBF16Chains accumulators, zeroed.
func gemvBF16Zeros(s isa) []VecVirtual {
	acc := make([]VecVirtual, gemvBF16Chains)
	acc[0] = s.zero()
	for c := 1; c < len(acc); c++ {
		acc[c] = s.vec()
		VMOVAPS(acc[0], acc[c])
	}
	return acc
}

// gemvBF16AddChains adds a row's accumulators into acc[0] by the fixed
// tree ((0+1)+(2+3))+((4+5)+(6+7)).
func gemvBF16AddChains(acc []VecVirtual) {
	for w := 1; w < len(acc); w *= 2 {
		for c := 0; c < len(acc); c += 2 * w {
			VADDPS(acc[c+w], acc[c], acc[c])
		}
	}
}

// gemvBF16Store scales a block's eight sums f by alpha, adds beta·y where
// asked, and stores the first min(m, 8) of them at yp, which it advances.
func gemvBF16Store(s isa, prefix string, f VecVirtual, m, yp Register) {
	al := YMM()
	VBROADCASTSS(param(Param("alpha")), al)
	VMULPS(al, f, f)
	rows, eight := GP64(), GP64()
	MOVQ(m, rows)
	MOVQ(U32(8), eight)
	CMPQ(rows, eight)
	CMOVQGT(eight, rows)
	mk := s.tailMask(rows)
	ub := Load(Param("useBeta"), GP8())
	TESTB(ub, ub)
	JZ(LabelRef(prefix + "store"))
	be := YMM()
	VBROADCASTSS(param(Param("beta")), be)
	t := YMM()
	VMOVUPS_Z(Mem{Base: yp}, mk.r, t)
	VFMADD231PS(t, be, f)
	Label(prefix + "store")
	VMOVUPS(f, mk.r, Mem{Base: yp})
	ADDQ(U32(32), yp)
}

// genDPBF16 writes DPBF16{isa}: one VDPBF16PS on memory, so that tests can
// hold the instruction itself to its pure-Go model.
func genDPBF16(s isa) {
	name := "DPBF16" + s.name
	text(name, "func(acc []float32, a, b []uint16)")
	Doc(name + " runs one VDPBF16PS: acc[i] += a[2i+1]*b[2i+1], then += a[2i]*b[2i], for i < 16.")
	ap := Load(Param("acc").Base(), GP64())
	acc, av, bv := s.vec(), s.vec(), s.vec()
	VMOVUPS(Mem{Base: ap}, acc)
	VMOVDQU16(Mem{Base: Load(Param("a").Base(), GP64())}, av)
	VMOVDQU16(Mem{Base: Load(Param("b").Base(), GP64())}, bv)
	vdpbf16ps(bv, av, acc)
	VMOVUPS(acc, Mem{Base: ap})
	ret()
}

// genBF16Peak writes BF16Peak{isa}, the VDPBF16PS counterpart of FMAPeak: n
// iterations of 24 independent VDPBF16PS (each 32 multiply-adds), nothing
// else in the loop but the counter. It returns one lane of their sum. Twice
// FMAPeak's 12 chains: VDPBF16PS has a longer latency than an FMA, which 12
// chains only just cover.
func genBF16Peak(s isa) {
	name := "BF16Peak" + s.name
	text(name, "func(n int) float32")
	Doc(name+" runs n iterations of 24 independent VDPBF16PS and returns one lane of their",
		"sum: a measure of the bfloat16 dot-product throughput of one core.")
	half := cst("bf16half", 0x3f003f00) // bfloat16 0.5 in every word
	peakLoop(s, half, 24, func(x, acc VecVirtual) { vdpbf16ps(x, x, acc) })
}
