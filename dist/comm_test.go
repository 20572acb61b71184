package dist

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The conformance suite: every test here runs on every implementation in
// testComms (Local, and under the mpi tag the MPI one), as every rank of
// the job. The tests issue the same collectives in the same order on every
// rank, whatever fails, so that a failure is reported and never becomes a
// hang: they use t.Error, and t.Fatal only before their first collective.

type namedComm struct {
	name string
	comm Comm
}

var testComms []namedComm

func forEachComm(t *testing.T, test func(t *testing.T, c Comm)) {
	for _, nc := range testComms {
		t.Run(nc.name, func(t *testing.T) { test(t, nc.comm) })
	}
}

var testSizes = []int{0, 1, 1000, 1 << 20}

// The values summed are small multiples of 1/4, so that every sum is exact
// and any order of summation gives the same bits.
func value32(rank, i int) float32 { return float32(i%4096) + 0.25*float32(rank+1) }

func sum32(size, i int) float32 {
	return float32(size)*float32(i%4096) + 0.25*float32(size*(size+1)/2)
}

// The float64 values need more than float32's 24 bits of mantissa.
func value64(rank, i int) float64 { return 1e12 + float64(i) + 0.25*float64(rank+1) }

func sum64(size, i int) float64 {
	return float64(size)*(1e12+float64(i)) + 0.25*float64(size*(size+1)/2)
}

func TestRankSize(t *testing.T) {
	forEachComm(t, func(t *testing.T, c Comm) {
		if c.Size() < 1 || c.Rank() < 0 || c.Rank() >= c.Size() {
			t.Fatalf("rank %d of %d", c.Rank(), c.Size())
		}
		if _, local := c.(Local); local || !Launched() {
			if c.Rank() != 0 || c.Size() != 1 {
				t.Errorf("a single process is rank %d of %d, want 0 of 1", c.Rank(), c.Size())
			}
			return
		}
		// Open MPI's launcher says what the ranks should be.
		if size, err := strconv.Atoi(os.Getenv("OMPI_COMM_WORLD_SIZE")); err == nil && size != c.Size() {
			t.Errorf("Size %d, mpirun says %d", c.Size(), size)
		}
		if rank, err := strconv.Atoi(os.Getenv("OMPI_COMM_WORLD_RANK")); err == nil && rank != c.Rank() {
			t.Errorf("Rank %d, mpirun says %d", c.Rank(), rank)
		}
	})
}

func TestAllReduceSum32(t *testing.T) {
	forEachComm(t, func(t *testing.T, c Comm) {
		for _, n := range testSizes {
			buf := make([]float32, n)
			for i := range buf {
				buf[i] = value32(c.Rank(), i)
			}
			if err := c.AllReduceSum32(buf); err != nil {
				t.Errorf("n=%d: %v", n, err)
				continue
			}
			checkSums32(t, fmt.Sprintf("n=%d", n), buf, c.Size())
		}
	})
}

func checkSums32(t *testing.T, what string, buf []float32, size int) {
	t.Helper()
	for i, got := range buf {
		if want := sum32(size, i); got != want {
			t.Errorf("%s: element %d is %v, want %v (sum over %d ranks)", what, i, got, want, size)
			return
		}
	}
}

func TestAllReduceSum64(t *testing.T) {
	forEachComm(t, func(t *testing.T, c Comm) {
		for _, n := range testSizes {
			buf := make([]float64, n)
			for i := range buf {
				buf[i] = value64(c.Rank(), i)
			}
			if err := c.AllReduceSum64(buf); err != nil {
				t.Errorf("n=%d: %v", n, err)
				continue
			}
			for i, got := range buf {
				if want := sum64(c.Size(), i); got != want {
					t.Errorf("n=%d: element %d is %v, want %v (sum over %d ranks)", n, i, got, want, c.Size())
					break
				}
			}
		}
	})
}

func TestIAllReduceSum32(t *testing.T) {
	forEachComm(t, func(t *testing.T, c Comm) {
		for _, n := range testSizes {
			buf := make([]float32, n)
			for i := range buf {
				buf[i] = value32(c.Rank(), i)
			}
			req, err := c.IAllReduceSum32(buf)
			if err != nil {
				t.Errorf("n=%d: start: %v", n, err)
				continue
			}
			// Keep it moving with Test, as a caller computing meanwhile
			// would; a rank may see it done before the others.
			for polls := 0; polls < 1000; polls++ {
				if done, err := req.Test(); err != nil || done {
					if err != nil {
						t.Errorf("n=%d: test: %v", n, err)
					}
					break
				}
			}
			if err := req.Wait(); err != nil {
				t.Errorf("n=%d: wait: %v", n, err)
				continue
			}
			checkSums32(t, fmt.Sprintf("n=%d", n), buf, c.Size())
		}
	})
}

