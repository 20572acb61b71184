package main

import (
	"fmt"
	"testing"
)

// TestEncodeBF16 pins the EVEX encoder against GNU as: each case is a line
// avo prints (Go's operand order) and the bytes `as` assembles the same
// instruction into (Intel's operand order in the comment).
func TestEncodeBF16(t *testing.T) {
	for _, c := range []struct {
		line string
		want []byte
	}{
		{"\tVDPBF16PS Z3, Z2, Z1", []byte{0x62, 0xf2, 0x6e, 0x48, 0x52, 0xcb}},        // vdpbf16ps zmm1, zmm2, zmm3
		{"\tVDPBF16PS Z9, Z30, Z17", []byte{0x62, 0xc2, 0x0e, 0x40, 0x52, 0xc9}},      // vdpbf16ps zmm17, zmm30, zmm9
		{"\tVDPBF16PS Z31, Z16, Z8", []byte{0x62, 0x12, 0x7e, 0x40, 0x52, 0xc7}},      // vdpbf16ps zmm8, zmm16, zmm31
		{"\tVCVTNE2PS2BF16 Z13, Z22, Z5", []byte{0x62, 0xd2, 0x4f, 0x40, 0x72, 0xed}}, // vcvtne2ps2bf16 zmm5, zmm22, zmm13
		{"\tVCVTNEPS2BF16 Z12, Y19", []byte{0x62, 0xc2, 0x7e, 0x48, 0x72, 0xdc}},      // vcvtneps2bf16 ymm19, zmm12
		{"\tVCVTNEPS2BF16  Z27, Y4", []byte{0x62, 0x92, 0x7e, 0x48, 0x72, 0xe3}},      // vcvtneps2bf16 ymm4, zmm27
	} {
		out, ok, err := encodeBF16Line(c.line)
		if err != nil || !ok || len(out) != 2 {
			t.Fatalf("%q: %v %v %v", c.line, out, ok, err)
		}
		want := ""
		for i, b := range c.want {
			if i > 0 {
				want += "; "
			}
			want += fmt.Sprintf("BYTE $0x%02x", b)
		}
		if out[1] != "\t"+want {
			t.Errorf("%q encodes as %q, want %q", c.line, out[1], want)
		}
	}
	if _, ok, _ := encodeBF16Line("\tVADDPS Z1, Z2, Z3"); ok {
		t.Error("VADDPS taken for a BF16 instruction")
	}
	if _, _, err := encodeBF16Line("\tVDPBF16PS (AX), Z2, Z3"); err == nil {
		t.Error("a memory operand was encoded")
	}
}
