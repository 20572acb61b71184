//go:build openblas

// Package openblas exposes the few OpenBLAS extensions to the CBLAS
// interface that the kernels need: the thread count, and what OpenBLAS
// thinks the CPU is (the name of the kernel set it selected at load time).
//
// It also carries the link flag for the whole OpenBLAS backend: the cgo BLAS
// bindings (gonum.org/v1/netlib/blas/netlib) leave linking to CGO_LDFLAGS,
// and the flag here lets `go build -tags openblas` work without it.
package openblas

/*
#cgo LDFLAGS: -lopenblas

// Declared here rather than taken from <cblas.h>, which Debian ships in
// several alternative locations depending on the BLAS flavour installed.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char *openblas_get_corename(void);
char *openblas_get_config(void);

// MXCSR's DAZ (bit 6) and FTZ (bit 15), on x86-64 only.
static unsigned int charrnn_flush_subnormals(void) {
#if defined(__x86_64__)
	unsigned int old = __builtin_ia32_stmxcsr();
	__builtin_ia32_ldmxcsr(old | 0x8040);
	return old;
#else
	return 0;
#endif
}

static void charrnn_restore_mxcsr(unsigned int old) {
#if defined(__x86_64__)
	__builtin_ia32_ldmxcsr(old);
#endif
}
*/
import "C"

import "runtime"

// FlushSubnormals locks the calling goroutine to its thread and sets that
// thread's MXCSR to take subnormal operands as zero and write subnormal
// results as zero (DAZ and FTZ; nothing on other architectures), returning
// the MXCSR to give back to RestoreMXCSR, which must follow on the same
// goroutine. OpenBLAS's kernels then meet no subnormal: on Intel cores each
// costs a microcode assist, and the first steps of a 2×512 LSTM's training
// ran 5-7× slower. Locked, no other goroutine runs on the thread meanwhile.
func FlushSubnormals() uint32 {
	runtime.LockOSThread()
	return uint32(C.charrnn_flush_subnormals())
}

// RestoreMXCSR puts back the MXCSR FlushSubnormals returned and unlocks the
// goroutine from its thread.
func RestoreMXCSR(old uint32) {
	C.charrnn_restore_mxcsr(C.uint(old))
	runtime.UnlockOSThread()
}

// SetNumThreads sets the number of threads OpenBLAS uses for one call.
// n < 1 is treated as 1.
func SetNumThreads(n int) {
	C.openblas_set_num_threads(C.int(max(n, 1)))
}

// NumThreads returns the number of threads OpenBLAS uses for one call.
func NumThreads() int {
	return int(C.openblas_get_num_threads())
}

// CoreName returns the name of the CPU core whose kernels OpenBLAS selected
// when it was loaded, e.g. "SkylakeX", "Haswell", "Zen" or "Prescott".
func CoreName() string {
	return C.GoString(C.openblas_get_corename())
}

// Config returns OpenBLAS's build configuration string (version, build
// options, the selected core and the maximum thread count).
func Config() string {
	return C.GoString(C.openblas_get_config())
}
