package kerneltest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"charrnn/kernels"
)

// The bf16 family: the BF16 ops of every backend that offers them on this
// CPU (kernels.BF16Of); a backend without them skips it. TestBF16Offered in
// package kernels fails if a backend that should offer them does not.
//
// The products are checked twice against float64 sums:
//
//   - of the bfloat16-rounded inputs (rounded here, independently of the
//     backend's ToBF16), within float32 accumulation: each of the k
//     additions rounds by at most 2^-24 of a partial sum bounded by the sum
//     of the products' magnitudes, the tolerance of the float32 GEMM
//     ((k+2)·1.2e-7·Σ|a·b|, the 2 for alpha's product and beta's sum; the
//     hardware's flushing of results below 2^-126 adds less than its
//     1e-30 floor);
//   - of the float32 inputs themselves, within what rounding the operands to
//     bfloat16 costs on top: 8 significant bits, a relative error of at most
//     2^-8 per operand, so (2·2^-8 + 2^-16)·Σ|a·b| per output.

// The GEMM reads B pair-packed (see kernels.BF16): the suite packs it itself, from the same roundings, so that a GEMM is
// checked apart from the backend's packing, which is checked on its own.

// bf16Sizes are the GEMM dimensions the cross product runs over; bf16Ks adds
// the k the kernels cut at: pairs, 32-element steps, odd tails.
var (
	bf16Sizes = []int{0, 1, 7, 16, 17, 33, 65, 100}
	bf16Ks    = []int{0, 1, 2, 7, 31, 32, 33, 65, 100, 513}
)

// bf16GemmShapes are the engine's shapes (m, n, k), and long odd ones.
var bf16GemmShapes = [][3]int{
	{32, 2048, 512}, {32, 1536, 256}, {800, 65, 512}, {65, 512, 100},
	{513, 17, 33}, {17, 513, 65}, {129, 67, 3201}, {33, 2051, 1},
}

// bf16GemvShapes are the engine's GEMVs (m, n).
var bf16GemvShapes = [][2]int{{2048, 512}, {512, 512}, {65, 512}, {1536, 512}, {1024, 256}, {768, 256}}

// operandError is the relative error rounding both factors of a product to
// bfloat16 may add: (1+2^-8)² - 1.
const operandError = 2*0x1p-8 + 0x1p-16

// roundBF16 rounds f to the nearest bfloat16, ties to even, from first
// principles: the two candidates around f compared in float64. NaNs become
// quiet NaNs and subnormals zeros of their sign, as the hardware does.
func roundBF16(f float32) uint16 {
	b := math.Float32bits(f)
	switch {
	case math.IsNaN(float64(f)):
		return uint16(b>>16) | 0x40
	case b&0x7f800000 == 0:
		return uint16(b>>16) & 0x8000
	case math.IsInf(float64(f), 0):
		return uint16(b >> 16)
	}
	down := b &^ 0xffff
	lo := math.Abs(float64(math.Float32frombits(down)))
	// One unit in the last place; in the last binade, the step to 2^128.
	ulp := math.Ldexp(1, int(down>>23&0xff)-127-7)
	switch d := math.Abs(float64(f)) - lo; {
	case d < ulp/2, d == ulp/2 && down&0x10000 == 0:
		return uint16(down >> 16)
	}
	return uint16(down>>16) + 1 // may carry into the exponent, up to ±Inf
}

func bf16Value(h uint16) float64 { return float64(math.Float32frombits(uint32(h) << 16)) }

// guarded16 is a bfloat16 slice at an unaligned offset between guards.
type guarded16 struct {
	buf  []uint16
	off  int
	data []uint16
}

const guard16 = 0xdead

func newGuarded16(rng *rand.Rand, n int) *guarded16 {
	off := 1 + rng.IntN(3)
	buf := make([]uint16, off+n+17)
	for i := range buf {
		buf[i] = guard16
	}
	return &guarded16{buf: buf, off: off, data: buf[off : off+n]}
}

func (g *guarded16) check(t *testing.T, what string) {
	t.Helper()
	for i, v := range g.buf {
		if (i < g.off || i >= g.off+len(g.data)) && v != guard16 {
			t.Fatalf("%s: guard at %d overwritten: %#x", what, i-g.off, v)
		}
	}
}

// bf16Matrix is a random rows×cols matrix with leading dimension ld: its
// float32 values in [-1, 1) and, in a guarded slice, their bfloat16
// roundings.
type bf16Matrix struct {
	f32 []float32
	bf  *guarded16
	ld  int
}

