package kernels_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"charrnn/kernels"
)

// TestPackPanels checks the layout against its definition, element by
// element, for B given as it is (PackPanels) and as the rows of W = Bᵀ
// (PackPanelsT), with whole and ragged panels and tiles: both must write
// the same floats, and zeros past B's last column.
func TestPackPanels(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, s := range [][2]int{{1, 1}, {16, 16}, {17, 33}, {40, 64}, {35, 100}, {512, 48}} {
		k, n := s[0], s[1]
		ldb, ldw := n+3, k+1
		b := make([]float32, k*ldb)
		w := make([]float32, n*ldw)
		for l := range k {
			for j := range n {
				v := rng.Float32()
				b[l*ldb+j], w[j*ldw+l] = v, v
			}
		}
		p, pt := make([]float32, kernels.PanelsLen(k, n)), make([]float32, kernels.PanelsLen(k, n))
		for i := range p {
			p[i], pt[i] = -1, -2 // every element must be written
		}
		kernels.PackPanels(p, b, ldb, k, n)
		kernels.PackPanelsT(pt, w, ldw, n, k)
		for j0 := 0; j0 < n; j0 += kernels.PanelWidth {
			for l := range k {
				for jj := range kernels.PanelWidth {
					want := float32(0)
					if j := j0 + jj; j < n {
						want = b[l*ldb+j]
					}
					if got := p[j0*k+l*kernels.PanelWidth+jj]; got != want {
						t.Fatalf("k=%d n=%d: PackPanels: panel %d row %d col %d = %v, want %v", k, n, j0/16, l, jj, got, want)
					}
				}
			}
		}
		if !slices.Equal(p, pt) {
			t.Fatalf("k=%d n=%d: PackPanelsT differs from PackPanels of the transpose", k, n)
		}
	}
}

// TestGenericGemmPanelsIsGemm checks that Generic's GemmPanels agrees to the
// bit with its Gemm on B unpacked, which the pinned training runs of the
// generic backend rely on.
func TestGenericGemmPanelsIsGemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	var g kernels.Generic
	for _, s := range [][3]int{{3, 40, 17}, {16, 100, 64}} {
		m, n, k := s[0], s[1], s[2]
		a, b := make([]float32, m*k), make([]float32, k*n)
		for i := range a {
			a[i] = rng.Float32() - 0.5
		}
		for i := range b {
			b[i] = rng.Float32() - 0.5
		}
		p := make([]float32, kernels.PanelsLen(k, n))
		kernels.PackPanels(p, b, n, k, n)
		for _, beta := range []float32{0, 1, -0.75} {
			want, got := make([]float32, m*n), make([]float32, m*n)
			for i := range want {
				want[i] = rng.Float32()
				got[i] = want[i]
			}
			g.Gemm(false, false, m, n, k, 1.25, a, k, b, n, beta, want, n)
			g.GemmPanels(m, n, k, 1.25, a, k, p, beta, got, n)
			if !slices.Equal(got, want) {
				t.Fatalf("m=%d n=%d k=%d beta=%v: GemmPanels differs from Gemm", m, n, k, beta)
			}
		}
	}
}
