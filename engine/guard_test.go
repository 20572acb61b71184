package engine

import (
	"errors"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"charrnn/kernels"
)

// A non-finite gradient never reaches the parameters: the trainer rolls
// back to its last snapshot, cuts the learning rate and trains on.
func TestNonFiniteRollsBack(t *testing.T) {
	corpus, vocab := writeCorpus(t, pairsText(3000, 17))
	for _, k := range kernels.Supported() {
		t.Run(k.Name(), func(t *testing.T) {
			cfg := TrainConfig{Model: rnnModel(10), Seq: 8, Batch: 2, Optimizer: "adam", LR: 0.01, Clip: Clip{Mode: "value", Limit: 5}, Seed: 2,
				ValFrac: 0.1, Guard: Guard{SnapshotEvery: 5, LRFactor: 0.5, Retries: 2}}
			tr, err := NewTrainer(cfg, k, corpus, vocab)
			if err != nil {
				t.Fatal(err)
			}
			var poisoned []int64
			tr.inject = func(step int64, g []float32) {
				if step == 8 && len(poisoned) < 1 || step == 13 && len(poisoned) < 2 {
					poisoned = append(poisoned, step)
					g[len(g)/2] = float32(math.NaN())
				}
			}
			var atFive []float32
			var cursorsAtFive []int64
			for tr.Step < 7 {
				if _, err := tr.TrainStep(); err != nil {
					t.Fatal(err)
				}
				if tr.Step == 5 {
					atFive, cursorsAtFive = slices.Clone(tr.Model.Params), slices.Clone(tr.Cursors)
				}
				if tr.Step == 6 {
					tr.Validate() // state changed between the snapshot and the failure rolls back too
				}
			}
			before := slices.Clone(tr.Model.Params)
			_, err = tr.TrainStep()
			var nf *NonFiniteError
			if !errors.As(err, &nf) || nf.Step != 8 {
				t.Fatalf("step 8 with a NaN gradient returned %v", err)
			}
			if !slices.Equal(tr.Model.Params, before) {
				t.Fatal("a NaN gradient changed the parameters")
			}
			if err := tr.Recover(err); err != nil {
				t.Fatal(err)
			}
			if tr.Step != 5 || !slices.Equal(tr.Model.Params, atFive) || !slices.Equal(tr.Cursors, cursorsAtFive) {
				t.Fatalf("after rollback: step %d, want the snapshot at step 5 (parameters equal %v, cursors %v want %v)",
					tr.Step, slices.Equal(tr.Model.Params, atFive), tr.Cursors, cursorsAtFive)
			}
			if tr.State.BestValStep != 0 {
				t.Fatal("rollback kept a validation made after the snapshot")
			}
			if tr.LR() != 0.005 || tr.State.Rollbacks != 1 {
				t.Fatalf("after one rollback: lr %v, rollbacks %d; want 0.005 and 1", tr.LR(), tr.State.Rollbacks)
			}
			// Training goes on, at the lower rate, until the next NaN.
			for tr.Step < 12 {
				r, err := tr.TrainStep()
				if err != nil {
					t.Fatal(err)
				}
				if r.LR != 0.005 {
					t.Fatalf("step %d after rollback used lr %v", tr.Step, r.LR)
				}
			}
			_, err = tr.TrainStep()
			if err = tr.Recover(err); err != nil || tr.Step != 10 || tr.LR() != 0.0025 {
				t.Fatalf("second rollback: %v, step %d (want 10), lr %v (want 0.0025)", err, tr.Step, tr.LR())
			}
			// The third strikes out: Recover gives up with one clear error.
			tr.inject = func(step int64, g []float32) { g[0] = float32(math.Inf(-1)) }
			_, err = tr.TrainStep()
			err = tr.Recover(err)
			if err == nil || !strings.Contains(err.Error(), "gave up after 2 rollbacks") || !strings.Contains(err.Error(), "not finite") {
				t.Fatalf("third failure with -nan-retries 2: %v", err)
			}
			if !tr.Finite() {
				t.Fatal("the trainer's state is not finite after a refused step")
			}
			// What is saved now loads: every parameter is finite.
			path := filepath.Join(t.TempDir(), "m.ckpt")
			if err := mustCheckpoint(t, tr).Save(path); err != nil {
				t.Fatal(err)
			}
			ck, err := LoadCheckpoint(path)
			if err != nil {
				t.Fatal(err)
			}
			for name, s := range ck.Sections {
				for i, v := range s {
					if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
						t.Fatalf("section %s holds %v at %d", name, v, i)
					}
				}
			}
		})
	}
}

// A learning rate so large that the parameters overflow: the overflow is
// caught before it becomes the snapshot, every retry is rolled back to a
// finite state, and the run gives up.
func TestDivergenceGivesUp(t *testing.T) {
	corpus, vocab := writeCorpus(t, pairsText(3000, 18))
	cfg := TrainConfig{Model: rnnModel(10), Seq: 8, Batch: 2, Optimizer: "sgd", LR: 1e38, Clip: Clip{Mode: "none"}, Seed: 2,
		Guard: Guard{SnapshotEvery: 1, LRFactor: 0.5, Retries: 3}}
	tr, err := NewTrainer(cfg, kernels.Best(), corpus, vocab)
	if err != nil {
		t.Fatal(err)
	}
	start := slices.Clone(tr.Model.Params)
	rollbacks := 0
	for i := 0; i < 1000; i++ {
		_, err := tr.TrainStep()
		if err == nil {
			continue
		}
		if err = tr.Recover(err); err != nil {
			if !strings.Contains(err.Error(), "gave up after 3 rollbacks") {
				t.Fatalf("gave up with %v", err)
			}
			if rollbacks != 3 {
				t.Fatalf("gave up after %d rollbacks, want 3", rollbacks)
			}
			return
		}
		rollbacks++
		if !tr.Finite() {
			t.Fatal("rolled back to a state that is not finite")
		}
		if tr.Step == 0 && !slices.Equal(tr.Model.Params, start) {
			t.Fatal("rolled back to step 0 with parameters other than the initial ones")
		}
	}
	t.Fatal("lr 1e38 trained 1000 steps without diverging")
}

// No snapshots means no recovery: the non-finite error is returned.
func TestNoGuardReturnsTheError(t *testing.T) {
	corpus, vocab := writeCorpus(t, pairsText(1000, 19))
	cfg := TrainConfig{Model: rnnModel(4), Seq: 8, Batch: 1, Optimizer: "sgd", LR: 0.1, Clip: Clip{Mode: "none"}}
	tr, _ := NewTrainer(cfg, kernels.Best(), corpus, vocab)
	tr.inject = func(step int64, g []float32) { g[0] = float32(math.NaN()) }
	_, err := tr.TrainStep()
	var nf *NonFiniteError
	if err = tr.Recover(err); !errors.As(err, &nf) || !strings.Contains(err.Error(), "gave up after 0 rollbacks") {
		t.Fatalf("recover without a guard: %v", err)
	}
}
