package kerneltest

import (
	"math"

	"charrnn/kernels"
)

// The bf16 family's faults, each a plain-Go BF16 implementation with one
// bug, added to TestSuiteFindsFaults' table.
func init() {
	faults["bf16-truncates"] = bf16Fault{bf16Backend{ops: truncates{}}, "bf16/ToBF16", "rounds to"}
	faults["gemmbf16-reads-c"] = bf16Fault{bf16Backend{ops: gemmReadsC{}}, "bf16/GemmBF16", "from the bfloat16 inputs"}
	faults["gemvbf16-drops-odd"] = bf16Fault{bf16Backend{ops: gemvDropsOdd{}}, "bf16/GemvBF16", "GemvBF16 m="}
	faults["tobf16pairs-odd-row"] = bf16Fault{bf16Backend{ops: pairsOddRow{}}, "bf16/ToBF16Pairs", "want 0x0000"}
	faults["tobf16t-allocates"] = bf16Fault{bf16Backend{ops: transposeAllocates{}}, "bf16/NoAllocs", "ToBF16T allocates"}
}

// bf16Fault is an entry of faults.
type bf16Fault struct {
	backend kernels.Backend
	family  string
	message string
}

// bf16Backend is the generic backend with the given BF16 ops.
type bf16Backend struct {
	kernels.Generic
	ops kernels.BF16
}

func (b bf16Backend) BF16() (kernels.BF16, bool) { return b.ops, true }

// refBF16 is a plain BF16 implementation: the family's own rounding and a
// float32 sum in order, which the suite's tolerances admit.
type refBF16 struct{}

func (refBF16) ToBF16(dst []uint16, src []float32) {
	for i, v := range src {
		dst[i] = roundBF16(v)
	}
}

func (refBF16) ToBF16T(dst []uint16, ldd int, src []float32, rows, cols, lds int) {
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			dst[j*ldd+i] = roundBF16(src[i*lds+j])
		}
	}
}

func (refBF16) ToBF16Pairs(dst []uint16, ldd int, src []float32, rows, cols, lds int) {
	for l := 0; l < rows; l++ {
		for j := 0; j < cols; j++ {
			dst[2*((l/2)*ldd+j)+l%2] = roundBF16(src[l*lds+j])
			if l%2 == 0 && l+1 == rows {
				dst[2*((l/2)*ldd+j)+1] = 0
			}
		}
	}
}

func (refBF16) ToBF16PairsT(dst []uint16, ldd int, src []float32, rows, cols, lds int) {
	for j := 0; j < rows; j++ {
		for l := 0; l < cols; l++ {
			dst[2*((l/2)*ldd+j)+l%2] = roundBF16(src[j*lds+l])
			if l%2 == 0 && l+1 == cols {
				dst[2*((l/2)*ldd+j)+1] = 0
			}
		}
	}
}

func (refBF16) GemmBF16(m, n, k int, alpha float32, a []uint16, lda int, b []uint16, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			for l := 0; l < k; l++ {
				s += float32(bf16Value(a[i*lda+l]) * bf16Value(b[2*((l/2)*ldb+j)+l%2]))
			}
			v := alpha * s
			if beta != 0 {
				v += beta * c[i*ldc+j]
			}
			c[i*ldc+j] = v
		}
	}
}

func (refBF16) GemvBF16(m, n int, alpha float32, a []uint16, lda int, x []uint16, beta float32, y []float32) {
	for i := 0; i < m; i++ {
		var s float32
		for l := 0; l < n; l++ {
			s += float32(bf16Value(a[i*lda+l]) * bf16Value(x[l]))
		}
		v := alpha * s
		if beta != 0 {
			v += beta * y[i]
		}
		y[i] = v
	}
}

type truncates struct{ refBF16 }

func (truncates) ToBF16(dst []uint16, src []float32) {
	for i, v := range src {
		dst[i] = uint16(math.Float32bits(v) >> 16)
	}
}

type gemmReadsC struct{ refBF16 }

func (gemmReadsC) GemmBF16(m, n, k int, alpha float32, a []uint16, lda int, b []uint16, ldb int, beta float32, c []float32, ldc int) {
	if beta == 0 {
		beta = 1e-30 // reads C, so a NaN there leaks into the result
	}
	refBF16{}.GemmBF16(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

type gemvDropsOdd struct{ refBF16 }

func (gemvDropsOdd) GemvBF16(m, n int, alpha float32, a []uint16, lda int, x []uint16, beta float32, y []float32) {
	if n%2 == 1 && n > 1 {
		n-- // forgets the last element of an odd row
	}
	refBF16{}.GemvBF16(m, n, alpha, a, lda, x, beta, y)
}

type transposeAllocates struct{ refBF16 }

var garbage16 []uint16

func (transposeAllocates) ToBF16T(dst []uint16, ldd int, src []float32, rows, cols, lds int) {
	garbage16 = make([]uint16, rows*cols+1)
	refBF16{}.ToBF16T(dst, ldd, src, rows, cols, lds)
}

type pairsOddRow struct{ refBF16 }

// ToBF16Pairs pairs an odd last row with itself instead of zeros.
func (pairsOddRow) ToBF16Pairs(dst []uint16, ldd int, src []float32, rows, cols, lds int) {
	refBF16{}.ToBF16Pairs(dst, ldd, src, rows, cols, lds)
	if rows%2 == 1 {
		for j := 0; j < cols; j++ {
			dst[2*((rows/2)*ldd+j)+1] = roundBF16(src[(rows-1)*lds+j])
		}
	}
}
