package asm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/cpuid/v2"
)

// These tests hold the bfloat16 routines to bf16ref.go bit for bit (NaN
// payloads of dot products aside), and bf16ref.go itself to an independent
// definition of rounding and to results observed on the hardware. With
// noasm the routines are the twins, and the tests pin the specification.

func skipWithoutBF16(t *testing.T) {
	t.Helper()
	if !cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512VL, cpuid.AVX512BF16) {
		t.Skip("this CPU has no AVX512_BF16")
	}
}

// sameBits reports whether got and want are the same float32, any NaN
// matching any NaN.
func sameBits(got, want float32) bool {
	if math.IsNaN(float64(got)) || math.IsNaN(float64(want)) {
		return math.IsNaN(float64(got)) && math.IsNaN(float64(want))
	}
	return math.Float32bits(got) == math.Float32bits(want)
}

// nearestBF16 is round-to-nearest-even to bfloat16 from first principles:
// the two candidates around f compared in float64, ties to the even one,
// past the largest finite value by at least half a unit to infinity;
// subnormals become zeros and NaNs quiet NaNs, as the instructions do.
func nearestBF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	if math.IsNaN(float64(f)) {
		return uint16(b>>16) | 0x40
	}
	if b&0x7f800000 == 0 {
		return sign
	}
	if math.IsInf(float64(f), 0) {
		return uint16(b >> 16)
	}
	down := b &^ 0xffff
	lo := math.Abs(float64(math.Float32frombits(down)))
	ulp := math.Abs(float64(math.Float32frombits(down+0x10000))) - lo
	if down&0x7fff0000 == 0x7f7f0000 {
		ulp = math.Ldexp(1, 127-7) // the last binade: the next step is 2^128
	}
	x := math.Abs(float64(f))
	switch d := x - lo; {
	case d < ulp/2, d == ulp/2 && down&0x10000 == 0:
		return uint16(down >> 16)
	}
	return uint16(down>>16) + 1 // may carry into the exponent, up to ±Inf
}

// conversionInputs are every bfloat16 high half with low halves that probe
// rounding: exact, just above, just below, exactly at and around the tie,
// and a random one.
func conversionInputs(rng *rand.Rand) []float32 {
	var fs []float32
	for hi := uint32(0); hi < 1<<16; hi++ {
		for _, lo := range []uint32{0, 1, 0x7fff, 0x8000, 0x8001, 0xffff, rng.Uint32() & 0xffff} {
			fs = append(fs, math.Float32frombits(hi<<16|lo))
		}
	}
	return fs
}

func TestToBF16(t *testing.T) {
	skipWithoutBF16(t)
	rng := rand.New(rand.NewPCG(1, 16))
	fs := conversionInputs(rng)
	for _, f := range fs {
		if got, want := ToBF16(f), nearestBF16(f); got != want {
			t.Fatalf("ToBF16(%v = %#08x) = %#04x, want %#04x", f, math.Float32bits(f), got, want)
		}
	}
	// The routine, at every length around its 32- and 16-wide steps, on an
	// unaligned slice between guards.
	for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, 47, 48, 64, 100, len(fs)} {
		src := fs[len(fs)-n:]
		buf := make([]uint16, n+4)
		for i := range buf {
			buf[i] = 0xdead
		}
		ToBF16AVX512(buf[1:1+n], src)
		if buf[0] != 0xdead || buf[n+1] != 0xdead {
			t.Fatalf("n=%d: guards overwritten: %#x %#x", n, buf[0], buf[n+1])
		}
		for i, f := range src {
			if got, want := buf[1+i], ToBF16(f); got != want {
				t.Fatalf("n=%d: ToBF16AVX512 of %#08x = %#04x, want %#04x", n, math.Float32bits(f), got, want)
			}
		}
	}
}

