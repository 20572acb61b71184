package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// Reductions of many accumulators at once, shared by the GEMM and GEMV
// kernels. The AVX-512 trees add up many accumulators' lanes together, every
// accumulator through the same sequence of adds.

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
