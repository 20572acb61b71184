package engine

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"charrnn/kernels"
)

// The history a checkpoint keeps is bounded: the latest records only.
func TestHistoryIsBounded(t *testing.T) {
	var h []json.RawMessage
	for step := int64(1); step <= 25; step++ {
		b, _ := json.Marshal(Record{Step: step})
		h = appendBounded(h, b, 10)
	}
	if len(h) != 10 {
		t.Fatalf("%d records kept, want 10", len(h))
	}
	for i, b := range h {
		var rec Record
		if err := json.Unmarshal(b, &rec); err != nil || rec.Step != int64(16+i) {
			t.Fatalf("record %d is %s (%v), want step %d", i, b, err, 16+i)
		}
	}
}

// cancelAt is an Observer that cancels the run's context after step n, and
// counts the saves.
type cancelAt struct {
	n      int64
	cancel context.CancelFunc
	saves  int
}

func (o *cancelAt) Stepped(step int64) {
	if step == o.n {
		o.cancel()
	}
}
func (o *cancelAt) Report(Record)        {}
func (o *cancelAt) Sample(int64, string) {}
func (o *cancelAt) Note(string)          {}
func (o *cancelAt) Saved(string)         { o.saves++ }

// An interrupt that arrives while a step's validation runs stops the
// validation at its next window, not at its end, and the run saves and
// stops.
func TestInterruptStopsValidation(t *testing.T) {
	corpus, vocab := writeCorpus(t, pairsText(200000, 12))
	cfg := TrainConfig{Model: rnnModel(8), Seq: 8, Batch: 1, Optimizer: "adam", LR: 0.01, Clip: Clip{Mode: "none"}, Seed: 1,
		ValFrac: 0.5, EvalEvery: 3, SaveEvery: 1000}
	tr, err := NewTrainer(cfg, kernels.Best(), corpus, vocab)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	obs := &cancelAt{n: 3, cancel: cancel}
	path := filepath.Join(t.TempDir(), "m.ckpt")
	out, err := tr.Run(ctx, path, Limits{}, obs)
	if err != nil || out.Stop != StopInterrupted || tr.Step != 3 || obs.saves != 1 {
		t.Fatalf("run ended with %v (%v) at step %d after %d saves; want an interrupt saved at step 3", out.Stop, err, tr.Step, obs.saves)
	}
	if tr.State.BestValStep != 0 {
		t.Fatal("the interrupted validation was counted")
	}
	if _, err := LoadCheckpoint(path); err != nil {
		t.Fatal(err)
	}
}

// A corpus that shrinks under a running trainer stops the run with an
// error naming the file, after saving the last completed step, which
// resumes.
func TestCorpusChangeSavesAndStops(t *testing.T) {
	old := corpusMapFiles
	corpusMapFiles = false // read with pread, whose short read reports the change
	defer func() { corpusMapFiles = old }()
	path := filepath.Join(t.TempDir(), "big.txt")
	if err := os.WriteFile(path, []byte(pairsText(200000, 13)), 0o644); err != nil {
		t.Fatal(err)
	}
	corpus, err := OpenCorpus(path)
	if err != nil {
		t.Fatal(err)
	}
	defer corpus.Close()
	vocab, err := BuildByteVocab(corpus)
	if err != nil {
		t.Fatal(err)
	}
	cfg := TrainConfig{Model: rnnModel(8), Seq: 16, Batch: 4, Optimizer: "adam", LR: 0.01, Clip: Clip{Mode: "none"}, Seed: 1}
	tr, err := NewTrainer(cfg, kernels.Best(), corpus, vocab)
	if err != nil {
		t.Fatal(err)
	}
	obs := &truncateAt{cancelAt: cancelAt{n: 5}, path: path}
	ckpt := filepath.Join(t.TempDir(), "m.ckpt")
	_, err = tr.Run(context.Background(), ckpt, Limits{Steps: 100}, obs)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "checkpoint saved") {
		t.Fatalf("run on a shrinking corpus: %v", err)
	}
	ck, err := LoadCheckpoint(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Header.Step != 5 {
		t.Fatalf("checkpoint at step %d, want the last completed step, 5", ck.Header.Step)
	}
}

// truncateAt is an Observer that truncates a file after step n.
type truncateAt struct {
	cancelAt
	path string
}

func (o *truncateAt) Stepped(step int64) {
	if step == o.n {
		os.Truncate(o.path, 4096)
	}
}
