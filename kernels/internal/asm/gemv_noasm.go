//go:build !amd64 || noasm

package asm

// The pure-Go twins of gemv_amd64.s, for other platforms and the noasm
// build tag. ref.go says what each computes.

func GemvTAVX512(k int, a []float32, ars, als int, b []float32, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBcastRef(1, k, a, ars, als, b, ldb, nc, c, ldc, alpha, beta, useBeta)
}
func DotNT4x1AVX512(k int, a []float32, lda, mr int, b []float32, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	dotNTRef(k, a, lda, mr, b, ldb, nc, c, ldc, alpha, beta, useBeta)
}
func GemvNAVX512(m, n int, a []float32, lda int, x, y []float32, alpha, beta float32, useBeta bool) {
	gemvNRef(m, n, a, lda, x, y, alpha, beta, useBeta)
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
func GemvTransAVX512(m, n int, a []float32, lda int, x, y []float32, alpha, beta float32, useBeta bool) {
	gemvTransRef(m, n, a, lda, x, y, alpha, beta, useBeta)
}
func GemvTAVX2(k int, a []float32, ars, als int, b []float32, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBcastRef(1, k, a, ars, als, b, ldb, nc, c, ldc, alpha, beta, useBeta)
}
func DotNT4x1AVX2(k int, a []float32, lda, mr int, b []float32, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	dotNTRef(k, a, lda, mr, b, ldb, nc, c, ldc, alpha, beta, useBeta)
}
func GemvNAVX2(m, n int, a []float32, lda int, x, y []float32, alpha, beta float32, useBeta bool) {
	gemvNRef(m, n, a, lda, x, y, alpha, beta, useBeta)
}
func GemvTransAVX2(m, n int, a []float32, lda int, x, y []float32, alpha, beta float32, useBeta bool) {
	gemvTransRef(m, n, a, lda, x, y, alpha, beta, useBeta)
}