func newBF16Matrix(rng *rand.Rand, rows, cols, ld int) bf16Matrix {
	n := max(0, (rows-1)*ld+cols)
	m := bf16Matrix{f32: randSlice(rng, n), bf: newGuarded16(rng, n), ld: ld}
	for i, v := range m.f32 {
		m.bf.data[i] = roundBF16(v)
	}
	return m
}

// pairPacked is a rows×cols matrix pair-packed with leading dimension ld
// pairs, in a guarded slice: the pair of element (l, j) at words
// 2*((l/2)*ld + j), an odd last row paired with zeros.
func pairPacked(rng *rand.Rand, rows, cols, ld int, at func(l, j int) uint16) *guarded16 {
	n := 0
	if rows > 0 && cols > 0 {
		n = 2 * (((rows+1)/2-1)*ld + cols)
	}
	g := newGuarded16(rng, n)
	for p := 0; p < (rows+1)/2; p++ {
		for j := 0; j < ld && 2*(p*ld+j) < n; j++ {
			w := g.data[2*(p*ld+j):]
			if j >= cols {
				w[0], w[1] = guard16, guard16 // padding between rows
				continue
			}
			w[0], w[1] = at(2*p, j), 0
			if 2*p+1 < rows {
				w[1] = at(2*p+1, j)
			}
		}
	}
	return g
}

