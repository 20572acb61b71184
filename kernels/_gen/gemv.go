package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// genGEMV writes the GEMV kernels: the blocks the kernels package tiles a
// GEMV with (GemvT, a one-row GemmBcast; DotNT4x1) and the whole-matrix ones.
func genGEMV(s isa) {
	genBcast(s, "GemvT"+s.name, 1, s.gemvTVecs, false)
	genDotNT(s, 4, 1, 2) // DotNT4x1, unrolled twice: one column has few FMA chains
	genGemvN(s)
	if s.avx512 {
		genGemvRows(s) // on AVX2 it never beat GemvN's blocks
		genGemvShortN(s)
		genGemvShortT(s)
	}
	genGemvTrans(s)
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
	textFlushing(name, "func(m, n int, a []float32, lda int, x, y []float32, alpha, beta float32, useBeta bool)")
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
	textFlushing(name, "func(m, n int, a []float32, lda int, x, y []float32, alpha, beta float32, useBeta bool)")
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
// best: a long-row matrix streams from L2 faster than with GemvN's four
// interleaved rows (and walking the rows backwards, to reuse what the
// previous call left in L2, made it slower, not faster). Short rows are
// GemvN's: one row's horizontal sum is too short to hide its latency.
func genGemvRows(s isa) {
	name := "GemvRows" + s.name
	textFlushing(name, "func(m, n int, a []float32, lda int, x, y []float32, alpha, beta float32, useBeta bool)")
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
	textFlushing(name, "func(m, n int, a []float32, lda int, x, y []float32, alpha, beta float32, useBeta bool)")
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
		VMOVUPS(permSum8(), idx)
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

// output of at most shortVecs vectors, the backward recurrence's GEMV at
// small H. The whole of y is in registers, twice: even rows add into one
// set and odd rows into the other, which halves the FMA chains' length
// (one set alone waits on FMA latency), and the two are added at the end.
// A column's sum does not depend on the others, so neither on n.
func genGemvShortT(s isa) {
	name := "GemvShortT" + s.name
	textFlushing(name, "func(m, n int, a []float32, lda int, x, y []float32, alpha, beta float32, useBeta bool)")
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
