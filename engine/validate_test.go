package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"charrnn/kernels"
)

// Training reads only the corpus's head; the held-out tail is validation's.
func TestValidationHoldsOutTheTail(t *testing.T) {
	text := pairsText(2000, 12) + strings.Repeat("z", 500)
	corpus, vocab := writeCorpus(t, text)
	z, _ := vocab.ID('z')
	k := kernels.Best()
	cfg := TrainConfig{Model: rnnModel(8), Seq: 9, Batch: 3, Optimizer: "adam", LR: 0.01, Clip: Clip{Mode: "value", Limit: 5}, Seed: 1, ValFrac: 0.2}
	tr, err := NewTrainer(cfg, k, corpus, vocab)
	if err != nil {
		t.Fatal(err)
	}
	if tr.TrainSize() != 2000 {
		t.Fatalf("training part %d characters, want 2000", tr.TrainSize())
	}
	for tr.Step < 500 { // several passes over the training part
		if _, err := tr.TrainStep(); err != nil {
			t.Fatal(err)
		}
		for i := range tr.ws.Inputs {
			if tr.ws.Inputs[i] == z || tr.ws.Targets[i] == z {
				t.Fatalf("step %d read the held-out tail", tr.Step)
			}
		}
	}
	if tr.Epochs() < 2 {
		t.Fatalf("%.2f epochs; the test wants the streams to wrap", tr.Epochs())
	}

	v, err := tr.Validate()
	if err != nil {
		t.Fatal(err)
	}
	want, err := EvaluateRange(k, tr.Model, vocab, corpus, 2000, 2500)
	if err != nil {
		t.Fatal(err)
	}
	if v.Evaluation != want || v.Chars != 499 {
		t.Fatalf("validation %+v, want the exact loss of the tail %+v", v.Evaluation, want)
	}
	if !v.Improved || tr.State.BestVal != v.LossNats || tr.State.BestValStep != 500 || tr.State.BadEvals != 0 {
		t.Fatalf("first validation: %+v, state %+v", v, tr.State)
	}
	again, _ := tr.Validate() // same model, same loss: not an improvement
	if again.Improved || again.Stale != 1 || tr.State.BadEvals != 1 || tr.State.BestValStep != 500 {
		t.Fatalf("second validation of the same model: %+v, state %+v", again, tr.State)
	}

	// -val-max-chars bounds the validation to the tail's first characters.
	tr.Config.ValMaxChars = 100
	if from, to := tr.HeldOut(); from != 2000 || to != 2100 {
		t.Fatalf("held out [%d, %d), want [2000, 2100)", from, to)
	}
	v, _ = tr.Validate()
	if v.Chars != 99 {
		t.Fatalf("bounded validation read %d characters, want 99", v.Chars)
	}
}

// EvaluateRange is Evaluate on the range alone: the same numbers as a file
// holding only that text.
func TestEvaluateRangeMatchesSeparateText(t *testing.T) {
	text := pairsText(3000, 13) + "the quick brown fox jumps"
	corpus, vocab := writeCorpus(t, text)
	k := kernels.Best()
	m, _ := NewModel(rnnShape(12, vocab.Size()), 4)
	full, err := Evaluate(k, m, vocab, corpus)
	if err != nil {
		t.Fatal(err)
	}
	whole, err := EvaluateRange(k, m, vocab, corpus, 0, corpus.Size())
	if err != nil || whole != full {
		t.Fatalf("EvaluateRange over everything %+v (%v), Evaluate %+v", whole, err, full)
	}
	from, to := int64(1234), int64(2900) // longer than one evaluation window, ending mid-window
	part, err := EvaluateRange(k, m, vocab, corpus, from, to)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "part.txt")
	os.WriteFile(path, []byte(text[from:to]), 0o644)
	sub, err := OpenCorpus(path)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	want, err := Evaluate(k, m, vocab, sub)
	if err != nil {
		t.Fatal(err)
	}
	if part != want {
		t.Fatalf("EvaluateRange [%d, %d) = %+v, the same text alone %+v", from, to, part, want)
	}
	for _, r := range [][2]int64{{-1, 10}, {10, corpus.Size() + 1}, {10, 5}, {7, 8}} {
		if _, err := EvaluateRange(k, m, vocab, corpus, r[0], r[1]); err == nil {
			t.Errorf("EvaluateRange [%d, %d) accepted", r[0], r[1])
		}
	}
}

func TestValFracNeedsRoom(t *testing.T) {
	corpus, vocab := writeCorpus(t, pairsText(100, 14))
	k := kernels.Best()
	base := TrainConfig{Model: rnnModel(4), Seq: 8, Batch: 1, Optimizer: "sgd", LR: 0.1, Clip: Clip{Mode: "none"}}
	for _, c := range []struct {
		frac float64
		want string
	}{{0.005, "validation needs at least 2"}, {0.95, "lower ValFrac"}, {1, "ValFrac"}, {-0.1, "ValFrac"}} {
		cfg := base
		cfg.ValFrac = c.frac
		if _, err := NewTrainer(cfg, k, corpus, vocab); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("-val-frac %v: error %v, want one mentioning %q", c.frac, err, c.want)
		}
	}
	cfg := base
	cfg.Schedule = Schedule{Kind: "plateau", Decay: 0.5, PlateauPatience: 2}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "ValFrac") {
		t.Errorf("plateau without validation: %v", err)
	}
}
