// Package disttest runs a job of several ranks inside one process, one
// goroutine per rank, so that code written against dist.Comm can be tested
// as N ranks by go test alone, without MPI.
//
// Every collective meets all ranks of the job: each rank's call waits for
// the others', checks that they are the same operation on buffers of the
// same length (a mismatch panics, naming both: under MPI it would hang or
// corrupt), and combines their buffers in rank order, so every rank gets
// the same bits. A rank that waits longer than Timeout for the others
// panics too, saying which collective it was in.
package disttest

import (
	"fmt"
	"sync"
	"time"

	"charrnn/dist"
)

// Timeout is how long a rank waits in a collective for the other ranks
// before it panics: long enough for any test's work between two
// collectives, short enough to name the collective a rank never reached.
var Timeout = 2 * time.Minute

// NewJob returns the Comms of a job of n ranks; rank r's is element r, to
// be driven by its own goroutine.
func NewJob(n int) []dist.Comm {
	if n < 1 {
		panic(fmt.Sprintf("disttest: a job of %d ranks", n))
	}
	j := &job{n: n, cur: newRound(n)}
	comms := make([]dist.Comm, n)
	for r := range comms {
		comms[r] = &comm{j: j, rank: r}
	}
	return comms
}

// Run runs f as every rank of a job of n ranks, each in its own goroutine,
// and returns once all have returned. A panic on a rank (a mismatched or
// abandoned collective) is re-raised here, with the rank's number.
func Run(n int, f func(c dist.Comm)) {
	comms := NewJob(n)
	var wg sync.WaitGroup
	panics := make([]any, n)
	for r, c := range comms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { panics[r] = recover() }()
			f(c)
		}()
	}
	wg.Wait()
	for r, p := range panics {
		if p != nil {
			panic(fmt.Sprintf("disttest: rank %d: %v", r, p))
		}
	}
}

// job is what the ranks of one job share: the collective being met.
type job struct {
	n   int
	mu  sync.Mutex
	cur *round
}

// round is one meeting of every rank: what each brought, and a channel
// closed when the last one arrives.
type round struct {
	op    []string
	in    []any
	met   chan struct{}
	count int
}

func newRound(n int) *round {
	return &round{op: make([]string, n), in: make([]any, n), met: make(chan struct{})}
}

// meet waits until every rank has called meet, and returns what each
// brought (in), indexed by rank. Every rank must name the same op.
func (j *job) meet(rank int, op string, in any) []any {
	j.mu.Lock()
	r := j.cur
	r.op[rank], r.in[rank] = op, in
	r.count++
	if r.count == j.n {
		j.cur = newRound(j.n)
		close(r.met)
	}
	j.mu.Unlock()
	select {
	case <-r.met:
	case <-time.After(Timeout):
		panic(fmt.Sprintf("rank %d waited %v in %s for ranks that never joined it", rank, Timeout, op))
	}
	for other, o := range r.op {
		if o != op {
			panic(fmt.Sprintf("rank %d called %s while rank %d called %s", rank, op, other, o))
		}
	}
	return r.in
}

// comm is one rank's dist.Comm.
type comm struct {
	j      *job
	rank   int
	closed bool
}

var _ dist.Comm = (*comm)(nil)

func (c *comm) Rank() int { return c.rank }
func (c *comm) Size() int { return c.j.n }

func (c *comm) AllReduceSum32(buf []float32) error { return allReduce(c, "AllReduceSum32", buf) }
func (c *comm) AllReduceSum64(buf []float64) error { return allReduce(c, "AllReduceSum64", buf) }

// IAllReduceSum32 completes the all-reduce before it returns: the ranks
// still meet in the order they issue collectives, which is all MPI
// promises of a non-blocking one.
func (c *comm) IAllReduceSum32(buf []float32) (dist.Request, error) {
	if err := allReduce(c, "IAllReduceSum32", buf); err != nil {
		return nil, err
	}
	return done{}, nil
}

// allReduce sums buf over the ranks, in rank order, into every rank's buf.
func allReduce[T float32 | float64](c *comm, op string, buf []T) error {
	if c.closed {
		return errClosed
	}
	op = fmt.Sprintf("%s of %d", op, len(buf))
	in := c.j.meet(c.rank, op, buf)
	sum := make([]T, len(buf))
	for _, b := range in {
		for i, x := range b.([]T) {
			sum[i] += x
		}
	}
	c.j.meet(c.rank, op+" (done reading)", nil)
	copy(buf, sum)
	return nil
}

func (c *comm) Broadcast(buf []byte, root int) error {
	if err := c.checkRoot("broadcast", root); err != nil {
		return err
	}
	op := fmt.Sprintf("Broadcast of %d bytes from rank %d", len(buf), root)
	in := c.j.meet(c.rank, op, buf)
	if c.rank != root {
		copy(buf, in[root].([]byte))
	}
	c.j.meet(c.rank, op+" (done reading)", nil)
	return nil
}

func (c *comm) Gather(send, recv []byte, root int) error {
	if err := c.checkRoot("gather", root); err != nil {
		return err
	}
	if c.rank == root && len(recv) != c.j.n*len(send) {
		return fmt.Errorf("gather of %d bytes from each of %d ranks into %d bytes", len(send), c.j.n, len(recv))
	}
	op := fmt.Sprintf("Gather of %d bytes to rank %d", len(send), root)
	in := c.j.meet(c.rank, op, send)
	if c.rank == root {
		for r, b := range in {
			copy(recv[r*len(send):], b.([]byte))
		}
	}
	c.j.meet(c.rank, op+" (done reading)", nil)
	return nil
}

func (c *comm) Barrier() error {
	if c.closed {
		return errClosed
	}
	c.j.meet(c.rank, "Barrier", nil)
	return nil
}

// Abort panics: a test cannot end the process that runs it.
func (c *comm) Abort(code int) {
	panic(fmt.Sprintf("rank %d aborted the job with status %d", c.rank, code))
}

func (c *comm) Close() error {
	c.closed = true
	return nil
}

func (c *comm) checkRoot(op string, root int) error {
	if c.closed {
		return errClosed
	}
	if root < 0 || root >= c.j.n {
		return fmt.Errorf("%s root %d is not a rank of a job of %d", op, root, c.j.n)
	}
	return nil
}

var errClosed = fmt.Errorf("disttest: communicator is closed")

// done is a Request that completed when it was made.
type done struct{}

func (done) Wait() error         { return nil }
func (done) Test() (bool, error) { return true, nil }
