package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// genGEMM writes the GEMM micro-kernels (GemmBcast for B read along its rows,
// DotNT for Bᵀ, GemmPanel for B packed in panels) and FMAPeak, the GEMM
// benchmarks' yardstick.
func genGEMM(s isa) {
	for r := 1; r <= s.bcastRows; r++ {
		genBcast(s, fmt.Sprintf("GemmBcast%d%s", r, s.name), r, s.bcastVecs, true)
	}
	genDotNT(s, s.dotNT[0], s.dotNT[1], s.dotNT[2])
	genPanels(s)
	genQuadPanels(s)
	genFMAPeak(s)
}

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
	textFlushing(name, "func(k int, a []float32, ars, als int, b []float32, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool)")
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
	// One mask per vector column of the block. AVX-512's are opmask
	// registers; AVX2's are vectors, left in the mask table where they
	// would not fit beside the block (the 6×2 block: 12 sums, 2 vectors of
	// B and a broadcast use 15 of the 16 registers).
	masks := make([]mask, nv)
	nc := Load(Param("nc"), GP64())
	masksInMemory := !s.avx512 && rows*nv+2*nv+1 > s.regs
	for v := 0; v < nv && masked; v++ {
		masks[v] = s.vectorMask(nc, v, masksInMemory)
	}
	// C is read (with beta) and written only after the k loop; the
	// engine's C is new memory at every step of a window (that step's
	// gates), so its lines are fetched now, while the loop runs, instead of
	// stalling the epilogue on memory (a window's 16×2048×512 steps on both
	// cores: 152 GFLOP/s per core without, 168-171 with). The GEMV strips
	// (not masked) write a y already in cache.
	if masked {
		ldc := Load(Param("ldc"), GP64())
		SHLQ(U8(2), ldc)
		s.prefetchBlock(Load(Param("c").Base(), GP64()), ldc, rows, nv)
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
		// B's vectors are loaded once into registers and shared by the
		// rows, unless the block would then need more registers than the
		// instruction set has (AVX2's one-row GemvT: 8 sums, 8 vectors of
		// B and the broadcast); an unmasked B is then read by the FMAs
		// themselves, the same product with the same rounding.
		bFromMemory := full && rows*nv+nv+1 > s.regs
		bv := make([]Op, nv)
		for v := range bv {
			if bFromMemory {
				bv[v] = Mem{Base: bp, Disp: v * s.bytes()}
				continue
			}
			r := s.vec()
			var mk *mask
			if !full {
				mk = &masks[v]
			}
			s.load(Mem{Base: bp, Disp: v * s.bytes()}, r, mk)
			bv[v] = r
		}
		if full && masked && s.prefetchNextStrip {
			PREFETCHT0(Mem{Base: bp, Disp: nv * s.bytes()})
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
		var mks []*mask
		if !full {
			for v := range masks {
				mks = append(mks, &masks[v])
			}
		}
		s.storeBlock(p, acc, cp, ldc, mks)
		ret()
	}
}

// storeBlock is the GEMM micro-kernels' epilogue: C = alpha*acc, plus
// beta*C when useBeta, where acc[r][v] is vector v of row r of C, at
// c + r·ldc + v·vector bytes (ldc in bytes), read and written under
// masks[v] when masks is not nil. Its labels are prefixed with p; it moves
// c. Every kernel rounds an output the same way here, whichever computed
// the sum.
func (s isa) storeBlock(p string, acc [][]VecVirtual, c, ldc Register, masks []*mask) {
	mk := func(v int) *mask {
		if masks == nil {
			return nil
		}
		return masks[v]
	}
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
	MOVQ(c, cq)
	for r := range acc {
		for v := range acc[r] {
			t := s.vec()
			s.load(Mem{Base: cq, Disp: v * s.bytes()}, t, mk(v))
			VFMADD231PS(t, be, acc[r][v])
		}
		if r+1 < len(acc) {
			ADDQ(ldc, cq)
		}
	}
	Label(p + "store")
	for r := range acc {
		for v := range acc[r] {
			s.store(acc[r][v], Mem{Base: c, Disp: v * s.bytes()}, mk(v))
		}
		if r+1 < len(acc) {
			ADDQ(ldc, c)
		}
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
	textFlushing(name, "func(k int, a []float32, lda, mr int, b []float32, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool)")
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

// genFMAPeak writes FMAPeak{isa}, the yardstick of the GEMM benchmarks: n
// iterations of 12 independent vector FMAs, enough chains to keep two FMA
// pipes busy through a 4-6 cycle latency, with nothing else in the loop but
// the counter. It returns one lane of the result so the work is observable.
func genFMAPeak(s isa) {
	text("FMAPeak"+s.name, "func(n int) float32")
	Doc("FMAPeak"+s.name+" runs n iterations of 12 independent vector FMAs and returns one lane",
		"of their sum: a measure of the FMA throughput of one core.")
	peakLoop(s, cstf("fmapeakx", 0.5), 12, func(x, acc VecVirtual) { VFMADD231PS(x, x, acc) })
}

// peakLoop emits the body of a peak probe: n (a parameter) iterations of
// chains independent ops op(x, acc) on the constant x, nothing else in the
// loop but the counter, then one lane of the accumulators' sum as the result
// so that the work is observable.
func peakLoop(s isa, c Mem, chains int, op func(x, acc VecVirtual)) {
	n := Load(Param("n"), GP64())
	x := s.vec()
	VMOVUPS(c, x)
	acc := make([]VecVirtual, chains)
	for i := range acc {
		acc[i] = s.zero()
	}
	Label("loop")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	for i := range acc {
		op(x, acc[i])
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
