package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// genBF16 writes the bfloat16 kernels, for AVX-512 with AVX512_BF16 only:
// conversion from float32 (plain and transposing), the GEMM and GEMV with
// bfloat16 operands and float32 accumulation, and BF16Peak, the probe of
// VDPBF16PS throughput. The BF16 instructions are placeholders encoded into
// bytes after avo has run (bf16enc.go).
//
// Every dot product is summed in a fixed order, so that an output depends
// only on its two rows and k: the GEMM has one ZMM accumulator per output,
// whose lane q takes elements 2q and 2q+1 of every 32 (a last partial 32
// zero-filled), then its 16 lanes added by one fixed tree (reduce.go); the
// GEMV spreads a row's steps over eight such accumulators and adds them
// before the tree (genGemvBF16). The pure-Go twins in internal/asm repeat
// exactly this.
func genBF16(s isa) {
	if !s.avx512 {
		return
	}
	genToBF16(s)
	genToBF16T(s)
	genGemmBF16NT(s, 6)
	genGemmBF16NT(s, 4)
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

// genToBF16T writes ToBF16T{isa}: one strip of 16 rows of src, converted
// and transposed, 16×16 tiles at a time: each tile is loaded as 16 row
// vectors, transposed in registers (four rounds of 16 shuffles) and every
// column converted and stored as a row of dst.
func genToBF16T(s isa) {
	name := "ToBF16T" + s.name
	text(name, "func(dst []uint16, ldd int, src []float32, lds, cols int)")
	Doc(name+" computes dst[j*ldd + i] = bf16(src[i*lds + j]) for i < 16 and j < cols,",
		"cols a multiple of 16, rounding as ToBF16 does.")
	cols := Load(Param("cols"), GP64())
	lds := Load(Param("lds"), GP64())
	SHLQ(U8(2), lds)
	lds3 := GP64()
	LEAQ(Mem{Base: lds, Index: lds, Scale: 2}, lds3)
	ldd := Load(Param("ldd"), GP64())
	SHLQ(U8(1), ldd)
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
		VMOVUPS(row(sb, lds, lds3, i), r[i])
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
			y := YMM()
			vcvtneps2bf16(col, y)
			VMOVDQU32(y, row(db, ldd, ldd3, 4*L+e))
		}
	}
	for q := 0; q < 4; q++ {
		ADDQ(U32(64), sb[q])
		LEAQ(Mem{Base: db[q], Index: ldd, Scale: 8}, db[q])
		LEAQ(Mem{Base: db[q], Index: ldd, Scale: 8}, db[q])
	}
	SUBQ(U32(16), cols)
	JMP(LabelRef("tile"))
	Label("done")
	ret()
}

// bf16RowPtrs loads the base of the named bfloat16 matrix and returns the
// pointers to its first n rows, row r >= count (a parameter) replaced by
// row 0 so that a block past the end of the matrix reads real memory.
func bf16RowPtrs(param, ld, count string, n int) []Register {
	p := make([]Register, n)
	p[0] = Load(Param(param).Base(), GP64())
	stride := Load(Param(ld), GP64())
	SHLQ(U8(1), stride)
	cnt := Load(Param(count), GP64())
	for r := 1; r < n; r++ {
		p[r] = GP64()
		MOVQ(p[r-1], p[r])
		ADDQ(stride, p[r])
		CMPQ(cnt, U32(r))
		CMOVQLE(p[0], p[r])
	}
	return p
}

