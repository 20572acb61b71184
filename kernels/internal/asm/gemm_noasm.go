//go:build !amd64 || noasm

package asm

// The pure-Go twins of gemm_amd64.s, for other platforms and the noasm
// build tag. ref.go says what each computes.

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
func GemmPanel1AVX512(k int, a []float32, lda int, panel []float32, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBcastRef(1, k, a, lda, 1, panel, 16, nc, c, ldc, alpha, beta, useBeta)
}
func GemmPanel2AVX512(k int, a []float32, lda int, panel []float32, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBcastRef(2, k, a, lda, 1, panel, 16, nc, c, ldc, alpha, beta, useBeta)
}
func GemmPanel3AVX512(k int, a []float32, lda int, panel []float32, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBcastRef(3, k, a, lda, 1, panel, 16, nc, c, ldc, alpha, beta, useBeta)
}
func GemmPanel4AVX512(k int, a []float32, lda int, panel []float32, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBcastRef(4, k, a, lda, 1, panel, 16, nc, c, ldc, alpha, beta, useBeta)
}
func GemmPanel5AVX512(k int, a []float32, lda int, panel []float32, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBcastRef(5, k, a, lda, 1, panel, 16, nc, c, ldc, alpha, beta, useBeta)
}
func GemmPanel6AVX512(k int, a []float32, lda int, panel []float32, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBcastRef(6, k, a, lda, 1, panel, 16, nc, c, ldc, alpha, beta, useBeta)
}
func GemmPanel7AVX512(k int, a []float32, lda int, panel []float32, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBcastRef(7, k, a, lda, 1, panel, 16, nc, c, ldc, alpha, beta, useBeta)
}
func GemmPanel8AVX512(k int, a []float32, lda int, panel []float32, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBcastRef(8, k, a, lda, 1, panel, 16, nc, c, ldc, alpha, beta, useBeta)
}
func GemmPanel9AVX512(k int, a []float32, lda int, panel []float32, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBcastRef(9, k, a, lda, 1, panel, 16, nc, c, ldc, alpha, beta, useBeta)
}
func GemmPanel10AVX512(k int, a []float32, lda int, panel []float32, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBcastRef(10, k, a, lda, 1, panel, 16, nc, c, ldc, alpha, beta, useBeta)
}
func GemmPanel11AVX512(k int, a []float32, lda int, panel []float32, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBcastRef(11, k, a, lda, 1, panel, 16, nc, c, ldc, alpha, beta, useBeta)
}
func GemmPanel12AVX512(k int, a []float32, lda int, panel []float32, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBcastRef(12, k, a, lda, 1, panel, 16, nc, c, ldc, alpha, beta, useBeta)
}
func GemmPanel13AVX512(k int, a []float32, lda int, panel []float32, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBcastRef(13, k, a, lda, 1, panel, 16, nc, c, ldc, alpha, beta, useBeta)
}
func GemmPanel14AVX512(k int, a []float32, lda int, panel []float32, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBcastRef(14, k, a, lda, 1, panel, 16, nc, c, ldc, alpha, beta, useBeta)
}
func GemmPanel15AVX512(k int, a []float32, lda int, panel []float32, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBcastRef(15, k, a, lda, 1, panel, 16, nc, c, ldc, alpha, beta, useBeta)
}
func GemmPanel16AVX512(k int, a []float32, lda int, panel []float32, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBcastRef(16, k, a, lda, 1, panel, 16, nc, c, ldc, alpha, beta, useBeta)
}
func FMAPeakAVX512(n int) float32 { return fmaPeakRef(n) }
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
func GemmBcast5AVX2(k int, a []float32, ars, als int, b []float32, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBcastRef(5, k, a, ars, als, b, ldb, nc, c, ldc, alpha, beta, useBeta)
}
func GemmBcast6AVX2(k int, a []float32, ars, als int, b []float32, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmBcastRef(6, k, a, ars, als, b, ldb, nc, c, ldc, alpha, beta, useBeta)
}
func DotNT2x4AVX2(k int, a []float32, lda, mr int, b []float32, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	dotNTRef(k, a, lda, mr, b, ldb, nc, c, ldc, alpha, beta, useBeta)
}
func FMAPeakAVX2(n int) float32 { return fmaPeakRef(n) }
func GemmQuadPanel1AVX512(k int, a []float32, lda int, panels []float32, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmQuadPanelRef(1, k, a, lda, panels, c, ldc, alpha, beta, useBeta)
}
func GemmQuadPanel2AVX512(k int, a []float32, lda int, panels []float32, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmQuadPanelRef(2, k, a, lda, panels, c, ldc, alpha, beta, useBeta)
}
func GemmQuadPanel3AVX512(k int, a []float32, lda int, panels []float32, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmQuadPanelRef(3, k, a, lda, panels, c, ldc, alpha, beta, useBeta)
}
func GemmQuadPanel4AVX512(k int, a []float32, lda int, panels []float32, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmQuadPanelRef(4, k, a, lda, panels, c, ldc, alpha, beta, useBeta)
}
func GemmQuadPanel5AVX512(k int, a []float32, lda int, panels []float32, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmQuadPanelRef(5, k, a, lda, panels, c, ldc, alpha, beta, useBeta)
}
func GemmQuadPanel6AVX512(k int, a []float32, lda int, panels []float32, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	gemmQuadPanelRef(6, k, a, lda, panels, c, ldc, alpha, beta, useBeta)
}
