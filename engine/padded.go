package engine

import "charrnn/kernels"

// paddedCopy is the copy of a rows×cols matrix that the kernels read in its
// place when cols is not a multiple of 16. Unaligned rows make most vector
// loads straddle two cache lines, which slows the small per-step GEMVs by
// about a third (bench/RESULTS.md); the copy costs one pass over the matrix
// per window. Results are bit-identical, as no kernel's sums depend on the
// leading dimension.
type paddedCopy struct {
	buf []float32 // nil when the matrix is used as it is
	ld  int
}

// paddedLD is the leading dimension of the aligned copy of a matrix with
// cols columns (cols itself when no copy is made), spaced as transposedLD
// spaces rows.
func paddedLD(cols int) int {
	if cols%16 == 0 {
		return cols
	}
	return transposedLD(cols)
}

// transposedLD is the leading dimension of a transposed copy with cols
// columns, which the broadcast GEMM reads down its rows in slabs of 64: cols
// rounded up to 16, plus 16 more when rows would be a multiple of 512 bytes
// apart, where they share their L1 sets. At 8 KB apart (Wᵀ of a 2048-row matrix) all of a slab's rows fall
// in the same few L1 and L2 sets and it cannot stay in cache between row
// blocks: the step's 16×2048×512 product measured 83% of the FMA peak
// against 92% with the padding, the window's 1600×2048×512 70% against 86%.
func transposedLD(cols int) int {
	ld := (cols + 15) / 16 * 16
	if ld%128 == 0 {
		ld += 16
	}
	return ld
}

// paddedFloats is the size of the copy of a rows×cols matrix (0 if none).
func paddedFloats(rows, cols int) int {
	if cols%16 == 0 {
		return 0
	}
	return rows * paddedLD(cols)
}

func newPaddedCopy(rows, cols int) paddedCopy {
	if cols%16 == 0 {
		return paddedCopy{ld: cols}
	}
	return paddedCopy{buf: kernels.AlignedFloats(paddedFloats(rows, cols)), ld: paddedLD(cols)}
}

// refresh copies m (rows of cols floats) in and returns the matrix to read
// with its leading dimension.
func (pc *paddedCopy) refresh(m []float32, cols int) ([]float32, int) {
	if pc.buf == nil {
		return m, cols
	}
	for i := range len(m) / cols {
		copy(pc.buf[i*pc.ld:i*pc.ld+cols], m[i*cols:(i+1)*cols])
	}
	return pc.buf, pc.ld
}
