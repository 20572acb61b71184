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
// comment above them. The sources may be registers or, for the operand
// encoded in ModRM.rm, a memory operand (a 64-byte vector, no broadcast).

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
	// X extends ModRM.rm to 32 registers.
	p := evexPrefix(insn, dst, src1, src2&8 != 0, src2&16 != 0)
	return append(p, insn.opcode, 0xC0|byte(dst&7)<<3|byte(src2&7))
}

// evexPrefix returns the four EVEX prefix bytes; b and x are the extension
// bits of ModRM.rm (or of the base) and of the index (or of rm's register).
func evexPrefix(insn bf16Insn, dst, src1 int, b, x bool) []byte {
	p0 := byte(0x02) // map 0F38; R, X, B and R' are stored inverted
	if dst&8 == 0 {
		p0 |= 0x80
	}
	if !x {
		p0 |= 0x40
	}
	if !b {
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
	return []byte{0x62, p0, p1, p2}
}

// memOperand is a Go assembler memory operand disp(base)(index*scale);
// index is -1 when there is none.
type memOperand struct {
	disp        int
	base, index int
	scale       int
}

var memOp = regexp.MustCompile(`^(-?[0-9]+)?\(([A-Z0-9]+)\)(?:\(([A-Z0-9]+)\*([1248])\))?$`)

// gpRegs numbers the general-purpose registers as the encoding does.
var gpRegs = map[string]int{
	"AX": 0, "CX": 1, "DX": 2, "BX": 3, "SP": 4, "BP": 5, "SI": 6, "DI": 7,
	"R8": 8, "R9": 9, "R10": 10, "R11": 11, "R12": 12, "R13": 13, "R14": 14, "R15": 15,
}

func parseMem(op string) (memOperand, bool) {
	m := memOp.FindStringSubmatch(op)
	if m == nil {
		return memOperand{}, false
	}
	mo := memOperand{index: -1}
	var ok bool
	if mo.base, ok = gpRegs[m[2]]; !ok {
		return memOperand{}, false
	}
	if m[1] != "" {
		mo.disp, _ = strconv.Atoi(m[1])
	}
	if m[3] != "" {
		if mo.index, ok = gpRegs[m[3]]; !ok || mo.index == 4 {
			return memOperand{}, false // SP cannot be an index
		}
		mo.scale, _ = strconv.Atoi(m[4])
	}
	return mo, true
}

// evexBF16Mem encodes insn with its ModRM.rm source in memory: ModRM, a SIB
// byte when there is an index (or the base needs one) and the displacement,
// one byte scaled by the 64-byte vector (EVEX's disp8*N) when it fits.
func evexBF16Mem(insn bf16Insn, dst, src1 int, mem memOperand) []byte {
	enc := evexPrefix(insn, dst, src1, mem.base&8 != 0, mem.index >= 0 && mem.index&8 != 0)
	enc = append(enc, insn.opcode)
	var mod byte
	var disp []byte
	switch d := mem.disp; {
	case d == 0 && mem.base&7 != 5: // rm 101 with mod 00 is RIP-relative
	case d%64 == 0 && d/64 >= -128 && d/64 <= 127:
		mod, disp = 1, []byte{byte(int8(d / 64))}
	default:
		mod = 2
		disp = []byte{byte(d), byte(d >> 8), byte(d >> 16), byte(d >> 24)}
	}
	reg := byte(dst&7) << 3
	if mem.index < 0 && mem.base&7 != 4 {
		enc = append(enc, mod<<6|reg|byte(mem.base&7))
		return append(enc, disp...)
	}
	sib := byte(4<<3) | byte(mem.base&7) // index 100: none
	if mem.index >= 0 {
		ss := map[int]byte{1: 0, 2: 1, 4: 2, 8: 3}[mem.scale]
		sib = ss<<6 | byte(mem.index&7)<<3 | byte(mem.base&7)
	}
	enc = append(enc, mod<<6|reg|4, sib)
	return append(enc, disp...)
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
	ops := strings.Split(m[2], ",")
	var regs []int
	mem, isMem := parseMem(strings.TrimSpace(ops[0]))
	if isMem {
		ops = ops[1:]
	}
	for _, op := range ops {
		op = strings.TrimSpace(op)
		rm := vecReg.FindStringSubmatch(op)
		if rm == nil {
			return nil, true, fmt.Errorf("%q: operand %q is neither a vector register nor a memory operand first", line, op)
		}
		n, _ := strconv.Atoi(rm[1])
		regs = append(regs, n)
	}
	var enc []byte
	switch {
	case isMem && insn.src1 && len(regs) == 2:
		enc = evexBF16Mem(insn, regs[1], regs[0], mem)
	case isMem && !insn.src1 && len(regs) == 1:
		enc = evexBF16Mem(insn, regs[0], 0, mem)
	case insn.src1 && len(regs) == 3:
		enc = evexBF16(insn, regs[2], regs[1], regs[0])
	case !insn.src1 && len(regs) == 2:
		enc = evexBF16(insn, regs[1], 0, regs[0])
	default:
		return nil, true, fmt.Errorf("%q: wrong number of operands", line)
	}
	return byteLines(m[1]+" "+m[2], "AVX512_BF16", enc), true, nil
}

// byteLines is what replaces a placeholder: the instruction as written, in
// a comment, and its encoding as BYTE directives.
func byteLines(insn, isa string, enc []byte) []string {
	bytes := make([]string, len(enc))
	for i, b := range enc {
		bytes[i] = fmt.Sprintf("BYTE $0x%02x", b)
	}
	return []string{
		"\t// " + insn + " (encoded here: the assembler has no " + isa + ")",
		"\t" + strings.Join(bytes, "; "),
	}
}

// encodeBF16 rewrites the placeholders (AVX512_BF16's and AMX's) in the
// assembly file at path into bytes; a file without any is left as it is.
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
		if !ok && err == nil {
			enc, ok, err = encodeAMXLine(l)
		}
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
