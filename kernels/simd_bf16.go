//go:build amd64 && !noasm

package kernels

import (
	"fmt"
	"sync/atomic"

	"github.com/klauspost/cpuid/v2"

	"charrnn/kernels/internal/asm"
)

// bf16Kernels is an instruction set's BF16 routines and the blocking around
// them. An output of its GEMM, or of its GEMV, depends on its two rows and k
// only, not on m, n or a Parallel split (see the bf16 family in
// internal/asm). The GEMV sums a row with more accumulators than the GEMM
// does, to stream A faster, so GemvBF16's y[i] and GemmBF16's C[i, 0] with
// B = xᵀ differ in rounding.
type bf16Kernels struct {
	toBF16 func(dst []uint16, src []float32)
	// toBF16T converts and transposes a strip of 16 rows, cols a multiple
	// of 16.
	toBF16T func(dst []uint16, ldd int, src []float32, lds, cols int)
	// gemm6 and gemm4 update a block of up to 6 (4) rows of C against
	// any number of rows of B, every output summed the same way.
	gemm6, gemm4 bf16GemmKernel
	// gemv does a whole GEMV, or a block of its rows.
	gemv func(m, n int, a []uint16, lda int, x []uint16, y []float32, alpha, beta float32, useBeta bool)

	// sweeps counts GEMVs over large matrices, so that every other one
	// runs backwards (see simdKernels.backwards).
	sweeps atomic.Uint32
}

type bf16GemmKernel func(k int, a []uint16, lda, mr int, b []uint16, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool)

// rowBlock returns the kernel for the next block of rows of C and its
// height, rem rows being left: 6-row blocks, with 4-row ones where 6 would
// leave rows idle (32 rows are 4×6 + 2×4).
func (s *bf16Kernels) rowBlock(rem int) (bf16GemmKernel, int) {
	switch {
	case rem <= 4:
		return s.gemm4, rem
	case rem <= 6:
		return s.gemm6, rem
	case rem <= 12 && rem%6 != 0:
		return s.gemm4, 4
	}
	return s.gemm6, 6
}

// avx512BF16 is the avx512 backend's BF16 capability.
var avx512BF16 = bf16Kernels{
	toBF16:  asm.ToBF16AVX512,
	toBF16T: asm.ToBF16TAVX512,
	gemm6:   asm.GemmBF16NT6AVX512,
	gemm4:   asm.GemmBF16NT4AVX512,
	gemv:    asm.GemvBF16AVX512,
}

// BF16 implements BF16Provider. The CPU is asked on every call, like the
// registry does, so that tests can switch AVX512_BF16 off.
func (be simdBackend) BF16() (BF16, bool) {
	if be.k.bf16 == nil || !cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512VL, cpuid.AVX512BF16) {
		return nil, false
	}
	return be.k.bf16, true
}

func checkMatBF16(name string, s []uint16, rows, cols, ld int) {
	if rows == 0 || cols == 0 {
		return
	}
	if (rows > 1 && ld < cols) || len(s) < (rows-1)*ld+cols {
		panic(fmt.Sprintf("kernels: %s: %d×%d with leading dimension %d does not fit in %d elements", name, rows, cols, ld, len(s)))
	}
}

// The GEMM's cache blocking. A longer k is cut into slabs of at most
// bf16SlabK elements (as few as will do, of equal length), so that a block
// of rows of A and the 4 rows of B it meets at a time stay in L1; the later
// slabs add onto C. Within a slab, B is cut into panels of at most
// bf16PanelBytes, which stay in L2 while every block of rows of A sweeps
// them in one kernel call.
const (
	bf16SlabK      = 2048
	bf16PanelBytes = 512 << 10
)

// ToBF16 implements BF16.
func (s *bf16Kernels) ToBF16(dst []uint16, src []float32) {
	if len(dst) < len(src) {
		panic(fmt.Sprintf("kernels: ToBF16 dst has %d elements, need %d", len(dst), len(src)))
	}
	s.toBF16(dst, src)
}