// dotLoopBF16 emits the accumulation of the dot products of the bfloat16
// rows pa with the rows pb over the first k (a parameter) elements, 32 per
// step, the last k%32 loaded with the word mask kmask (so the zero-filled
// rest adds nothing). It returns acc[r][j], one vector of lane sums per
// pair of rows. The accumulators start as copies of zero, a zero vector:
// avo takes VPXORD v, v, v for a read of v, which would keep them live
// around the caller's loop, through the reduction, where registers run out.
func dotLoopBF16(s isa, pa, pb []Register, kmask Register, zero VecVirtual) [][]VecVirtual {
	acc := make([][]VecVirtual, len(pa))
	for r := range acc {
		acc[r] = make([]VecVirtual, len(pb))
		for j := range acc[r] {
			acc[r][j] = s.vec()
			VMOVAPS(zero, acc[r][j])
		}
	}
	off := GP64()
	XORQ(off, off)
	cnt := Load(Param("k"), GP64())
	SHRQ(U8(5), cnt)
	step := func(masked bool) {
		load := func(p Register) VecVirtual {
			v := s.vec()
			m := Mem{Base: p, Index: off, Scale: 1}
			if masked {
				VMOVDQU16_Z(m, kmask, v)
			} else {
				VMOVDQU16(m, v)
			}
			return v
		}
		bv := make([]VecVirtual, len(pb))
		for j := range bv {
			bv[j] = load(pb[j])
		}
		for r := range pa {
			av := load(pa[r])
			for j := range bv {
				vdpbf16ps(bv[j], av, acc[r][j])
			}
		}
	}
	Label("kloop")
	TESTQ(cnt, cnt)
	JZ(LabelRef("ktail"))
	step(false)
	ADDQ(U32(64), off)
	DECQ(cnt)
	JMP(LabelRef("kloop"))
	Label("ktail")
	kt := Load(Param("k"), GP64())
	ANDQ(U32(31), kt)
	JZ(LabelRef("kdone"))
	step(true)
	Label("kdone")
	return acc
}

// kTailMask is the word mask of the last k%32 elements of a row.
func kTailMask() Register {
	kt := Load(Param("k"), GP64())
	ANDQ(U32(31), kt)
	return wordTailMask(kt)
}

// permRows45 gathers rows 4 and 5 of the GEMM kernel's block from the tree's
// result (see genGemmBF16NT): row 4 into the low 128 bits, row 5 above.
func permRows45() Mem {
	return global("permrows45", func() {
		for i, v := range []uint32{0, 8, 1, 9, 4, 12, 5, 13, 0, 0, 0, 0, 0, 0, 0, 0} {
			DATA(4*i, U32(v))
		}
	})
}

