package engine

import (
	"io"
	"testing"

	"charrnn/kernels"
)

// transpose and its two-core form write every element of srcᵀ where it
// belongs, and nothing else of dst, for shapes with and without partial
// 16×16 tiles.
func TestTranspose(t *testing.T) {
	be := kernels.Supported()[0]
	two := kernels.Parallel(be, 2)
	defer two.(io.Closer).Close()
	tp := newTransposer()
	for _, sh := range [][3]int{{2048, 512, 2064}, {37, 53, 40}, {16, 16, 16}, {100, 65, 112}, {1, 5, 3}, {5, 1, 5}, {33, 17, 48}} {
		rows, cols, ld := sh[0], sh[1], sh[2]
		src := make([]float32, rows*cols)
		for i := range src {
			src[i] = float32(i + 1)
		}
		for _, k := range []kernels.Backend{nil, be, two} {
			dst := make([]float32, cols*ld)
			for i := range dst {
				dst[i] = -1
			}
			if k == nil {
				transpose(dst, ld, src, rows, cols)
			} else {
				tp.run(k, dst, ld, src, rows, cols)
			}
			for j := 0; j < cols; j++ {
				for i := 0; i < ld; i++ {
					want := float32(-1)
					if i < rows {
						want = src[i*cols+j]
					}
					if got := dst[j*ld+i]; got != want {
						t.Fatalf("%d×%d, ld %d, backend %v: dst[%d][%d] = %v, want %v", rows, cols, ld, k, j, i, got, want)
					}
				}
			}
		}
	}
}
