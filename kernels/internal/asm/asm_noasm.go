//go:build !amd64 || noasm

package asm

// The pure-Go twins of the assembly routines, for other platforms and the
// noasm build tag. ref.go says what each computes.

func DotAVX512(x, y []float32) float32                      { return dotRef(x, y) }
func AxpyAVX512(alpha float32, x, y []float32)              { axpyRef(alpha, x, y) }
func ScalAVX512(alpha float32, x []float32)                 { scalRef(alpha, x) }
func AddTanhAVX512(h, a, col, bias []float32)               { addTanhRef(h, a, col, bias) }
func TanhGradAVX512(dr, h, dh []float32)                    { tanhGradRef(dr, h, dh) }
func MaxSumAVX512(x, y []float32) float32                   { return maxSumRef(x, y) }
func ExpSumAVX512(d, x, y []float32, shift float32) float32 { return expSumRef(d, x, y, shift) }
func GemmBcast1AVX512(k int, a []float32, ars, als int, b []float32, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBcastRef(1, k, a, ars, als, b, ldb, nc, c, ldc, alpha, beta, useBeta)
}
func GemmBcast2AVX512(k int, a []float32, ars, als int, b []float32, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBcastRef(2, k, a, ars, als, b, ldb, nc, c, ldc, alpha, beta, useBeta)
}
func GemmBcast3AVX512(k int, a []float32, ars, als int, b []float32, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBcastRef(3, k, a, ars, als, b, ldb, nc, c, ldc, alpha, beta, useBeta)
}
func GemmBcast4AVX512(k int, a []float32, ars, als int, b []float32, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBcastRef(4, k, a, ars, als, b, ldb, nc, c, ldc, alpha, beta, useBeta)
}
func GemmBcast5AVX512(k int, a []float32, ars, als int, b []float32, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBcastRef(5, k, a, ars, als, b, ldb, nc, c, ldc, alpha, beta, useBeta)
}
func GemmBcast6AVX512(k int, a []float32, ars, als int, b []float32, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBcastRef(6, k, a, ars, als, b, ldb, nc, c, ldc, alpha, beta, useBeta)
}
func DotNT4x4AVX512(k int, a []float32, lda, mr int, b []float32, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	dotNTRef(k, a, lda, mr, b, ldb, nc, c, ldc, alpha, beta, useBeta)
}
func DotNT4x1AVX512(k int, a []float32, lda, mr int, b []float32, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	dotNTRef(k, a, lda, mr, b, ldb, nc, c, ldc, alpha, beta, useBeta)
}

func DotAVX2(x, y []float32) float32                      { return dotRef(x, y) }
func AxpyAVX2(alpha float32, x, y []float32)              { axpyRef(alpha, x, y) }
func ScalAVX2(alpha float32, x []float32)                 { scalRef(alpha, x) }
func AddTanhAVX2(h, a, col, bias []float32)               { addTanhRef(h, a, col, bias) }
func TanhGradAVX2(dr, h, dh []float32)                    { tanhGradRef(dr, h, dh) }
func MaxSumAVX2(x, y []float32) float32                   { return maxSumRef(x, y) }
func ExpSumAVX2(d, x, y []float32, shift float32) float32 { return expSumRef(d, x, y, shift) }
func GemmBcast1AVX2(k int, a []float32, ars, als int, b []float32, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBcastRef(1, k, a, ars, als, b, ldb, nc, c, ldc, alpha, beta, useBeta)
}
func GemmBcast2AVX2(k int, a []float32, ars, als int, b []float32, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBcastRef(2, k, a, ars, als, b, ldb, nc, c, ldc, alpha, beta, useBeta)
}
func GemmBcast3AVX2(k int, a []float32, ars, als int, b []float32, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBcastRef(3, k, a, ars, als, b, ldb, nc, c, ldc, alpha, beta, useBeta)
}
func GemmBcast4AVX2(k int, a []float32, ars, als int, b []float32, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBcastRef(4, k, a, ars, als, b, ldb, nc, c, ldc, alpha, beta, useBeta)
}
func DotNT2x4AVX2(k int, a []float32, lda, mr int, b []float32, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	dotNTRef(k, a, lda, mr, b, ldb, nc, c, ldc, alpha, beta, useBeta)
}
func DotNT4x1AVX2(k int, a []float32, lda, mr int, b []float32, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	dotNTRef(k, a, lda, mr, b, ldb, nc, c, ldc, alpha, beta, useBeta)
}

func FMAPeakAVX512(n int) float32 { return fmaPeakRef(n) }
func FMAPeakAVX2(n int) float32   { return fmaPeakRef(n) }

