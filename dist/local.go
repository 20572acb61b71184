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
func (Local) Broadcast(buf []byte, root int) error { return checkRoot("broadcast", root, 1) }

// Gather accepts root 0 only and copies send into recv.
func (Local) Gather(send, recv []byte, root int) error {
	if err := checkRoot("gather", root, 1); err != nil {
		return err
	}
	if err := checkGatherRecv(send, recv, 1); err != nil {
		return err
	}
	copy(recv, send)
	return nil
}

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
func checkRoot(op string, root, size int) error {
	if root < 0 || root >= size {
		return fmt.Errorf("%s root %d is not a rank of a job of %d", op, root, size)
	}
	return nil
}

// checkGatherRecv returns an error unless the root's recv holds send from
// each of size ranks.
func checkGatherRecv(send, recv []byte, size int) error {
	if len(recv) != size*len(send) {
		return fmt.Errorf("gather of %d bytes from each of %d ranks into %d bytes", len(send), size, len(recv))
	}
	return nil
}