// ToBF16T implements BF16: strips of 16 rows in assembly, 16 columns at a
// time; the columns and rows left over one by one.
func (s *bf16Kernels) ToBF16T(dst []uint16, ldd int, src []float32, rows, cols, lds int) {
	checkMat("ToBF16T src", src, rows, cols, lds)
	checkMatBF16("ToBF16T dst", dst, cols, rows, ldd)
	if rows == 0 || cols == 0 {
		return
	}
	cols16 := cols &^ 15
	i := 0
	for ; i+16 <= rows; i += 16 {
		if cols16 > 0 {
			s.toBF16T(dst[i:], ldd, src[i*lds:], lds, cols16)
		}
		for j := cols16; j < cols; j++ {
			for r := i; r < i+16; r++ {
				dst[j*ldd+r] = asm.ToBF16(src[r*lds+j])
			}
		}
	}
	for ; i < rows; i++ {
		for j := 0; j < cols; j++ {
			dst[j*ldd+i] = asm.ToBF16(src[i*lds+j])
		}
	}
}

// GemmBF16 implements BF16, blocked as the constants above say.
func (s *bf16Kernels) GemmBF16(m, n, k int, alpha float32, a []uint16, lda int, b []uint16, ldb int, beta float32, c []float32, ldc int) {
	checkMatBF16("GemmBF16 A", a, m, k, lda)
	checkMatBF16("GemmBF16 B", b, n, k, ldb)
	checkMat("GemmBF16 C", c, m, n, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		scaleRows(beta, c, m, n, ldc)
		return
	}
	// Slabs of k of equal length, rounded up to whole 32-element steps.
	slab := (k + bf16SlabK - 1) / bf16SlabK
	slab = ((k+slab-1)/slab + 31) &^ 31
	for l0 := 0; l0 < k; l0 += slab {
		kb := min(slab, k-l0)
		// Later slabs of k add onto the first one's result.
		bt, useBeta := beta, beta != 0
		if l0 > 0 {
			bt, useBeta = 1, true
		}
		nb := max(4, bf16PanelBytes/(2*kb)&^3)
		for j0 := 0; j0 < n; j0 += nb {
			nc := min(nb, n-j0)
			for i0 := 0; i0 < m; {
				kern, rows := s.rowBlock(m - i0)
				kern(kb, a[i0*lda+l0:], lda, rows, b[j0*ldb+l0:], ldb, nc, c[i0*ldc+j0:], ldc, alpha, bt, useBeta)
				i0 += rows
			}
		}
	}
}

// gemvBlock is the rows a backward GEMV sweep does per call.
const gemvBlock = 64

// GemvBF16 implements BF16: one kernel call, or for large matrices blocks
// of rows swept in alternating directions, as float32 GEMVs are (see
// simdKernels.backwards).
func (s *bf16Kernels) GemvBF16(m, n int, alpha float32, a []uint16, lda int, x []uint16, beta float32, y []float32) {
	checkMatBF16("GemvBF16 A", a, m, n, lda)
	if len(x) < n {
		panic(fmt.Sprintf("kernels: GemvBF16 x has %d elements, need %d", len(x), n))
	}
	checkVec("GemvBF16 y", y, m)
	if m == 0 {
		return
	}
	if n == 0 {
		scale(beta, y[:m])
		return
	}
	if m*lda*2 < gemvSweepBytes || s.sweeps.Add(1)&1 != 0 {
		s.gemv(m, n, a, lda, x, y, alpha, beta, beta != 0)
		return
	}
	for hi := m; hi > 0; hi -= gemvBlock {
		lo := max(0, hi-gemvBlock)
		s.gemv(hi-lo, n, a[lo*lda:], lda, x, y[lo:], alpha, beta, beta != 0)
	}
}