func TestToBF16T(t *testing.T) {
	skipWithoutBF16(t)
	rng := rand.New(rand.NewPCG(2, 16))
	for _, cols := range []int{0, 16, 32, 80} {
		lds, ldd := cols+rng.IntN(5), 16+rng.IntN(5)
		src := make([]float32, 15*lds+cols)
		for i := range src {
			src[i] = math.Float32frombits(rng.Uint32())
		}
		const mark = 0xbeef
		dst := make([]uint16, cols*ldd+1)
		for i := range dst {
			dst[i] = mark
		}
		ToBF16TAVX512(dst, ldd, src, lds, cols)
		for j := 0; j < cols; j++ {
			for i := 0; i < ldd; i++ {
				got := dst[j*ldd+i]
				if i >= 16 {
					if got != mark {
						t.Fatalf("cols=%d: padding dst[%d,%d] overwritten", cols, j, i)
					}
					continue
				}
				if want := ToBF16(src[i*lds+j]); got != want {
					t.Fatalf("cols=%d: dst[%d,%d] = %#04x, want %#04x", cols, j, i, got, want)
				}
			}
		}
		if dst[cols*ldd] != mark {
			t.Fatalf("cols=%d: wrote past the last row", cols)
		}
	}
}

// randBF16 draws a bfloat16 that is usually an ordinary number of moderate
// size and sometimes a special: zero, subnormal, infinity, NaN, extreme.
func randBF16(rng *rand.Rand, specials bool) uint16 {
	sign := uint16(rng.IntN(2)) << 15
	if specials {
		switch rng.IntN(16) {
		case 0:
			return sign | uint16(rng.IntN(128)) // zero or subnormal
		case 1:
			return sign | 0x7f80 // infinity
		case 2:
			return sign | 0x7f80 | uint16(1+rng.IntN(127)) // NaN
		case 3:
			return sign | 0x7f7f // the largest finite
		case 4:
			return uint16(rng.Uint32()) // anything
		}
	}
	e := 127 - 12 + rng.IntN(25)
	return sign | uint16(e)<<7 | uint16(rng.IntN(128))
}

func randF32(rng *rand.Rand, specials bool) float32 {
	if specials {
		switch rng.IntN(16) {
		case 0:
			return math.Float32frombits(rng.Uint32() & 0x807fffff) // subnormal
		case 1:
			return math.Float32frombits(rng.Uint32()&0x80000000 | 0x7f800000)
		case 2:
			return math.Float32frombits(rng.Uint32() | 0x7f800001)
		case 3:
			return math.Float32frombits(rng.Uint32())
		}
	}
	return (rng.Float32()*2 - 1) * 8
}

// TestDPBF16 holds one VDPBF16PS to DotBF16Pair bit for bit on random
// operands, specials included, and DotBF16Pair to results observed on the
// hardware at the edges: the order of the two steps, fusing, flushing.
func TestDPBF16(t *testing.T) {
	skipWithoutBF16(t)
	rng := rand.New(rand.NewPCG(3, 16))
	acc, want := make([]float32, 16), make([]float32, 16)
	a, b := make([]uint16, 32), make([]uint16, 32)
	for it := 0; it < 50000; it++ {
		specials := it%2 == 0
		for i := range a {
			a[i], b[i] = randBF16(rng, specials), randBF16(rng, specials)
		}
		for i := range acc {
			acc[i] = randF32(rng, specials)
			if it%4 == 1 {
				acc[i] = BF16ToFloat32(randBF16(rng, false)) // products may cancel it
			}
		}
		copy(want, acc)
		DPBF16AVX512(acc, a, b)
		dpbf16Ref(want, a, b)
		for i := range acc {
			if !sameBits(acc[i], want[i]) {
				t.Fatalf("lane %d: %v + %v·%v + %v·%v = %v (%#08x), model %v (%#08x)", i, want[i],
					BF16ToFloat32(a[2*i+1]), BF16ToFloat32(b[2*i+1]), BF16ToFloat32(a[2*i]), BF16ToFloat32(b[2*i]),
					acc[i], math.Float32bits(acc[i]), want[i], math.Float32bits(want[i]))
			}
		}
	}
	bf := func(f float32) uint16 { return uint16(math.Float32bits(f) >> 16) }
	for _, c := range []struct {
		acc, a1, b1, a0, b0, want float32
	}{
		// Odd pair first: 1 + 2^-23 is exact, then + 2^-24 is a tie that
		// goes to the even 1 + 2^-22. The even pair first would round
		// 1 + 2^-24 to 1 and end at 1 + 2^-23.
		{1, 0x1p-12, 0x1p-11, 0x1p-12, 0x1p-12, 1 + 0x1p-22},
		// Fused: -2^200 rounds to -Inf only as a sum; the second product,
		// +2^200, is never rounded to +Inf on its own (which would give NaN).
		{0, -0x1p100, 0x1p100, 0x1p100, 0x1p100, float32(math.Inf(-1))},
		// Subnormal bfloat16 operands count as zero.
		{1, 0x1p-130, 0x1p127, 0, 0, 1},
		// A result below 2^-126 once rounded (as if the exponent were
		// unbounded) is flushed to zero; one that rounds up to 2^-126 is not.
		{0x1p-126, -0x1.8p-76, 0x1p-75, 0, 0, 0},
		{0x1p-126, -0x1p-75, 0x1p-75, 0, 0, 0},
		{0x1p-126, -0x1p-76, 0x1p-75, 0, 0, 0x1p-126},
		{0x1p-125, -0x1.8p-76, 0x1p-49, 0, 0, -0x1p-126},
	} {
		got := DotBF16Pair(c.acc, bf(c.a0), bf(c.a1), bf(c.b0), bf(c.b1))
		if !sameBits(got, c.want) {
			t.Errorf("%v + %v·%v + %v·%v = %v, want %v", c.acc, c.a1, c.b1, c.a0, c.b0, got, c.want)
		}
		acc[0] = c.acc
		clear(a)
		clear(b)
		a[0], a[1], b[0], b[1] = bf(c.a0), bf(c.a1), bf(c.b0), bf(c.b1)
		DPBF16AVX512(acc, a, b)
		if !sameBits(acc[0], c.want) {
			t.Errorf("VDPBF16PS: %v + %v·%v + %v·%v = %v, want %v", c.acc, c.a1, c.b1, c.a0, c.b0, acc[0], c.want)
		}
	}
}

