package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/ir"
	. "github.com/mmcloughlin/avo/operand"
)

// AMX (Intel's Advanced Matrix Extensions) multiplies whole tiles: eight
// tile registers of up to 16 rows of 64 bytes, shaped by a 64-byte
// configuration (LDTILECFG). TDPBF16PS adds to a tile of 16×16 float32 sums
// the products of a 16×32 bfloat16 tile of A with a 16×16 tile of B's
// bfloat16 pairs (the pair-packed layout of the BF16 kernels): 8,192
// multiply-adds per instruction, 13-14 times what one core's float32 FMAs do
// in the same time on an Intel Xeon (bench/RESULTS.md).
//
// Neither Go's assembler nor avo knows these instructions either, so they are
// written as placeholders, like the AVX512_BF16 ones, and encodeAMXLine
// turns each into its VEX bytes. Tiles are numbered, not allocated: a
// routine names them by number (tmm0-tmm7) and its memory operands use
// avo's registers.

// amxPlaceholder emits op; inputs are the registers it reads.
func amxPlaceholder(op string, operands []Op, inputs []Op) {
	Instruction(&ir.Instruction{Opcode: op, Operands: operands, Inputs: inputs, ISA: []string{"AMX"}})
}

// ldtilecfg loads the tile configuration at m.
func ldtilecfg(m Mem) { amxPlaceholder("LDTILECFG", []Op{m}, []Op{m}) }

// tilerelease returns the tiles to their initial state.
func tilerelease() { amxPlaceholder("TILERELEASE", nil, nil) }

// tilezero zeroes tile t.
func tilezero(t int) { amxPlaceholder("TILEZERO", []Op{U8(t)}, nil) }

// tileloadd loads tile t from m: its rows at m.Base + m.Disp, m.Index bytes
// apart (m.Scale 1).
func tileloadd(m Mem, t int) { amxPlaceholder("TILELOADD", []Op{m, U8(t)}, []Op{m}) }

// tilestored stores tile t at m, as tileloadd reads it.
func tilestored(t int, m Mem) { amxPlaceholder("TILESTORED", []Op{U8(t), m}, []Op{m}) }

// tdpbf16ps: tile dst += tile a · tile b, a bfloat16 rows × 32, b pairs.
func tdpbf16ps(b, a, dst int) { amxPlaceholder("TDPBF16PS", []Op{U8(b), U8(a), U8(dst)}, nil) }

var amxLine = regexp.MustCompile(`^\t(LDTILECFG|TILERELEASE|TILEZERO|TILELOADD|TILESTORED|TDPBF16PS)\b\s*(.*)$`)

var immOp = regexp.MustCompile(`^\$(0x[0-9a-fA-F]+|[0-9]+)$`)

func parseTile(op string) (int, error) {
	m := immOp.FindStringSubmatch(strings.TrimSpace(op))
	if m == nil {
		return 0, fmt.Errorf("operand %q is not a tile number", op)
	}
	n, err := strconv.ParseInt(m[1], 0, 8)
	if err != nil || n > 7 {
		return 0, fmt.Errorf("operand %q is not a tile number", op)
	}
	return int(n), nil
}

// vexAMX returns the three VEX prefix bytes of an AMX instruction in map
// 0F38 (W0, 128 bits): pp its mandatory prefix (0: none, 2: F3, 3: F2), reg
// the ModRM.reg field's register, x and b the extension bits of the index
// and of the base, vvvv the second tile source (0 when there is none:
// the field holds it inverted).
func vexAMX(pp byte, x, b bool, vvvv int) []byte {
	p1 := byte(0xE2) // R̄ X̄ B̄ set (tiles need no R), map 0F38
	if x {
		p1 &^= 0x40
	}
	if b {
		p1 &^= 0x20
	}
	return []byte{0xC4, p1, byte(^vvvv&15)<<3 | pp}
}

// amxMem encodes ModRM (reg r), SIB and displacement for a memory operand.
// TILELOADD and TILESTORED need a SIB byte; a missing index is encoded as
// none (100).
func amxMem(r int, mem memOperand) []byte {
	var mod byte
	var disp []byte
	switch d := mem.disp; {
	case d == 0 && mem.base&7 != 5:
	case d >= -128 && d <= 127:
		mod, disp = 1, []byte{byte(int8(d))}
	default:
		mod, disp = 2, []byte{byte(d), byte(d >> 8), byte(d >> 16), byte(d >> 24)}
	}
	sib := byte(4<<3) | byte(mem.base&7)
	if mem.index >= 0 {
		sib = byte(mem.index&7)<<3 | byte(mem.base&7) // scale 1
	}
	return append([]byte{mod<<6 | byte(r&7)<<3 | 4, sib}, disp...)
}

