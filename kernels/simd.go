//go:build amd64 && !noasm

package kernels

import (
	"math"
	"sync/atomic"

	"github.com/klauspost/cpuid/v2"
)

// gemmKernel is the signature of the GEMM micro-kernels in internal/asm:
// GemmBcast (A broadcast, B read along rows) and DotNT (rows of A dotted
// with rows of B).
type gemmKernel func(k int, a []float32, s1, s2 int, b []float32, ldb, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool)

// panelKernel is the signature of GemmPanel{rows}: up to 16 columns of C
// from one panel of a panel-packed B (panels.go).
type panelKernel func(k int, a []float32, lda int, panel []float32, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool)

// quadMaxBytes bounds the panels GemmPanels runs four at a time: half of
// a core's L2, so that they stay there between calls (0 where cpuid does
// not know L2's size).
var quadMaxBytes = max(0, cpuid.CPU.Cache.L2/2)

// quadKernel is the signature of GemmQuadPanel{rows}: 64 columns of C from
// four whole panels.
type quadKernel func(k int, a []float32, lda int, panels []float32, c []float32, ldc int, alpha, beta float32, useBeta bool)

// simdKernels is one instruction set's routines plus the blocking around
// them; the avx2 and avx512 backends differ only in the table they use.
type simdKernels struct {
	// bcast[r-1] updates an r × bcastWidth block of C (r <= len(bcast)).
	bcast      []gemmKernel
	bcastWidth int
	// dotNT updates a dotRows × dotCols block of C = A·Bᵀ; gemvN is the
	// same with one column, for GEMV.
	dotNT            gemmKernel
	dotRows, dotCols int
	gemvN            gemmKernel
	gemvRows         int
	// gemvT is a one-row broadcast kernel for full strips of exactly
	// gemvTWidth columns.
	gemvT      gemmKernel
	gemvTWidth int
	// gemvNAll and gemvTAll do a whole GEMV in one call, summing every
	// output exactly as the block and strip kernels above do; gemv uses
	// them for every sweep that runs forwards.
	gemvNAll, gemvTAll func(m, n int, a []float32, lda int, x, y []float32, alpha, beta float32, useBeta bool)
	// gemvLong, where there is one, does y = A·x one row at a time, in
	// memory order: faster than the four-row blocks once rows hold at
	// least longRow floats, slower below, where one row's sum is too short
	// to hide its latency. It always runs forwards (see genGemvRows).
	gemvLong func(m, n int, a []float32, lda int, x, y []float32, alpha, beta float32, useBeta bool)
	longRow  int
	// gemvShortN and gemvShortT, where there are, do GEMVs whose rows
	// (outputs) span at most shortMax floats with x (y) in registers: the
	// recurrence at small H. They are used for every such call, whatever
	// m, so an output never switches kernel between calls or splits.
	gemvShortN, gemvShortT func(m, n int, a []float32, lda int, x, y []float32, alpha, beta float32, useBeta bool)
	shortMax               int

	// sweeps counts GEMV calls on matrices larger than L2 holds easily, so
	// that every other call runs backwards (see gemv).
	sweeps atomic.Uint32

	dot      func(x, y []float32) float32
	axpy     func(alpha float32, x, y []float32)
	scal     func(alpha float32, x []float32)
	addTanh  func(h, a, col, bias []float32)
	tanhGrad func(dr, h, dh []float32)
	maxSum   func(x, y []float32) float32
	expSum   func(d, x, y []float32, shift float32) float32
	mul      func(dst, x, y []float32)

	// The gated cells' steps over H units (see simd_gates.go); slices are
	// cut to their lengths before the call.
	lstmForward  func(gates, in, bias, cPrev, c, tc, h []float32)
	lstmBackward func(dgates, gates, cPrev, tc, dh, dc []float32)
	gruForward   func(act, hg, in, bih, bhh, hPrev, h []float32)
	gruBackward  func(dx, dhg, act, hg, hPrev, dh, dhPrev []float32)

	// The optimizer routines; each runs over len(p) elements (len(x) for
	// sumSquares) and the methods below check the other slices first.
	sumSquares func(x []float32) float64
	// sumSquaresWide accumulates in float64 throughout: slower, for the
	// inputs sumSquares' float32 lanes cannot take (see sumSquaresChecked).
	sumSquaresWide func(x []float32) float64
	sgd            func(p, g []float32, lr, scale, limit float32)
	adagrad        func(p, g, mem []float32, lr, eps, scale, limit float32)
	adam           func(p, g, m, v []float32, alpha, beta1, beta2, eps, scale, limit float32)
	adamW          func(p, g, m, v []float32, alpha, beta1, beta2, eps, decay, scale, limit float32)
	momentum       func(p, g, vel []float32, lr, mu, scale, limit float32)
	rmsprop        func(p, g, ms []float32, lr, rho, eps, scale, limit float32)

	// panel[r-1] computes r rows of GemmPanels from one panel; nil where
	// the broadcast kernels run it instead. quad[r-1], where there is one,
	// computes r rows from four whole panels side by side.
	panel []panelKernel
	quad  []quadKernel

	// bf16 is the instruction set's BF16 capability, nil if none.
	bf16 *bf16Kernels
}

