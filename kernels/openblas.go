//go:build openblas

package kernels

import (
	"fmt"
	"os"
	"syscall"

	"github.com/klauspost/cpuid/v2"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/netlib/blas/netlib"

	"charrnn/kernels/internal/openblas"
)

// OpenBLASCompiled reports whether the openblas backend is compiled into
// this binary (build tag openblas).
const OpenBLASCompiled = true

// Ranks of the openblas backend: above the assembly backends when OpenBLAS
// runs the right kernels for this CPU, below them when it runs a weaker set
// (OpenBLAS picks its kernels from the CPU it detects, and on some CPUs
// guesses a weaker set; see openblas_coretype.go).
const (
	openblasRank     = 35
	openblasWeakRank = 10
)

// openblasBackend is the backend that runs Gemv, Gemm, Axpy and Dot in
// OpenBLAS through gonum's cgo CBLAS bindings. BLAS has nothing for the rest
// (the fused activations, softmax, the optimizer updates, GemmPanels, whose
// packed B is the project's own layout), so those are the embedded backend's: the best assembly backend this CPU runs, or Generic
// (see newOpenBLAS).
type openblasBackend struct{ Backend }

// newOpenBLAS is the openblas backend with the element-wise ops of the best
// backend registered so far that this CPU supports. The assembly backends
// register in files that sort before this one, and Go runs a package's init
// functions in file order, so at this package's init that is the best
// assembly backend.
func newOpenBLAS() openblasBackend {
	for _, b := range Supported() {
		if _, ok := b.(openblasBackend); !ok {
			return openblasBackend{b}
		}
	}
	return openblasBackend{Generic{}}
}

// openblasAdvice is decided once: OpenBLAS picked its kernels when the
// dynamic loader loaded it, before any Go code ran, and never changes them.
var openblasAdvice coretypeAdvice

func init() {
	// One thread per call: the engine and the Parallel pool already keep
	// the cores busy, and OpenBLAS's own threads would fight Go's scheduler.
	openblas.SetNumThreads(1)

	env, envSet := os.LookupEnv(coretypeEnv)
	_, guarded := os.LookupEnv(reexecGuardEnv)
	openblasAdvice = adviseCoretype(openblas.CoreName(), hostTier(), env, envSet, guarded)

	rank := openblasRank
	if openblasAdvice.weak {
		rank = openblasWeakRank
	}
	Register(newOpenBLAS(), rank, func() bool { return true })
}

// hostTier is the widest SIMD tier cpuid reports, with the OS support for
// the wider registers that cpuid/v2 checks included.
func hostTier() simdTier {
	switch {
	case cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512DQ, cpuid.AVX512VL, cpuid.AVX512CD):
		return tierAVX512
	case cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3):
		return tierAVX2
	case cpuid.CPU.Supports(cpuid.AVX):
		return tierAVX
	case cpuid.CPU.Supports(cpuid.SSE3):
		return tierSSE
	}
	return tierUnknown
}

// OpenBLASStatus reports the kernel set OpenBLAS runs (its core name, e.g.
// "SkylakeX" or "Prescott"), whether that is weaker than what this CPU
// supports, and if so the shell command that fixes it.
func OpenBLASStatus() (corename string, weak bool, fix string) {
	a := openblasAdvice
	return a.corename, a.weak, a.fix()
}

// OpenBLASWarning returns a one-line, print-ready warning with the exact fix
// when OpenBLAS runs weaker kernels than this CPU supports, "" otherwise.
func OpenBLASWarning() string { return openblasAdvice.warning() }

// ReexecWithCoretype replaces the current process with a fresh run of the
// same binary, same arguments and environment plus OPENBLAS_CORETYPE set to
// the right core, when OpenBLAS runs weaker kernels than this CPU supports.
// OpenBLAS reads the variable when the library is loaded, so setting it from
// Go is too late; a new process is the only fix. Call it first thing in
// main, before any other work.
//
// It does nothing and returns nil when there is nothing to fix, when the
// user set OPENBLAS_CORETYPE (their choice; OpenBLASWarning explains), or
// when this process is already the re-executed one (a guard variable
// prevents loops). On success it does not return.
func ReexecWithCoretype() error {
	a := openblasAdvice
	if !a.reexec {
		return nil
	}
	return reexecWith(a.coretype, syscall.Exec)
}

// reexecWith is ReexecWithCoretype with the exec call injected for tests.
func reexecWith(coretype string, exec func(argv0 string, argv, envv []string) error) error {
	// /proc/self/exe is this very binary even if it was started through a
	// relative path or a symlink, or has been replaced on disk since.
	const self = "/proc/self/exe"
	if err := exec(self, os.Args, reexecEnv(os.Environ(), coretype)); err != nil {
		return fmt.Errorf("re-exec with %s=%s: %w", coretypeEnv, coretype, err)
	}
	return nil
}

// Name implements Backend.
func (openblasBackend) Name() string { return "openblas" }

var cblas netlib.Implementation

func transpose(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

// flushMinMACs is the fewest multiply-adds of a call that OpenBLAS runs
// with subnormals flushed (openblas.FlushSubnormals), as the assembly
// backends' products always do: setting and restoring MXCSR around a cgo
// call costs about as much as two more calls (tiny's sampling lost 9% with
// every call flushed), which a call of a million multiply-adds hides.
const flushMinMACs = 1 << 20

// Gemv implements Backend.
//
// The bindings check arguments like reference BLAS, which is stricter than
// Backend (a leading dimension below 1 is rejected even when there is a
// single row) and skips the beta*y scaling when the inner dimension is 0
// (reference BLAS quick-returns). Both cases are handled here.
func (openblasBackend) Gemv(trans bool, m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
	xn, yn := n, m
	if trans {
		xn, yn = m, n
	}
	if yn == 0 {
		return
	}
	if xn == 0 {
		scale(beta, y[:yn])
		return
	}
	if m == 1 {
		lda = max(lda, n) // a single row: the leading dimension is never used
	}
	if m*n >= flushMinMACs {
		defer openblas.RestoreMXCSR(openblas.FlushSubnormals())
	}
	cblas.Sgemv(transpose(trans), m, n, alpha, a, lda, x, 1, beta, y, 1)
}

// Gemm implements Backend; see Gemv for the edge cases handled here.
func (openblasBackend) Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		scaleRows(beta, c, m, n, ldc)
		return
	}
	// Stored shapes: A is m×k (k×m when transposed), B is k×n (n×k).
	rowsA, colsA := m, k
	if transA {
		rowsA, colsA = k, m
	}
	rowsB, colsB := k, n
	if transB {
		rowsB, colsB = n, k
	}
	if rowsA == 1 {
		lda = max(lda, colsA)
	}
	if rowsB == 1 {
		ldb = max(ldb, colsB)
	}
	if m == 1 {
		ldc = max(ldc, n)
	}
	if m*n*k >= flushMinMACs {
		defer openblas.RestoreMXCSR(openblas.FlushSubnormals())
	}
	cblas.Sgemm(transpose(transA), transpose(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Axpy implements Backend.
func (openblasBackend) Axpy(alpha float32, x, y []float32) {
	if len(x) == 0 {
		return
	}
	cblas.Saxpy(len(x), alpha, x, 1, y, 1)
}

// Dot implements Backend.
func (openblasBackend) Dot(x, y []float32) float32 {
	if len(x) == 0 {
		return 0
	}
	return cblas.Sdot(len(x), x, 1, y, 1)
}