func testBF16(t *testing.T, b kernels.Backend) {
	ops, ok := kernels.BF16Of(b)
	if !ok {
		t.Skip("no BF16 ops on this backend and CPU")
	}
	t.Run("ToBF16", func(t *testing.T) { testToBF16(t, ops) })
	t.Run("ToBF16T", func(t *testing.T) { testToBF16T(t, ops) })
	t.Run("ToBF16Pairs", func(t *testing.T) { testToBF16Pairs(t, ops) })
	t.Run("GemmBF16", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(31, 32))
		betas := [][2]float32{{1, 0}, {-0.5, 1}, {1.5, 0.25}}
		i := 0
		for _, m := range bf16Sizes {
			for _, n := range bf16Sizes {
				for _, k := range bf16Ks {
					ab := betas[i%len(betas)]
					i++
					CheckGemmBF16(t, ops, rng, m, n, k, ab[0], ab[1])
				}
			}
		}
		for _, s := range bf16GemmShapes {
			ab := betas[i%len(betas)]
			i++
			CheckGemmBF16(t, ops, rng, s[0], s[1], s[2], ab[0], ab[1])
		}
	})
	t.Run("GemmBF16UnitAlpha", func(t *testing.T) {
		// alpha 1 with beta 0 or 1 and k a multiple of 32, which a
		// backend may run on other instructions (amx's tiles), with
		// blocks of rows and columns whole and not.
		rng := rand.New(rand.NewPCG(35, 36))
		for _, m := range []int{1, 15, 16, 17, 40} {
			for _, n := range []int{1, 16, 17, 63, 64, 65, 200} {
				for _, k := range []int{32, 64, 96} {
					for _, beta := range []float32{0, 1} {
						CheckGemmBF16(t, ops, rng, m, n, k, 1, beta)
					}
				}
			}
		}
		CheckGemmBF16(t, ops, rng, 16, 2048, 512, 1, 0)
		CheckGemmBF16(t, ops, rng, 16, 512, 2048, 1, 1)
		CheckGemmBF16(t, ops, rng, 70, 130, 3200, 1, 0)
	})
	t.Run("GemmBF16SplitAlike", func(t *testing.T) {
		// The contract: an output depends on its row, column and k, not
		// on m, n or a split. Blocks of rows and of columns computed in
		// calls of their own must give C to the bit.
		rng := rand.New(rand.NewPCG(37, 38))
		for _, s := range []struct {
			m, n, k     int
			alpha, beta float32
		}{{37, 100, 64, 1, 0}, {37, 100, 64, 1, 1}, {37, 100, 65, 1, 0}, {37, 100, 64, 0.5, 0.25}} {
			a := newBF16Matrix(rng, s.m, s.k, s.k)
			bv := newBF16Matrix(rng, s.k, s.n, s.n)
			ldb := s.n
			bp := pairPacked(rng, s.k, s.n, ldb, func(l, j int) uint16 { return bv.bf.data[l*s.n+j] })
			c0 := randSlice(rng, s.m*s.n)
			whole, part := clone(c0), clone(c0)
			ops.GemmBF16(s.m, s.n, s.k, s.alpha, a.bf.data, s.k, bp.data, ldb, s.beta, whole, s.n)
			for _, r := range [][2]int{{0, 5}, {5, 21}, {21, 37}} {
				for _, c := range [][2]int{{0, 48}, {48, 65}, {65, 100}} {
					ops.GemmBF16(r[1]-r[0], c[1]-c[0], s.k, s.alpha, a.bf.data[r[0]*s.k:], s.k, bp.data[2*c[0]:], ldb, s.beta, part[r[0]*s.n+c[0]:], s.n)
				}
			}
			if !slices.Equal(whole, part) {
				t.Fatalf("GemmBF16 m=%d n=%d k=%d alpha=%v beta=%v: blocks of rows and columns in calls of their own differ from one call", s.m, s.n, s.k, s.alpha, s.beta)
			}
		}
	})
	t.Run("GemvBF16", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(33, 34))
		sizes := []int{0, 1, 7, 8, 9, 15, 16, 17, 33, 65, 100, 512, 513}
		i := 0
		for _, m := range sizes {
			for _, n := range sizes {
				CheckGemvBF16(t, ops, rng, m, n, []float32{1, -0.75}[i%2], []float32{0, 0.5, 1}[i%3])
				i++
			}
		}
		for _, s := range bf16GemvShapes {
			CheckGemvBF16(t, ops, rng, s[0], s[1], 1, 0)
			CheckGemvBF16(t, ops, rng, s[0], s[1], 1, 1)
		}
	})
	t.Run("GemvBF16UnitAlpha", func(t *testing.T) {
		// alpha 1 with beta 0 or 1 and n a multiple of 32, the engine's
		// single-stream products, which a backend may run on other
		// instructions, with blocks of rows whole and not.
		rng := rand.New(rand.NewPCG(39, 40))
		for _, m := range []int{1, 15, 16, 17, 63, 64, 65, 130} {
			for _, n := range []int{32, 64, 96, 512} {
				for _, beta := range []float32{0, 1} {
					CheckGemvBF16(t, ops, rng, m, n, 1, beta)
				}
			}
		}
	})
	t.Run("GemvBF16SplitAlike", func(t *testing.T) {
		// y[i] depends on row i, x and n, not on m or a split.
		rng := rand.New(rand.NewPCG(41, 42))
		for _, s := range []struct {
			m, n        int
			alpha, beta float32
		}{{130, 64, 1, 0}, {130, 96, 1, 1}, {130, 100, 1, 0}, {130, 64, 0.5, 0.25}} {
			a := newBF16Matrix(rng, s.m, s.n, s.n)
			x := newBF16Matrix(rng, 1, s.n, s.n)
			y0 := randSlice(rng, s.m)
			whole, part := clone(y0), clone(y0)
			ops.GemvBF16(s.m, s.n, s.alpha, a.bf.data, s.n, x.bf.data, s.beta, whole)
			for _, r := range [][2]int{{0, 5}, {5, 69}, {69, 85}, {85, 130}} {
				ops.GemvBF16(r[1]-r[0], s.n, s.alpha, a.bf.data[r[0]*s.n:], s.n, x.bf.data, s.beta, part[r[0]:])
			}
			if !slices.Equal(whole, part) {
				t.Fatalf("GemvBF16 m=%d n=%d alpha=%v beta=%v: blocks of rows in calls of their own differ from one call", s.m, s.n, s.alpha, s.beta)
			}
		}
	})
	t.Run("Specials", func(t *testing.T) { testBF16Specials(t, ops) })
	t.Run("ShortSlices", func(t *testing.T) {
		const m, n, k = 20, 30, 40
		s16 := func(r, c int) []uint16 { return make([]uint16, r*c-1) }
		f16 := func(r, c int) []uint16 { return make([]uint16, r*c) }
		// A pair-packed B: ⌈rows/2⌉ rows of pairs.
		p16 := func(r, c int) []uint16 { return make([]uint16, 2*(((r+1)/2-1)*c+c)) }
		sp16 := func(r, c int) []uint16 { return make([]uint16, 2*(((r+1)/2-1)*c+c)-1) }
		checkShortSlicesPanic(t, map[string]func(){
			"GemmBF16 A":       func() { ops.GemmBF16(m, n, k, 1, s16(m, k), k, p16(k, n), n, 0, full(m, n), n) },
			"GemmBF16 B":       func() { ops.GemmBF16(m, n, k, 1, f16(m, k), k, sp16(k, n), n, 0, full(m, n), n) },
			"GemmBF16 C":       func() { ops.GemmBF16(m, n, k, 1, f16(m, k), k, p16(k, n), n, 0, short(m, n), n) },
			"GemvBF16 A":       func() { ops.GemvBF16(m, n, 1, s16(m, n), n, f16(1, n), 0, full(1, m)) },
			"GemvBF16 x":       func() { ops.GemvBF16(m, n, 1, f16(m, n), n, s16(1, n), 0, full(1, m)) },
			"GemvBF16 y":       func() { ops.GemvBF16(m, n, 1, f16(m, n), n, f16(1, n), 0, short(1, m)) },
			"ToBF16 dst":       func() { ops.ToBF16(s16(1, n), full(1, n)) },
			"ToBF16T src":      func() { ops.ToBF16T(f16(n, m), m, short(m, n), m, n, n) },
			"ToBF16T dst":      func() { ops.ToBF16T(s16(n, m), m, full(m, n), m, n, n) },
			"ToBF16T big":      func() { ops.ToBF16T(f16(n*16, m*16), m*16, short(m*16, n*16), m*16, n*16, n*16) },
			"ToBF16Pairs src":  func() { ops.ToBF16Pairs(p16(m, n), n, short(m, n), m, n, n) },
			"ToBF16Pairs dst":  func() { ops.ToBF16Pairs(sp16(m, n), n, full(m, n), m, n, n) },
			"ToBF16PairsT src": func() { ops.ToBF16PairsT(p16(n, m), m, short(m, n), m, n, n) },
			"ToBF16PairsT dst": func() { ops.ToBF16PairsT(sp16(n, m), m, full(m, n), m, n, n) },
			"ToBF16PairsT big": func() { ops.ToBF16PairsT(sp16(n*16, m*16), m*16, full(m*16, n*16), m*16, n*16, n*16) },
			"GemmBF16 big":     func() { ops.GemmBF16(m*8, n*8, k, 1, f16(m*8, k), k, sp16(k, n*8), n*8, 0, full(m*8, n*8), n*8) },
		})
	})
	t.Run("NoAllocs", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(35, 36))
		// Large enough for Parallel wrappers to split every call.
		const m, n, k = 64, 512, 260
		a, bb := newBF16Matrix(rng, m, k, k), newBF16Matrix(rng, n, k, k)
		c, src := randSlice(rng, m*n), randSlice(rng, 600*130)
		dst := make([]uint16, len(src)+600)
		checkNoAllocs(t, map[string]func(){
			"GemmBF16":      func() { ops.GemmBF16(m, m, k, 1, a.bf.data, k, bb.bf.data, m, 0.5, c, m) },
			"GemmBF16Small": func() { ops.GemmBF16(7, 9, 33, 1, a.bf.data, k, bb.bf.data, 9, 0, c, n) },
			"GemvBF16":      func() { ops.GemvBF16(n, k, 1, bb.bf.data, k, a.bf.data, 0, c) },
			"ToBF16":        func() { ops.ToBF16(dst, src) },
			"ToBF16T":       func() { ops.ToBF16T(dst, 130, src, 130, 600, 600) },
			"ToBF16Pairs":   func() { ops.ToBF16Pairs(dst, 130, src, 600, 130, 130) },
			"ToBF16PairsT":  func() { ops.ToBF16PairsT(dst, 600, src, 600, 130, 130) },
		})
	})
}

