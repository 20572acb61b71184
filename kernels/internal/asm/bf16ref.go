package asm

import "math"

// The pure-Go specification of the bfloat16 routines (bf16_amd64.s), exact
// to the bit: the assembly computes what these compute for every input, NaN
// payloads aside (a NaN result is NaN in both). They model the AVX512_BF16
// instructions as found on the CPUs this was written on, checked over all
// 2^32 float32 inputs for the conversion and hundreds of millions of random
// operands, specials included, for VDPBF16PS:
//
//   - VCVTNEPS2BF16 / VCVTNE2PS2BF16 round to nearest even, turn a subnormal
//     input into a zero of the same sign, and keep a NaN NaN (quieted, its
//     sign and top payload bits kept). MXCSR plays no part.
//   - VDPBF16PS lane i does acc += a[2i+1]·b[2i+1], then acc += a[2i]·b[2i]
//     (the odd pair first), each step fused (the product is never rounded
//     on its own) and rounded to nearest even, with subnormal inputs (the
//     accumulator and the bfloat16 operands) taken as zero and a result below
//     the normal range, once rounded, flushed to zero.

// BF16ToFloat32 widens a bfloat16: its bits are the top half of a float32's.
func BF16ToFloat32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// ToBF16 rounds f to bfloat16 exactly as VCVTNEPS2BF16 does.
func ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	switch {
	case b&0x7fffffff > 0x7f800000: // NaN: quiet it
		return uint16(b>>16) | 0x40
	case b&0x7f800000 == 0: // zero or subnormal
		return uint16(b>>16) & 0x8000
	}
	// Round to nearest even: add just under half a unit of the last place,
	// plus one more when the kept part is odd. Carries reach the exponent
	// (and from the largest finite values, infinity) as they should.
	return uint16((b + 0x7fff + (b>>16)&1) >> 16)
}

// daz is x with a subnormal taken as zero of the same sign.
func daz(x float32) float32 {
	if math.Float32bits(x)&0x7f800000 == 0 {
		return float32(math.Copysign(0, float64(x)))
	}
	return x
}

// addOdd returns x + y rounded to float64 with round-to-odd: the sum itself
// when it is exact, otherwise whichever of the two float64 neighbours of
// the exact sum has an odd last bit. Rounding that to float32 (24 bits, and
// 53 >= 24+2) rounds the exact sum correctly, with no double-rounding error.
func addOdd(x, y float64) float64 {
	s := x + y
	if math.IsInf(s, 0) || math.IsNaN(s) {
		return s
	}
	// TwoSum: e is the rounding error of s, exactly.
	bv := s - x
	e := (x - (s - bv)) + (y - bv)
	if e == 0 || math.Float64bits(s)&1 == 1 {
		return s
	}
	return math.Nextafter(s, math.Copysign(math.Inf(1), e))
}

// fma32 is x·y + z rounded once to float32, as VFMADD does; the product of
// two float32s is exact in float64.
func fma32(x, y, z float32) float32 {
	return float32(addOdd(float64(x)*float64(y), float64(z)))
}

// roundFTZ rounds s (a round-to-odd sum, see addOdd) to float32 as
// VDPBF16PS does: to nearest even as if the exponent were unbounded, then a
// result below the smallest normal float32 becomes zero of its sign.
func roundFTZ(s float64) float32 {
	const minNormal = 0x1p-126
	if !(math.Abs(s) < minNormal) { // normal, infinite or NaN
		return float32(s)
	}
	// Scaled up by 2^64, a tiny sum rounds to 24 bits like a normal one
	// (the scaling is exact); anything below 2^-190 flushes either way.
	r := float32(s * 0x1p64)
	if math.Abs(float64(r)) < minNormal*0x1p64 {
		return float32(math.Copysign(0, s))
	}
	return r * 0x1p-64 // rounded up to ±2^-126 exactly
}

// dpStep is one half of a VDPBF16PS lane: acc + a·b, fused, with the
// operands' subnormals taken as zero and the result flushed to zero below
// the normal range. acc is a result of an earlier step (never subnormal).
func dpStep(acc float32, a, b uint16) float32 {
	p := float64(daz(BF16ToFloat32(a))) * float64(daz(BF16ToFloat32(b))) // exact
	return roundFTZ(addOdd(p, float64(acc)))
}

// DotBF16Pair is one lane of VDPBF16PS: acc + a1·b1 + a0·b0 in that order,
// as the instruction computes it.
func DotBF16Pair(acc float32, a0, a1, b0, b1 uint16) float32 {
	return dpStep(dpStep(daz(acc), a1, b1), a0, b0)
}

// laneSum adds the 16 lanes of an accumulator by the tree of the AVX-512
// reductions (addHalves, addLanes, then pairs twice): lanes i, i+8 and
// i+4, i+12 first, then across.
func laneSum(e *[16]float32) float32 {
	var u [4]float32
	for i := range u {
		u[i] = (e[i] + e[i+8]) + (e[i+4] + e[i+12])
	}
	return (u[0] + u[1]) + (u[2] + u[3])
}

// scaleStore is how the BF16 kernels write one output: alpha times the
// sum, plus beta times the old value in one fused step when useBeta.
func scaleStore(c *float32, sum, alpha, beta float32, useBeta bool) {
	x := float32(alpha * sum) // rounded before the fused step, as VMULPS does
	if useBeta {
		x = fma32(beta, *c, x)
	}
	*c = x
}

