package engine

import (
	"testing"

	"charrnn/kernels"
)

// A training step and a sampled character allocate nothing: every buffer is
// made once, up front.
func TestNoAllocationsPerStep(t *testing.T) {
	t.Run("bytes", func(t *testing.T) {
		corpus, vocab := writeCorpus(t, pairsText(20000, 8)+"0123456789")
		testNoAllocationsPerStep(t, corpus, vocab)
	})
	t.Run("runes", func(t *testing.T) {
		// Greek, CJK, emoji, invalid bytes and runes left out by the cap.
		corpus, vocab := writeRuneCorpus(t, polyglot(20000, 8), 20)
		testNoAllocationsPerStep(t, corpus, vocab)
	})
}

func testNoAllocationsPerStep(t *testing.T, corpus *Corpus, vocab *Vocab) {
	var backends []kernels.Backend
	for _, k := range kernels.Supported() {
		// On two cores a batch's streams are also shared between them
		// (streams.go).
		backends = append(backends, k, kernels.Parallel(k, 2))
	}
	for _, k := range backends {
		for _, b := range []int{1, 3} {
			// A schedule and snapshots every other step: neither allocates.
			cfg := TrainConfig{Model: rnnModel(32), Seq: 16, Batch: b, Optimizer: "adam", LR: 0.002, Clip: Clip{Mode: "norm", Limit: 5}, Seed: 1,
				Schedule: Schedule{Kind: "cosine", Steps: 1000, Warmup: 10}, ValFrac: 0.1, Guard: Guard{SnapshotEvery: 2, LRFactor: 0.5, Retries: 3}}
			tr, err := NewTrainer(cfg, k, corpus, vocab)
			if err != nil {
				t.Fatal(err)
			}
			tr.TrainStep() // warm up
			if n := testing.AllocsPerRun(50, func() {
				if _, err := tr.TrainStep(); err != nil {
					t.Fatal(err)
				}
			}); n != 0 {
				t.Errorf("%s B=%d: %v allocations per training step, want 0", k.Name(), b, n)
			}
			s := NewSampler(k, tr.Model, 1)
			if n := testing.AllocsPerRun(200, func() { s.Feed(s.Next()) }); n != 0 {
				t.Errorf("%s: %v allocations per sampled character, want 0", k.Name(), n)
			}
		}
	}
}
