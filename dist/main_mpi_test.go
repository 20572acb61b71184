//go:build mpi

package dist

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// Under the mpi tag the suite runs on Local and on MPI: the job's
// MPI_COMM_WORLD when mpirun started the test binary
// (mpirun -np 2 ./dist.test), or else a world of one process, which Open MPI
// gives a program that initialises MPI without mpirun (a "singleton").
func TestMain(m *testing.M) {
	if mode := os.Getenv(faultJobEnv); mode != "" {
		os.Exit(runFaultJob(mode))
	}
	c, err := openMPIForTests()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dist tests:", err)
		os.Exit(1)
	}
	testComms = []namedComm{{"local", Local{}}, {"mpi", c}}
	code := m.Run()
	if err := c.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "dist tests:", err)
		code = 1
	}
	os.Exit(code)
}

func openMPIForTests() (*mpiComm, error) {
	if !Launched() {
		return initMPI()
	}
	c, err := Init()
	if err != nil {
		return nil, err
	}
	mc, ok := c.(*mpiComm)
	if !ok {
		return nil, fmt.Errorf("Init under mpirun returned %T, want the MPI Comm", c)
	}
	return mc, nil
}

func TestInitUnderLauncher(t *testing.T) {
	if !MPICompiled {
		t.Fatal("MPICompiled is false under the mpi tag")
	}
	c, err := Init()
	if !Launched() {
		if _, local := c.(Local); !local || err != nil {
			t.Fatalf("Init without mpirun: %T, %v; want Local", c, err)
		}
		return
	}
	// TestMain initialised MPI already.
	if err == nil || !strings.Contains(err.Error(), "already initialised") {
		t.Fatalf("second Init under mpirun: %T, %v; want an error", c, err)
	}
}

// A failing MPI call becomes an *Error with MPI's own text, on every rank
// (MPI checks the root before it communicates).
func TestMPIErrorString(t *testing.T) {
	c := mpiForTest(t)
	err := mpiBroadcast(make([]byte, 8), c.Size())
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("broadcast from root %d of %d: %v, want an *Error", c.Size(), c.Size(), err)
	}
	if e.Call != "MPI_Bcast" || e.Code == 0 || !strings.Contains(e.Text, "MPI_ERR_ROOT") {
		t.Fatalf("error %+v, want MPI_Bcast with MPI's text for MPI_ERR_ROOT", e)
	}
	t.Logf("MPI's error: %v", err)
}

func TestClosedComm(t *testing.T) {
	c := &mpiComm{rank: 0, size: 2, closed: true}
	if err := c.AllReduceSum32(make([]float32, 2)); err != errClosed {
		t.Errorf("AllReduceSum32 on a closed Comm: %v", err)
	}
	if err := c.Broadcast(make([]byte, 2), 1); err != errClosed {
		t.Errorf("Broadcast on a closed Comm: %v", err)
	}
	if _, err := c.IAllReduceSum32(nil); err != errClosed {
		t.Errorf("IAllReduceSum32 on a closed Comm: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("closing twice: %v", err)
	}
}

func TestCountLimit(t *testing.T) {
	c := &mpiComm{size: 1}
	if err := c.checkCall(mpiMaxCount); err != nil {
		t.Errorf("%d elements: %v", mpiMaxCount, err)
	}
	if err := c.checkCall(mpiMaxCount + 1); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("%d elements: %v, want the limit error", mpiMaxCount+1, err)
	}
}

// MPI_Init leaves the Go runtime's signal handlers in place: a nil
// dereference is still a panic that recover catches.
func TestGoPanicsAfterInit(t *testing.T) {
	mpiForTest(t)
	var p *int
	recovered := func() (r any) {
		defer func() { r = recover() }()
		return *p
	}()
	if err, ok := recovered.(error); !ok || !strings.Contains(err.Error(), "nil pointer") {
		t.Fatalf("nil dereference recovered %v, want the runtime's error", recovered)
	}
}

func mpiForTest(t testing.TB) *mpiComm {
	for _, nc := range testComms {
		if c, ok := nc.comm.(*mpiComm); ok {
			return c
		}
	}
	t.Fatal("no MPI Comm among the test communicators")
	return nil
}