// CheckGemmBF16 runs GemmBF16 on ops with random A (m×k) and B (k×n, read
// pair-packed) rounded to bfloat16 and a random C, every matrix with rows
// padded by 0-2 elements (or pairs) and unaligned between guards, and fails
// t unless C matches both float64 references within the tolerances of the
// family's comment, the padding between C's rows, the guards and the inputs
// are untouched, and with beta 0 a NaN left in C did not leak into the
// result.
func CheckGemmBF16(t *testing.T, ops kernels.BF16, rng *rand.Rand, m, n, k int, alpha, beta float32) {
	t.Helper()
	name := fmt.Sprintf("GemmBF16 m=%d n=%d k=%d alpha=%v beta=%v", m, n, k, alpha, beta)
	a := newBF16Matrix(rng, m, k, k+rng.IntN(3))
	b := newBF16Matrix(rng, k, n, n) // the values; B is read pair-packed
	aAt := func(i, l int) uint16 { return a.bf.data[i*a.ld+l] }
	bAt := func(l, j int) uint16 { return b.bf.data[l*n+j] }
	ldb := n + rng.IntN(3)
	bp := pairPacked(rng, k, n, ldb, bAt)
	ldc := n + rng.IntN(3)
	c := newGemmC(rng, m, n, ldc, beta)
	aIn, bIn := append([]uint16(nil), a.bf.data...), append([]uint16(nil), bp.data...)
	cIn := clone(c.data)

	ops.GemmBF16(m, n, k, alpha, a.bf.data, a.ld, bp.data, ldb, beta, c.data, ldc)

	for i := 0; i < m; i++ {
		for j := 0; j < ldc && i*ldc+j < len(c.data); j++ {
			got := c.data[i*ldc+j]
			if j >= n {
				if got != guardValue {
					t.Fatalf("%s: padding C[%d,%d] overwritten: %v", name, i, j, got)
				}
				continue
			}
			var old float64
			if beta != 0 {
				old = float64(beta) * float64(cIn[i*ldc+j])
			}
			var want, wantF32, abs, absF32 float64
			for l := 0; l < k; l++ {
				p := float64(alpha) * bf16Value(aAt(i, l)) * bf16Value(bAt(l, j))
				want += p
				abs += math.Abs(p)
				p = float64(alpha) * float64(a.f32[i*a.ld+l]) * float64(b.f32[l*n+j])
				wantF32 += p
				absF32 += math.Abs(p)
			}
			abs += math.Abs(old)
			if d := math.Abs(float64(got) - (want + old)); !(d <= tolerance(k, abs)) {
				t.Fatalf("%s: C[%d,%d] = %v, want %v from the bfloat16 inputs", name, i, j, got, want+old)
			}
			if d := math.Abs(float64(got) - (wantF32 + old)); !(d <= operandError*absF32+tolerance(k, abs)) {
				t.Fatalf("%s: C[%d,%d] = %v, want %v from the float32 inputs", name, i, j, got, wantF32+old)
			}
		}
	}
	c.check(t, name)
	for _, in := range []struct {
		what string
		g    *guarded16
		was  []uint16
	}{{"A", a.bf, aIn}, {"B", bp, bIn}} {
		in.g.check(t, name+" "+in.what)
		for i := range in.was {
			if in.g.data[i] != in.was[i] {
				t.Fatalf("%s: %s modified at %d", name, in.what, i)
			}
		}
	}
}