// Two all-reduces in flight at once, waited for in the other order than
// started, then a blocking one: requests do not mix up their buffers.
func TestIAllReduceSum32InFlightTogether(t *testing.T) {
	forEachComm(t, func(t *testing.T, c Comm) {
		a, b := make([]float32, 3000), make([]float32, 5)
		for i := range a {
			a[i] = value32(c.Rank(), i)
		}
		for i := range b {
			b[i] = value32(c.Rank(), i)
		}
		ra, errA := c.IAllReduceSum32(a)
		rb, errB := c.IAllReduceSum32(b)
		if errA != nil || errB != nil {
			t.Fatalf("start: %v, %v", errA, errB)
		}
		if err := rb.Wait(); err != nil {
			t.Errorf("wait b: %v", err)
		}
		if err := ra.Wait(); err != nil {
			t.Errorf("wait a: %v", err)
		}
		checkSums32(t, "a", a, c.Size())
		checkSums32(t, "b", b, c.Size())
		for i := range b {
			b[i] = value32(c.Rank(), i)
		}
		if err := c.AllReduceSum32(b); err != nil {
			t.Errorf("blocking after: %v", err)
		}
		checkSums32(t, "b again", b, c.Size())
	})
}

func TestBroadcast(t *testing.T) {
	forEachComm(t, func(t *testing.T, c Comm) {
		for root := range c.Size() {
			for _, n := range []int{0, 1, 1000} {
				buf := make([]byte, n)
				for i := range buf {
					buf[i] = byte(c.Rank()*31 + i)
				}
				if err := c.Broadcast(buf, root); err != nil {
					t.Errorf("root %d, n=%d: %v", root, n, err)
					continue
				}
				for i, got := range buf {
					if want := byte(root*31 + i); got != want {
						t.Errorf("root %d, n=%d: byte %d is %d, want root's %d", root, n, i, got, want)
						break
					}
				}
			}
		}
	})
}

func TestBroadcastSlice(t *testing.T) {
	forEachComm(t, func(t *testing.T, c Comm) {
		root := c.Size() - 1
		f := []float64{float64(c.Rank()) + 0.5, -1e300 * float64(c.Rank()+1)}
		n := []int64{int64(c.Rank()), -1 << 62}
		var empty []float32
		if err := BroadcastSlice(c, f, root); err != nil {
			t.Error(err)
		}
		if err := BroadcastSlice(c, n, root); err != nil {
			t.Error(err)
		}
		if err := BroadcastSlice(c, empty, root); err != nil {
			t.Error(err)
		}
		if f[0] != float64(root)+0.5 || f[1] != -1e300*float64(root+1) {
			t.Errorf("float64 %v, want root %d's", f, root)
		}
		if n[0] != int64(root) || n[1] != -1<<62 {
			t.Errorf("int64 %v, want root %d's", n, root)
		}
	})
}

// A root that is not a rank is refused on every rank before any MPI call,
// so the job goes on.
func TestBroadcastBadRoot(t *testing.T) {
	forEachComm(t, func(t *testing.T, c Comm) {
		for _, root := range []int{-1, c.Size()} {
			err := c.Broadcast(make([]byte, 4), root)
			if err == nil || !bytes.Contains([]byte(err.Error()), []byte("root "+strconv.Itoa(root))) {
				t.Errorf("root %d: error %v, want one naming the root", root, err)
			}
		}
	})
}

// Every rank leaves a file in a directory rank 0 chose, then waits at the
// barrier; after it, each rank must see every other rank's file. (The ranks
// of a test job share one machine.)
func TestBarrier(t *testing.T) {
	forEachComm(t, func(t *testing.T, c Comm) {
		dir := make([]byte, 256)
		if c.Rank() == 0 {
			copy(dir, t.TempDir())
		}
		if err := c.Broadcast(dir, 0); err != nil {
			t.Fatal(err)
		}
		path := string(bytes.TrimRight(dir, "\x00"))
		mark := func(r int) string { return filepath.Join(path, fmt.Sprintf("rank%d", r)) }
		if err := os.WriteFile(mark(c.Rank()), nil, 0o644); err != nil {
			t.Error(err)
		}
		if err := c.Barrier(); err != nil {
			t.Error(err)
		}
		for r := range c.Size() {
			if _, err := os.Stat(mark(r)); err != nil {
				t.Errorf("after the barrier, rank %d's mark is missing: %v", r, err)
			}
		}
		// Rank 0's TempDir is removed when its test ends: the others are
		// done with it first.
		if err := c.Barrier(); err != nil {
			t.Error(err)
		}
	})
}

