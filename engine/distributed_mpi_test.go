//go:build mpi

package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"charrnn/dist"
	"charrnn/kernels"
)

// The distributed trainer over MPI: the tests named TestMPI run under
// mpirun, as every rank of the job (and skip without it):
//
//	go test -tags mpi -c -o engine.test ./engine
//	mpirun -np 2 ./engine.test -test.run '^TestMPI'
//
// Every rank issues the same collectives whatever fails: t.Error, never
// t.Fatal, after the first one.

// mpiComm is the job's communicator when mpirun started the test binary.
var mpiComm dist.Comm

func TestMain(m *testing.M) {
	if !dist.Launched() {
		os.Exit(m.Run())
	}
	c, err := dist.Init()
	if err != nil {
		fmt.Fprintln(os.Stderr, "engine tests:", err)
		os.Exit(1)
	}
	mpiComm = c
	code := m.Run()
	if err := c.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "engine tests:", err)
		code = 1
	}
	os.Exit(code)
}

func mpiJob(t *testing.T) dist.Comm {
	t.Helper()
	if mpiComm == nil {
		t.Skip("runs under mpirun: mpirun -np 2 ./engine.test -test.run '^TestMPI'")
	}
	return mpiComm
}

// sharedDir is a directory rank 0 made, the same on every rank (the ranks
// of a test job share one machine). Rank 0 removes it when its test ends,
// after a barrier: the other ranks are done with it first.
func sharedDir(t *testing.T, c dist.Comm) string {
	t.Helper()
	buf := make([]byte, 512)
	if c.Rank() == 0 {
		copy(buf, t.TempDir())
	}
	if err := c.Broadcast(buf, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Barrier() })
	n := 0
	for n < len(buf) && buf[n] != 0 {
		n++
	}
	return string(buf[:n])
}

// N ranks of B streams over MPI train, to float rounding, what one process
// of N·B streams trains, for every cell.
func TestMPIMatchesOneProcess(t *testing.T) {
	c := mpiJob(t)
	corpus, vocab := writeCorpus(t, distText)
	const steps, batch = 20, 2
	for _, tc := range distCases {
		t.Run(tc.name, func(t *testing.T) {
			one, err := NewTrainer(distConfig(tc.model, c.Size()*batch), kernels.Best(), corpus, vocab)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := NewTrainer(distConfig(tc.model, batch), kernels.Best(), corpus, vocab)
			if err != nil {
				t.Fatal(err)
			}
			if err := tr.Join(c); err != nil {
				t.Fatal(err)
			}
			want := trainSteps(t, one, steps)
			got := trainSteps(t, tr, steps)
			for i := range min(len(got), len(want)) {
				if d := got[i] - want[i]; d > 1e-5*want[i] || -d > 1e-5*want[i] {
					t.Errorf("rank %d, step %d: loss %v, one process %v", c.Rank(), i+1, got[i], want[i])
					break
				}
			}
			if err := tr.checkInSync(); err != nil {
				t.Error(err)
			}
			d := maxRelDiff(one.Model.Layout, tr.Model.Params, one.Model.Params)
			if c.Rank() == 0 {
				t.Logf("%d ranks × %d streams: max relative parameter difference from one process after %d steps: %.2g", c.Size(), batch, steps, d)
			}
			if d > 1e-5 {
				t.Errorf("rank %d: max relative parameter difference %.3g, want ≤ 1e-5", c.Rank(), d)
			}
		})
	}
}

