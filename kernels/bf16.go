package kernels

// BF16 is a backend's optional bfloat16 capability: products whose operands
// are bfloat16 (the top 16 bits of a float32: 8 exponent bits, 8 significant
// bits) and whose sums are float32. Weights kept as float32 master copies are
// converted to bfloat16 once per step, in the layout their products read.
//
// The GEMMs take B pair-packed, the layout VDPBF16PS multiplies: a k×n
// matrix pair-packed with leading dimension ld (>= n) is ⌈k/2⌉ rows of ld
// pairs of words, element (l, j) at word 2*((l/2)*ld + j) + l%2, the pairs
// of an odd k's last row completed by zeros. Each step of a GEMM multiplies
// a pair of A, the same for a whole row of C, by a row of B's pairs, so
// both halves of a pair are added to the same output, and no sum is split
// across lanes.
//
// Matrices follow the package's conventions (row-major, a leading dimension,
// nothing outside the shapes read or written); bfloat16 values are []uint16.
// A slice too short for its shape panics, as in the Backend ops.
type BF16 interface {
	// ToBF16 rounds src[i] to bfloat16 into dst[i] for i < len(src), as
	// the AVX512_BF16 conversion does: to nearest, ties to even; values
	// beyond the largest finite bfloat16 by half a unit or more become
	// ±Inf; a NaN stays NaN (quieted); a subnormal becomes a zero of its
	// sign.
	ToBF16(dst []uint16, src []float32)

	// ToBF16T converts and transposes: src is rows×cols (leading
	// dimension lds), dst is cols×rows (leading dimension ldd), and
	// dst[j*ldd + i] = bf16(src[i*lds + j]), rounded as ToBF16 does.
	ToBF16T(dst []uint16, ldd int, src []float32, rows, cols, lds int)

	// ToBF16Pairs packs the rows×cols matrix src (leading dimension lds)
	// into dst pair-packed (leading dimension ldd pairs), rounded as
	// ToBF16 does: pairs of rows of src interleaved.
	ToBF16Pairs(dst []uint16, ldd int, src []float32, rows, cols, lds int)

	// ToBF16PairsT packs the transpose of the rows×cols matrix src, a
	// cols×rows matrix, into dst pair-packed (leading dimension ldd
	// pairs), rounded as ToBF16 does: the pairs of each row of src become
	// a column of dst.
	ToBF16PairsT(dst []uint16, ldd int, src []float32, rows, cols, lds int)

	// GemmBF16 computes C = alpha*A·B + beta*C where A is m×k bfloat16
	// (row-major, leading dimension lda), B is k×n bfloat16 pair-packed
	// (leading dimension ldb pairs) and C is m×n float32. Any k works,
	// odd ones included. With beta == 0, C is overwritten and never read.
	GemmBF16(m, n, k int, alpha float32, a []uint16, lda int, b []uint16, ldb int, beta float32, c []float32, ldc int)

	// GemvBF16 computes y = alpha*A·x + beta*y where A is m×n and x has n
	// elements, both bfloat16, and y has m float32 elements. With beta ==
	// 0, y is overwritten and never read.
	GemvBF16(m, n int, alpha float32, a []uint16, lda int, x []uint16, beta float32, y []float32)
}

// BF16Provider is implemented by a backend that has BF16 ops on some CPUs:
// BF16 returns them, or false where this CPU cannot run them.
type BF16Provider interface {
	BF16() (BF16, bool)
}

// BF16Of returns b's bfloat16 ops if b has them and this CPU can run them:
// the avx512 backend on a CPU with AVX512_BF16, and Parallel wrappers of
// it, which split large calls over their cores as they split Gemm and Gemv.
// Everywhere else it reports false.
func BF16Of(b Backend) (BF16, bool) {
	if p, ok := b.(BF16Provider); ok {
		return p.BF16()
	}
	return nil, false
}

// PairsLD is a good leading dimension, in pairs, for a pair-packed matrix
// of n columns: rows a whole number of 64-byte lines apart, and not a
// multiple of 512 bytes, which would put the rows of a GEMM's panel of B
// into a fraction of the cache's sets.
func PairsLD(n int) int {
	ld := (n + 15) / 16 * 16
	if ld%128 == 0 {
		ld += 16
	}
	return ld
}

// PairsWords is the length, in bfloat16 words, of a k-row matrix
// pair-packed with leading dimension ld pairs, its last row of pairs whole.
func PairsWords(k, ld int) int { return 2 * ((k + 1) / 2) * ld }
