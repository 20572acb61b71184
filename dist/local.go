package dist

import (
	"fmt"
	"os"
)

// Local is the Comm of a job of one process: rank 0 of 1. A sum over one
// rank is the buffer itself and a broadcast from rank 0 to itself copies
// nothing, so every operation only checks its arguments.
type Local struct{}

var _ Comm = Local{}

// Rank returns 0.
func (Local) Rank() int { return 0 }

// Size returns 1.
func (Local) Size() int { return 1 }

// AllReduceSum32 leaves buf as it is.
func (Local) AllReduceSum32(buf []float32) error { return nil }

// AllReduceSum64 leaves buf as it is.
func (Local) AllReduceSum64(buf []float64) error { return nil }

// IAllReduceSum32 returns a Request that is already complete.
func (Local) IAllReduceSum32(buf []float32) (Request, error) { return doneRequest{}, nil }

// Broadcast accepts root 0 only and leaves buf as it is.
func (Local) Broadcast(buf []byte, root int) error { return checkRoot(root, 1) }

// Barrier returns at once.
func (Local) Barrier() error { return nil }

// Abort exits the process with code.
func (Local) Abort(code int) { os.Exit(code) }

// Close does nothing.
func (Local) Close() error { return nil }

// doneRequest is a Request that completed when it was made.
type doneRequest struct{}

func (doneRequest) Wait() error         { return nil }
func (doneRequest) Test() (bool, error) { return true, nil }

// checkRoot returns an error unless root is a rank of a job of size ranks.
func checkRoot(root, size int) error {
	if root < 0 || root >= size {
		return fmt.Errorf("broadcast root %d is not a rank of a job of %d", root, size)
	}
	return nil
}