// shortNTFloats bounds B (n×k) for the short-row NT path: every row of A
// reads all of B again, so B must stay in cache between them (64 KB; tiny's
// V is 26 KB, its W 40 KB).
const shortNTFloats = 16 << 10

// kcBlock bounds the k extent of one pass of the broadcast kernel, so the
// slab of B it sweeps (kcBlock × bcastWidth floats, 64 KB on AVX-512) stays
// in L2 while every row block of A passes over it.
const kcBlock = 256

// kcOnePass is the largest k done in one pass all the same: every further
// pass reads and writes all of C again, which costs more than a deeper
// slab at these sizes (1600×2048×512, a layer's input projection over a
// window, measured 169 GFLOP/s in two passes and 201 in one on a 220
// GFLOP/s core; a step's 16×2048×512 189 and 195). Deeper k is cut all the
// same, where the slab would leave L2 (2048×512×1600, the weight gradient:
// 180 in 256-deep passes, 156 in 512). The depth depends on k alone, which
// no split changes, so every output is summed the same way whatever the
// threads.
const kcOnePass = 512

// passDepth is the k extent of each pass of the broadcast kernel.
func passDepth(k int) int {
	if k <= kcOnePass {
		return k
	}
	return kcBlock
}

// gemvSweepBytes is the matrix size from which GEMV alternates direction.
const gemvSweepBytes = 512 << 10

// backwards reports whether this GEMV over an m-row matrix should sweep its
// rows last to first. The engine multiplies by the same matrix (W, 1 MB at
// H=512) at every time step; swept in the same order each time, a matrix
// about the size of L2 evicts itself and streams from L3 every call.
// Alternating the direction starts each call on the rows the previous one
// left in L2.
func (s *simdKernels) backwards(m, lda int) bool {
	if m*lda*4 < gemvSweepBytes {
		return false
	}
	return s.sweeps.Add(1)&1 == 0
}

func (s *simdKernels) gemv(trans bool, m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
	checkMat("Gemv A", a, m, n, lda)
	if !trans {
		checkVec("Gemv x", x, n)
		checkVec("Gemv y", y, m)
		if m == 0 {
			return
		}
		if n == 0 {
			scale(beta, y[:m])
			return
		}
		if s.gemvShortN != nil && n <= s.shortMax {
			s.gemvShortN(m, n, a, lda, x, y, alpha, beta, beta != 0)
			return
		}
		if s.gemvLong != nil && n >= s.longRow {
			s.gemvLong(m, n, a, lda, x, y, alpha, beta, beta != 0)
			return
		}
		// Row blocks of dot products; x stays in L1 across them. A forward
		// sweep is one call; a backward one goes block by block, each
		// row summed the same way.
		if s.backwards(m, lda) {
			for i0 := (m - 1) / s.gemvRows * s.gemvRows; i0 >= 0; i0 -= s.gemvRows {
				s.gemvN(n, a[i0*lda:], lda, min(s.gemvRows, m-i0), x, 0, 1, y[i0:], 1, alpha, beta, beta != 0)
			}
			return
		}
		s.gemvNAll(m, n, a, lda, x, y, alpha, beta, beta != 0)
		return
	}
	checkVec("Gemv x", x, m)
	checkVec("Gemv y", y, n)
	if n == 0 {
		return
	}
	if m == 0 {
		scale(beta, y[:n])
		return
	}
	// yᵀ = xᵀA: a 1-row GEMM, a strip of y held in registers while all m
	// rows of A stream past it. A forward sweep is one call (full strips
	// of gemvTWidth columns, then one narrower); big matrices alternate the
	// order of the strips (see backwards), and a backward sweep goes strip
	// by strip: full strips of gemvTWidth columns, then bcastWidth-wide
	// ones, every column summed the same way as in the forward call.
	if s.gemvShortT != nil && n <= s.shortMax {
		s.gemvShortT(m, n, a, lda, x, y, alpha, beta, beta != 0)
		return
	}
	if !s.backwards(m, lda) {
		s.gemvTAll(m, n, a, lda, x, y, alpha, beta, beta != 0)
		return
	}
	nWide := n / s.gemvTWidth
	rest := n - nWide*s.gemvTWidth
	strips := nWide + (rest+s.bcastWidth-1)/s.bcastWidth
	for idx := 0; idx < strips; idx++ {
		i := strips - 1 - idx
		if i < nWide {
			j0 := i * s.gemvTWidth
			s.gemvT(m, x, 0, 1, a[j0:], lda, s.gemvTWidth, y[j0:], 0, alpha, beta, beta != 0)
		} else {
			j0 := nWide*s.gemvTWidth + (i-nWide)*s.bcastWidth
			s.bcast[0](m, x, 0, 1, a[j0:], lda, min(s.bcastWidth, n-j0), y[j0:], 0, alpha, beta, beta != 0)
		}
	}
}

