package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/gotypes"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// isa is one instruction set the routines are generated for. Every routine
// exists twice, once per instruction set, generated from the same code: isa
// says how wide a vector is and how a tail is masked.
type isa struct {
	name   string // suffix of every routine: "AVX512" or "AVX2"
	lanes  int    // float32 lanes in one vector register
	avx512 bool
	// regs is how many vector registers the instruction set has. avo's
	// allocator would hand out Y16-Y31 in AVX2 code too (they need AVX-512VL
	// and fault on an AVX2-only CPU), so a routine that could need more
	// than regs is written to need fewer (see genBcast).
	regs int
	// Register blocking of the GEMM micro-kernels (see genBcast, genDotNT).
	bcastRows, bcastVecs int
	// gemvTVecs is the width in vectors of GemvT, the one-row broadcast
	// kernel for full strips of GEMV transposed: more independent
	// accumulators than GemmBcast1 has.
	gemvTVecs int
	// prefetchNextStrip: the broadcast kernel fetches, row by row of B, the
	// strip of B to the right of its own, which the driver sweeps next (a
	// prefetch past the end of B never faults). On an AVX2-only Zen 3, whose
	// L3 feeds a core at about 31 GB/s, the first row block of every strip
	// otherwise waits on it (bench/RESULTS.md); AVX-512 keeps the kernel
	// measured on Zen 5, where prefetching B did not pay.
	prefetchNextStrip bool
	// dotNT is rows, cols and unroll (vectors per step) of the GEMM's
	// DotNT kernel.
	dotNT [3]int
}

var (
	avx512 = isa{name: "AVX512", lanes: 16, avx512: true, regs: 32, bcastRows: 6, bcastVecs: 4, gemvTVecs: 8, dotNT: [3]int{4, 4, 1}}
	avx2   = isa{name: "AVX2", lanes: 8, regs: 16, prefetchNextStrip: true, bcastRows: 6, bcastVecs: 2, gemvTVecs: 8, dotNT: [3]int{2, 4, 1}}
)

func (s isa) bytes() int { return 4 * s.lanes }

func (s isa) vec() VecVirtual {
	if s.avx512 {
		return ZMM()
	}
	return YMM()
}

// mask selects the first cnt lanes of a vector: an opmask register on
// AVX-512, a vector of all-ones words on AVX2 (for VMASKMOVPS). An AVX2 mask
// can instead stay in the mask table, r nil and m its address: a kernel
// that needs all sixteen registers for its sums and operands then loads it
// into a scratch register where it is used (see load and store).
type mask struct {
	r Register
	m Mem
}

// tailMask builds the mask of the first cnt lanes, 0 <= cnt <= lanes.
func (s isa) tailMask(cnt Register) mask {
	if s.avx512 {
		// The assembler takes no index register on a static symbol, so
		// the table's address goes into a register first.
		tab := GP64()
		LEAQ(maskW16(), tab)
		k := K()
		KMOVW(Mem{Base: tab, Index: cnt, Scale: 2}, k)
		return mask{r: k}
	}
	t, tab := GP64(), GP64()
	MOVQ(U32(8), t)
	SUBQ(cnt, t)
	LEAQ(maskY8(), tab)
	m := YMM()
	VMOVDQU(Mem{Base: tab, Index: t, Scale: 4}, m)
	return mask{r: m}
}

// tailMaskInMemory is tailMask left in the table (AVX2 only): the mask's
// address is computed once, its vector loaded where it is used.
func (s isa) tailMaskInMemory(cnt Register) mask {
	if s.avx512 {
		panic("tailMaskInMemory: AVX-512 masks are opmask registers")
	}
	t, p := GP64(), GP64()
	MOVQ(U32(8), t)
	SUBQ(cnt, t)
	LEAQ(maskY8(), p)
	LEAQ(Mem{Base: p, Index: t, Scale: 4}, p)
	return mask{m: Mem{Base: p}}
}

// vectorMask is the mask of vector v of a block whose columns end at n:
// the first n - v·lanes lanes, clamped to [0, lanes]. With inMemory (AVX2
// only) it stays in the mask table (see mask).
func (s isa) vectorMask(n Register, v int, inMemory bool) mask {
	cnt, lim := GP64(), GP64()
	MOVQ(n, cnt)
	SUBQ(U32(v*s.lanes), cnt)
	XORQ(lim, lim)
	CMPQ(cnt, lim)
	CMOVQLT(lim, cnt)
	MOVQ(U32(s.lanes), lim)
	CMPQ(cnt, lim)
	CMOVQGT(lim, cnt)
	if inMemory {
		return s.tailMaskInMemory(cnt)
	}
	return s.tailMask(cnt)
}

// load reads one vector; with a mask the lanes outside it read as zero and
// their memory is not touched (no fault past the end of a slice).
func (s isa) load(m Mem, dst VecVirtual, mk *mask) {
	switch {
	case mk == nil:
		VMOVUPS(m, dst)
	case s.avx512:
		VMOVUPS_Z(m, mk.r, dst)
	case mk.r == nil:
		VMOVDQU(mk.m, dst) // the mask, then the lanes it selects over it
		VMASKMOVPS(m, dst, dst)
	default:
		VMASKMOVPS(m, mk.r, dst)
	}
}

