package asm

import "math"

// The pure-Go specification of every routine. Each AVX2/AVX-512 routine
// computes what its ref counterpart computes, up to float32 rounding (the
// vector code sums in a different order, and exp and tanh are polynomial
// approximations there).

func dotRef(x, y []float32) float32 {
	var s float32
	for i := range x {
		s += x[i] * y[i]
	}
	return s
}

func axpyRef(alpha float32, x, y []float32) {
	for i := range x {
		y[i] += alpha * x[i]
	}
}

func scalRef(alpha float32, x []float32) {
	for i := range x {
		x[i] *= alpha
	}
}

func addTanhRef(h, a, col, bias []float32) {
	for i := range h {
		h[i] = float32(math.Tanh(float64(a[i] + col[i] + bias[i])))
	}
}

func tanhGradRef(dr, h, dh []float32) {
	for i := range dr {
		dr[i] = (1 - h[i]*h[i]) * dh[i]
	}
}

func maxSumRef(x, y []float32) float32 {
	m := float32(math.Inf(-1))
	for i := range x {
		m = max(m, x[i]+y[i])
	}
	return m
}

func expSumRef(d, x, y []float32, shift float32) float32 {
	var s float32
	for i := range d {
		d[i] = float32(math.Exp(float64(x[i] + y[i] - shift)))
		s += d[i]
	}
	return s
}

// gemmBcastRef is the GemmBcast{rows} micro-kernel: for r < rows, j < nc
//
//	C[r, j] = alpha * sum_{l<k} a[r*ars + l*als] * b[l*ldb + j] + beta*C[r, j]
//
// with C[r, j] at c[r*ldc + j], and C not read when useBeta is false.
func gemmBcastRef(rows, k int, a []float32, ars, als int, b []float32, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	for r := 0; r < rows; r++ {
		for j := 0; j < nc; j++ {
			var s float32
			for l := 0; l < k; l++ {
				s += a[r*ars+l*als] * b[l*ldb+j]
			}
			s *= alpha
			if useBeta {
				s += beta * c[r*ldc+j]
			}
			c[r*ldc+j] = s
		}
	}
}

// dotNTRef is the DotNT micro-kernel: for r < mr, j < nc
//
//	C[r, j] = alpha * sum_{l<k} a[r*lda + l] * b[j*ldb + l] + beta*C[r, j]
//
// with C[r, j] at c[r*ldc + j], and C not read when useBeta is false.
func dotNTRef(k int, a []float32, lda, mr int, b []float32, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	for r := 0; r < mr; r++ {
		for j := 0; j < nc; j++ {
			s := alpha * dotRef(a[r*lda:r*lda+k], b[j*ldb:j*ldb+k])
			if useBeta {
				s += beta * c[r*ldc+j]
			}
			c[r*ldc+j] = s
		}
	}
}

// fmaPeakRef is what FMAPeak computes: n rounds of 12 chains of acc += 0.5*0.5.
func fmaPeakRef(n int) float32 {
	var acc [12]float32
	for ; n > 0; n-- {
		for i := range acc {
			acc[i] += 0.5 * 0.5
		}
	}
	var s float32
	for _, v := range acc {
		s += v
	}
	return s
}
