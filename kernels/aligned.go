package kernels

import "unsafe"

// AlignedFloats returns n zeroed float32s that start on a 64-byte boundary:
// a cache line, and one AVX-512 vector. A matrix whose leading dimension is
// a multiple of 16 then has every row aligned, so no vector load of it
// straddles two lines.
func AlignedFloats(n int) []float32 {
	s := make([]float32, n+15)
	skip := int(-uintptr(unsafe.Pointer(unsafe.SliceData(s))) % 64 / 4)
	return s[skip : skip+n : skip+n]
}