func randBF16s(rng *rand.Rand, n int, specials bool) []uint16 {
	s := make([]uint16, n)
	for i := range s {
		s[i] = randBF16(rng, specials && rng.IntN(8) == 0)
	}
	return s
}

// dot64 is the float64 dot product of bfloat16 rows, and the sum of the
// products' magnitudes.
func dot64(k int, a, b []uint16) (sum, abs float64) {
	for l := 0; l < k; l++ {
		p := float64(BF16ToFloat32(a[l])) * float64(BF16ToFloat32(b[l]))
		sum += p
		abs += math.Abs(p)
	}
	return sum, abs
}

// checkBF16Kernel runs kern (the routine) and ref (its twin) on copies of
// c, every row laid out with ldc and guards past nc, and fails unless they
// agree to the bit, the guards are untouched and, unless want64 is nil, C
// is within float32 rounding of want64(r, j) (value and sum of magnitudes).
func checkBF16Kernel(t *testing.T, name string, rng *rand.Rand, rows, nc, ldc, k int, kern, ref func(c []float32, useBeta bool), want64 func(r, j int) (float64, float64)) {
	t.Helper()
	for _, useBeta := range []bool{false, true} {
		c := guardedC(rng, rows, nc, ldc, useBeta)
		old := append([]float32(nil), c...)
		got, twin := append([]float32(nil), c...), append([]float32(nil), c...)
		kern(got, useBeta)
		ref(twin, useBeta)
		for i := range got {
			r, j := i/ldc, i%ldc
			if j >= nc {
				if got[i] != guard {
					t.Fatalf("%s useBeta=%v: wrote past nc at C[%d,%d]", name, useBeta, r, j)
				}
				continue
			}
			if !sameBits(got[i], twin[i]) {
				t.Fatalf("%s useBeta=%v: C[%d,%d] = %v (%#08x), twin %v (%#08x)", name, useBeta, r, j, got[i], math.Float32bits(got[i]), twin[i], math.Float32bits(twin[i]))
			}
			if want64 == nil {
				continue
			}
			want, abs := want64(r, j)
			abs = math.Abs(abs)
			if useBeta {
				want += -0.5 * float64(old[i])
				abs += math.Abs(0.5 * float64(old[i]))
			}
			if d := math.Abs(float64(got[i]) - want); !(d <= float64(k+2)*0x1p-23*abs+1e-37) {
				t.Fatalf("%s useBeta=%v: C[%d,%d] = %v, float64 sum %v", name, useBeta, r, j, got[i], want)
			}
		}
	}
}

