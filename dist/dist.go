// Package dist is the communication layer for data-parallel training: a
// small communicator (Comm) that every rank of a job holds, with the few
// collective operations training needs: sum all-reduces of gradient slabs
// (blocking, and non-blocking so that communication can overlap the rest of
// the backward pass), broadcasts of decisions and configuration from one
// rank, a barrier, and abort.
//
// Two implementations sit behind Comm:
//   - Local, a single process (rank 0 of 1) where every operation is
//     trivial. It needs no cgo, and the default build has only it.
//   - The MPI one, compiled in with the build tag mpi only: the project's own
//     thin cgo layer over Open MPI's C API (Debian: openmpi-bin and
//     libopenmpi-dev). Open MPI does the communication: shared memory between
//     ranks on one machine, TCP or InfiniBand between machines.
//
// Init picks one: under the mpi tag, MPI when an MPI launcher (mpirun,
// mpiexec, srun) started the process, Local otherwise.
//
// Collectives follow MPI's rule: every rank issues the same collectives, in
// the same order, with the same element counts and root. A rank that leaves
// that sequence makes the others wait for it; that is why every decision
// that could make ranks diverge is taken once and broadcast.
package dist

// Comm is one rank's view of the job: who it is, how many ranks there are,
// and the collective operations over all of them. Buffers are updated in
// place. A Comm is meant to be driven by one goroutine (the training loop);
// the MPI implementation serialises concurrent calls, but concurrent
// collectives would still reach the ranks in different orders.
type Comm interface {
	// Rank is this process's index in the job, 0 ≤ Rank < Size.
	Rank() int
	// Size is the number of ranks in the job.
	Size() int

	// AllReduceSum32 replaces buf, on every rank, by the elementwise sum
	// of buf over all ranks.
	AllReduceSum32(buf []float32) error
	// AllReduceSum64 is AllReduceSum32 for float64.
	AllReduceSum64(buf []float64) error
	// IAllReduceSum32 starts AllReduceSum32 and returns at once. buf must
	// not be read or written until the Request's Wait returns.
	IAllReduceSum32(buf []float32) (Request, error)

	// Broadcast copies root's buf into buf on every other rank. Every
	// rank passes a buffer of the same length.
	Broadcast(buf []byte, root int) error
	// Gather copies every rank's send, in rank order, into root's recv,
	// which is Size() times as long; every rank sends as many bytes.
	// recv is not used on the other ranks (it may be nil there).
	Gather(send, recv []byte, root int) error
	// Barrier returns once every rank has entered it.
	Barrier() error

	// Abort ends the whole job, every rank, with the exit status code.
	// It does not return.
	Abort(code int)
	// Close ends this rank's part in the job (MPI_Finalize). Every rank
	// calls it once, after its last collective and after waiting for
	// every Request; the Comm is unusable after. Closing a closed Comm
	// does nothing.
	Close() error
}

// Request is a non-blocking operation in flight.
//
// Wait must be called exactly once per Request, and the Request is not used
// after it: its storage is reused by later operations, which is how starting
// one allocates nothing.
type Request interface {
	// Wait blocks until the operation is complete and returns its error.
	Wait() error
	// Test reports whether the operation is complete, without blocking.
	// MPI moves a non-blocking collective forward only inside MPI calls,
	// so a caller computing while one is in flight can call Test between
	// pieces of work to keep it moving. Wait is still required after.
	Test() (done bool, err error)
}
