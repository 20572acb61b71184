package engine

import (
	"fmt"
	"io"
	"testing"

	"charrnn/kernels"
)

// A single stream's training in mixed precision gives the same bits
// whichever way it shares the cores (singleWays): the helper beside the
// passes, both cores sharing every product, the tuner switching between
// the two from window to window, or one core alone. Sharing, the vanilla
// RNN's recurrence runs in lockstep (lockstep.go), the gated cells' GEMVs
// are split through the pool. The sizes are the smallest whose recurrent
// weights have the choice (besideSingle).
func TestSingleWaysSameBits(t *testing.T) {
	corpus, vocab := writeCorpus(t, pairsText(20000, 7)+"the quick brown fox")
	ran := false
	for _, k := range kernels.Supported() {
		if _, ok := kernels.BF16Of(k); !ok || k.Name() == "openblas" {
			continue
		}
		ran = true
		for _, mc := range []ModelConfig{
			{Cell: "rnn", Layers: 1, Hidden: 256},
			{Cell: "lstm", Layers: 2, Hidden: 128},
			{Cell: "gru", Layers: 1, Hidden: 160},
		} {
			t.Run(fmt.Sprintf("%s/%s%d", k.Name(), mc.Cell, mc.Hidden), func(t *testing.T) {
				run := func(k kernels.Backend, force int) ([]float64, []float32, bool, bool) {
					cfg := TrainConfig{Model: mc, Seq: 40, Batch: 1, Optimizer: "adam", LR: 0.002, Clip: Clip{Mode: "value", Limit: 5}, Seed: 5, Precision: BF16}
					tr, err := NewTrainer(cfg, k, corpus, vocab)
					if err != nil {
						t.Fatal(err)
					}
					tr.ws.single.force = force
					var losses []float64
					could := false
					for range 6 {
						r, err := tr.TrainStep()
						if err != nil {
							t.Fatal(err)
						}
						losses = append(losses, r.Loss)
						could = could || tr.ws.ctx.couldBeside
					}
					return losses, tr.Model.Params, could, tr.ws.ctx.lock.half != nil
				}
				wantL, wantP, _, _ := run(k, 0)
				two := kernels.Parallel(k, 2)
				defer two.(io.Closer).Close()
				for force, way := range []string{"tuned", "beside", "shared"} {
					l, p, could, locked := run(two, force)
					if !could {
						t.Fatalf("%s: no layer had the choice", way)
					}
					if way == "shared" && locked != (mc.Cell == "rnn") {
						t.Fatalf("shared: ran in lockstep %v", locked)
					}
					for i := range wantL {
						if l[i] != wantL[i] {
							t.Fatalf("%s: step %d: loss %v, one core %v", way, i+1, l[i], wantL[i])
						}
					}
					for i := range wantP {
						if p[i] != wantP[i] {
							t.Fatalf("%s: parameter %d: %v, one core %v", way, i, p[i], wantP[i])
						}
					}
				}
			})
		}
	}
	if !ran {
		t.Skip("no backend with bfloat16 products on this machine")
	}
}

// A single stream's recurrence over weights the pool would split runs in
// lockstep on two cores (inLockstep), with the same bits as on one: in
// float32, and in mixed precision over weights too large for the helper
// beside the pass (besideSingle). It allocates nothing per step.
func TestLockstepSameBits(t *testing.T) {
	corpus, vocab := writeCorpus(t, pairsText(20000, 7)+"the quick brown fox")
	for _, k := range kernels.Supported() {
		if k.Name() == "openblas" { // it may sum a block of rows another way
			continue
		}
		for _, c := range []struct {
			p Precision
			H int
		}{{FP32, 512}, {BF16, 1024}} {
			if _, ok := kernels.BF16Of(k); c.p == BF16 && !ok {
				continue
			}
			t.Run(fmt.Sprintf("%s/%s/h%d", k.Name(), c.p, c.H), func(t *testing.T) {
				run := func(k kernels.Backend) *Trainer {
					cfg := TrainConfig{Model: ModelConfig{Cell: "rnn", Layers: 1, Hidden: c.H}, Seq: 20, Batch: 1, Optimizer: "adam", LR: 0.002, Clip: Clip{Mode: "value", Limit: 5}, Seed: 5, Precision: c.p}
					tr, err := NewTrainer(cfg, k, corpus, vocab)
					if err != nil {
						t.Fatal(err)
					}
					trainSteps(t, tr, 3)
					return tr
				}
				want := run(k).Model.Params
				two := kernels.Parallel(k, 2)
				defer two.(io.Closer).Close()
				tr := run(two)
				if tr.ws.ctx.lock.half == nil {
					t.Fatal("the recurrence did not run in lockstep")
				}
				for i, got := range tr.Model.Params {
					if got != want[i] {
						t.Fatalf("parameter %d: %v on two cores, %v on one", i, got, want[i])
					}
				}
				if n := testing.AllocsPerRun(2, func() { tr.TrainStep() }); n != 0 {
					t.Errorf("%v allocations per step", n)
				}
			})
		}
	}
}
