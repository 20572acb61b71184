//go:build amd64 && !noasm

package kernels

import (
	"sync"
	"time"

	"github.com/klauspost/cpuid/v2"

	"charrnn/kernels/internal/asm"
)

// The amx backend is avx512 with its bfloat16 GEMMs on AMX's tiles
// (internal/asm's GemmAMX): on an Intel Xeon with AMX, TDPBF16PS does 13-14
// times the multiply-adds of one core's float32 FMAs, where VDPBF16PS does
// half (bench/RESULTS.md). Everything else, float32 included, is avx512's.
//
// A GEMM goes to the tiles when k is at least 32, alpha is 1 and beta is 0
// or 1 (the tiles start from zero or from C): k rounded down to a multiple
// of 32 on the tiles (a tile of A is 32 bfloat16 wide), then the rest of k
// on VDPBF16PS, added to C; any other GEMM runs on VDPBF16PS alone. An
// output then depends on its row, its column, k, alpha and beta only, as the
// BF16 contract asks, not on m, n or a split: every block of rows and
// columns, whole or not, is done by the same instructions, on tiles shaped
// to it. The tiles sum a step's 32 products in an order of their own, so
// AMX's results are not VDPBF16PS's to the bit; the conformance suite holds
// both to the same bounds.

// amxKernels is avx512's table with the tiles for the bfloat16 GEMMs.
var amxKernels = newAVX512Kernels(newAVX512BF16(true))

// amxReady reports whether this CPU has AMX's bfloat16 tiles and the
// operating system lets the process use them (Linux asks each process to
// request the tiles' state, which is too large for the default signal
// frame, before its first tile instruction).
var amxReady = sync.OnceValue(func() bool {
	return cpuid.CPU.Supports(cpuid.AMXBF16, cpuid.AMXTILE) && requestAMX() == nil
})

func init() {
	Register(simdBackend{name: "amx", k: amxKernels}, 31, func() bool {
		return cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512VL, cpuid.AVX2, cpuid.FMA3,
			cpuid.AVX512BF16, cpuid.AMXBF16, cpuid.AMXTILE) && amxReady()
	})
}

// amxPanelBytes bounds the columns of B one sweep of the row blocks covers: 512 KB
// of bfloat16 at k = 512, which stays in L2 while every block of 16 rows of
// A passes over it (as bf16PanelBytes does for VDPBF16PS).
const amxPanelBytes = 512 << 10

// tileConfig is LDTILECFG's 64 bytes: palette 1, then each tile's bytes
// per row (16-bit) and rows.
type tileConfig [64]byte

// shape sets tile t to rows × colsb bytes.
func (c *tileConfig) shape(t, rows, colsb int) {
	c[16+2*t] = byte(colsb)
	c[16+2*t+1] = byte(colsb >> 8)
	c[48+t] = byte(rows)
}

// newTileConfig shapes GemmAMX's tiles for a block of rows × cols of C
// (rows <= 16, cols <= 16 per tile of C): tiles 0-3 C (rows × cols
// float32), tile 4 A (rows × 32 bfloat16), tiles 5-7 B (16 rows of cols
// pairs).
func newTileConfig(rows, cols int) tileConfig {
	var c tileConfig
	c[0] = 1
	for t := range 4 {
		c.shape(t, rows, 4*cols)
	}
	c.shape(4, rows, 64)
	for t := 5; t < 8; t++ {
		c.shape(t, 16, 4*cols)
	}
	return c
}

// usesAMX reports whether GemmBF16 runs this product on the tiles.
func (s *bf16Kernels) usesAMX(k int, alpha, beta float32) bool {
	return s.amx && k >= 32 && alpha == 1 && (beta == 0 || beta == 1)
}

// gemmAMX is GemmBF16 on the tiles (usesAMX): columns in panels that stay
// in L2, and within one, every block of 16 rows (or the last, fewer) across
// the panel's columns: 64 at a time through four tiles of C, then the rest
// 16 at a time and the last few on tiles narrowed to them.
func (s *bf16Kernels) gemmAMX(m, n, k int, a []uint16, lda int, b []uint16, ldb int, beta float32, c []float32, ldc int) {
	load := beta == 1
	kt := k / 32
	nb := max(64, amxPanelBytes/(2*k)/64*64)
	full := newTileConfig(16, 16)
	for j0 := 0; j0 < n; j0 += nb {
		nc := min(nb, n-j0)
		for i0 := 0; i0 < m; i0 += 16 {
			rows := min(16, m-i0)
			cfg := &full
			var short tileConfig
			if rows < 16 {
				short = newTileConfig(rows, 16)
				cfg = &short
			}
			as, cs := a[i0*lda:], c[i0*ldc+j0:]
			if q := nc / 64; q > 0 {
				asm.GemmAMX4((*[64]byte)(cfg), kt, as, lda, b[2*j0:], ldb, cs, ldc, q, load)
			}
			j := nc / 64 * 64
			if q := (nc - j) / 16; q > 0 {
				asm.GemmAMX1((*[64]byte)(cfg), kt, as, lda, b[2*(j0+j):], ldb, cs[j:], ldc, q, load)
				j += 16 * q
			}
			if j < nc {
				narrow := newTileConfig(rows, nc-j)
				asm.GemmAMX1((*[64]byte)(&narrow), kt, as, lda, b[2*(j0+j):], ldb, cs[j:], ldc, 1, load)
			}
		}
	}
}

// UsesAMX reports whether backend b (or the backend a Parallel b wraps)
// runs its bfloat16 GEMMs on AMX's tiles: the amx backend.
func UsesAMX(b Backend) bool {
	be, ok := Unsplit(b).(simdBackend)
	return ok && be.k.bf16 != nil && be.k.bf16.amx && amxReady()
}

// GemvOnTiles reports whether a single stream's y = A·x, A m×n in
// bfloat16 and multiplied at every step, runs faster on b as a one-row
// GemmBF16 (x as A, the matrix's transpose pair-packed as B) than as
// GemvBF16: on AMX's tiles, for a matrix of at least 256 rows that stays in
// L2 (half of it). One core, 2026-12-03: 512×512 3.9-4.5 µs on the tiles
// against 6.2-6.5 µs, 256×512 2.0 against 3.1; but 2048×512, from L3, 45
// against 27 (a tile's 16 rows of pairs lie kilobytes apart where the
// GEMV's rows stream in order), and 65×512 1.6 against 0.84.
func GemvOnTiles(b Backend, m, n int) bool {
	return UsesAMX(b) && m >= 256 && n >= 32 && 2*m*n <= cpuid.CPU.Cache.L2/2
}

// AMXPeak measures one core's TDPBF16PS throughput in GFLOP/s like
// FMAPeak, with a loop of four independent tile products (8,192
// multiply-adds each). It returns 0 where the amx backend cannot run.
func AMXPeak(d time.Duration) float64 {
	if !cpuid.CPU.Supports(cpuid.AMXBF16, cpuid.AMXTILE) || !amxReady() {
		return 0
	}
	cfg := newTileConfig(16, 16)
	src := make([]uint16, 16*32)
	for i := range src {
		src[i] = 0x3f00 // bfloat16 0.5
	}
	return peakOf(func(iters int) float32 { return asm.AMXPeak((*[64]byte)(&cfg), src, iters) }, 4*16*16*32*2, d)
}
