package engine

import "charrnn/kernels"

// transpose writes the rows×cols matrix src (row-major) transposed into dst
// (cols rows, leading dimension ld), a 16×16 tile at a time so both stay in
// cache: each row of dst's tile written in one run, its column of src read
// down the tile. Writing in runs is what makes it fast: the other way round
// (src's rows read in runs, dst written down a column) measured 6.7 ns per
// element against 0.85 for the 1024×256 and 2048×512 matrices of the LSTMs.
// A whole tile is copied through fixed-size arrays, which need no bounds
// checks: 2.4 times faster than an element at a time.
func transpose(dst []float32, ld int, src []float32, rows, cols int) {
	const tile = 16
	i0 := 0
	for ; i0+tile <= rows; i0 += tile {
		j0 := 0
		for ; j0+tile <= cols; j0 += tile {
			var s [tile]*[tile]float32 // the tile's rows in src
			for k := range s {
				s[k] = (*[tile]float32)(src[(i0+k)*cols+j0:])
			}
			for j := range tile {
				d := (*[tile]float32)(dst[(j0+j)*ld+i0:])
				d[0], d[1], d[2], d[3] = s[0][j], s[1][j], s[2][j], s[3][j]
				d[4], d[5], d[6], d[7] = s[4][j], s[5][j], s[6][j], s[7][j]
				d[8], d[9], d[10], d[11] = s[8][j], s[9][j], s[10][j], s[11][j]
				d[12], d[13], d[14], d[15] = s[12][j], s[13][j], s[14][j], s[15][j]
			}
		}
		for j := j0; j < cols; j++ { // the columns past the last whole tile
			d := dst[j*ld+i0 : j*ld+i0+tile]
			for k := range d {
				d[k] = src[(i0+k)*cols+j]
			}
		}
	}
	for ; i0 < rows; i0++ { // the rows past the last whole tile
		for j, v := range src[i0*cols : (i0+1)*cols] {
			dst[j*ld+i0] = v
		}
	}
}

// transposer runs transpose on two cores where the backend has a helper
// free: the helper transposes the second half of src's rows (a multiple of
// 16: whole tiles, whole cache lines of dst's rows) into the second half of
// every row of dst. The float32 transposed copies of the weights are made
// anew before every forward pass (3 MB of them for lstm512b32); on one
// core, with the other waiting, they took 3.7 ms of lstm512b32's 189 ms
// training step, and the new transpose on two cores takes 1.7 ms.
//
// A lookup's gradient (row adds of the window's dG into the table) was
// shared the same way and read memory no faster on two cores than on one:
// lstm512b32 and lstm256b32 trained at the same speed (0.997-1.000×).
type transposer struct {
	dst, src   []float32
	ld         int
	rows, cols int
	mid        int // the first of the helper's rows
	// second is the helper's half: a func value made once, as a closure
	// made per call would allocate.
	second func()
	// packW is the helper's part of packPanels: W panel-packed into pw,
	// beside this core packing Wᵀ.
	pw    []float32
	packW func()
}

// transposeMinWork is the fewest elements worth sharing: as for the pool's
// element-wise passes, a half must outweigh waking a helper, which may
// have parked (tiny's training ran 15% slower with its lookup gradient,
// 25×100 floats, shared).
const transposeMinWork = 64 << 10

func newTransposer() *transposer {
	t := &transposer{}
	t.second = func() {
		transpose(t.dst[t.mid:], t.ld, t.src[t.mid*t.cols:], t.rows-t.mid, t.cols)
	}
	t.packW = func() { kernels.PackPanels(t.pw, t.src, t.cols, t.rows, t.cols) }
	return t
}

// packPanels writes W (src, rows×cols) panel-packed into pw and Wᵀ into pt,
// on the cores of k: the two copies are the same size, one per core (on one
// core they took 7 ms of lstm512b32's 240 ms window).
func (t *transposer) packPanels(k kernels.Backend, pt, pw, src []float32, rows, cols int) {
	if a, ok := k.(kernels.Async); ok && rows*cols >= transposeMinWork {
		t.pw, t.src, t.rows, t.cols = pw, src, rows, cols
		if a.Go(t.packW) {
			defer a.Wait()
			kernels.PackPanelsT(pt, src, cols, rows, cols)
			return
		}
	}
	kernels.PackPanelsT(pt, src, cols, rows, cols)
	kernels.PackPanels(pw, src, cols, rows, cols)
}

// run is transpose(dst, ld, src, rows, cols) on the cores of k.
func (t *transposer) run(k kernels.Backend, dst []float32, ld int, src []float32, rows, cols int) {
	mid := rows / 2 / 16 * 16
	if a, ok := k.(kernels.Async); ok && mid > 0 && rows*cols >= transposeMinWork {
		t.dst, t.ld, t.src, t.rows, t.cols, t.mid = dst, ld, src, rows, cols, mid
		if a.Go(t.second) {
			defer a.Wait()
			transpose(dst, ld, src[:mid*cols], mid, cols)
			return
		}
	}
	transpose(dst, ld, src, rows, cols)
}
