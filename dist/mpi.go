//go:build mpi

package dist

/*
#include <mpi.h>
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
)

// MPICompiled reports whether the MPI implementation is compiled into this
// binary (build tag mpi).
const MPICompiled = true

// Init returns the communicator of this process: MPI's MPI_COMM_WORLD when
// an MPI launcher started it (see Launched), Local otherwise, so that the
// same binary runs alone without mpirun. MPI is initialised at most once per
// process: a second Init under a launcher is an error. Every rank Closes
// the Comm before it exits: mpirun takes a rank that exits without
// MPI_Finalize for a failed one and ends the job.
//
// In containers, Open MPI may need settings that machines do not: as root
// mpirun wants --allow-run-as-root (or OMPI_ALLOW_RUN_AS_ROOT=1 and
// OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1); without the ptrace permission its
// shared-memory transport cannot copy between processes directly and needs
// --mca btl_vader_single_copy_mechanism none (see .ci/run). And mpirun binds
// each rank to one core when it starts one or two ranks: a rank that should
// run several threads needs --bind-to none.
func Init() (Comm, error) {
	if !Launched() {
		return Local{}, nil
	}
	return initMPI()
}

// Threads. MPI ties its idea of a thread to OS threads, and Go runs a
// goroutine on whichever OS thread is free, moving it between calls. The
// package asks for MPI_THREAD_SERIALIZED: any thread may call MPI as long as
// no two calls overlap. A cgo call runs from start to end on one OS thread,
// so a mutex around every call is all SERIALIZED needs, whichever thread
// the call lands on. Only MPI_Init_thread and MPI_Finalize are tied to one
// thread (they must run on the same one): a goroutine locked to its OS
// thread for the life of the Comm makes those two calls and sleeps between.
//
// Not FUNNELED (every call from that one thread): each all-reduce would then
// hand over to the locked goroutine and back, two switches between OS
// threads per call on the hot path, for nothing. Not MULTIPLE: it turns on
// Open MPI's internal locking on every call and buys nothing, because the
// ranks must issue collectives in one order, which concurrent goroutines
// would not do anyway.
//
// Signals. MPI_Init installs handlers that print a stack trace for SIGSEGV,
// SIGBUS, SIGFPE and SIGABRT, but only for signals that have no handler yet;
// the Go runtime installed its own at start, so a nil dereference is still
// a Go panic after Init (a test checks).

// mpiComm is the Comm over MPI_COMM_WORLD.
type mpiComm struct {
	rank, size int

	mu     sync.Mutex // held for every MPI call: MPI_THREAD_SERIALIZED
	closed bool
	free   []*mpiRequest // completed requests, reused

	finalize  chan struct{} // tells the main thread to call MPI_Finalize
	finalized chan error
}

// initMu guards initialised: MPI can be initialised once per process.
var (
	initMu      sync.Mutex
	initialised bool
)

func initMPI() (*mpiComm, error) {
	initMu.Lock()
	defer initMu.Unlock()
	if initialised {
		return nil, errors.New("dist: MPI is already initialised in this process (Init called twice)")
	}
	initialised = true
	c := &mpiComm{finalize: make(chan struct{}), finalized: make(chan error, 1)}
	started := make(chan error)
	go c.mainThread(started)
	if err := <-started; err != nil {
		return nil, fmt.Errorf("dist: start MPI: %w", err)
	}
	return c, nil
}

// mainThread initialises MPI, waits for Close and finalises MPI, all on one
// OS thread, to which it stays locked.
func (c *mpiComm) mainThread(started chan<- error) {
	runtime.LockOSThread()
	provided, err := mpiInitThread()
	if err != nil {
		started <- err
		return
	}
	err = mpiErrorsReturn()
	if err == nil && provided < mpiThreadSerialized {
		err = fmt.Errorf("MPI provides thread level %d, below MPI_THREAD_SERIALIZED (%d)", provided, mpiThreadSerialized)
	}
	if err == nil {
		c.rank, c.size, err = mpiRankSize()
	}
	if err != nil {
		mpiFinalize()
		started <- err
		return
	}
	started <- nil
	<-c.finalize
	c.finalized <- mpiFinalize()
}

func (c *mpiComm) Rank() int { return c.rank }
func (c *mpiComm) Size() int { return c.size }

var errClosed = errors.New("dist: communicator is closed")

// checkCall returns the error of a call on n elements that MPI cannot
// take, before it is made. c.mu is held.
func (c *mpiComm) checkCall(n int) error {
	if c.closed {
		return errClosed
	}
	if n > mpiMaxCount {
		return fmt.Errorf("dist: %d elements in one call, more than MPI's limit of %d", n, mpiMaxCount)
	}
	return nil
}

func (c *mpiComm) AllReduceSum32(buf []float32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkCall(len(buf)); err != nil {
		return err
	}
	if err := mpiAllReduce32(buf); err != nil {
		return fmt.Errorf("all-reduce of %d float32: %w", len(buf), err)
	}
	return nil
}

func (c *mpiComm) AllReduceSum64(buf []float64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkCall(len(buf)); err != nil {
		return err
	}
	if err := mpiAllReduce64(buf); err != nil {
		return fmt.Errorf("all-reduce of %d float64: %w", len(buf), err)
	}
	return nil
}

func (c *mpiComm) Broadcast(buf []byte, root int) error {
	if err := checkRoot("broadcast", root, c.size); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkCall(len(buf)); err != nil {
		return err
	}
	if err := mpiBroadcast(buf, root); err != nil {
		return fmt.Errorf("broadcast of %d bytes from rank %d: %w", len(buf), root, err)
	}
	return nil
}

// Gather checks the root's recv before the call: a root that returned
// early would leave the other ranks waiting for it.
func (c *mpiComm) Gather(send, recv []byte, root int) error {
	if err := checkRoot("gather", root, c.size); err != nil {
		return err
	}
	if c.rank == root {
		if err := checkGatherRecv(send, recv, c.size); err != nil {
			return err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkCall(len(send)); err != nil {
		return err
	}
	if err := mpiGather(send, recv, root); err != nil {
		return fmt.Errorf("gather of %d bytes per rank to rank %d: %w", len(send), root, err)
	}
	return nil
}

func (c *mpiComm) Barrier() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errClosed
	}
	if err := mpiBarrier(); err != nil {
		return fmt.Errorf("barrier: %w", err)
	}
	return nil
}

// Abort calls MPI_Abort, which makes mpirun end every rank. If another
// goroutine is inside an MPI call (perhaps waiting for a rank that is gone),
// calling MPI too would break MPI_THREAD_SERIALIZED; the process exits
// instead, and mpirun ends the job because a rank exited without
// MPI_Finalize.
func (c *mpiComm) Abort(code int) {
	if c.mu.TryLock() && !c.closed {
		mpiAbort(code)
	}
	os.Exit(code)
}

func (c *mpiComm) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	close(c.finalize)
	if err := <-c.finalized; err != nil {
		return fmt.Errorf("dist: finalize MPI: %w", err)
	}
	return nil
}

// mpiRequest is a non-blocking all-reduce in flight. Its buffer is pinned
// until Wait: MPI keeps using that memory after the call that started it
// returned, which cgo allows only for pinned memory.
type mpiRequest struct {
	c *mpiComm
	// handle is MPI's request, in an allocation of its own: cgo lets C
	// write through a pointer only into Go memory that holds no Go
	// pointers.
	handle *C.MPI_Request
	pin    runtime.Pinner
	err    error // from a Test that failed, returned by Wait
}

func (c *mpiComm) IAllReduceSum32(buf []float32) (Request, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkCall(len(buf)); err != nil {
		return nil, err
	}
	r := c.newRequest()
	if len(buf) > 0 {
		r.pin.Pin(&buf[0])
	}
	if err := mpiIAllReduce32(buf, r.handle); err != nil {
		c.release(r)
		return nil, fmt.Errorf("start all-reduce of %d float32: %w", len(buf), err)
	}
	return r, nil
}

// newRequest returns a request from the free list, or a new one. c.mu is
// held.
func (c *mpiComm) newRequest() *mpiRequest {
	if n := len(c.free); n > 0 {
		r := c.free[n-1]
		c.free = c.free[:n-1]
		return r
	}
	return &mpiRequest{c: c, handle: new(C.MPI_Request)}
}

// release unpins r's buffer and puts r on the free list. c.mu is held.
func (c *mpiComm) release(r *mpiRequest) {
	r.pin.Unpin()
	r.err = nil
	c.free = append(c.free, r)
}

func (r *mpiRequest) Wait() error {
	c := r.c
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.release(r)
	if r.err != nil {
		return r.err
	}
	if c.closed {
		return errClosed
	}
	if err := mpiWait(r.handle); err != nil {
		return fmt.Errorf("wait for all-reduce: %w", err)
	}
	return nil
}

func (r *mpiRequest) Test() (bool, error) {
	c := r.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.err != nil {
		return true, r.err
	}
	if c.closed {
		return true, errClosed
	}
	done, err := mpiTest(r.handle)
	if err != nil {
		r.err = fmt.Errorf("test all-reduce: %w", err)
		return true, r.err
	}
	return done, nil
}
