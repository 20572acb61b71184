//go:build !amd64 || noasm

package asm

// The pure-Go twins of bf16_amd64.s, for other platforms and the noasm
// build tag. bf16ref.go says what each computes, to the bit.

func ToBF16AVX512(dst []uint16, src []float32) { toBF16Ref(dst, src) }
func ToBF16TAVX512(dst []uint16, ldd int, src []float32, lds, cols int) {
	toBF16TRef(dst, ldd, src, lds, cols)
}
func ToBF16PairsAVX512(dst []uint16, lo, hi []float32) { toBF16PairsRef(dst, lo, hi) }
func ToBF16PairsTAVX512(dst []uint16, ldd int, src []float32, lds, pairs int) {
	toBF16PairsTRef(dst, ldd, src, lds, pairs)
}
func GemmBF161AVX512(k int, a []uint16, lda int, b []uint16, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBF16Ref(k, a, lda, 1, b, ldb, nc, c, ldc, alpha, beta, useBeta)
}
func GemmBF162AVX512(k int, a []uint16, lda int, b []uint16, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBF16Ref(k, a, lda, 2, b, ldb, nc, c, ldc, alpha, beta, useBeta)
}
func GemmBF163AVX512(k int, a []uint16, lda int, b []uint16, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBF16Ref(k, a, lda, 3, b, ldb, nc, c, ldc, alpha, beta, useBeta)
}
func GemmBF164AVX512(k int, a []uint16, lda int, b []uint16, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBF16Ref(k, a, lda, 4, b, ldb, nc, c, ldc, alpha, beta, useBeta)
}
func GemmBF165AVX512(k int, a []uint16, lda int, b []uint16, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBF16Ref(k, a, lda, 5, b, ldb, nc, c, ldc, alpha, beta, useBeta)
}
func GemmBF166AVX512(k int, a []uint16, lda int, b []uint16, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBF16Ref(k, a, lda, 6, b, ldb, nc, c, ldc, alpha, beta, useBeta)
}
func GemvBF16AVX512(m, n int, a []uint16, lda int, x []uint16, y []float32, alpha, beta float32, useBeta bool) {
	gemvBF16Ref(m, n, a, lda, x, y, alpha, beta, useBeta)
}
func DPBF16AVX512(acc []float32, a, b []uint16) { dpbf16Ref(acc, a, b) }
func BF16PeakAVX512(n int) float32              { return bf16PeakRef(n) }
