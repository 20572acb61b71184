package main

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/ir"
	. "github.com/mmcloughlin/avo/operand"
)

// Neither Go's assembler nor avo knows the AVX512_BF16 instructions. The BF16
// routines use them like any other instruction, on virtual registers that avo
// allocates; avo prints them as written (VDPBF16PS Z3, Z2, Z1), which the
// assembler would reject, and encodeBF16 then replaces each such line of the
// generated file by the instruction's EVEX bytes, the mnemonic kept in a
// comment above them. Only the register forms are used: loads stay separate
// instructions that the assembler knows.

// bf16Insn is one AVX512_BF16 instruction: its opcode byte in map 0F38 and
// its mandatory prefix (EVEX.pp).
type bf16Insn struct {
	opcode byte
	pp     byte // 2: F3, 3: F2
	// src1 says whether the instruction has a second source (EVEX.vvvv).
	src1 bool
}

var bf16Insns = map[string]bf16Insn{
	"VDPBF16PS":      {0x52, 2, true},
	"VCVTNE2PS2BF16": {0x72, 3, true},
	"VCVTNEPS2BF16":  {0x72, 2, false},
}

// bf16Placeholder emits op with Go's operand order (sources first, the
// destination last); inputs are the registers it reads, output the one it
// writes.
func bf16Placeholder(op string, operands []Op, inputs []Op, output Op) {
	Instruction(&ir.Instruction{
		Opcode:   op,
		Operands: operands,
		Inputs:   inputs,
		Outputs:  []Op{output},
		ISA:      []string{"AVX512_BF16"},
	})
}

// vdpbf16ps: dst.fp32[i] += src1.bf16[2i+1]·src2.bf16[2i+1], then
// += src1.bf16[2i]·src2.bf16[2i] (ZMM registers).
func vdpbf16ps(src2, src1, dst Op) {
	bf16Placeholder("VDPBF16PS", []Op{src2, src1, dst}, []Op{src2, src1, dst}, dst)
}

// vcvtne2ps2bf16: dst = bf16(src2) in the low 16 words, bf16(src1) in the
// high 16 (ZMM registers).
func vcvtne2ps2bf16(src2, src1, dst Op) {
	bf16Placeholder("VCVTNE2PS2BF16", []Op{src2, src1, dst}, []Op{src2, src1}, dst)
}

// vcvtneps2bf16: the YMM dst = bf16(src), src a ZMM register.
func vcvtneps2bf16(src, dst Op) {
	bf16Placeholder("VCVTNEPS2BF16", []Op{src, dst}, []Op{src}, dst)
}

// evexBF16 encodes insn on registers with the given numbers (0-31): dst =
// ModRM.reg, src2 = ModRM.rm, src1 = EVEX.vvvv; 512-bit vector length, no
// mask, no broadcast.
func evexBF16(insn bf16Insn, dst, src1, src2 int) []byte {
	p0 := byte(0x02) // map 0F38; R, X, B and R' are stored inverted
	if dst&8 == 0 {
		p0 |= 0x80
	}
	if src2&16 == 0 {
		p0 |= 0x40 // X extends ModRM.rm to 32 registers
	}
	if src2&8 == 0 {
		p0 |= 0x20
	}
	if dst&16 == 0 {
		p0 |= 0x10
	}
	p1 := byte(^src1&15)<<3 | 0x04 | insn.pp // W0, vvvv inverted
	p2 := byte(0x40)                         // L'L = 512 bits
	if src1&16 == 0 {
		p2 |= 0x08 // V' inverted
	}
	modrm := 0xC0 | byte(dst&7)<<3 | byte(src2&7)
	return []byte{0x62, p0, p1, p2, insn.opcode, modrm}
}

var bf16Line = regexp.MustCompile(`^\t(VDPBF16PS|VCVTNE2PS2BF16|VCVTNEPS2BF16)\s+(.*)$`)

var vecReg = regexp.MustCompile(`^[XYZ]([0-9]|[12][0-9]|3[01])$`)

// encodeBF16Line returns the assembler lines that replace one printed
// placeholder line, or ok false when line is not one.
func encodeBF16Line(line string) (out []string, ok bool, err error) {
	m := bf16Line.FindStringSubmatch(line)
	if m == nil {
		return nil, false, nil
	}
	insn := bf16Insns[m[1]]
	var regs []int
	for _, op := range strings.Split(m[2], ",") {
		op = strings.TrimSpace(op)
		rm := vecReg.FindStringSubmatch(op)
		if rm == nil {
			return nil, true, fmt.Errorf("%q: operand %q is not a vector register", line, op)
		}
		n, _ := strconv.Atoi(rm[1])
		regs = append(regs, n)
	}
	var enc []byte
	switch {
	case insn.src1 && len(regs) == 3:
		enc = evexBF16(insn, regs[2], regs[1], regs[0])
	case !insn.src1 && len(regs) == 2:
		enc = evexBF16(insn, regs[1], 0, regs[0])
	default:
		return nil, true, fmt.Errorf("%q: wrong number of operands", line)
	}
	bytes := make([]string, len(enc))
	for i, b := range enc {
		bytes[i] = fmt.Sprintf("BYTE $0x%02x", b)
	}
	return []string{
		"\t// " + m[1] + " " + m[2] + " (encoded here: the assembler has no AVX512_BF16)",
		"\t" + strings.Join(bytes, "; "),
	}, true, nil
}

// encodeBF16 rewrites the placeholders in the assembly file at path into
// bytes; a file without any is left as it is.
func encodeBF16(path string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	lines := strings.Split(string(src), "\n")
	var out []string
	changed := false
	for _, l := range lines {
		enc, ok, err := encodeBF16Line(l)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if !ok {
			out = append(out, l)
			continue
		}
		out = append(out, enc...)
		changed = true
	}
	if !changed {
		return nil
	}
	return os.WriteFile(path, []byte(strings.Join(out, "\n")), 0o644)
}
