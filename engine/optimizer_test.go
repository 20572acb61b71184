package engine

import (
	"path/filepath"
	"strings"
	"testing"

	"charrnn/kernels"
)

// SGD with momentum learns, and faster than without it at the same rate.
func TestMomentumLearns(t *testing.T) {
	corpus, vocab := writeCorpus(t, pairsText(8000, 20))
	final := func(mu float32) float64 {
		cfg := TrainConfig{Model: rnnModel(16), Seq: 16, Batch: 2, Optimizer: "sgd", Momentum: mu, LR: 0.003, Clip: Clip{Mode: "norm", Limit: 5}, Seed: 2}
		tr, err := NewTrainer(cfg, kernels.Best(), corpus, vocab)
		if err != nil {
			t.Fatal(err)
		}
		var sum float64
		for i := 0; i < 300; i++ {
			r, err := tr.TrainStep()
			if err != nil {
				t.Fatal(err)
			}
			if i >= 250 {
				sum += r.Loss
			}
		}
		return sum / 50
	}
	plain, heavy := final(0), final(0.9)
	t.Logf("mean loss over steps 251-300: plain SGD %.4f, momentum 0.9 %.4f", plain, heavy)
	if !(heavy < plain-0.05) {
		t.Fatalf("momentum 0.9 reached %.4f, plain SGD %.4f: momentum does not act", heavy, plain)
	}
}

// AdamW's decay pulls weights toward zero: with a gradient of zero, only
// the decay acts, p ← p·(1 - lr·W) per step.
func TestAdamWDecaysWeights(t *testing.T) {
	k := kernels.Best()
	opt, err := NewOptimizer(TrainConfig{Optimizer: "adamw", WeightDecay: 0.1}, 3)
	if err != nil {
		t.Fatal(err)
	}
	p, g := []float32{1, -2, 4}, make([]float32, 3)
	for step := int64(1); step <= 2; step++ {
		opt.Update(k, p, g, 0.5, step, Conditioning{Scale: 1, Limit: 1e30})
	}
	want := []float32{1 * 0.95 * 0.95, -2 * 0.95 * 0.95, 4 * 0.95 * 0.95}
	for i := range p {
		if d := p[i] - want[i]; d > 1e-6 || d < -1e-6 {
			t.Fatalf("after two decayed steps p = %v, want %v", p, want)
		}
	}
}

func TestRestoreRejectsMomentumChange(t *testing.T) {
	corpus, vocab := writeCorpus(t, pairsText(1000, 21))
	cfg := TrainConfig{Model: rnnModel(6), Seq: 8, Batch: 1, Optimizer: "sgd", LR: 0.1, Clip: Clip{Mode: "none"}}
	a, _ := NewTrainer(cfg, kernels.Best(), corpus, vocab)
	path := filepath.Join(t.TempDir(), "m.ckpt")
	if err := mustCheckpoint(t, a).Save(path); err != nil {
		t.Fatal(err)
	}
	ck, _ := LoadCheckpoint(path)
	cfg.Momentum = 0.9
	b, _ := NewTrainer(cfg, kernels.Best(), corpus, vocab)
	if err := b.Restore(ck); err == nil || !strings.Contains(err.Error(), "Momentum") {
		t.Fatalf("restoring a plain-SGD checkpoint with momentum: %v", err)
	}
}