// encodeAMXLine returns the assembler lines that replace one printed AMX
// placeholder line, or ok false when line is not one.
func encodeAMXLine(line string) (out []string, ok bool, err error) {
	m := amxLine.FindStringSubmatch(line)
	if m == nil {
		return nil, false, nil
	}
	var ops []string
	if strings.TrimSpace(m[2]) != "" {
		ops = strings.Split(m[2], ",")
		for i := range ops {
			ops[i] = strings.TrimSpace(ops[i])
		}
	}
	fail := func(why string) ([]string, bool, error) { return nil, true, fmt.Errorf("%q: %s", line, why) }
	mem := func(op string) (memOperand, error) {
		mo, isMem := parseMem(op)
		if !isMem || (mo.index >= 0 && mo.scale != 1) {
			return mo, fmt.Errorf("operand %q is not a memory operand with scale 1", op)
		}
		return mo, nil
	}
	var enc []byte
	switch m[1] {
	case "TILERELEASE":
		if len(ops) != 0 {
			return fail("takes no operands")
		}
		enc = []byte{0xC4, 0xE2, 0x78, 0x49, 0xC0}
	case "LDTILECFG":
		if len(ops) != 1 {
			return fail("takes one memory operand")
		}
		mo, err := mem(ops[0])
		if err != nil {
			return fail(err.Error())
		}
		enc = append(vexAMX(0, mo.index >= 8, mo.base >= 8, 0), 0x49)
		enc = append(enc, amxMem(0, mo)...)
	case "TILEZERO":
		if len(ops) != 1 {
			return fail("takes one tile")
		}
		t, err := parseTile(ops[0])
		if err != nil {
			return fail(err.Error())
		}
		enc = append(vexAMX(3, false, false, 0), 0x49, 0xC0|byte(t)<<3)
	case "TILELOADD", "TILESTORED":
		if len(ops) != 2 {
			return fail("takes a memory operand and a tile")
		}
		mi, ti, pp := 0, 1, byte(3) // TILELOADD mem, tile: F2
		if m[1] == "TILESTORED" {
			mi, ti, pp = 1, 0, 2 // TILESTORED tile, mem: F3
		}
		mo, err := mem(ops[mi])
		if err != nil {
			return fail(err.Error())
		}
		t, err := parseTile(ops[ti])
		if err != nil {
			return fail(err.Error())
		}
		enc = append(vexAMX(pp, mo.index >= 8, mo.base >= 8, 0), 0x4B)
		enc = append(enc, amxMem(t, mo)...)
	case "TDPBF16PS":
		if len(ops) != 3 {
			return fail("takes three tiles")
		}
		var t [3]int
		for i, op := range ops {
			if t[i], err = parseTile(op); err != nil {
				return fail(err.Error())
			}
		}
		b, a, dst := t[0], t[1], t[2]
		enc = append(vexAMX(2, false, false, b), 0x5C, 0xC0|byte(dst)<<3|byte(a))
	}
	return byteLines(m[1]+" "+m[2], "AMX", enc), true, nil
}

// amxTiles is how many tiles of C one GemmAMX routine keeps, in a row: each
// step loads one tile of A and one of B per tile of C.
var amxTiles = []int{1, 4}

// genAMX writes GemmAMX{nt} for nt in amxTiles: the AMX blocks of
// GemmBF16 (kernels/amx.go), for a configuration the caller loads:
//
//	C[r, 0:16·nt] (+)= sum_l A[r, l] · B[l, 0:16·nt], for `blocks` blocks
//
// of 16·nt columns of C and B, side by side, where tiles 0..nt-1 hold C
// (rows × 16 float32, or fewer columns), tile 4 A (rows × 32 bfloat16) and
// tiles 5-7 B (16 pairs of rows × 16 columns of pairs), k = 32·kt. With
// load, C is read into the tiles first and the products added to it;
// otherwise C is not read.
func genAMX(s isa) {
	if !s.avx512 {
		return
	}
	for _, nt := range amxTiles {
		genGemmAMX(nt)
	}
	genAMXPeak()
}