// CheckGemvBF16 is CheckGemmBF16 for GemvBF16: y = alpha·A·x + beta·y with
// A m×n (rows padded) and x bfloat16, y unaligned between guards.
func CheckGemvBF16(t *testing.T, ops kernels.BF16, rng *rand.Rand, m, n int, alpha, beta float32) {
	t.Helper()
	name := fmt.Sprintf("GemvBF16 m=%d n=%d alpha=%v beta=%v", m, n, alpha, beta)
	a := newBF16Matrix(rng, m, n, n+rng.IntN(3))
	x := newBF16Matrix(rng, 1, n, n)
	y := newGuarded(rng, m)
	if beta == 0 {
		for i := range y.data {
			y.data[i] = float32(math.NaN())
		}
	}
	yIn := clone(y.data)

	ops.GemvBF16(m, n, alpha, a.bf.data, a.ld, x.bf.data, beta, y.data)

	for i := 0; i < m; i++ {
		var old float64
		if beta != 0 {
			old = float64(beta) * float64(yIn[i])
		}
		var want, wantF32, abs, absF32 float64
		for l := 0; l < n; l++ {
			p := float64(alpha) * bf16Value(a.bf.data[i*a.ld+l]) * bf16Value(x.bf.data[l])
			want += p
			abs += math.Abs(p)
			p = float64(alpha) * float64(a.f32[i*a.ld+l]) * float64(x.f32[l])
			wantF32 += p
			absF32 += math.Abs(p)
		}
		abs += math.Abs(old)
		got := float64(y.data[i])
		if d := math.Abs(got - (want + old)); !(d <= tolerance(n, abs)) {
			t.Fatalf("%s: y[%d] = %v, want %v from the bfloat16 inputs", name, i, got, want+old)
		}
		if d := math.Abs(got - (wantF32 + old)); !(d <= operandError*absF32+tolerance(n, abs)) {
			t.Fatalf("%s: y[%d] = %v, want %v from the float32 inputs", name, i, got, wantF32+old)
		}
	}
	y.check(t, name)
	a.bf.check(t, name+" A")
	x.bf.check(t, name+" x")
}

