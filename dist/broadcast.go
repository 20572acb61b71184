package dist

import (
	"bytes"
	"fmt"
	"unsafe"
)

// Number is the element types BroadcastSlice and GatherSlice send: fixed-size numbers
// without pointers, whose bytes mean the same on every rank of a job that
// runs one binary on machines of one architecture.
type Number interface {
	~int8 | ~uint8 | ~int16 | ~uint16 | ~int32 | ~uint32 | ~int64 | ~uint64 | ~float32 | ~float64
}

// BroadcastSlice copies root's buf into buf on every other rank, as
// Comm.Broadcast does for bytes. A decision (stop, rollback, a new learning
// rate) travels as a few such numbers.
func BroadcastSlice[T Number](c Comm, buf []T, root int) error {
	return c.Broadcast(asBytes(buf), root)
}

// GatherSlice copies every rank's send, in rank order, into root's recv,
// as Comm.Gather does for bytes; recv is Size() times as long as send on
// the root and unused elsewhere.
func GatherSlice[T Number](c Comm, send, recv []T, root int) error {
	return c.Gather(asBytes(send), asBytes(recv), root)
}

// asBytes is the memory of s as bytes.
func asBytes[T Number](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(s[0])))
}

// AllEqual reports whether data is the same on every rank as on rank 0,
// with the same answer on every rank, so that all of them can stop together
// when it is not. data may differ in length between ranks. A check of the
// training configuration passes its JSON; a check that parameters have not
// drifted apart passes their checksum.
func AllEqual(c Comm, data []byte) (bool, error) {
	length := []int64{int64(len(data))}
	if err := BroadcastSlice(c, length, 0); err != nil {
		return false, fmt.Errorf("all-equal: broadcast length: %w", err)
	}
	root := data
	if c.Rank() != 0 {
		root = make([]byte, length[0])
	}
	if err := c.Broadcast(root, 0); err != nil {
		return false, fmt.Errorf("all-equal: broadcast rank 0's %d bytes: %w", length[0], err)
	}
	differing := []float64{0}
	if !bytes.Equal(root, data) {
		differing[0] = 1
	}
	if err := c.AllReduceSum64(differing); err != nil {
		return false, fmt.Errorf("all-equal: count differing ranks: %w", err)
	}
	return differing[0] == 0, nil
}