func TestAllEqual(t *testing.T) {
	forEachComm(t, func(t *testing.T, c Comm) {
		same, err := AllEqual(c, []byte(`{"hidden":512,"seq":100}`))
		if err != nil || !same {
			t.Errorf("identical data: %v, %v; want true", same, err)
		}
		// The last rank's data differs in length, then in content.
		last := c.Rank() == c.Size()-1 && c.Size() > 1
		long := []byte("checksum")
		if last {
			long = append(long, '!')
		}
		content := []byte("checksum")
		if last {
			content[0] = 'C'
		}
		for _, differing := range []struct {
			what string
			data []byte
		}{{"length", long}, {"content", content}} {
			same, err := AllEqual(c, differing.data)
			if err != nil || same != (c.Size() == 1) {
				t.Errorf("%s differs on rank %d: %v, %v; want %v", differing.what, c.Size()-1, same, err, c.Size() == 1)
			}
		}
	})
}

// The hot path allocates nothing: the all-reduces of a training step, and
// starting and finishing a non-blocking one.
func TestAllReduceAllocs(t *testing.T) {
	forEachComm(t, func(t *testing.T, c Comm) {
		f32, f64 := make([]float32, 4096), make([]float64, 16)
		ops := []struct {
			name string
			run  func() error
		}{
			{"AllReduceSum32", func() error { return c.AllReduceSum32(f32) }},
			{"AllReduceSum64", func() error { return c.AllReduceSum64(f64) }},
			{"IAllReduceSum32+Wait", func() error {
				req, err := c.IAllReduceSum32(f32)
				if err != nil {
					return err
				}
				return req.Wait()
			}},
		}
		for _, op := range ops {
			var err error
			allocs := testing.AllocsPerRun(50, func() {
				if e := op.run(); e != nil {
					err = e
				}
			})
			if err != nil {
				t.Errorf("%s: %v", op.name, err)
			}
			if allocs != 0 {
				t.Errorf("%s allocates %v times per call, want 0", op.name, allocs)
			}
		}
	})
}

func TestErrorText(t *testing.T) {
	err := fmt.Errorf("broadcast: %w", &Error{Call: "MPI_Bcast", Code: 8, Text: "MPI_ERR_ROOT: invalid root"})
	var e *Error
	if !errors.As(err, &e) || e.Code != 8 {
		t.Fatalf("errors.As(%v) gives %+v", err, e)
	}
	if got, want := err.Error(), "broadcast: MPI_Bcast: MPI_ERR_ROOT: invalid root"; got != want {
		t.Fatalf("%q, want %q", got, want)
	}
}

func TestGather(t *testing.T) {
	forEachComm(t, func(t *testing.T, c Comm) {
		for root := range c.Size() {
			for _, n := range []int{0, 1, 1000} {
				send := make([]byte, n)
				for i := range send {
					send[i] = byte(c.Rank()*31 + i)
				}
				var recv []byte
				if c.Rank() == root {
					recv = make([]byte, n*c.Size())
				}
				if err := c.Gather(send, recv, root); err != nil {
					t.Errorf("root %d, n=%d: %v", root, n, err)
					continue
				}
				for i, got := range recv {
					if want := byte(i/n*31 + i%n); got != want {
						t.Errorf("root %d, n=%d: byte %d is %d, want rank %d's byte %d, %d", root, n, i, got, i/n, i%n, want)
						break
					}
				}
			}
		}
	})
}

func TestGatherSlice(t *testing.T) {
	forEachComm(t, func(t *testing.T, c Comm) {
		send := []int64{int64(c.Rank()), -1 << 62}
		recv := make([]int64, 2*c.Size())
		if err := GatherSlice(c, send, recv, 0); err != nil {
			t.Fatal(err)
		}
		if c.Rank() != 0 {
			return
		}
		for r := range c.Size() {
			if recv[2*r] != int64(r) || recv[2*r+1] != -1<<62 {
				t.Errorf("rank %d's part is %v, want [%d %d]", r, recv[2*r:2*r+2], r, int64(-1<<62))
			}
		}
	})
}

// A root whose receive buffer is the wrong size is refused before any MPI
// call; so are roots that are not ranks, on every rank.
func TestGatherBadArguments(t *testing.T) {
	forEachComm(t, func(t *testing.T, c Comm) {
		for _, root := range []int{-1, c.Size()} {
			if err := c.Gather(make([]byte, 4), nil, root); err == nil || !strings.Contains(err.Error(), "root "+strconv.Itoa(root)) {
				t.Errorf("root %d: error %v, want one naming the root", root, err)
			}
		}
		if c.Size() > 1 {
			return // a wrong size on the root alone would leave the others waiting
		}
		if err := c.Gather(make([]byte, 4), make([]byte, 3), 0); err == nil || !strings.Contains(err.Error(), "into 3 bytes") {
			t.Errorf("a 3-byte receive buffer for 4 bytes: %v, want an error", err)
		}
	})
}