// testToBF16 converts every bfloat16 high half with low halves around the
// rounding points (exact, ties, just either side), which covers zeros,
// subnormals, the largest finite values, infinities and NaNs, at unaligned
// offsets and lengths around the vector widths.
func testToBF16(t *testing.T, ops kernels.BF16) {
	rng := rand.New(rand.NewPCG(37, 38))
	var src []float32
	for hi := uint32(0); hi < 1<<16; hi++ {
		for _, lo := range []uint32{0, 1, 0x7fff, 0x8000, 0x8001, 0xffff, rng.Uint32() & 0xffff} {
			src = append(src, math.Float32frombits(hi<<16|lo))
		}
	}
	for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, 100, 1000, len(src)} {
		in := src[len(src)-n:]
		dst := newGuarded16(rng, n)
		ops.ToBF16(dst.data, in)
		name := fmt.Sprintf("ToBF16 n=%d", n)
		dst.check(t, name)
		for i, f := range in {
			if got, want := dst.data[i], roundBF16(f); got != want {
				t.Fatalf("%s: %v (%#08x) rounds to %#04x, want %#04x", name, f, math.Float32bits(f), got, want)
			}
		}
	}
}

// testToBF16T converts and transposes matrices around the 16×16 tiles, the
// padding of dst's rows included.
func testToBF16T(t *testing.T, ops kernels.BF16) {
	rng := rand.New(rand.NewPCG(39, 40))
	sizes := []int{0, 1, 15, 16, 17, 33, 65, 100}
	shapes := [][2]int{{3200, 65}, {320, 512}, {100, 2048}}
	for _, r := range sizes {
		for _, c := range sizes {
			shapes = append(shapes, [2]int{r, c})
		}
	}
	for _, s := range shapes {
		rows, cols := s[0], s[1]
		lds, ldd := cols+rng.IntN(3), rows+rng.IntN(3)
		src := newGuarded(rng, max(0, (rows-1)*lds+cols))
		for i := range src.data {
			if rng.IntN(50) == 0 {
				src.data[i] = math.Float32frombits(rng.Uint32()) // any bits
			}
		}
		srcIn := clone(src.data)
		dst := newGuarded16(rng, max(0, (cols-1)*ldd+rows))
		for i := range dst.data {
			dst.data[i] = guard16
		}
		name := fmt.Sprintf("ToBF16T %d×%d", rows, cols)
		ops.ToBF16T(dst.data, ldd, src.data, rows, cols, lds)
		dst.check(t, name)
		unchanged(t, name+" src", srcIn, src)
		for j := 0; j < cols; j++ {
			for i := 0; i < ldd && j*ldd+i < len(dst.data); i++ {
				got := dst.data[j*ldd+i]
				if i >= rows {
					if got != guard16 {
						t.Fatalf("%s: padding dst[%d,%d] overwritten: %#x", name, j, i, got)
					}
					continue
				}
				if want := roundBF16(src.data[i*lds+j]); got != want {
					t.Fatalf("%s: dst[%d,%d] = %#04x, want %#04x", name, j, i, got, want)
				}
			}
		}
	}
}

