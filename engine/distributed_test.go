package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"charrnn/dist"
	"charrnn/dist/disttest"
	"charrnn/kernels"
)

// The distributed trainer, tested as jobs of ranks in one process
// (disttest); distributed_mpi_test.go runs the same comparisons under
// mpirun.

// distCases are the models the equivalence is shown for: every cell, and
// two layers with dropout.
var distCases = []struct {
	name  string
	model ModelConfig
}{
	{"rnn", ModelConfig{Cell: "rnn", Layers: 1, Hidden: 24}},
	{"lstm", ModelConfig{Cell: "lstm", Layers: 1, Hidden: 16}},
	{"gru", ModelConfig{Cell: "gru", Layers: 1, Hidden: 16}},
	{"lstm-2layers-dropout", ModelConfig{Cell: "lstm", Layers: 2, Hidden: 16, Dropout: 0.3}},
}

// distConfig is the run the equivalence tests train, with batch streams
// per rank.
func distConfig(m ModelConfig, batch int) TrainConfig {
	return TrainConfig{Model: m, Seq: 12, Batch: batch, Optimizer: "adam", LR: 0.01,
		Schedule: Schedule{Kind: "constant"}, Clip: Clip{Mode: "norm", Limit: 5}, Seed: 9}
}

// distText is the equivalence tests' corpus: long enough for 16 streams of
// windows of 13, with a vocabulary of a few dozen symbols.
var distText = strings.Repeat(pairsText(3000, 21)+"The quick brown fox jumps over the lazy dog; 0123456789!\n", 2)

// maxRelDiff is the largest difference between two parameter slabs,
// relative to the largest magnitude of the tensor it is in, over every
// tensor of the layout.
func maxRelDiff(lay Layout, a, b []float32) float64 {
	var worst float64
	for _, t := range lay.Tensors {
		x, y := t.Of(a), t.Of(b)
		var diff, size float64
		for i := range x {
			diff = max(diff, math.Abs(float64(x[i])-float64(y[i])))
			size = max(size, math.Abs(float64(y[i])))
		}
		if size > 0 {
			worst = max(worst, diff/size)
		}
	}
	return worst
}

// trainSteps trains n steps, failing the test on an error.
func trainSteps(t *testing.T, tr *Trainer, n int) []float64 {
	t.Helper()
	var losses []float64
	for range n {
		r, err := tr.TrainStep()
		if err != nil {
			t.Errorf("rank %d, step %d: %v", tr.Rank(), tr.Step+1, err)
			return losses
		}
		losses = append(losses, r.Loss)
	}
	return losses
}

// runJob runs f on every rank of a job of n ranks, each with a trainer of
// cfg that has joined the job.
func runJob(t *testing.T, n int, cfg TrainConfig, corpus *Corpus, vocab *Vocab, f func(tr *Trainer, c dist.Comm)) {
	t.Helper()
	disttest.Run(n, func(c dist.Comm) {
		tr, err := NewTrainer(cfg, kernels.Best(), corpus, vocab)
		if err == nil {
			err = tr.Join(c)
		}
		if err != nil {
			t.Errorf("rank %d: %v", c.Rank(), err)
			return
		}
		f(tr, c)
	})
}

// N ranks of B streams train, to float rounding, what one process of N·B
// streams trains: the same losses and, after 20 steps, the same parameters.
func TestDistributedMatchesOneProcess(t *testing.T) {
	corpus, vocab := writeCorpus(t, distText)
	const steps = 20
	for _, tc := range distCases {
		for _, ranks := range []int{2, 4} {
			t.Run(fmt.Sprintf("%s/ranks=%d", tc.name, ranks), func(t *testing.T) {
				const batch = 2
				one, err := NewTrainer(distConfig(tc.model, ranks*batch), kernels.Best(), corpus, vocab)
				if err != nil {
					t.Fatal(err)
				}
				want := trainSteps(t, one, steps)
				params := make([][]float32, ranks)
				cursors := make([]int64, ranks*batch)
				runJob(t, ranks, distConfig(tc.model, batch), corpus, vocab, func(tr *Trainer, c dist.Comm) {
					got := trainSteps(t, tr, steps)
					for i := range got {
						if d := math.Abs(got[i] - want[i]); d > 1e-5*want[i] {
							t.Errorf("rank %d, step %d: loss %v, one process %v", c.Rank(), i+1, got[i], want[i])
							break
						}
					}
					params[c.Rank()] = slices.Clone(tr.Model.Params)
					copy(cursors[c.Rank()*batch:], tr.Cursors)
				})
				for r, p := range params {
					if !slices.Equal(p, params[0]) {
						t.Errorf("rank %d's parameters differ from rank 0's", r)
					}
				}
				d := maxRelDiff(one.Model.Layout, params[0], one.Model.Params)
				t.Logf("max relative parameter difference after %d steps: %.2g", steps, d)
				if d > 1e-5 {
					t.Errorf("max relative parameter difference %.3g, want ≤ 1e-5", d)
				}
				if !slices.Equal(cursors, one.Cursors) {
					t.Errorf("cursors %v, one process's %v", cursors, one.Cursors)
				}
				if tr := one; tr.CharsSeen != int64(steps*ranks*batch*tr.Config.Seq) {
					t.Errorf("one process saw %d characters", tr.CharsSeen)
				}
			})
		}
	}
}