func genGemmAMX(nt int) {
	name := fmt.Sprintf("GemmAMX%d", nt)
	text(name, "func(cfg *[64]byte, kt int, a []uint16, lda int, b []uint16, ldb int, c []float32, ldc int, blocks int, load bool)")
	Doc(fmt.Sprintf("%s computes C[r, 0:%d] (+)= sum_{l < 32·kt} A[r, l] · B[l, 0:%d] for blocks", name, 16*nt, 16*nt),
		fmt.Sprintf("of %d columns side by side, tiles shaped by cfg; A is row-major (lda", 16*nt),
		"elements), B pair-packed (ldb pairs), C row-major (ldc). With load false C is not read.")
	cfg := Load(Param("cfg"), GP64())
	ldtilecfg(Mem{Base: cfg})
	kt := Load(Param("kt"), GP64())
	a := Load(Param("a").Base(), GP64())
	lda := Load(Param("lda"), GP64())
	SHLQ(U8(1), lda) // bytes
	bBlock := Load(Param("b").Base(), GP64())
	ldb := Load(Param("ldb"), GP64())
	SHLQ(U8(2), ldb) // a pair is 4 bytes
	bStep := GP64()  // 16 rows of pairs: one step of k
	MOVQ(ldb, bStep)
	SHLQ(U8(4), bStep)
	cBlock := Load(Param("c").Base(), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	blocks := Load(Param("blocks"), GP64())
	load := Load(Param("load"), GP8())
	ap, bp, kk := GP64(), GP64(), GP64()

	Label("block")
	TESTB(load, load)
	JZ(LabelRef("zero"))
	for t := 0; t < nt; t++ {
		tileloadd(Mem{Base: cBlock, Index: ldc, Scale: 1, Disp: 64 * t}, t)
	}
	JMP(LabelRef("loaded"))
	Label("zero")
	for t := 0; t < nt; t++ {
		tilezero(t)
	}
	Label("loaded")
	MOVQ(a, ap)
	MOVQ(bBlock, bp)
	MOVQ(kt, kk)
	Label("step")
	tileloadd(Mem{Base: ap, Index: lda, Scale: 1}, 4)
	for t := 0; t < nt; t++ {
		bt := 5 + t%3
		tileloadd(Mem{Base: bp, Index: ldb, Scale: 1, Disp: 64 * t}, bt)
		tdpbf16ps(bt, 4, t)
	}
	ADDQ(U8(64), ap)
	ADDQ(bStep, bp)
	DECQ(kk)
	JNZ(LabelRef("step"))
	for t := 0; t < nt; t++ {
		tilestored(t, Mem{Base: cBlock, Index: ldc, Scale: 1, Disp: 64 * t})
	}
	ADDQ(U32(64*nt), cBlock)
	ADDQ(U32(64*nt), bBlock)
	DECQ(blocks)
	JNZ(LabelRef("block"))
	tilerelease()
	ret()
}

// genAMXPeak writes AMXPeak, the tiles' counterpart of FMAPeak: n
// iterations of four TDPBF16PS into four tiles of sums (16×16×32
// multiply-adds each), from tiles of A and B loaded once from src (16 rows
// of 64 bytes). It returns 0.
func genAMXPeak() {
	text("AMXPeak", "func(cfg *[64]byte, src []uint16, n int) float32")
	Doc("AMXPeak runs n iterations of four independent TDPBF16PS on tiles shaped by cfg",
		"(as GemmAMX's) and loaded from src: a measure of the tiles' throughput on one core.")
	cfg := Load(Param("cfg"), GP64())
	ldtilecfg(Mem{Base: cfg})
	src := Load(Param("src").Base(), GP64())
	stride := GP64()
	MOVQ(U32(64), stride)
	for t := 4; t < 8; t++ {
		tileloadd(Mem{Base: src, Index: stride, Scale: 1}, t)
	}
	for t := 0; t < 4; t++ {
		tilezero(t)
	}
	n := Load(Param("n"), GP64())
	Label("loop")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	for t := 0; t < 4; t++ {
		tdpbf16ps(5+t%3, 4, t)
	}
	DECQ(n)
	JMP(LabelRef("loop"))
	Label("done")
	tilerelease()
	x := XMM()
	VXORPS(x, x, x)
	storeResult(x)
	ret()
}
