//go:build !amd64 || noasm

package asm

// The pure-Go twins of bf16_amd64.s, for other platforms and the noasm
// build tag. bf16ref.go says what each computes, to the bit.

func ToBF16AVX512(dst []uint16, src []float32) { toBF16Ref(dst, src) }
func ToBF16TAVX512(dst []uint16, ldd int, src []float32, lds, cols int) {
	toBF16TRef(dst, ldd, src, lds, cols)
}
func GemmBF16NT4AVX512(k int, a []uint16, lda, mr int, b []uint16, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBF16NTRef(k, a, lda, mr, b, ldb, nc, c, ldc, alpha, beta, useBeta)
}
func GemmBF16NT6AVX512(k int, a []uint16, lda, mr int, b []uint16, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBF16NTRef(k, a, lda, mr, b, ldb, nc, c, ldc, alpha, beta, useBeta)
}
func GemvBF16AVX512(m, n int, a []uint16, lda int, x []uint16, y []float32, alpha, beta float32, useBeta bool) {
	gemvBF16Ref(m, n, a, lda, x, y, alpha, beta, useBeta)
}
func DPBF16AVX512(acc []float32, a, b []uint16) { dpbf16Ref(acc, a, b) }
func BF16PeakAVX512(n int) float32              { return bf16PeakRef(n) }