func GemvTAVX512(k int, a []float32, ars, als int, b []float32, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBcastRef(1, k, a, ars, als, b, ldb, nc, c, ldc, alpha, beta, useBeta)
}

func GemvTAVX2(k int, a []float32, ars, als int, b []float32, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBcastRef(1, k, a, ars, als, b, ldb, nc, c, ldc, alpha, beta, useBeta)
}

func SumSquaresAVX512(x []float32) float64                     { return sumSquaresRef(x) }
func SumSquaresWideAVX512(x []float32) float64                 { return sumSquaresRef(x) }
func SGDUpdateAVX512(p, g []float32, lr, scale, limit float32) { sgdUpdateRef(p, g, lr, scale, limit) }
func AdagradUpdateAVX512(p, g, mem []float32, lr, eps, scale, limit float32) {
	adagradUpdateRef(p, g, mem, lr, eps, scale, limit)
}
func AdamUpdateAVX512(p, g, m, v []float32, alpha, beta1, beta2, eps, scale, limit float32) {
	adamWUpdateRef(p, g, m, v, alpha, beta1, beta2, eps, 0, scale, limit)
}
func AdamWUpdateAVX512(p, g, m, v []float32, alpha, beta1, beta2, eps, decay, scale, limit float32) {
	adamWUpdateRef(p, g, m, v, alpha, beta1, beta2, eps, decay, scale, limit)
}
func MomentumUpdateAVX512(p, g, vel []float32, lr, mu, scale, limit float32) {
	momentumUpdateRef(p, g, vel, lr, mu, scale, limit)
}
func RMSpropUpdateAVX512(p, g, ms []float32, lr, rho, eps, scale, limit float32) {
	rmspropUpdateRef(p, g, ms, lr, rho, eps, scale, limit)
}

func SumSquaresAVX2(x []float32) float64                     { return sumSquaresRef(x) }
func SumSquaresWideAVX2(x []float32) float64                 { return sumSquaresRef(x) }
func SGDUpdateAVX2(p, g []float32, lr, scale, limit float32) { sgdUpdateRef(p, g, lr, scale, limit) }
func AdagradUpdateAVX2(p, g, mem []float32, lr, eps, scale, limit float32) {
	adagradUpdateRef(p, g, mem, lr, eps, scale, limit)
}
func AdamUpdateAVX2(p, g, m, v []float32, alpha, beta1, beta2, eps, scale, limit float32) {
	adamWUpdateRef(p, g, m, v, alpha, beta1, beta2, eps, 0, scale, limit)
}
func AdamWUpdateAVX2(p, g, m, v []float32, alpha, beta1, beta2, eps, decay, scale, limit float32) {
	adamWUpdateRef(p, g, m, v, alpha, beta1, beta2, eps, decay, scale, limit)
}
func MomentumUpdateAVX2(p, g, vel []float32, lr, mu, scale, limit float32) {
	momentumUpdateRef(p, g, vel, lr, mu, scale, limit)
}
func RMSpropUpdateAVX2(p, g, ms []float32, lr, rho, eps, scale, limit float32) {
	rmspropUpdateRef(p, g, ms, lr, rho, eps, scale, limit)
}

func GemvNAVX512(m, n int, a []float32, lda int, x, y []float32, alpha, beta float32, useBeta bool) {
	gemvNRef(m, n, a, lda, x, y, alpha, beta, useBeta)
}
func GemvTransAVX512(m, n int, a []float32, lda int, x, y []float32, alpha, beta float32, useBeta bool) {
	gemvTransRef(m, n, a, lda, x, y, alpha, beta, useBeta)
}
func GemvNAVX2(m, n int, a []float32, lda int, x, y []float32, alpha, beta float32, useBeta bool) {
	gemvNRef(m, n, a, lda, x, y, alpha, beta, useBeta)
}
func GemvTransAVX2(m, n int, a []float32, lda int, x, y []float32, alpha, beta float32, useBeta bool) {
	gemvTransRef(m, n, a, lda, x, y, alpha, beta, useBeta)
}
func GemvRowsAVX512(m, n int, a []float32, lda int, x, y []float32, alpha, beta float32, useBeta bool) {
	gemvNRef(m, n, a, lda, x, y, alpha, beta, useBeta)
}
func GemvShortNAVX512(m, n int, a []float32, lda int, x, y []float32, alpha, beta float32, useBeta bool) {
	gemvNRef(m, n, a, lda, x, y, alpha, beta, useBeta)
}
func GemvShortTAVX512(m, n int, a []float32, lda int, x, y []float32, alpha, beta float32, useBeta bool) {
	gemvTransRef(m, n, a, lda, x, y, alpha, beta, useBeta)
}