func (s *simdKernels) gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if transA {
		checkMat("Gemm A", a, k, m, lda)
	} else {
		checkMat("Gemm A", a, m, k, lda)
	}
	if transB {
		checkMat("Gemm B", b, n, k, ldb)
	} else {
		checkMat("Gemm B", b, k, n, ldb)
	}
	checkMat("Gemm C", c, m, n, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		scaleRows(beta, c, m, n, ldc)
		return
	}
	// op(A)[i, l] is a[i*ars + l*als].
	ars, als := lda, 1
	if transA {
		ars, als = 1, lda
	}
	if transA && transB {
		// Not used by the engine: B is transposed into scratch panels so
		// that the broadcast kernel can read it along rows.
		s.gemmPackedB(m, n, k, alpha, a, ars, als, b, ldb, beta, c, ldc)
		return
	}
	if transB && s.gemvShortN != nil && k <= s.shortMax && n*k <= shortNTFloats {
		// Short rows: row i of C is the GEMV B·(row i of A), with that
		// row held in registers while B, small enough to stay in cache,
		// streams past it; no horizontal sums per 4×4 block as below.
		// Chosen by the shape, so repeated calls, and splits by rows,
		// sum every output the same way.
		for i := 0; i < m; i++ {
			s.gemvShortN(n, k, b, ldb, a[i*lda:], c[i*ldc:], alpha, beta, beta != 0)
		}
		return
	}
	if transB {
		// C = A·Bᵀ: rows of A dotted with rows of B. The smaller of A and
		// B is swept by the inner loop, so it is the one re-read from
		// cache while the other streams through once.
		blk := func(i0, j0 int) {
			s.dotNT(k, a[i0*lda:], lda, min(s.dotRows, m-i0), b[j0*ldb:], ldb, min(s.dotCols, n-j0), c[i0*ldc+j0:], ldc, alpha, beta, beta != 0)
		}
		if m >= n {
			for i0 := 0; i0 < m; i0 += s.dotRows {
				for j0 := 0; j0 < n; j0 += s.dotCols {
					blk(i0, j0)
				}
			}
		} else {
			for j0 := 0; j0 < n; j0 += s.dotCols {
				for i0 := 0; i0 < m; i0 += s.dotRows {
					blk(i0, j0)
				}
			}
		}
		return
	}
	// C = op(A)·B with B read along its rows. The k extent is cut in
	// slabs (see passDepth); within one, the smaller of the A slab (m×kb) and the B
	// slab (kb×n) is swept by the inner loop, so it stays in cache while
	// the other streams once.
	rows := len(s.bcast)
	depth := passDepth(k)
	for l0 := 0; l0 < k; l0 += depth {
		kb := min(depth, k-l0)
		// Later k slabs accumulate onto the first one's result.
		bt, useBeta := beta, beta != 0
		if l0 > 0 {
			bt, useBeta = 1, true
		}
		blk := func(i0, j0 int) {
			s.bcast[min(rows, m-i0)-1](kb, a[i0*ars+l0*als:], ars, als, b[l0*ldb+j0:], ldb, min(s.bcastWidth, n-j0), c[i0*ldc+j0:], ldc, alpha, bt, useBeta)
		}
		if m > n {
			for i0 := 0; i0 < m; i0 += rows {
				for j0 := 0; j0 < n; j0 += s.bcastWidth {
					blk(i0, j0)
				}
			}
		} else {
			for j0 := 0; j0 < n; j0 += s.bcastWidth {
				for i0 := 0; i0 < m; i0 += rows {
					blk(i0, j0)
				}
			}
		}
	}
}

