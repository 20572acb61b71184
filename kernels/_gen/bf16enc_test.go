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
		// Memory operands: no displacement, disp8*64, disp32, SIB bytes,
		// the bases that need a displacement (BP) or a SIB byte (SP).
		{"\tVDPBF16PS (AX), Z2, Z3", []byte{0x62, 0xf2, 0x6e, 0x48, 0x52, 0x18}},                                            // vdpbf16ps zmm3, zmm2, [rax]
		{"\tVDPBF16PS 64(AX)(CX*1), Z30, Z17", []byte{0x62, 0xe2, 0x0e, 0x40, 0x52, 0x4c, 0x08, 0x01}},                      // vdpbf16ps zmm17, zmm30, [rax+rcx*1+64]
		{"\tVDPBF16PS -128(R13), Z16, Z8", []byte{0x62, 0x52, 0x7e, 0x40, 0x52, 0x45, 0xfe}},                                // vdpbf16ps zmm8, zmm16, [r13-128]
		{"\tVDPBF16PS (R12)(R9*2), Z9, Z25", []byte{0x62, 0x02, 0x36, 0x48, 0x52, 0x0c, 0x4c}},                              // vdpbf16ps zmm25, zmm9, [r12+r9*2]
		{"\tVDPBF16PS 8128(SI), Z2, Z1", []byte{0x62, 0xf2, 0x6e, 0x48, 0x52, 0x4e, 0x7f}},                                  // vdpbf16ps zmm1, zmm2, [rsi+8128]
		{"\tVDPBF16PS 8192(DI), Z2, Z1", []byte{0x62, 0xf2, 0x6e, 0x48, 0x52, 0x8f, 0x00, 0x20, 0x00, 0x00}},                // vdpbf16ps zmm1, zmm2, [rdi+8192]
		{"\tVDPBF16PS 4(BX)(R15*8), Z20, Z12", []byte{0x62, 0x32, 0x5e, 0x40, 0x52, 0xa4, 0xfb, 0x04, 0, 0, 0}},             // vdpbf16ps zmm12, zmm20, [rbx+r15*8+4]
		{"\tVDPBF16PS (BP), Z5, Z4", []byte{0x62, 0xf2, 0x56, 0x48, 0x52, 0x65, 0x00}},                                      // vdpbf16ps zmm4, zmm5, [rbp+0]
		{"\tVDPBF16PS 64(SP), Z5, Z4", []byte{0x62, 0xf2, 0x56, 0x48, 0x52, 0x64, 0x24, 0x01}},                              // vdpbf16ps zmm4, zmm5, [rsp+64]
		{"\tVDPBF16PS -8256(R11)(R14*4), Z5, Z4", []byte{0x62, 0x92, 0x56, 0x48, 0x52, 0xa4, 0xb3, 0xc0, 0xdf, 0xff, 0xff}}, // vdpbf16ps zmm4, zmm5, [r11+r14*4-8256]
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
	for _, l := range []string{"\tVDPBF16PS Z2, (AX), Z3", "\tVDPBF16PS (AX)(SP*1), Z2, Z3", "\tVDPBF16PS (Z1), Z2, Z3"} {
		if _, _, err := encodeBF16Line(l); err == nil {
			t.Errorf("%q was encoded", l)
		}
	}
}