// quietObserver is the Observer of a rank that shows nothing; it counts
// the saves and keeps the notes.
type quietObserver struct {
	saves int
	notes []string
}

func (o *quietObserver) Stepped(int64)        {}
func (o *quietObserver) Report(Record)        {}
func (o *quietObserver) Sample(int64, string) {}
func (o *quietObserver) Note(msg string)      { o.notes = append(o.notes, msg) }
func (o *quietObserver) Saved(string)         { o.saves++ }

// rankRun is what Run gave one rank, and the trainer's state after it.
type rankRun struct {
	out    Outcome
	err    error
	step   int64
	obs    *quietObserver
	params []float32
	state  TrainState
}

// runRanks trains a job of n ranks with Run, each rank with the limits and
// context setup gives it, and returns each rank's outcome.
func runRanks(t *testing.T, n int, cfg TrainConfig, corpus *Corpus, vocab *Vocab, path string,
	setup func(tr *Trainer) (context.Context, Limits)) []rankRun {
	t.Helper()
	runs := make([]rankRun, n)
	runJob(t, n, cfg, corpus, vocab, func(tr *Trainer, c dist.Comm) {
		ctx, lim := setup(tr)
		obs := &quietObserver{}
		out, err := tr.Run(ctx, path, lim, obs)
		runs[c.Rank()] = rankRun{out, err, tr.Step, obs, tr.Model.Params, tr.State}
	})
	return runs
}

// Every stop is the job's: at the step limit; when rank 0's time is up
// (another rank's clock does not count); at an interrupt of any rank.
func TestDistributedStopsTogether(t *testing.T) {
	corpus, vocab := writeCorpus(t, distText)
	cfg := distConfig(rnnModel(8), 2)
	cfg.SaveEvery, cfg.SampleLen = 3, 20
	for _, tc := range []struct {
		name  string
		setup func(tr *Trainer) (context.Context, Limits)
		stop  Stop
		step  int64
	}{
		{"steps", func(tr *Trainer) (context.Context, Limits) {
			return context.Background(), Limits{Steps: 4}
		}, StopSteps, 4},
		{"rank 1's time", func(tr *Trainer) (context.Context, Limits) {
			if tr.Rank() == 1 {
				return context.Background(), Limits{Steps: 4, Duration: 1}
			}
			return context.Background(), Limits{Steps: 4}
		}, StopSteps, 4},
		{"rank 0's time", func(tr *Trainer) (context.Context, Limits) {
			if tr.Rank() == 0 {
				return context.Background(), Limits{Steps: 4, Duration: 1}
			}
			return context.Background(), Limits{Steps: 4}
		}, StopTime, 0},
		{"rank 2's interrupt", func(tr *Trainer) (context.Context, Limits) {
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)
			if tr.Rank() == 2 {
				tr.inject = func(step int64, _ []float32) {
					if step == 5 {
						cancel()
					}
				}
			}
			return ctx, Limits{Steps: 100}
		}, StopInterrupted, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "m.ckpt")
			for r, run := range runRanks(t, 3, cfg, corpus, vocab, path, tc.setup) {
				if run.err != nil || run.out.Stop != tc.stop || run.step != tc.step {
					t.Errorf("rank %d stopped at step %d: %v, %v; want %v at step %d", r, run.step, run.out.Stop, run.err, tc.stop, tc.step)
				}
				if (run.out.Sample != "") != (r == 0 && tc.stop != StopInterrupted) {
					t.Errorf("rank %d drew the sample %q; only rank 0 draws it", r, run.out.Sample)
				}
			}
			ck, err := LoadCheckpoint(path)
			if err != nil {
				t.Fatal(err)
			}
			if ck.Header.Step != tc.step || ck.Header.Ranks != 3 || len(ck.Header.Cursors) != 6 {
				t.Errorf("checkpoint at step %d of %d ranks with %d cursors; want step %d, 3 ranks, 6 cursors", ck.Header.Step, ck.Header.Ranks, len(ck.Header.Cursors), tc.step)
			}
		})
	}
}