// gemmPanels is GemmPanels: panel by panel, every block of up to 16 rows of
// C in one pass of the panel kernel, which keeps them all in registers, so
// that a step of 16 streams reads each panel once. The panel, k×16 floats,
// stays in cache while further row blocks pass over it. Without panel
// kernels each panel is a Gemm with leading dimension 16 (one strip of
// AVX2's broadcast kernel).
func (s *simdKernels) gemmPanels(m, n, k int, alpha float32, a []float32, lda int, panels []float32, beta float32, c []float32, ldc int) {
	checkPanels(m, n, k, a, lda, panels, c, ldc)
	if s.panel == nil {
		for j0 := 0; j0 < n; j0 += PanelWidth {
			s.gemm(false, false, m, min(PanelWidth, n-j0), k, alpha, a, lda, panels[j0*k:], PanelWidth, beta, c[j0:], ldc)
		}
		return
	}
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		scaleRows(beta, c, m, n, ldc)
		return
	}
	// Where all the panels stay in L2 from one call to the next, four at a
	// time while they last: fewer loads per FMA than one (see
	// genQuadPanels). Streamed from L3, the single panel's 16 rows per
	// byte read serve better (a step's 16×2048×512 on an Intel Xeon, 4 MB:
	// 124-133 GFLOP/s in fours, 135-147 singly; 16×1024×256, 1 MB:
	// 192-196 in fours, 147-160 singly). Both kernels sum an output alike,
	// so the choice changes no result.
	j0 := 0
	if q := len(s.quad); q > 0 && 4*PanelsLen(k, n) <= quadMaxBytes {
		for ; j0+4*PanelWidth <= n; j0 += 4 * PanelWidth {
			group := panels[j0*k : (j0+4*PanelWidth)*k]
			for i0 := 0; i0 < m; i0 += q {
				s.quad[min(q, m-i0)-1](k, a[i0*lda:], lda, group, c[i0*ldc+j0:], ldc, alpha, beta, beta != 0)
			}
		}
	}
	rows := len(s.panel)
	for ; j0 < n; j0 += PanelWidth {
		panel, nc := panels[j0*k:(j0+PanelWidth)*k], min(PanelWidth, n-j0)
		for i0 := 0; i0 < m; i0 += rows {
			s.panel[min(rows, m-i0)-1](k, a[i0*lda:], lda, panel, nc, c[i0*ldc+j0:], ldc, alpha, beta, beta != 0)
		}
	}
}

// packCols is how many columns of Bᵀ one packed panel holds.
const packCols = 128

// packBuf is the scratch of one packed panel: kcBlock × packCols floats.
type packBuf [kcBlock * packCols]float32

// packPool recycles panels, so that a call allocates nothing once warm and
// concurrent calls each get their own.
var packPool = make(chan *packBuf, 4)

func getPackBuf() *packBuf {
	select {
	case p := <-packPool:
		return p
	default:
		return new(packBuf)
	}
}

func putPackBuf(p *packBuf) {
	select {
	case packPool <- p:
	default:
	}
}

// gemmPackedB computes C = alpha*op(A)·Bᵀ + beta*C by copying Bᵀ, panel by
// panel (kcBlock × packCols), into row-major scratch and running the
// broadcast kernel on it. op(A)[i, l] is a[i*ars + l*als].
func (s *simdKernels) gemmPackedB(m, n, k int, alpha float32, a []float32, ars, als int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	buf := getPackBuf()
	defer putPackBuf(buf)
	rows := len(s.bcast)
	for j0 := 0; j0 < n; j0 += packCols {
		nb := min(packCols, n-j0)
		for l0 := 0; l0 < k; l0 += kcBlock {
			kb := min(kcBlock, k-l0)
			panel := buf[:kb*nb]
			for j := 0; j < nb; j++ {
				for l, v := range b[(j0+j)*ldb+l0 : (j0+j)*ldb+l0+kb] {
					panel[l*nb+j] = v
				}
			}
			bt, useBeta := beta, beta != 0
			if l0 > 0 {
				bt, useBeta = 1, true
			}
			for i0 := 0; i0 < m; i0 += rows {
				r := min(rows, m-i0)
				for jj := 0; jj < nb; jj += s.bcastWidth {
					s.bcast[r-1](kb, a[i0*ars+l0*als:], ars, als, panel[jj:], nb, min(s.bcastWidth, nb-jj), c[i0*ldc+j0+jj:], ldc, alpha, bt, useBeta)
				}
			}
		}
	}
}