func toBF16Ref(dst []uint16, src []float32) {
	for i, v := range src {
		dst[i] = ToBF16(v)
	}
}

// toBF16TRef converts and transposes a strip of 16 rows of src.
func toBF16TRef(dst []uint16, ldd int, src []float32, lds, cols int) {
	for i := 0; i < 16; i++ {
		for j := 0; j < cols; j++ {
			dst[j*ldd+i] = ToBF16(src[i*lds+j])
		}
	}
}

// toBF16PairsRef interleaves two rows converted: dst[2j] = bf16(lo[j]),
// dst[2j+1] = bf16(hi[j]).
func toBF16PairsRef(dst []uint16, lo, hi []float32) {
	for j := range lo {
		dst[2*j], dst[2*j+1] = ToBF16(lo[j]), ToBF16(hi[j])
	}
}

// toBF16PairsTRef packs the transpose of a strip of 16 rows of src: the
// pair p of row i of src (elements 2p and 2p+1) goes to dword i of row p
// of dst.
func toBF16PairsTRef(dst []uint16, ldd int, src []float32, lds, pairs int) {
	for i := 0; i < 16; i++ {
		for p := 0; p < pairs; p++ {
			d := 2 * (p*ldd + i)
			dst[d], dst[d+1] = ToBF16(src[i*lds+2*p]), ToBF16(src[i*lds+2*p+1])
		}
	}
}

// gemmBF16Ref is GemmBF16{r}: for r < rows, j < nc
//
//	C[r, j] = alpha * sum_{l<k} a[r*lda + l] * B[l, j] + beta*C[r, j]
//
// with C[r, j] at c[r*ldc + j] and C not read when useBeta is false. B is
// pair-packed: the pair (B[2p, j], B[2p+1, j]) at words 2*(p*ldb + j) and
// one more. Every output is one VDPBF16PS lane's chain over the pairs p in
// order; with odd k the last element of a row of a is paired with a zero,
// and B's last pair is read as stored.
func gemmBF16Ref(k int, a []uint16, lda, rows int, b []uint16, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	for r := 0; r < rows; r++ {
		for j := 0; j < nc; j++ {
			var acc float32
			for p := 0; p < (k+1)/2; p++ {
				a0, a1 := a[r*lda+2*p], uint16(0)
				if 2*p+1 < k {
					a1 = a[r*lda+2*p+1]
				}
				bi := 2 * (p*ldb + j)
				acc = DotBF16Pair(acc, a0, a1, b[bi], b[bi+1])
			}
			scaleStore(&c[r*ldc+j], acc, alpha, beta, useBeta)
		}
	}
}

// gemvBF16Ref is GemvBF16: y[i] = alpha * sum_{l<n} a[i*lda + l] * x[l] +
// beta*y[i] for i < m, y not read when useBeta is false, every row summed
// by gemvDotBF16Ref.
func gemvBF16Ref(m, n int, a []uint16, lda int, x []uint16, y []float32, alpha, beta float32, useBeta bool) {
	for i := 0; i < m; i++ {
		scaleStore(&y[i], gemvDotBF16Ref(n, a[i*lda:], x), alpha, beta, useBeta)
	}
}

// gemvDotBF16Ref is the dot product of a[:k] and b[:k] as the GEMV sums it:
// eight accumulators, the 32-element step j (a last partial one read as
// zeros past k) going into accumulator j%8, lane q taking elements 2q and 2q+1 of it, then
// the eight added lane by lane as ((0+1)+(2+3))+((4+5)+(6+7)), then
// laneSum.
func gemvDotBF16Ref(k int, a, b []uint16) float32 {
	var acc [8][16]float32
	at := func(s []uint16, i int) uint16 {
		if i < k {
			return s[i]
		}
		return 0
	}
	for l0 := 0; l0 < k; l0 += 32 {
		c := &acc[l0/32%8]
		for q := range c {
			i := l0 + 2*q
			c[q] = DotBF16Pair(c[q], at(a, i), at(a, i+1), at(b, i), at(b, i+1))
		}
	}
	var sum [16]float32
	for q := range sum {
		sum[q] = ((acc[0][q] + acc[1][q]) + (acc[2][q] + acc[3][q])) + ((acc[4][q] + acc[5][q]) + (acc[6][q] + acc[7][q]))
	}
	return laneSum(&sum)
}

// dpbf16Ref is DPBF16: one VDPBF16PS over 16 lanes.
func dpbf16Ref(acc []float32, a, b []uint16) {
	for i := range 16 {
		acc[i] = DotBF16Pair(acc[i], a[2*i], a[2*i+1], b[2*i], b[2*i+1])
	}
}

// bf16PeakRef is what BF16Peak computes: 24 chains of n VDPBF16PS adding
// 0.5·0.5 twice per lane, summed.
func bf16PeakRef(n int) float32 {
	const half = 0x3f00
	var acc [24]float32
	for ; n > 0; n-- {
		for i := range acc {
			acc[i] = DotBF16Pair(acc[i], half, half, half, half)
		}
	}
	var s float32
	for _, v := range acc {
		s += v
	}
	return s
}
