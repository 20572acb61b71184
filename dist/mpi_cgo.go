//go:build mpi

package dist

// The cgo layer: one C function per MPI call the package makes, because
// Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_IN_PLACE, ...) are
// macros over its internal symbols that Go cannot name. Every function
// returns MPI's error code; the Go side turns it into an *Error.

/*
#cgo pkg-config: ompi
#include <mpi.h>

static int dist_init(int *provided) {
	return MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, provided);
}
static int dist_errors_return(void) {
	return MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}
static int dist_rank(int *rank) { return MPI_Comm_rank(MPI_COMM_WORLD, rank); }
static int dist_size(int *size) { return MPI_Comm_size(MPI_COMM_WORLD, size); }
static int dist_allreduce_f32(float *buf, int n) {
	return MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
}
static int dist_allreduce_f64(double *buf, int n) {
	return MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}
static int dist_iallreduce_f32(float *buf, int n, MPI_Request *req) {
	return MPI_Iallreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, req);
}
static int dist_wait(MPI_Request *req) { return MPI_Wait(req, MPI_STATUS_IGNORE); }
static int dist_test(MPI_Request *req, int *done) { return MPI_Test(req, done, MPI_STATUS_IGNORE); }
static int dist_bcast(void *buf, int n, int root) {
	return MPI_Bcast(buf, n, MPI_BYTE, root, MPI_COMM_WORLD);
}
static int dist_gather(void *send, void *recv, int n, int root) {
	return MPI_Gather(send, n, MPI_BYTE, recv, n, MPI_BYTE, root, MPI_COMM_WORLD);
}
static int dist_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }
static void dist_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }
static int dist_finalize(void) { return MPI_Finalize(); }
static int dist_error_string(int code, char *text, int *len) { return MPI_Error_string(code, text, len); }
*/
import "C"

import (
	"fmt"
	"math"
	"unsafe"
)

// mpiSuccess is MPI_SUCCESS.
const mpiSuccess = C.MPI_SUCCESS

// mpiMaxCount is the most elements one MPI call takes: counts are C ints.
const mpiMaxCount = math.MaxInt32

// mpiError turns a failed call's code into an *Error carrying MPI's text.
func mpiError(call string, code C.int) error {
	var text [C.MPI_MAX_ERROR_STRING]C.char
	var n C.int
	desc := fmt.Sprintf("MPI error code %d", int(code))
	if C.dist_error_string(code, &text[0], &n) == mpiSuccess && n > 0 {
		desc = C.GoStringN(&text[0], n)
	}
	return &Error{Call: call, Code: int(code), Text: desc}
}

// mpiInitThread calls MPI_Init_thread asking for MPI_THREAD_SERIALIZED and
// returns the thread level MPI provides.
func mpiInitThread() (provided int, err error) {
	var p C.int
	if code := C.dist_init(&p); code != mpiSuccess {
		return int(p), mpiError("MPI_Init_thread", code)
	}
	return int(p), nil
}

// mpiErrorsReturn makes failures on MPI_COMM_WORLD return error codes
// instead of aborting the job (MPI's default).
func mpiErrorsReturn() error {
	if code := C.dist_errors_return(); code != mpiSuccess {
		return mpiError("MPI_Comm_set_errhandler", code)
	}
	return nil
}

// mpiThreadSerialized is MPI_THREAD_SERIALIZED.
const mpiThreadSerialized = C.MPI_THREAD_SERIALIZED

func mpiRankSize() (rank, size int, err error) {
	var r, s C.int
	if code := C.dist_rank(&r); code != mpiSuccess {
		return 0, 0, mpiError("MPI_Comm_rank", code)
	}
	if code := C.dist_size(&s); code != mpiSuccess {
		return 0, 0, mpiError("MPI_Comm_size", code)
	}
	return int(r), int(s), nil
}

func mpiAllReduce32(buf []float32) error {
	if code := C.dist_allreduce_f32((*C.float)(unsafe.SliceData(buf)), C.int(len(buf))); code != mpiSuccess {
		return mpiError("MPI_Allreduce", code)
	}
	return nil
}

func mpiAllReduce64(buf []float64) error {
	if code := C.dist_allreduce_f64((*C.double)(unsafe.SliceData(buf)), C.int(len(buf))); code != mpiSuccess {
		return mpiError("MPI_Allreduce", code)
	}
	return nil
}

// mpiIAllReduce32 starts an all-reduce of buf, whose memory MPI keeps using
// after the call: the caller pins it until the request completes.
func mpiIAllReduce32(buf []float32, req *C.MPI_Request) error {
	if code := C.dist_iallreduce_f32((*C.float)(unsafe.SliceData(buf)), C.int(len(buf)), req); code != mpiSuccess {
		return mpiError("MPI_Iallreduce", code)
	}
	return nil
}

func mpiWait(req *C.MPI_Request) error {
	if code := C.dist_wait(req); code != mpiSuccess {
		return mpiError("MPI_Wait", code)
	}
	return nil
}

func mpiTest(req *C.MPI_Request) (bool, error) {
	var done C.int
	if code := C.dist_test(req, &done); code != mpiSuccess {
		return false, mpiError("MPI_Test", code)
	}
	return done != 0, nil
}

func mpiBroadcast(buf []byte, root int) error {
	if code := C.dist_bcast(unsafe.Pointer(unsafe.SliceData(buf)), C.int(len(buf)), C.int(root)); code != mpiSuccess {
		return mpiError("MPI_Bcast", code)
	}
	return nil
}

// mpiGather gathers n bytes from every rank into root's recv; recv is
// ignored on the other ranks.
func mpiGather(send, recv []byte, root int) error {
	code := C.dist_gather(unsafe.Pointer(unsafe.SliceData(send)), unsafe.Pointer(unsafe.SliceData(recv)), C.int(len(send)), C.int(root))
	if code != mpiSuccess {
		return mpiError("MPI_Gather", code)
	}
	return nil
}

func mpiBarrier() error {
	if code := C.dist_barrier(); code != mpiSuccess {
		return mpiError("MPI_Barrier", code)
	}
	return nil
}

func mpiAbort(code int) { C.dist_abort(C.int(code)) }

func mpiFinalize() error {
	if code := C.dist_finalize(); code != mpiSuccess {
		return mpiError("MPI_Finalize", code)
	}
	return nil
}