// prefetchBlock fetches a block of rows × nv vectors at c, its rows ldc
// bytes apart, into L1; c and ldc are left as they were.
func (s isa) prefetchBlock(c, ldc Register, rows, nv int) {
	q := GP64()
	MOVQ(c, q)
	for r := 0; r < rows; r++ {
		for v := 0; v < nv; v++ {
			PREFETCHT0(Mem{Base: q, Disp: v * s.bytes()})
		}
		if r+1 < rows {
			ADDQ(ldc, q)
		}
	}
}

func (s isa) store(src VecVirtual, m Mem, mk *mask) {
	switch {
	case mk == nil:
		VMOVUPS(src, m)
	case s.avx512:
		VMOVUPS(src, mk.r, m)
	case mk.r == nil:
		t := s.vec()
		VMOVDQU(mk.m, t)
		VMASKMOVPS(src, t, m)
	default:
		VMASKMOVPS(src, mk.r, m)
	}
}

// param is the memory operand of a scalar argument or result. Scalars are
// read and written with VEX/EVEX moves, never with SSE MOVSS (which avo's
// Load would use), because SSE cannot reach X16-X31.
func param(c Component) Mem {
	b, err := c.Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

func loadScalar(name string) VecVirtual {
	x := XMM()
	VMOVSS(param(Param(name)), x)
	return x
}

func storeResult(x VecVirtual) { VMOVSS(x.AsX(), param(ReturnIndex(0))) }

func (s isa) broadcast(x Op) VecVirtual {
	v := s.vec()
	VBROADCASTSS(x, v)
	return v
}

func (s isa) zero() VecVirtual {
	v := s.vec()
	if s.avx512 {
		VPXORD(v, v, v) // EVEX VXORPS would need AVX512DQ
	} else {
		VXORPS(v, v, v)
	}
	return v
}

// hsum adds the lanes of v; the result is in lane 0 of the returned XMM.
// op is VADDPS (sum) or VMAXPS (max).
func (s isa) hreduce(v VecVirtual, op func(...Op)) VecVirtual {
	var y VecVirtual = v
	if s.avx512 {
		t := YMM()
		VEXTRACTF64X4(U8(1), v, t)
		op(t, v.AsY(), t)
		y = t
	}
	x := XMM()
	if s.avx512 {
		VEXTRACTF32X4(U8(1), y, x) // VEX VEXTRACTF128 cannot reach Y16-Y31
	} else {
		VEXTRACTF128(U8(1), y, x)
	}
	op(x, y.AsX(), x)
	t := XMM()
	VMOVHLPS(x, x, t)
	op(t, x, x)
	VMOVSHDUP(x, t)
	op(t, x, x)
	return x
}

func vaddps(ops ...Op) { VADDPS(ops...) }
func vmaxps(ops ...Op) { VMAXPS(ops...) }

// text starts a routine. None of them keeps a pointer past its return, so the
// Go declarations say noescape and callers' slices may live on the stack.
func text(name, signature string) {
	TEXT(name, NOSPLIT, signature)
	Pragma("noescape")
	callerMXCSR = nil
}

// textFlushing starts a routine that runs with subnormals flushed: it saves
// the caller's MXCSR and sets DAZ (subnormal operands read as zero) and FTZ
// (subnormal results written as zero); ret restores it. On Intel cores every
// multiply that meets a subnormal otherwise takes a microcode assist of
// about a hundred cycles: in the first steps of training, while the loss
// overshoots and gates saturate, a 2×512 LSTM's gradient GEMMs ran 3-4×
// slower (bench/RESULTS.md). The products then lose only contributions
// below 2^-126. No goroutine sees the changed MXCSR: assembly is not
// preempted, and a signal handler starts from the default MXCSR and
// returns to this one.
func textFlushing(name, signature string) {
	text(name, signature)
	slot := AllocLocal(8)
	STMXCSR(slot)
	m := GP32()
	MOVL(slot, m)
	ORL(U32(mxcsrDAZ|mxcsrFTZ), m)
	MOVL(m, slot.Offset(4))
	LDMXCSR(slot.Offset(4))
	callerMXCSR = &slot
}

const (
	mxcsrDAZ = 1 << 6
	mxcsrFTZ = 1 << 15
)

// callerMXCSR is where the routine being written keeps its caller's MXCSR
// (nil unless it began with textFlushing).
var callerMXCSR *Mem

func ret() {
	if callerMXCSR != nil {
		LDMXCSR(*callerMXCSR)
	}
	VZEROUPPER()
	RET()
}

// vectorLoop emits a loop over n elements, one vector at a time, calling
// body(nil) for every full vector and body(&tailMask) once for the rest.
// After each full vector the pointers advance by one vector.
func (s isa) vectorLoop(prefix string, n Register, ptrs []Register, body func(mk *mask)) {
	Label(prefix + "loop")
	CMPQ(n, U32(s.lanes))
	JL(LabelRef(prefix + "tail"))
	body(nil)
	for _, p := range ptrs {
		ADDQ(U32(s.bytes()), p)
	}
	SUBQ(U32(s.lanes), n)
	JMP(LabelRef(prefix + "loop"))
	Label(prefix + "tail")
	TESTQ(n, n)
	JZ(LabelRef(prefix + "done"))
	mk := s.tailMask(n)
	body(&mk)
	Label(prefix + "done")
}
