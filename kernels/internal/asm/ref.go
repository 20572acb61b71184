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

func mulRef(dst, x, y []float32) {
	for i := range dst {
		dst[i] = x[i] * y[i]
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

// gemmQuadPanelRef is the GemmQuadPanel{rows} micro-kernel: four panels of
// 16 columns, each k×16 floats, side by side in C's columns 0..63.
func gemmQuadPanelRef(rows, k int, a []float32, lda int, panels []float32, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	for p := 0; p < 4; p++ {
		gemmBcastRef(rows, k, a, lda, 1, panels[p*k*16:], 16, 16, c[p*16:], ldc, alpha, beta, useBeta)
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

// The optimizer routines. Every update first conditions the gradient,
// g' = min(max(scale*g, -limit), limit), which keeps a NaN gradient NaN (Go's
// min and max propagate it, and so does the operand order of MAXPS/MINPS in
// the assembly). The assembly fuses some multiply-adds, so it agrees with
// these up to float32 rounding.

func sumSquaresRef(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return s
}

func conditionRef(g, scale, limit float32) float32 {
	return min(max(g*scale, -limit), limit)
}

func sgdUpdateRef(p, g []float32, lr, scale, limit float32) {
	for i := range p {
		p[i] -= lr * conditionRef(g[i], scale, limit)
	}
}

func adagradUpdateRef(p, g, mem []float32, lr, eps, scale, limit float32) {
	for i := range p {
		gi := conditionRef(g[i], scale, limit)
		mem[i] += gi * gi
		p[i] -= lr * gi / float32(math.Sqrt(float64(mem[i]+eps)))
	}
}

func adamWUpdateRef(p, g, m, v []float32, alpha, beta1, beta2, eps, decay, scale, limit float32) {
	for i := range p {
		gi := conditionRef(g[i], scale, limit)
		m[i] = beta1*m[i] + (1-beta1)*gi
		v[i] = beta2*v[i] + (1-beta2)*gi*gi
		p[i] -= decay*p[i] + alpha*m[i]/(float32(math.Sqrt(float64(v[i])))+eps)
	}
}

func momentumUpdateRef(p, g, vel []float32, lr, mu, scale, limit float32) {
	for i := range p {
		vel[i] = mu*vel[i] + conditionRef(g[i], scale, limit)
		p[i] -= lr * vel[i]
	}
}

func rmspropUpdateRef(p, g, ms []float32, lr, rho, eps, scale, limit float32) {
	for i := range p {
		gi := conditionRef(g[i], scale, limit)
		ms[i] = rho*ms[i] + (1-rho)*gi*gi
		p[i] -= lr * gi / (float32(math.Sqrt(float64(ms[i]))) + eps)
	}
}

// gemvNRef is GemvN: y[i] = alpha * sum_{l<n} a[i*lda + l] * x[l] + beta*y[i]
// for i < m, y not read when useBeta is false.
func gemvNRef(m, n int, a []float32, lda int, x, y []float32, alpha, beta float32, useBeta bool) {
	dotNTRef(n, a, lda, m, x, 0, 1, y, 1, alpha, beta, useBeta)
}

// gemvTransRef is GemvTrans: y[j] = alpha * sum_{l<m} x[l] * a[l*lda + j] +
// beta*y[j] for j < n, y not read when useBeta is false.
func gemvTransRef(m, n int, a []float32, lda int, x, y []float32, alpha, beta float32, useBeta bool) {
	gemmBcastRef(1, m, x, 0, 1, a, lda, n, y, 0, alpha, beta, useBeta)
}

// The gated cells' steps. They use float32 arithmetic in the assembly's
// order, with its fused multiply-adds (fma32); only σ and tanh are the exact
// functions rounded to float32, where the assembly evaluates polynomials.

// sigmoidLimit bounds σ's argument, as in the assembly: the kernels
// package's SigmoidLimit (a saturated unit keeps σ >= σ(-30) ≈ 9.4e-14, so
// its tiny factors never reach float32's subnormal range).
const sigmoidLimit = 30

func sigmoidRef(x float32) float32 {
	x = min(max(x, -sigmoidLimit), sigmoidLimit) // NaN stays NaN
	return float32(1 / (1 + math.Exp(-float64(x))))
}

func tanhRef(x float32) float32 { return float32(math.Tanh(float64(x))) }

// sigmoidGradRef is σ(1-σ) from σ's value a, computed as a - a² rounded once.
func sigmoidGradRef(a float32) float32 { return fma32(-a, a, a) }

// oneMinusSquareRef is tanh's derivative 1 - a² from its value a, rounded once.
func oneMinusSquareRef(a float32) float32 { return fma32(-a, a, 1) }

func lstmForwardRef(gates, in, bias, cPrev, c, tc, h []float32) {
	H := len(h)
	for j := range h {
		var act [4]float32
		for k := range act {
			p := gates[k*H+j] + in[k*H+j] + bias[k*H+j]
			if k == 2 {
				act[k] = tanhRef(p)
			} else {
				act[k] = sigmoidRef(p)
			}
			gates[k*H+j] = act[k]
		}
		i, f, g, o := act[0], act[1], act[2], act[3]
		cj := fma32(f, cPrev[j], i*g)
		t := tanhRef(cj)
		c[j], tc[j], h[j] = cj, t, o*t
	}
}

func lstmBackwardRef(dgates, gates, cPrev, tc, dh, dc []float32) {
	H := len(dc)
	for j := range dc {
		i, f, g, o := gates[j], gates[H+j], gates[2*H+j], gates[3*H+j]
		t := tc[j]
		dct := fma32(oneMinusSquareRef(t), dh[j]*o, dc[j])
		dgates[j] = sigmoidGradRef(i) * (dct * g)
		dgates[H+j] = sigmoidGradRef(f) * (dct * cPrev[j])
		dgates[2*H+j] = oneMinusSquareRef(g) * (dct * i)
		dgates[3*H+j] = sigmoidGradRef(o) * (dh[j] * t)
		dc[j] = dct * f
	}
}

func gruForwardRef(act, hg, in, bih, bhh, hPrev, h []float32) {
	H := len(h)
	for j := range h {
		r := sigmoidRef(in[j] + bih[j] + hg[j] + bhh[j])
		z := sigmoidRef(in[H+j] + bih[H+j] + hg[H+j] + bhh[H+j])
		hn := hg[2*H+j] + bhh[2*H+j]
		n := tanhRef(fma32(r, hn, in[2*H+j]+bih[2*H+j]))
		act[j], act[H+j], act[2*H+j] = r, z, n
		hg[2*H+j] = hn
		h[j] = fma32(z, hPrev[j], (1-z)*n)
	}
}

// gruBackwardRef skips dhPrev when it is empty.
func gruBackwardRef(dx, dhg, act, hg, hPrev, dh, dhPrev []float32) {
	H := len(dh)
	for j := range dh {
		r, z, n := act[j], act[H+j], act[2*H+j]
		dan := oneMinusSquareRef(n) * (dh[j] * (1 - z))
		dar := sigmoidGradRef(r) * (dan * hg[2*H+j])
		daz := sigmoidGradRef(z) * (dh[j] * (hPrev[j] - n))
		dx[j], dx[H+j], dx[2*H+j] = dar, daz, dan
		dhg[j], dhg[H+j], dhg[2*H+j] = dar, daz, dan*r
		if len(dhPrev) > 0 {
			dhPrev[j] = fma32(z, dh[j], dhPrev[j])
		}
	}
}
