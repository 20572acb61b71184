package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// panelRows is the most rows of C one panel kernel keeps in registers: a
// whole step of 16 streams, so that each step's product reads its panel of
// B once.
const panelRows = 16

// genPanels writes GemmPanel{rows}AVX512 for rows 1..panelRows, the
// micro-kernel of GemmPanels (kernels/panels.go):
//
//	C[r, 0:nc] = alpha * sum_l a[r*lda + l] * panel[l*16 + 0:nc] + beta*C[r, 0:nc]
//
// for r < rows and nc <= 16, where the panel is k rows of 16 floats in a
// row. Each step of the k loop loads one vector of the panel and multiplies
// it by one element of every row of A, broadcast by the FMA itself; the
// panel streams through once, contiguously, which the hardware prefetchers
// follow from L3 where rows of a wide B, kilobytes apart, defeat them (a
// step's 16×2048×512 on an Intel Xeon: 105-115 GFLOP/s through the 6-row
// broadcast kernel, bench/RESULTS.md). The sums run over l in order, one
// FMA per term, as GemmBcast's do.
func genPanels(s isa) {
	if !s.avx512 {
		return
	}
	for r := 1; r <= panelRows; r++ {
		genPanel(s, fmt.Sprintf("GemmPanel%d%s", r, s.name), r)
	}
}

// rowAddresses loads the base of parameter a and returns the bases of rows
// rows of A, lda bytes apart, and the address of element disp/4 of row r:
// rows are addressed in threes from their own base, as base + {0, 1, 2}·lda
// with a hardware scale factor.
func rowAddresses(rows int, lda Register) ([]Register, func(r, disp int) Mem) {
	bases := make([]Register, (rows+2)/3)
	bases[0] = Load(Param("a").Base(), GP64())
	for i := 1; i < len(bases); i++ {
		bases[i] = GP64()
		LEAQ(Mem{Base: bases[i-1], Index: lda, Scale: 2}, bases[i])
		ADDQ(lda, bases[i])
	}
	return bases, func(r, disp int) Mem {
		m := Mem{Base: bases[r/3], Disp: disp}
		if r%3 > 0 {
			m.Index, m.Scale = lda, uint8(r%3)
		}
		return m
	}
}