// testToBF16Pairs packs matrices, plain and transposed, around the 16-pair
// tiles and odd row counts, the padding of dst's rows included.
func testToBF16Pairs(t *testing.T, ops kernels.BF16) {
	rng := rand.New(rand.NewPCG(43, 44))
	sizes := []int{0, 1, 2, 15, 16, 17, 33, 65, 100}
	shapes := [][2]int{{3200, 65}, {3199, 512}, {512, 512}, {65, 512}, {2048, 67}}
	for _, r := range sizes {
		for _, c := range sizes {
			shapes = append(shapes, [2]int{r, c})
		}
	}
	for _, s := range shapes {
		rows, cols := s[0], s[1]
		lds := cols + rng.IntN(3)
		src := newGuarded(rng, max(0, (rows-1)*lds+cols))
		for i := range src.data {
			if rng.IntN(50) == 0 {
				src.data[i] = math.Float32frombits(rng.Uint32()) // any bits
			}
		}
		srcIn := clone(src.data)
		at := func(i, j int) uint16 { return roundBF16(src.data[i*lds+j]) }
		for _, transposed := range []bool{false, true} {
			// dst is the pair-packed pr×pc matrix: src or its transpose.
			pr, pc, pat := rows, cols, at
			name := fmt.Sprintf("ToBF16Pairs %d×%d", rows, cols)
			if transposed {
				pr, pc, pat = cols, rows, func(l, j int) uint16 { return at(j, l) }
				name = fmt.Sprintf("ToBF16PairsT %d×%d", rows, cols)
			}
			ldd := pc + rng.IntN(3)
			want := pairPacked(rng, pr, pc, ldd, pat)
			dst := newGuarded16(rng, len(want.data))
			for i := range dst.data {
				dst.data[i] = guard16
			}
			if transposed {
				ops.ToBF16PairsT(dst.data, ldd, src.data, rows, cols, lds)
			} else {
				ops.ToBF16Pairs(dst.data, ldd, src.data, rows, cols, lds)
			}
			dst.check(t, name)
			unchanged(t, name+" src", srcIn, src)
			for i, w := range want.data {
				if got := dst.data[i]; got != w {
					p, e := i/2, i%2
					t.Fatalf("%s: pair row %d column %d word %d = %#04x, want %#04x", name, p/ldd, p%ldd, e, got, w)
				}
			}
		}
	}
}

// testBF16Specials pins how the products treat values the random tests do
// not reach: an infinity or NaN in A reaches the outputs of its row and no
// other, a NaN in C is read when beta is not 0, and an odd k's last element
// pairs with nothing past the end of the rows.
func testBF16Specials(t *testing.T, ops kernels.BF16) {
	rng := rand.New(rand.NewPCG(41, 42))
	const m, n, k = 9, 11, 67
	a, b := newBF16Matrix(rng, m, k, k), newBF16Matrix(rng, n, k, k)
	a.bf.data[2*k+5] = 0x7f80  // +Inf in row 2
	a.bf.data[5*k+66] = 0x7fc0 // NaN in row 5, the odd last element
	for j := 0; j < n; j++ {
		b.bf.data[j*k+5] = 0x3f80 // 1, so that row 2 gives +Inf, not NaN
	}
	// B (k×n) is b's rows as columns, pair-packed.
	bp := pairPacked(rng, k, n, n, func(l, j int) uint16 { return b.bf.data[j*k+l] })
	c := make([]float32, m*n)
	ops.GemmBF16(m, n, k, 1, a.bf.data, k, bp.data, n, 0, c, n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			v := float64(c[i*n+j])
			switch {
			case i == 2 && !math.IsInf(v, 1):
				t.Fatalf("GemmBF16: C[2,%d] = %v, want +Inf from A's +Inf", j, v)
			case i == 5 && !math.IsNaN(v):
				t.Fatalf("GemmBF16: C[5,%d] = %v, want NaN from A's NaN", j, v)
			case i != 2 && i != 5 && (math.IsNaN(v) || math.IsInf(v, 0)):
				t.Fatalf("GemmBF16: C[%d,%d] = %v: a special leaked into another row", i, j, v)
			}
		}
	}
	y := make([]float32, m)
	y[3] = float32(math.NaN())
	ops.GemvBF16(m, k, 1, a.bf.data, k, b.bf.data, 0.5, y)
	if !math.IsNaN(float64(y[3])) {
		t.Fatalf("GemvBF16 beta=0.5: y[3] = %v, want NaN from the NaN in y", y[3])
	}
	// Odd k with rows of A back to back: a kernel that paired the last
	// element with the one after it (a NaN) would multiply it by the zero
	// that completes B's last pair, and give NaN.
	for _, kk := range []int{1, 3, 33, 65} {
		aa := make([]uint16, 2*kk)
		for i := range aa {
			aa[i] = 0x3f80 // 1
			if i >= kk {
				aa[i] = 0x7fc0
			}
		}
		bb := pairPacked(rng, kk, 2, 2, func(l, j int) uint16 { return 0x4000 }) // 2
		cc := []float32{0, 0}
		ops.GemmBF16(1, 2, kk, 1, aa, kk, bb.data, 2, 0, cc, 2)
		if cc[0] != float32(2*kk) || cc[1] != float32(2*kk) {
			t.Fatalf("GemmBF16 k=%d: C = %v, want %d twice", kk, cc, 2*kk)
		}
	}
}