// genGemmBF16NT writes GemmBF16NT{R}{isa} (R is 4 or 6), the GEMM kernel
// for C = alpha*A·Bᵀ + beta*C with bfloat16 rows: a block of up to R rows
// of A against all nc rows of B, 4 at a time. Each R×4 block of C has 4R
// accumulators along k, one per output; each step loads 32 elements of each
// of the R+4 rows, for 4R VDPBF16PS (24 for 10 loads with R = 6; the 4-row
// kernel is for the rows that do not fill 6-row blocks). The accumulators
// are added up by the trees of the AVX-512 reductions (every one through the
// same adds): rows 0-3 as in dotNTStoreTree, into one vector whose 128-bit
// lane r holds C[r, 0:4]; rows 4 and 5 by the same levels on 8 accumulators
// and a permutation. Rows past mr or nc read row 0 of the block again and
// are not stored.
func genGemmBF16NT(s isa, R int) {
	name := fmt.Sprintf("GemmBF16NT%d%s", R, s.name)
	text(name, "func(k int, a []uint16, lda, mr int, b []uint16, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool)")
	Doc(name+" computes C[r, j] = alpha * sum_{l<k} a[r*lda + l] * b[j*ldb + l] + beta*C[r, j]",
		fmt.Sprintf("for r < mr <= %d and j < nc, over bfloat16 a and b, accumulating in float32;", R),
		"C[r, j] is c[r*ldc + j]. With useBeta false C is not read.")
	pa := bf16RowPtrs("a", "lda", "mr", R)
	kmask := kTailMask()
	zero := s.zero()
	bp := Load(Param("b").Base(), GP64())
	cp := Load(Param("c").Base(), GP64())
	nc := Load(Param("nc"), GP64())

	Label("block")
	TESTQ(nc, nc)
	JLE(LabelRef("done"))
	pb := []Register{bp, GP64(), GP64(), GP64()}
	{
		ldb := Load(Param("ldb"), GP64())
		SHLQ(U8(1), ldb)
		for j := 1; j < 4; j++ {
			MOVQ(pb[j-1], pb[j])
			ADDQ(ldb, pb[j])
			CMPQ(nc, U32(j))
			CMOVQLE(bp, pb[j])
		}
	}
	acc := dotLoopBF16(s, pa, pb, kmask, zero)

	// Rows 0-3: v[c*4+r] = acc[r][c]; see dotNTStoreTree.
	v := make([]VecVirtual, 16)
	for r := 0; r < 4; r++ {
		for c := 0; c < 4; c++ {
			v[c*4+r] = acc[r][c]
		}
	}
	u := s.addLanes(s.addHalves(v))
	f := s.pairs(s.pairs(u[0], u[1]), s.pairs(u[2], u[3]))
	// Rows 4 and 5: w[c*2+r] = acc[4+r][c]. addHalves and addLanes leave
	// in x[q] the lanes [(4,2q) (5,2q) (4,2q+1) (5,2q+1)], each with four
	// partial sums; pairs twice finishes them, lane L holding the sums of
	// x[0] lane L then of x[1] lane L, which permRows45 puts in order.
	g := s.vec()
	al := s.vec()
	if R > 4 {
		w := make([]VecVirtual, 8)
		for r := 0; r < 2; r++ {
			for c := 0; c < 4; c++ {
				w[c*2+r] = acc[4+r][c]
			}
		}
		x := s.addLanes(s.addHalves(w))
		p := s.pairs(x[0], x[1])
		q := s.pairs(p, p)
		idx := s.vec()
		VMOVUPS(permRows45(), idx)
		VPERMPS(q, idx, g)
		VBROADCASTSS(param(Param("alpha")), al)
		VMULPS(al, g, g)
	} else {
		VBROADCASTSS(param(Param("alpha")), al)
	}
	VMULPS(al, f, f)

	cols, four := GP64(), GP64()
	MOVQ(nc, cols)
	MOVQ(U32(4), four)
	CMPQ(cols, four)
	CMOVQGT(four, cols)
	mk := s.tailMask(cols)
	mr := Load(Param("mr"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	ub := Load(Param("useBeta"), GP8())
	be := XMM()
	VBROADCASTSS(param(Param("beta")), be)
	cq := GP64()
	MOVQ(cp, cq)
	for r := 0; r < R; r++ {
		if r > 0 {
			CMPQ(mr, U32(r))
			JLE(LabelRef("next"))
		}
		row := XMM()
		switch {
		case r == 0:
			VMOVAPS(f.AsX(), row)
		case r < 4:
			VEXTRACTF32X4(U8(r), f, row)
		case r == 4:
			VMOVAPS(g.AsX(), row)
		default:
			VEXTRACTF32X4(U8(r-4), g, row)
		}
		lbl := fmt.Sprintf("store%d", r)
		TESTB(ub, ub)
		JZ(LabelRef(lbl))
		t := XMM()
		VMOVUPS_Z(Mem{Base: cq}, mk.r, t)
		VFMADD231PS(t, be, row)
		Label(lbl)
		VMOVUPS(row, mk.r, Mem{Base: cq})
		ADDQ(ldc, cq)
	}
	Label("next")
	ADDQ(U32(16), cp)
	ldb := Load(Param("ldb"), GP64())
	SHLQ(U8(3), ldb) // 4 rows of B
	ADDQ(ldb, bp)
	SUBQ(U32(4), nc)
	JMP(LabelRef("block"))
	Label("done")
	ret()
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
// only.
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
		acc := make([]VecVirtual, gemvBF16Chains)
		acc[0] = s.zero()
		for c := 1; c < len(acc); c++ {
			acc[c] = s.vec()
			VMOVAPS(acc[0], acc[c])
		}
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
		for w := 1; w < gemvBF16Chains; w *= 2 {
			for c := 0; c < gemvBF16Chains; c += 2 * w {
				VADDPS(acc[c+w], acc[c], acc[c])
			}
		}
		sums[r] = acc[0]
	}

	f := s.sum8(sums, idx)
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
	JZ(LabelRef("store"))
	be := YMM()
	VBROADCASTSS(param(Param("beta")), be)
	t := YMM()
	VMOVUPS_Z(Mem{Base: yp}, mk.r, t)
	VFMADD231PS(t, be, f)
	Label("store")
	VMOVUPS(f, mk.r, Mem{Base: yp})
	ADDQ(U32(32), yp)
	LEAQ(Mem{Base: ab, Index: lda, Scale: 8}, ab)
	SUBQ(U32(8), m)
	JG(LabelRef("block"))
	Label("done")
	ret()
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