func genPanel(s isa, name string, rows int) {
	textFlushing(name, "func(k int, a []float32, lda int, panel []float32, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool)")
	Doc(fmt.Sprintf("%s computes C[r, 0:nc] = alpha * sum_l a[r*lda + l] * panel[l*16 + 0:nc] + beta*C[r, 0:nc]", name),
		fmt.Sprintf("for r < %d and nc <= 16; C[r, j] is c[r*ldc + j]. With useBeta false C is not read.", rows))
	k := Load(Param("k"), GP64())
	lda := Load(Param("lda"), GP64())
	SHLQ(U8(2), lda)
	bp := Load(Param("panel").Base(), GP64())
	bases, aRow := rowAddresses(rows, lda)
	nc := Load(Param("nc"), GP64())
	mk := s.vectorMask(nc, 0, false)
	// C is new memory at every step of a window (its gates): fetched now,
	// as GemmBcast does, so the epilogue does not stall on it.
	cp := Load(Param("c").Base(), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	s.prefetchBlock(cp, ldc, rows, 1)
	acc := make([]VecVirtual, rows)
	for r := range acc {
		acc[r] = s.zero()
	}
	// Two steps of l per iteration, then the odd one.
	step := func(disp int) {
		b := s.vec()
		VMOVUPS(Mem{Base: bp, Disp: 16 * 4 * disp}, b)
		for r := range acc {
			VFMADD231PS_BCST(aRow(r, 4*disp), b, acc[r])
		}
	}
	Label("pairs")
	CMPQ(k, U8(2))
	JL(LabelRef("single"))
	step(0)
	step(1)
	ADDQ(U32(2*16*4), bp)
	for _, b := range bases {
		ADDQ(U8(8), b)
	}
	SUBQ(U8(2), k)
	JMP(LabelRef("pairs"))
	Label("single")
	TESTQ(k, k)
	JZ(LabelRef("end"))
	step(0)

	// Epilogue: C = alpha*acc (+ beta*C), as GemmBcast's.
	Label("end")
	block := make([][]VecVirtual, rows)
	for r := range acc {
		block[r] = acc[r : r+1]
	}
	s.storeBlock("", block, cp, ldc, []*mask{&mk})
	ret()
}

// quadRows is the most rows of the four-panel kernel: 6 rows × 4 vectors
// are 24 accumulators, as GemmBcast6 keeps.
const quadRows = 6

// genQuadPanels writes GemmQuadPanel{rows}AVX512 for rows 1..quadRows:
//
//	C[r, 0:64] = alpha * sum_l a[r*lda + l] * (panels p = 0..3)[l*16 + 0:16] + beta*C[r, 0:64]
//
// four whole panels side by side (each k×16 floats, p*k*16 floats apart).
// Each step loads one vector of each panel and broadcasts one element per
// row: 4 + rows loads for 4·rows FMAs, against 1 + rows for rows in the
// one-panel kernel, whose broadcast operands, indexed, also cost an extra
// micro-op each on Intel cores (a step's 16×2048×512 on an Intel Xeon:
// 170-175 GFLOP/s through the 16-row panel kernel with everything in cache,
// 196-216 through a 6×64 broadcast block). The sums run over l in order,
// one FMA per term, as the one-panel kernels' do, so an output is the same
// whichever kernel computes it.
func genQuadPanels(s isa) {
	if !s.avx512 {
		return
	}
	for r := 1; r <= quadRows; r++ {
		genQuadPanel(s, fmt.Sprintf("GemmQuadPanel%d%s", r, s.name), r)
	}
}

func genQuadPanel(s isa, name string, rows int) {
	textFlushing(name, "func(k int, a []float32, lda int, panels []float32, c []float32, ldc int, alpha, beta float32, useBeta bool)")
	Doc(fmt.Sprintf("%s computes C[r, 0:64] = alpha * sum_l a[r*lda + l] * panels[p*k*16 + l*16 + j] + beta*C[r, 16p+j]", name),
		fmt.Sprintf("for r < %d, p < 4, j < 16; C[r, j] is c[r*ldc + j]. With useBeta false C is not read.", rows))
	k := Load(Param("k"), GP64())
	lda := Load(Param("lda"), GP64())
	SHLQ(U8(2), lda)
	// Panels p and p+1 from one base: base + {0, 1}·(k·64 bytes).
	ps := GP64()
	MOVQ(k, ps)
	SHLQ(U8(6), ps)
	bp0 := Load(Param("panels").Base(), GP64())
	bp2 := GP64()
	LEAQ(Mem{Base: bp0, Index: ps, Scale: 2}, bp2)
	bases, aRow := rowAddresses(rows, lda)
	cp := Load(Param("c").Base(), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	s.prefetchBlock(cp, ldc, rows, 4)
	acc := make([][4]VecVirtual, rows)
	for r := range acc {
		for p := range acc[r] {
			acc[r][p] = s.zero()
		}
	}
	step := func(disp int) {
		var b [4]VecVirtual
		for p := range b {
			b[p] = s.vec()
			m := Mem{Base: bp0, Disp: 16 * 4 * disp}
			if p >= 2 {
				m.Base = bp2
			}
			if p%2 == 1 {
				m.Index, m.Scale = ps, 1
			}
			VMOVUPS(m, b[p])
		}
		for r := range acc {
			x := s.vec()
			VBROADCASTSS(aRow(r, 4*disp), x)
			for p := range b {
				VFMADD231PS(b[p], x, acc[r][p])
			}
		}
	}
	Label("pairs")
	CMPQ(k, U8(2))
	JL(LabelRef("single"))
	step(0)
	step(1)
	ADDQ(U32(2*16*4), bp0)
	ADDQ(U32(2*16*4), bp2)
	for _, b := range bases {
		ADDQ(U8(8), b)
	}
	SUBQ(U8(2), k)
	JMP(LabelRef("pairs"))
	Label("single")
	TESTQ(k, k)
	JZ(LabelRef("end"))
	step(0)

	// Epilogue: C = alpha*acc (+ beta*C), as GemmBcast's.
	Label("end")
	block := make([][]VecVirtual, rows)
	for r := range acc {
		block[r] = acc[r][:]
	}
	s.storeBlock("", block, cp, ldc, nil)
	ret()
}