// bf16GemmKernel is the signature of the GEMM kernels.
type bf16GemmKernel = func(k int, a []uint16, lda int, b []uint16, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool)

// bf16GemmKernels are the GEMM kernels by block height (index + 1).
var bf16GemmKernels = []bf16GemmKernel{GemmBF161AVX512, GemmBF162AVX512, GemmBF163AVX512, GemmBF164AVX512, GemmBF165AVX512, GemmBF166AVX512}

// packPairs lays out the rows×cols matrix at(l, j) pair-packed with ld
// pairs a row, an odd last row paired with zeros.
func packPairs(rows, cols, ld int, at func(l, j int) uint16) []uint16 {
	if rows == 0 || cols == 0 {
		return nil
	}
	p := make([]uint16, 2*(((rows+1)/2-1)*ld+cols))
	for l := 0; l < rows; l++ {
		for j := 0; j < cols; j++ {
			p[2*((l/2)*ld+j)+l%2] = at(l, j)
		}
	}
	return p
}

func TestGemmBF16(t *testing.T) {
	skipWithoutBF16(t)
	rng := rand.New(rand.NewPCG(4, 16))
	for rows, kern := range bf16GemmKernels {
		rows++
		for _, specials := range []bool{false, true} {
			for _, nc := range []int{0, 1, 15, 16, 17, 48, 63, 64, 65, 100, 130} {
				for _, k := range []int{0, 1, 2, 3, 31, 32, 33, 64, 65, 100, 513} {
					// The logical B (k×nc), pair-packed, and A.
					bv := randBF16s(rng, k*nc, specials)
					bAt := func(l, j int) uint16 { return bv[l*nc+j] }
					ldb, ldc := nc+rng.IntN(3), nc+1+rng.IntN(3)
					b := packPairs(k, nc, ldb, bAt)
					lda := k + rng.IntN(3)
					a := randBF16s(rng, max(0, (rows-1)*lda+k), specials) // only k of the last row exist
					name := fmt.Sprintf("rows=%d specials=%v nc=%d k=%d", rows, specials, nc, k)
					const alpha, beta = 0.75, -0.5
					want64 := func(r, j int) (float64, float64) {
						var s, abs float64
						for l := 0; l < k; l++ {
							p := float64(BF16ToFloat32(a[r*lda+l])) * float64(BF16ToFloat32(bAt(l, j)))
							s += p
							abs += math.Abs(p)
						}
						return alpha * s, alpha * abs
					}
					if specials {
						want64 = nil // subnormals, overflow: the twin alone says
					}
					checkBF16Kernel(t, name, rng, rows, nc, ldc, k, func(c []float32, ub bool) {
						kern(k, a, lda, b, ldb, nc, c, ldc, alpha, beta, ub)
					}, func(c []float32, ub bool) {
						gemmBF16Ref(k, a, lda, rows, b, ldb, nc, c, ldc, alpha, beta, ub)
					}, want64)
				}
			}
		}
	}
}

// TestToBF16Pairs holds the two packing routines to their twins, with
// random bits (NaNs, subnormals and all), guards around dst and, for the
// transposing one, padding between its rows.
func TestToBF16Pairs(t *testing.T) {
	skipWithoutBF16(t)
	rng := rand.New(rand.NewPCG(6, 16))
	randF := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = math.Float32frombits(rng.Uint32())
		}
		return s
	}
	const mark = 0xbeef
	marked := func(n int) []uint16 {
		s := make([]uint16, n)
		for i := range s {
			s[i] = mark
		}
		return s
	}
	for _, n := range []int{0, 1, 15, 16, 17, 33, 100} {
		lo, hi := randF(n), randF(n)
		got, want := marked(2*n+1), marked(2*n+1)
		ToBF16PairsAVX512(got, lo, hi)
		toBF16PairsRef(want, lo, hi)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("ToBF16Pairs n=%d: dst[%d] = %#04x, want %#04x", n, i, got[i], want[i])
			}
		}
	}
	for _, pairs := range []int{0, 16, 32, 80} {
		lds, ldd := 2*pairs+rng.IntN(5), 16+rng.IntN(5)
		src := randF(15*lds + 2*pairs)
		got, want := marked(2*pairs*ldd+1), marked(2*pairs*ldd+1)
		ToBF16PairsTAVX512(got, ldd, src, lds, pairs)
		toBF16PairsTRef(want, ldd, src, lds, pairs)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("ToBF16PairsT pairs=%d: dst[%d] = %#04x, want %#04x", pairs, i, got[i], want[i])
			}
		}
	}
}

