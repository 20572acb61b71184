//go:build !amd64 || noasm

package asm

// The pure-Go twins of elementwise_amd64.s, for other platforms and the noasm
// build tag. ref.go says what each computes.

func AddTanhAVX512(h, a, col, bias []float32)               { addTanhRef(h, a, col, bias) }
func TanhGradAVX512(dr, h, dh []float32)                    { tanhGradRef(dr, h, dh) }
func MulAVX512(dst, x, y []float32)                         { mulRef(dst, x, y) }
func MaxSumAVX512(x, y []float32) float32                   { return maxSumRef(x, y) }
func ExpSumAVX512(d, x, y []float32, shift float32) float32 { return expSumRef(d, x, y, shift) }
func AddTanhAVX2(h, a, col, bias []float32)                 { addTanhRef(h, a, col, bias) }
func TanhGradAVX2(dr, h, dh []float32)                      { tanhGradRef(dr, h, dh) }
func MulAVX2(dst, x, y []float32)                           { mulRef(dst, x, y) }
func MaxSumAVX2(x, y []float32) float32                     { return maxSumRef(x, y) }
func ExpSumAVX2(d, x, y []float32, shift float32) float32   { return expSumRef(d, x, y, shift) }