func (s *simdKernels) softmaxXent(d, logits, bias []float32, target int) float32 {
	n := len(d)
	logits, bias = logits[:n], bias[:n]
	mx := s.maxSum(logits, bias)
	// Read before d (which may alias logits) is written.
	zt := logits[target] + bias[target] - mx
	sum := s.expSum(d, logits, bias, mx)
	// The log is taken of the sum, before normalising, so that a tiny
	// probability does not underflow to log(0).
	loss := float32(math.Log(float64(sum))) - zt
	s.scal(1/sum, d)
	d[target]--
	return loss
}

// softmaxExp runs the vector exp of softmaxXent, which exponentiates a sum
// x+y, on x = y = p = (logits - max)·scale/2: halving and doubling are
// exact, so x+y is (logits - max)·scale rounded once, as Generic computes it.
// The maximum is found with a comparison rather than the max builtin, whose
// NaN and signed-zero rules cost more than the rest of the call (65 logits:
// 234 ns → 89 ns). It skips a NaN logit, whose own p is then NaN, and so is
// the sum, as the contract asks.
func (s *simdKernels) softmaxExp(p, logits []float32, scale float32) float32 {
	logits = logits[:len(p)]
	maxv := float32(math.Inf(-1))
	for _, v := range logits {
		if v > maxv {
			maxv = v
		}
	}
	half := scale / 2
	for i, v := range logits {
		p[i] = (v - maxv) * half
	}
	return s.expSum(p, p, p, 0)
}

// sumSquaresTiny is the result per element below which sumSquares'
// float32 squares may have lost digits to the subnormal range (each loses at
// most 2^-150, so above this they cost at most 2^-49 of the sum).
var sumSquaresTiny = math.Ldexp(1, -100)

// sumSquaresChecked is the sum of x[i]² with the accuracy and range of a
// float64 loop. The fast routine sums in float32 lanes; its result is +Inf
// when a square or lane overflowed float32 (an element above 1.8e19, finite
// in float64) and tiny when squares fell below float32's normal range, and
// then the float64 routine does the sum again. A NaN is final. The engine
// relies on the difference: it takes a finite sum for finite gradients and
// parameters.
func (s *simdKernels) sumSquaresChecked(x []float32) float64 {
	r := s.sumSquares(x)
	if math.IsNaN(r) || (r < math.Inf(1) && r >= sumSquaresTiny*float64(len(x))) {
		return r
	}
	return s.sumSquaresWide(x)
}

// The optimizer updates, bounds-checked: the assembly runs over len(p)
// elements and would otherwise read and write past a shorter g or state.

func (s *simdKernels) sgdUpdate(p, g []float32, lr, scale, limit float32) {
	checkVec("SGDUpdate g", g, len(p))
	s.sgd(p, g, lr, scale, limit)
}

func (s *simdKernels) adagradUpdate(p, g, mem []float32, lr, scale, limit float32) {
	checkVec("AdagradUpdate g", g, len(p))
	checkVec("AdagradUpdate mem", mem, len(p))
	s.adagrad(p, g, mem, lr, AdagradEpsilon, scale, limit)
}

func (s *simdKernels) adamUpdate(p, g, m, v []float32, alpha, beta1, beta2, eps, scale, limit float32) {
	checkVec("AdamUpdate g", g, len(p))
	checkVec("AdamUpdate m", m, len(p))
	checkVec("AdamUpdate v", v, len(p))
	s.adam(p, g, m, v, alpha, beta1, beta2, eps, scale, limit)
}

func (s *simdKernels) momentumUpdate(p, g, vel []float32, lr, mu, scale, limit float32) {
	checkVec("MomentumUpdate g", g, len(p))
	checkVec("MomentumUpdate vel", vel, len(p))
	s.momentum(p, g, vel, lr, mu, scale, limit)
}

func (s *simdKernels) rmspropUpdate(p, g, ms []float32, lr, rho, eps, scale, limit float32) {
	checkVec("RMSpropUpdate g", g, len(p))
	checkVec("RMSpropUpdate ms", ms, len(p))
	s.rmsprop(p, g, ms, lr, rho, eps, scale, limit)
}

func (s *simdKernels) adamWUpdate(p, g, m, v []float32, alpha, beta1, beta2, eps, decay, scale, limit float32) {
	checkVec("AdamWUpdate g", g, len(p))
	checkVec("AdamWUpdate m", m, len(p))
	checkVec("AdamWUpdate v", v, len(p))
	s.adamW(p, g, m, v, alpha, beta1, beta2, eps, decay, scale, limit)
}
