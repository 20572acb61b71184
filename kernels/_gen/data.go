package main

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
)

// The read-only tables and constants the routines load from. Each is emitted
// into the file being generated when a routine first uses it, so a family's
// file holds only what its routines read (the symbols are file-local).

// globals holds the tables already emitted, by symbol name.
var globals = map[string]Mem{}

// global returns the table name, emitting it with fill (which writes its DATA)
// the first time.
func global(name string, fill func()) Mem {
	if m, ok := globals[name]; ok {
		return m
	}
	m := GLOBL(name, RODATA|NOPTR)
	fill()
	globals[name] = m
	return m
}

// maskW16 is 17 uint16 opmasks: entry i has the low i bits set.
func maskW16() Mem {
	return global("tailmask16", func() {
		for i := 0; i <= 16; i++ {
			DATA(2*i, U16(uint16(1<<i-1)))
		}
	})
}

// maskY8 is 8 words of -1 then 8 of 0: the AVX2 mask for i lanes starts at
// word 8-i.
func maskY8() Mem {
	return global("tailmask8", func() {
		for i := 0; i < 16; i++ {
			v := uint32(0)
			if i < 8 {
				v = 0xffffffff
			}
			DATA(4*i, U32(v))
		}
	})
}

// permSum8 gathers lane 0 of each 128-bit lane, then lane 1 (see sum8).
func permSum8() Mem {
	return global("permsum8", func() {
		for i, v := range []uint32{0, 4, 8, 12, 1, 5, 9, 13, 0, 0, 0, 0, 0, 0, 0, 0} {
			DATA(4*i, U32(v))
		}
	})
}

// cst returns a 64-byte constant holding bits in every lane, so that it can be
// used directly as a memory operand by both ZMM and YMM instructions.
func cst(name string, bits uint32) Mem {
	return global("c_"+name, func() {
		for i := 0; i < 16; i++ {
			DATA(4*i, U32(bits))
		}
	})
}

func cstf(name string, v float32) Mem { return cst(name, math.Float32bits(v)) }
