package engine

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"charrnn/kernels"
)

// trainTo runs steps until the step counter reaches n, validating every
// evalEvery steps (0: never), as the command line does, and counts the
// validations that did not improve and the plateau cuts.
func trainTo(t *testing.T, tr *Trainer, n, evalEvery int64) (stale, cuts int) {
	t.Helper()
	for tr.Step < n {
		if _, err := tr.TrainStep(); err != nil {
			if err = tr.Recover(err); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if evalEvery > 0 && tr.Step%evalEvery == 0 {
			v, err := tr.Validate()
			if err != nil {
				t.Fatal(err)
			}
			if !v.Improved {
				stale++
			}
			if v.Cut {
				cuts++
			}
		}
	}
	return stale, cuts
}

// N steps straight and N/2 steps, a checkpoint, a fresh process's restore
// and N/2 more give bit-identical weights, optimizer state and trainer
// state, for every optimizer and schedule.
func TestResumeIsBitIdentical(t *testing.T) {
	corpus, vocab := writeCorpus(t, pairsText(3000, 15)+"#%&")
	configs := []TrainConfig{
		{Optimizer: "sgd", LR: 0.1, Momentum: 0.9, Schedule: Schedule{Kind: "step", Decay: 0.8, DecayAfter: 1, Warmup: 5}},
		{Optimizer: "adagrad", LR: 0.1, Schedule: Schedule{Kind: "constant"}},
		{Optimizer: "rmsprop", LR: 0.02, Rho: 0.95, Schedule: Schedule{Kind: "cosine", Steps: 60, Warmup: 10}},
		{Optimizer: "adam", LR: 0.05, Schedule: Schedule{Kind: "plateau", Decay: 0.5, PlateauPatience: 1}},
		{Optimizer: "adamw", LR: 0.05, WeightDecay: 0.1, Schedule: Schedule{Kind: "step", Decay: 0.9}},
	}
	const n, evalEvery = 60, 2
	for _, k := range kernels.Supported() {
		for _, cfg := range configs {
			cfg.Model, cfg.Seq, cfg.Batch, cfg.Seed = rnnModel(12), 7, 3, 5
			cfg.Clip = Clip{Mode: "norm", Limit: 1}
			cfg.ValFrac, cfg.ValMaxChars = 0.1, 200
			cfg.Guard = Guard{SnapshotEvery: 10, LRFactor: 0.5, Retries: 3}
			t.Run(fmt.Sprintf("%s/%s/%s", k.Name(), cfg.Optimizer, cfg.Schedule.Kind), func(t *testing.T) {
				// One non-finite gradient before the checkpoint: its rollback
				// and learning-rate cut must carry over too.
				poison := func(tr *Trainer) {
					fired := false
					tr.inject = func(step int64, g []float32) {
						if step == 13 && !fired {
							fired = true
							g[3] = float32(math.Inf(1))
						}
					}
				}
				straight, err := NewTrainer(cfg, k, corpus, vocab)
				if err != nil {
					t.Fatal(err)
				}
				poison(straight)
				stale, cuts := trainTo(t, straight, n, evalEvery)

				first, _ := NewTrainer(cfg, k, corpus, vocab)
				poison(first)
				trainTo(t, first, n/2+1, evalEvery) // stop between validations
				path := filepath.Join(t.TempDir(), "half.ckpt")
				if err := mustCheckpoint(t, first).Save(path); err != nil {
					t.Fatal(err)
				}
				ck, err := LoadCheckpoint(path)
				if err != nil {
					t.Fatal(err)
				}
				resumed, _ := NewTrainer(cfg, k, corpus, vocab)
				if err := resumed.Restore(ck); err != nil {
					t.Fatal(err)
				}
				trainTo(t, resumed, n, evalEvery)

				if !slices.Equal(straight.Model.Params, resumed.Model.Params) {
					t.Fatal("weights after resume differ from the uninterrupted run's")
				}
				for i, s := range straight.opt.State() {
					if !slices.Equal(s, resumed.opt.State()[i]) {
						t.Fatalf("optimizer state %d differs after resume", i)
					}
				}
				if !slices.Equal(savedState(straight), savedState(resumed)) || !slices.Equal(straight.Cursors, resumed.Cursors) {
					t.Fatal("hidden states or cursors differ after resume")
				}
				if straight.State != resumed.State || straight.CharsSeen != resumed.CharsSeen || straight.LR() != resumed.LR() {
					t.Fatalf("trainer state after resume %+v (lr %v), uninterrupted %+v (lr %v)", resumed.State, resumed.LR(), straight.State, straight.LR())
				}
				if first.State.Rollbacks != 1 || stale == 0 {
					t.Fatalf("no rollback before the checkpoint (%d) or no validation without improvement (%d): the test does not cover that state", first.State.Rollbacks, stale)
				}
				if cfg.Schedule.Kind == "plateau" && cuts == 0 {
					t.Fatal("the plateau schedule never cut the rate; the test does not cover its state")
				}
			})
		}
	}
}

// A plateau cut, a best validation loss and a rollback's learning-rate cut
// survive a checkpoint.
func TestCheckpointCarriesTrainState(t *testing.T) {
	corpus, vocab := writeCorpus(t, pairsText(2000, 16))
	cfg := TrainConfig{Model: rnnModel(8), Seq: 8, Batch: 2, Optimizer: "adam", LR: 0.01, Clip: Clip{Mode: "value", Limit: 5}, Seed: 1,
		ValFrac: 0.1, Schedule: Schedule{Kind: "plateau", Decay: 0.5, PlateauPatience: 3}}
	a, _ := NewTrainer(cfg, kernels.Best(), corpus, vocab)
	a.State = TrainState{Schedule: ScheduleState{PlateauScale: 0.25, PlateauBad: 2}, LRScale: 0.5, Rollbacks: 1, BestVal: 1.25, BestValStep: 40, BadEvals: 3}
	path := filepath.Join(t.TempDir(), "m.ckpt")
	if err := mustCheckpoint(t, a).Save(path); err != nil {
		t.Fatal(err)
	}
	ck, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Header.Config.Schedule != cfg.Schedule || ck.Header.Config.ValFrac != 0.1 {
		t.Fatalf("schedule %+v, val-frac %v in the header", ck.Header.Config.Schedule, ck.Header.Config.ValFrac)
	}
	b, _ := NewTrainer(cfg, kernels.Best(), corpus, vocab)
	if err := b.Restore(ck); err != nil {
		t.Fatal(err)
	}
	if b.State != a.State || b.LR() != 0.01*0.25*0.5 {
		t.Fatalf("restored state %+v (lr %v), saved %+v", b.State, b.LR(), a.State)
	}
	other := cfg
	other.ValFrac = 0.2
	c, _ := NewTrainer(other, kernels.Best(), corpus, vocab)
	if err := c.Restore(ck); err == nil {
		t.Fatal("restore with a different -val-frac accepted")
	}
}

// A sampler restored from another's random state draws what it would have.
func TestSamplerRNGStateRoundTrip(t *testing.T) {
	m, _ := NewModel(rnnShape(8, 5), 1)
	k := kernels.Best()
	a := NewSampler(k, m, 3)
	a.Generate(17, func(int32) {})
	state, err := a.RNGState()
	if err != nil {
		t.Fatal(err)
	}
	b := NewSampler(k, m, 99) // another seed: only the state matters
	if err := b.SetRNGState(state); err != nil {
		t.Fatal(err)
	}
	var wa, wb []int32
	a.Reset()
	a.Generate(100, func(id int32) { wa = append(wa, id) })
	b.Generate(100, func(id int32) { wb = append(wb, id) })
	if !slices.Equal(wa, wb) {
		t.Fatal("a sampler with a restored random state draws differently")
	}
	if err := b.SetRNGState([]byte("junk")); err == nil {
		t.Fatal("a junk random state was accepted")
	}
}

// savedState is the trainer's carried state, as a checkpoint holds it.
func savedState(tr *Trainer) []float32 {
	s := make([]float32, tr.ws.StateFloats())
	tr.ws.SaveState(s)
	return s
}
