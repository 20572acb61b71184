//go:build !amd64 || noasm

package asm

// The pure-Go twins of blas1_amd64.s, for other platforms and the noasm
// build tag. ref.go says what each computes.

func DotAVX512(x, y []float32) float32         { return dotRef(x, y) }
func AxpyAVX512(alpha float32, x, y []float32) { axpyRef(alpha, x, y) }
func ScalAVX512(alpha float32, x []float32)    { scalRef(alpha, x) }
func DotAVX2(x, y []float32) float32           { return dotRef(x, y) }
func AxpyAVX2(alpha float32, x, y []float32)   { axpyRef(alpha, x, y) }
func ScalAVX2(alpha float32, x []float32)      { scalRef(alpha, x) }
