//go:build !mpi

package dist

// MPICompiled reports whether the MPI implementation is compiled into this
// binary (build tag mpi).
const MPICompiled = false

// Init returns the communicator of this process: without the mpi build tag,
// always Local, whatever started the process.
func Init() (Comm, error) { return Local{}, nil }