// TestGemvBF16 holds GemvBF16 to its twin, and each row to the same kernel
// run on that row alone, bit for bit: a row sums the same way wherever it
// falls in its block of eight, so a split of a GEMV changes no output.
func TestGemvBF16(t *testing.T) {
	skipWithoutBF16(t)
	rng := rand.New(rand.NewPCG(5, 16))
	for _, specials := range []bool{false, true} {
		for _, m := range []int{0, 1, 3, 8, 9, 16, 23, 24, 64, 65} {
			for _, n := range []int{0, 1, 2, 31, 32, 33, 64, 100, 256, 512, 513} {
				lda := n + rng.IntN(3)
				a := randBF16s(rng, max(0, (m-1)*lda+n), specials)
				x := randBF16s(rng, n, specials)
				name := fmt.Sprintf("specials=%v m=%d n=%d", specials, m, n)
				const alpha, beta = -1.25, -0.5
				want64 := func(_, i int) (float64, float64) {
					s, abs := dot64(n, a[i*lda:], x)
					return alpha * s, alpha * abs
				}
				if specials {
					want64 = nil
				}
				checkBF16Kernel(t, name, rng, 1, m, m+1, n, func(y []float32, ub bool) {
					GemvBF16AVX512(m, n, a, lda, x, y, alpha, beta, ub)
				}, func(y []float32, ub bool) {
					gemvBF16Ref(m, n, a, lda, x, y, alpha, beta, ub)
				}, want64)
				y := make([]float32, m)
				GemvBF16AVX512(m, n, a, lda, x, y, alpha, 0, false)
				for i := range y {
					var yi [1]float32
					GemvBF16AVX512(1, n, a[i*lda:], lda, x, yi[:], alpha, 0, false)
					if !sameBits(y[i], yi[0]) {
						t.Fatalf("%s: y[%d] = %v, %v with the row alone", name, i, y[i], yi[0])
					}
				}
			}
		}
	}
}

func TestBF16Peak(t *testing.T) {
	skipWithoutBF16(t)
	for _, n := range []int{0, 1, 7, 1000} {
		if got, want := BF16PeakAVX512(n), bf16PeakRef(n); got != want {
			t.Errorf("BF16Peak(%d) = %v, want %v", n, got, want)
		}
	}
}

// TestBF16BetaFused pins the output step C = alpha·sum + beta·C as one
// fused multiply-add: with sum 1, beta = 1 + 2^-12 and C = (1 - 2^-12 +
// 2^-24)·2^-24, the exact result 1 + 2^-24 + 2^-60 lies just above a tie and
// rounds to 1 + 2^-23; a float64 FMA rounded again to float32 would land on
// the tie and give 1.
func TestBF16BetaFused(t *testing.T) {
	skipWithoutBF16(t)
	one := uint16(0x3f80)
	a, b := []uint16{one, 0}, []uint16{one, 0}
	const beta = 1 + 0x1p-12
	const want = 1 + 0x1p-23
	for name, kern := range map[string]bf16GemmKernel{
		"GemmBF161": GemmBF161AVX512,
		"twin": func(k int, a []uint16, lda int, b []uint16, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool) {
			gemmBF16Ref(k, a, lda, 1, b, ldb, nc, c, ldc, alpha, beta, useBeta)
		},
	} {
		c := []float32{(1 - 0x1p-12 + 0x1p-24) * 0x1p-24}
		kern(2, a, 2, b, 1, 1, c, 1, 1, beta, true)
		if c[0] != want {
			t.Errorf("%s: C = %v, want %v", name, c[0], float32(want))
		}
	}
}