// A gradient that is not finite on one rank is every rank's: all roll back
// together, with the same cut, and go on in step.
func TestDistributedRollsBackTogether(t *testing.T) {
	corpus, vocab := writeCorpus(t, distText)
	cfg := distConfig(rnnModel(8), 2)
	cfg.Guard = Guard{SnapshotEvery: 4, LRFactor: 0.5, Retries: 2}
	runs := runRanks(t, 2, cfg, corpus, vocab, filepath.Join(t.TempDir(), "m.ckpt"), func(tr *Trainer) (context.Context, Limits) {
		if tr.Rank() == 1 {
			tr.inject = func(step int64, g []float32) {
				if step == 6 && tr.State.Rollbacks == 0 {
					g[len(g)-1] = float32(math.NaN())
				}
			}
		}
		return context.Background(), Limits{Steps: 10}
	})
	for r, run := range runs {
		if run.err != nil || run.step != 10 || len(run.obs.notes) != 1 || !strings.Contains(run.obs.notes[0], "rolled back to step 4") {
			t.Errorf("rank %d: step %d, %v, notes %q; want one rollback to step 4 and 10 steps", r, run.step, run.err, run.obs.notes)
		}
	}
	if !slices.Equal(runs[0].params, runs[1].params) {
		t.Error("the ranks' parameters differ after the rollback")
	}
}

// Parameters that drift apart on one rank stop the job at the next save,
// with the line from rank 0 and the other ranks silent.
func TestDistributedChecksumMismatchStops(t *testing.T) {
	corpus, vocab := writeCorpus(t, distText)
	cfg := distConfig(rnnModel(8), 2)
	cfg.SaveEvery = 3
	path := filepath.Join(t.TempDir(), "m.ckpt")
	runs := runRanks(t, 2, cfg, corpus, vocab, path, func(tr *Trainer) (context.Context, Limits) {
		if tr.Rank() == 1 {
			tr.inject = func(step int64, g []float32) {
				if step == 5 {
					tr.Model.Params[0] += 1e-3
				}
			}
		}
		return context.Background(), Limits{Steps: 20}
	})
	for r, run := range runs {
		if run.err == nil || run.step != 6 || !strings.Contains(run.err.Error(), "step 6: the parameters differ between ranks") ||
			errors.Is(run.err, ErrOtherRank) != (r != 0) {
			t.Errorf("rank %d: step %d, %v; want the mismatch found at step 6, reported by rank 0", r, run.step, run.err)
		}
	}
	if ck, err := LoadCheckpoint(path); err != nil || ck.Header.Step != 3 {
		t.Fatalf("the checkpoint on disk should be step 3's: %v", err)
	}
}

// Validation is rank 0's, and its result every rank's: the best loss, the
// patience and the plateau cuts are the same everywhere, and the ranks stop
// early together.
func TestDistributedValidation(t *testing.T) {
	corpus, vocab := writeCorpus(t, distText)
	cfg := distConfig(rnnModel(8), 2)
	cfg.ValFrac, cfg.EvalEvery, cfg.Patience, cfg.LR = 0.2, 2, 2, 0.5
	cfg.Schedule = Schedule{Kind: "plateau", Decay: 0.5, PlateauPatience: 1}
	runs := runRanks(t, 2, cfg, corpus, vocab, filepath.Join(t.TempDir(), "m.ckpt"), func(tr *Trainer) (context.Context, Limits) {
		return context.Background(), Limits{Steps: 200}
	})
	for r, run := range runs {
		if run.err != nil || run.out.Stop != StopPatience || run.step != runs[0].step {
			t.Errorf("rank %d: %v at step %d (%v); want a stop for patience at rank 0's step, %d", r, run.out.Stop, run.step, run.err, runs[0].step)
		}
	}
	if s0, s1 := runs[0].state, runs[1].state; s0 != s1 || s0.BestValStep == 0 || s0.Schedule == NewScheduleState() {
		t.Errorf("training states differ, or have no validation or cut: %+v, %+v", s0, s1)
	}
}

