package kernels

import "fmt"

// PanelWidth is how many columns of B one panel of a panel-packed B holds.
const PanelWidth = 16

// A panel-packed B (k×n) is B cut into ⌈n/16⌉ panels of 16 columns, each
// stored as k rows of 16 floats one after the other; the last panel's
// columns past n are zeros. A product that reads B row by row then streams
// through memory contiguously. Rows of a wide B are kilobytes apart (8 KB
// for an LSTM's 2048 gates), every one on its own page, and the hardware
// prefetchers of an Intel Xeon do not follow them: each step's product of
// a 2×512 LSTM, whose 4 MB of weights come from L3, ran at 45% of the FMA
// peak read that way (bench/RESULTS.md). The engine packs the recurrent
// weights once per window, and every step's products read the panels.

// PanelsLen is the length of a panel-packed k×n matrix.
func PanelsLen(k, n int) int { return (n + PanelWidth - 1) / PanelWidth * PanelWidth * k }

// PackPanels writes the k×n matrix B (row-major, leading dimension ldb)
// panel-packed into dst.
func PackPanels(dst, b []float32, ldb, k, n int) {
	checkMat("PackPanels B", b, k, n, ldb)
	dst = dst[:PanelsLen(k, n)]
	for j0 := 0; j0 < n; j0 += PanelWidth {
		w := min(PanelWidth, n-j0)
		p := dst[j0*k:]
		for l := range k {
			row := (*[PanelWidth]float32)(p[l*PanelWidth:])
			copy(row[:], b[l*ldb+j0:l*ldb+j0+w])
			clear(row[w:])
		}
	}
}

// PackPanelsT writes B = Wᵀ panel-packed into dst, where W is n×k
// (row-major, leading dimension ldw): panel j0/16 holds rows j0..j0+15 of
// W, transposed. It goes through W a 16×16 tile at a time, so that both
// stay in cache.
func PackPanelsT(dst, w []float32, ldw, n, k int) {
	checkMat("PackPanelsT W", w, n, k, ldw)
	dst = dst[:PanelsLen(k, n)]
	for j0 := 0; j0 < n; j0 += PanelWidth {
		rows := min(PanelWidth, n-j0)
		p := dst[j0*k:]
		l0 := 0
		if rows == PanelWidth {
			for ; l0+PanelWidth <= k; l0 += PanelWidth {
				var s [PanelWidth]*[PanelWidth]float32 // the tile's rows in W
				for r := range s {
					s[r] = (*[PanelWidth]float32)(w[(j0+r)*ldw+l0:])
				}
				for l := range PanelWidth {
					d := (*[PanelWidth]float32)(p[(l0+l)*PanelWidth:])
					d[0], d[1], d[2], d[3] = s[0][l], s[1][l], s[2][l], s[3][l]
					d[4], d[5], d[6], d[7] = s[4][l], s[5][l], s[6][l], s[7][l]
					d[8], d[9], d[10], d[11] = s[8][l], s[9][l], s[10][l], s[11][l]
					d[12], d[13], d[14], d[15] = s[12][l], s[13][l], s[14][l], s[15][l]
				}
			}
		}
		for l := l0; l < k; l++ { // past the last whole tile, and a narrow last panel
			d := (*[PanelWidth]float32)(p[l*PanelWidth:])
			for r := range rows {
				d[r] = w[(j0+r)*ldw+l]
			}
			clear(d[rows:])
		}
	}
}

// checkPanels checks the operands of GemmPanels.
func checkPanels(m, n, k int, a []float32, lda int, panels []float32, c []float32, ldc int) {
	checkMat("GemmPanels A", a, m, k, lda)
	checkMat("GemmPanels C", c, m, n, ldc)
	if m > 0 && len(panels) < PanelsLen(k, n) {
		panic(fmt.Sprintf("kernels: GemmPanels B: %d×%d panel-packed needs %d elements, have %d", k, n, PanelsLen(k, n), len(panels)))
	}
}
