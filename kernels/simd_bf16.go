//go:build amd64 && !noasm

package kernels

import (
	"fmt"
	"sync/atomic"

	"github.com/klauspost/cpuid/v2"

	"charrnn/kernels/internal/asm"
)

// bf16Kernels is an instruction set's BF16 routines and the blocking around
// them. An output of its GEMM, or of its GEMV, depends on its two rows (or
// row and column) and k only, not on m, n or a Parallel split (see the bf16
// family in internal/asm). The GEMV sums a row in 32-element steps over
// eight accumulators, the GEMM in pairs along one chain, so GemvBF16's y[i]
// and GemmBF16's C[0, i] for the same product differ in rounding.
type bf16Kernels struct {
	toBF16 func(dst []uint16, src []float32)
	// toBF16T converts and transposes a strip of 16 rows, cols a multiple
	// of 16; toBF16PairsT packs a strip's transpose, pairs a multiple of 16.
	toBF16T, toBF16PairsT func(dst []uint16, ldd int, src []float32, lds, cols int)
	// toBF16Pairs converts two rows and interleaves them.
	toBF16Pairs func(dst []uint16, lo, hi []float32)
	// gemm[r-1] updates a block of r rows of C against any number of
	// columns of B.
	gemm []bf16GemmKernel
	// gemv does a whole GEMV, or a block of its rows.
	gemv func(m, n int, a []uint16, lda int, x []uint16, y []float32, alpha, beta float32, useBeta bool)

	// amx sends the GEMMs it can to AMX's tiles (amx.go).
	amx bool

	// sweeps counts GEMVs over large matrices, so that every other one
	// runs backwards (see simdKernels.backwards).
	sweeps atomic.Uint32
}

type bf16GemmKernel func(k int, a []uint16, lda int, b []uint16, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool)

// avx512BF16 is the avx512 backend's BF16 capability.
var avx512BF16 = newAVX512BF16(false)