// A checkpoint of N ranks × B streams has the shape, cursors and carried
// states of one process's with N·B streams; it resumes with any number of
// ranks of the same total, to what one process trains, and refuses another
// total.
func TestDistributedCheckpointResumes(t *testing.T) {
	corpus, vocab := writeCorpus(t, distText)
	model := ModelConfig{Cell: "gru", Layers: 2, Hidden: 12, Dropout: 0.2}
	const total, first, more = 4, 6, 5
	one, err := NewTrainer(distConfig(model, total), kernels.Best(), corpus, vocab)
	if err != nil {
		t.Fatal(err)
	}
	trainSteps(t, one, first)
	onePath := filepath.Join(t.TempDir(), "one.ckpt")
	if ck, err := one.Checkpoint(); err != nil || ck.Save(onePath) != nil {
		t.Fatalf("saving one process's checkpoint: %v", err)
	}
	oneCk, err := LoadCheckpoint(onePath)
	if err != nil {
		t.Fatal(err)
	}
	trainSteps(t, one, more)

	// 2 ranks × 2 streams, saved after the same steps.
	path := filepath.Join(t.TempDir(), "m.ckpt")
	var mu sync.Mutex
	runJob(t, 2, distConfig(model, total/2), corpus, vocab, func(tr *Trainer, c dist.Comm) {
		trainSteps(t, tr, first)
		ck, err := tr.Checkpoint()
		if err != nil || (ck == nil) != (c.Rank() != 0) {
			t.Errorf("rank %d: checkpoint %v, %v; want one on rank 0 only", c.Rank(), ck != nil, err)
			return
		}
		if ck != nil {
			mu.Lock()
			defer mu.Unlock()
			if err := ck.Save(path); err != nil {
				t.Error(err)
			}
		}
	})
	ck, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	h, oh := ck.Header, oneCk.Header
	if h.Ranks != 2 || h.Config.Batch != 2 || !slices.Equal(h.Cursors, oh.Cursors) || h.CharsSeen != oh.CharsSeen {
		t.Errorf("checkpoint of 2 ranks: ranks %d, batch %d, cursors %v, chars %d; one process's: cursors %v, chars %d",
			h.Ranks, h.Config.Batch, h.Cursors, h.CharsSeen, oh.Cursors, oh.CharsSeen)
	}
	for name, s := range oneCk.Sections {
		if got := ck.Sections[name]; len(got) != len(s) {
			t.Errorf("section %s has %d floats, one process's %d", name, len(got), len(s))
		} else if d := maxAbsDiff(got, s); d > 1e-5 {
			t.Errorf("section %s differs from one process's by up to %g", name, d)
		}
	}

	// Resumed as 1 × 4, 2 × 2 and 4 × 1: what one process trained.
	for _, ranks := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("resume/ranks=%d", ranks), func(t *testing.T) {
			runJob(t, ranks, distConfig(model, total/ranks), corpus, vocab, func(tr *Trainer, c dist.Comm) {
				if err := tr.Restore(ck); err != nil {
					t.Errorf("rank %d: %v", c.Rank(), err)
					return
				}
				trainSteps(t, tr, more)
				if d := maxRelDiff(tr.Model.Layout, tr.Model.Params, one.Model.Params); c.Rank() == 0 && d > 1e-5 {
					t.Errorf("resumed on %d ranks: max relative parameter difference %.3g from one process", ranks, d)
				}
			})
		})
	}
	t.Run("header", func(t *testing.T) {
		for _, tc := range []struct {
			ranks int
			says  string
		}{{3, `section "hidden" has 96 floats, want 6 streams × 24`}, {-1, "ranks -1 out of range"}, {MaxRanks + 1, "out of range"}} {
			bad := *ck
			bad.Header.Ranks = tc.ranks
			path := filepath.Join(t.TempDir(), "bad.ckpt")
			if err := bad.Save(path); err != nil {
				t.Fatal(err)
			}
			if _, err := LoadCheckpoint(path); err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("a checkpoint of 4 streams saying %d ranks of 2: %v; want %q", tc.ranks, err, tc.says)
			}
		}
	})
	t.Run("another total", func(t *testing.T) {
		runJob(t, 2, distConfig(model, 1), corpus, vocab, func(tr *Trainer, c dist.Comm) {
			err := tr.Restore(ck)
			if err == nil || !strings.Contains(err.Error(), "trained with 4 streams (2 ranks × Batch 2); this run has 2 (2 ranks × Batch 1)") {
				t.Errorf("rank %d: resuming 4 streams as 2: %v", c.Rank(), err)
			}
		})
	})
}

