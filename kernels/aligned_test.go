package kernels

import (
	"testing"
	"unsafe"
)

func TestAlignedFloats(t *testing.T) {
	for n := 0; n < 300; n += 7 {
		s := AlignedFloats(n)
		if len(s) != n || cap(s) != n {
			t.Fatalf("n=%d: len %d cap %d", n, len(s), cap(s))
		}
		if n > 0 && uintptr(unsafe.Pointer(&s[0]))%64 != 0 {
			t.Fatalf("n=%d: starts at %p", n, &s[0])
		}
		for i, v := range s {
			if v != 0 {
				t.Fatalf("n=%d: s[%d] = %v", n, i, v)
			}
		}
	}
}