// Rank 0's checkpoint holds every rank's streams as one process would; it
// resumes over MPI to what one process trains.
func TestMPICheckpointResumes(t *testing.T) {
	c := mpiJob(t)
	corpus, vocab := writeCorpus(t, distText)
	model := ModelConfig{Cell: "lstm", Layers: 2, Hidden: 12, Dropout: 0.2}
	const batch, first, more = 2, 6, 5
	total := batch * c.Size()
	one, err := NewTrainer(distConfig(model, total), kernels.Best(), corpus, vocab)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(distConfig(model, batch), kernels.Best(), corpus, vocab)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Join(c); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(sharedDir(t, c), "m.ckpt")
	trainSteps(t, tr, first)
	ck, err := tr.Checkpoint()
	if err != nil {
		t.Error(err)
	}
	if ck != nil {
		if err := ck.Save(path); err != nil {
			t.Error(err)
		}
	}
	if err := c.Barrier(); err != nil {
		t.Fatal(err)
	}
	ck, err = LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	trainSteps(t, one, first)
	oneCk, err := one.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	if h := ck.Header; h.Ranks != c.Size() || len(h.Cursors) != total || maxAbsDiff(ck.Sections["hidden"], oneCk.Sections["hidden"]) > 1e-5 {
		t.Errorf("checkpoint of %d ranks: %d ranks, cursors %v (one process's %v), carried states differ by %g",
			c.Size(), h.Ranks, h.Cursors, oneCk.Header.Cursors, maxAbsDiff(ck.Sections["hidden"], oneCk.Sections["hidden"]))
	}
	trainSteps(t, one, more)

	resumed, err := NewTrainer(distConfig(model, batch), kernels.Best(), corpus, vocab)
	if err != nil {
		t.Fatal(err)
	}
	if err := resumed.Join(c); err != nil {
		t.Fatal(err)
	}
	if err := resumed.Restore(ck); err != nil {
		t.Fatal(err)
	}
	trainSteps(t, resumed, more)
	if d := maxRelDiff(one.Model.Layout, resumed.Model.Params, one.Model.Params); d > 1e-5 {
		t.Errorf("rank %d: resumed over %d ranks, max relative parameter difference %.3g from one process", c.Rank(), c.Size(), d)
	}
}

// The training loop's decisions over MPI: the last rank's interrupt stops
// every rank at the same step, and rank 0 saves every rank's streams.
func TestMPIRunStopsTogether(t *testing.T) {
	c := mpiJob(t)
	corpus, vocab := writeCorpus(t, distText)
	cfg := distConfig(rnnModel(8), 2)
	cfg.SaveEvery, cfg.ValFrac, cfg.EvalEvery = 3, 0.1, 4
	tr, err := NewTrainer(cfg, kernels.Best(), corpus, vocab)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Join(c); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(sharedDir(t, c), "m.ckpt")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if c.Rank() == c.Size()-1 {
		tr.inject = func(step int64, _ []float32) {
			if step == 7 {
				cancel()
			}
		}
	}
	out, err := tr.Run(ctx, path, Limits{Steps: 100}, &quietObserver{})
	if err != nil || out.Stop != StopInterrupted || tr.Step != 7 {
		t.Errorf("rank %d: %v at step %d (%v); want an interrupt at step 7", c.Rank(), out.Stop, tr.Step, err)
	}
	if err := c.Barrier(); err != nil {
		t.Fatal(err)
	}
	if ck, err := LoadCheckpoint(path); err != nil || ck.Header.Step != 7 || ck.Header.Ranks != c.Size() || ck.Header.Train.BestValStep != 4 {
		t.Errorf("rank %d: checkpoint %v; want step 7's from %d ranks, validated at step 4", c.Rank(), err, c.Size())
	}
}

// A step of a rank allocates nothing, its collectives included, as a
// single process's does.
func TestMPIStepAllocs(t *testing.T) {
	c := mpiJob(t)
	corpus, vocab := writeCorpus(t, distText)
	tr, err := NewTrainer(distConfig(ModelConfig{Cell: "lstm", Layers: 2, Hidden: 16, Dropout: 0.2}, 2), kernels.Best(), corpus, vocab)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Join(c); err != nil {
		t.Fatal(err)
	}
	var stepErr error
	allocs := testing.AllocsPerRun(10, func() {
		if _, err := tr.TrainStep(); err != nil && stepErr == nil {
			stepErr = err
		}
	})
	if stepErr != nil || allocs != 0 {
		t.Errorf("rank %d: a step allocates %v times (%v), want 0", c.Rank(), allocs, stepErr)
	}
}
