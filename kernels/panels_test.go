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
