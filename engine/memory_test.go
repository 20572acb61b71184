package engine

import (
	"runtime"
	"strings"
	"testing"

	"charrnn/kernels"
)

// TestTrainingBytesCoversTheTrainer holds the estimate to what a trainer
// really allocates, a step and a checkpoint encoding included: never less,
// and not so much more that it would refuse runs that fit.
func TestTrainingBytesCoversTheTrainer(t *testing.T) {
	corpus, vocab := writeCorpus(t, pairsText(50000, 3))
	cfg := TrainConfig{Model: rnnModel(384), Seq: 50, Batch: 8, Optimizer: "adam", LR: 0.002, Clip: Clip{Mode: "norm", Limit: 5}, Seed: 1,
		Guard: Guard{SnapshotEvery: 1, LRFactor: 0.5, Retries: 3}}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	tr, err := NewTrainer(cfg, kernels.Best(), corpus, vocab)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.TrainStep(); err != nil {
		t.Fatal(err)
	}
	data, err := mustCheckpoint(t, tr).encode()
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(tr)
	runtime.KeepAlive(data)
	used := float64(after.TotalAlloc - before.TotalAlloc)
	cfg.Model.Vocab = vocab.Size()
	est, err := cfg.TrainingBytes()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("estimate %s, allocated %s", byteSize(est), byteSize(used))
	if est < used || est > 2*used {
		t.Fatalf("estimate %s, allocated %s", byteSize(est), byteSize(used))
	}
}

func TestCheckMemory(t *testing.T) {
	if err := checkMemory(1); err != nil {
		t.Fatalf("one byte refused: %v", err)
	}
	if _, known := availableMemory(); !known {
		t.Skip("available memory unknown here")
	}
	err := checkMemory(1 << 62)
	if err == nil || !strings.Contains(err.Error(), "needs about") {
		t.Fatalf("4 EiB accepted or unclear: %v", err)
	}
}