func maxAbsDiff(a, b []float32) float64 {
	var d float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

// Join refuses ranks set up differently, and more streams than the corpus
// has windows for, on every rank, with the line from rank 0.
func TestDistributedJoinRefuses(t *testing.T) {
	corpus, vocab := writeCorpus(t, distText)
	for _, tc := range []struct {
		name  string
		cfg   func(rank int) TrainConfig
		ranks int
		says  string
	}{
		{"another learning rate on rank 1", func(rank int) TrainConfig {
			cfg := distConfig(rnnModel(8), 2)
			if rank == 1 {
				cfg.LR = 0.02
			}
			return cfg
		}, 2, "the ranks are not set up alike"},
		{"too many streams", func(int) TrainConfig {
			cfg := distConfig(rnnModel(8), 200)
			return cfg
		}, 3, "Batch (200 per rank, 3 ranks: 600 streams) leaves each stream 10 characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			disttest.Run(tc.ranks, func(c dist.Comm) {
				tr, err := NewTrainer(tc.cfg(c.Rank()), kernels.Best(), corpus, vocab)
				if err != nil {
					t.Errorf("rank %d: %v", c.Rank(), err)
					return
				}
				err = tr.Join(c)
				if err == nil || !strings.Contains(err.Error(), tc.says) || errors.Is(err, ErrOtherRank) != (c.Rank() != 0) {
					t.Errorf("rank %d: %v; want %q, reported by rank 0", c.Rank(), err, tc.says)
				}
			})
		})
	}
}

// A rank whose corpus cannot be read stops every rank, with nothing of the
// step done anywhere: the checkpoint saved is the last completed step's,
// the failing rank says why, and the others say nothing.
func TestDistributedUnreadableCorpusStopsAll(t *testing.T) {
	old := corpusMapFiles
	corpusMapFiles = false // read with pread, whose short read reports the change
	defer func() { corpusMapFiles = old }()
	dir := t.TempDir()
	text := pairsText(200000, 13)
	corpora := make([]*Corpus, 2)
	for r := range corpora {
		path := filepath.Join(dir, fmt.Sprintf("rank%d.txt", r))
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := OpenCorpus(path)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		corpora[r] = c
	}
	vocab, err := BuildByteVocab(corpora[0])
	if err != nil {
		t.Fatal(err)
	}
	cfg := distConfig(rnnModel(8), 2)
	ckpt := filepath.Join(dir, "m.ckpt")
	errs := make([]error, 2)
	disttest.Run(2, func(c dist.Comm) {
		tr, err := NewTrainer(cfg, kernels.Best(), corpora[c.Rank()], vocab)
		if err == nil {
			err = tr.Join(c)
		}
		if err != nil {
			t.Errorf("rank %d: %v", c.Rank(), err)
			return
		}
		if c.Rank() == 1 {
			tr.inject = func(step int64, _ []float32) {
				if step == 5 {
					os.Truncate(filepath.Join(dir, "rank1.txt"), 4096)
				}
			}
		}
		_, errs[c.Rank()] = tr.Run(context.Background(), ckpt, Limits{Steps: 100}, &quietObserver{})
	})
	if err := errs[1]; err == nil || !strings.Contains(err.Error(), "rank1.txt") || errors.Is(err, ErrOtherRank) {
		t.Errorf("rank 1: %v; want its own error naming its file", err)
	}
	if err := errs[0]; err == nil || !errors.Is(err, ErrOtherRank) {
		t.Errorf("rank 0: %v; want an error another rank reports", err)
	}
	ck, err := LoadCheckpoint(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Header.Step != 5 {
		t.Fatalf("checkpoint at step %d, want the last completed step, 5", ck.Header.Step)
	}
}