// newAVX512BF16 is the AVX512_BF16 routines, with the GEMMs that can on
// AMX's tiles when amx is set (the amx backend's).
func newAVX512BF16(amx bool) *bf16Kernels {
	return &bf16Kernels{
		toBF16:       asm.ToBF16AVX512,
		toBF16T:      asm.ToBF16TAVX512,
		toBF16PairsT: asm.ToBF16PairsTAVX512,
		toBF16Pairs:  asm.ToBF16PairsAVX512,
		gemm: []bf16GemmKernel{asm.GemmBF161AVX512, asm.GemmBF162AVX512, asm.GemmBF163AVX512,
			asm.GemmBF164AVX512, asm.GemmBF165AVX512, asm.GemmBF166AVX512},
		gemv: asm.GemvBF16AVX512,
		amx:  amx,
	}
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

// checkPairsBF16 checks that s holds a pair-packed rows×cols matrix with
// leading dimension ld (see BF16).
func checkPairsBF16(name string, s []uint16, rows, cols, ld int) {
	if rows == 0 || cols == 0 {
		return
	}
	if (rows > 2 && ld < cols) || len(s) < 2*(((rows+1)/2-1)*ld+cols) {
		panic(fmt.Sprintf("kernels: %s: %d×%d pair-packed with leading dimension %d does not fit in %d elements", name, rows, cols, ld, len(s)))
	}
}

// The GEMM's cache blocking. A longer k is cut into slabs of at most
// bf16SlabK elements (as few as will do, of equal even length), the later
// slabs adding onto C; within a slab B is cut into panels of at most
// bf16PanelBytes, which stay in L2 while every block of rows of A sweeps
// them in one kernel call. The panels are whole blocks of the kernels'
// columns (bf16GemmCols).
const (
	bf16SlabK      = 2048
	bf16PanelBytes = 512 << 10
	bf16GemmCols   = 64
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

// ToBF16Pairs implements BF16: two rows at a time in assembly, a last odd
// one paired with zeros here.
func (s *bf16Kernels) ToBF16Pairs(dst []uint16, ldd int, src []float32, rows, cols, lds int) {
	checkMat("ToBF16Pairs src", src, rows, cols, lds)
	checkPairsBF16("ToBF16Pairs dst", dst, rows, cols, ldd)
	if rows == 0 || cols == 0 {
		return
	}
	for p := 0; p < rows/2; p++ {
		s.toBF16Pairs(dst[2*p*ldd:2*(p*ldd+cols)], src[2*p*lds:2*p*lds+cols], src[(2*p+1)*lds:(2*p+1)*lds+cols])
	}
	if rows%2 == 1 {
		d, r := dst[(rows-1)*ldd:], src[(rows-1)*lds:]
		for j := 0; j < cols; j++ {
			d[2*j], d[2*j+1] = asm.ToBF16(r[j]), 0
		}
	}
}

// ToBF16PairsT implements BF16: strips of 16 rows in assembly, 16 pairs of
// columns at a time; the columns and rows left over one by one.
func (s *bf16Kernels) ToBF16PairsT(dst []uint16, ldd int, src []float32, rows, cols, lds int) {
	checkMat("ToBF16PairsT src", src, rows, cols, lds)
	checkPairsBF16("ToBF16PairsT dst", dst, cols, rows, ldd)
	if rows == 0 || cols == 0 {
		return
	}
	// pairT packs the pairs p of rows lo..hi of src.
	pairT := func(lo, hi, p int) {
		for i := lo; i < hi; i++ {
			d, r := dst[2*(p*ldd+i):], src[i*lds:]
			d[0], d[1] = asm.ToBF16(r[2*p]), 0
			if 2*p+1 < cols {
				d[1] = asm.ToBF16(r[2*p+1])
			}
		}
	}
	pairs, whole := (cols+1)/2, (cols/2)&^15
	i := 0
	for ; i+16 <= rows; i += 16 {
		if whole > 0 {
			s.toBF16PairsT(dst[2*i:], ldd, src[i*lds:], lds, whole)
		}
		for p := whole; p < pairs; p++ {
			pairT(i, i+16, p)
		}
	}
	for p := 0; p < pairs; p++ {
		pairT(i, rows, p)
	}
}

// GemmBF16 implements BF16, blocked as the constants above say.
func (s *bf16Kernels) GemmBF16(m, n, k int, alpha float32, a []uint16, lda int, b []uint16, ldb int, beta float32, c []float32, ldc int) {
	checkMatBF16("GemmBF16 A", a, m, k, lda)
	checkPairsBF16("GemmBF16 B", b, k, n, ldb)
	checkMat("GemmBF16 C", c, m, n, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		scaleRows(beta, c, m, n, ldc)
		return
	}
	if s.usesAMX(k, alpha, beta) {
		// The tiles take k in steps of 32; the rest of it (a window of
		// T = 100 steps at B = 1 leaves 4) is added on VDPBF16PS.
		k32 := k &^ 31
		s.gemmAMX(m, n, k32, a, lda, b, ldb, beta, c, ldc)
		if k32 < k {
			s.gemmDot(m, n, k-k32, 1, a[k32:], lda, b[k32*ldb:], ldb, 1, c, ldc)
		}
		return
	}
	s.gemmDot(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// gemmDot is GemmBF16 on VDPBF16PS, for k > 0.
func (s *bf16Kernels) gemmDot(m, n, k int, alpha float32, a []uint16, lda int, b []uint16, ldb int, beta float32, c []float32, ldc int) {
	// Blocks of rows as even as the kernels' height allows: a short block
	// has too few accumulators to keep VDPBF16PS busy.
	maxRows := len(s.gemm)
	blocks := (m + maxRows - 1) / maxRows
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
		// l0 is even: slab l0 starts at row l0/2 of B's pairs.
		as, bs := a[l0:], b[l0*ldb:]
		nb := max(bf16GemmCols, bf16PanelBytes/(2*(kb+1))/bf16GemmCols*bf16GemmCols)
		for j0 := 0; j0 < n; j0 += nb {
			nc := min(nb, n-j0)
			i0 := 0
			for blk := range blocks {
				rows := (m*(blk+1))/blocks - i0
				s.gemm[rows-1](kb, as[i0*lda:], lda, bs[2*j0:], ldb, nc, c[i0*ldc+j0:], ldc, alpha, bt, useBeta)
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
