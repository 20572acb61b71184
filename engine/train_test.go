package engine

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"charrnn/kernels"
)

// writeCorpus writes text to a file in a temporary directory and opens it.
func writeCorpus(t *testing.T, text string) (*Corpus, *Vocab) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "corpus.txt")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := OpenCorpus(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	v, err := BuildByteVocab(c)
	if err != nil {
		t.Fatal(err)
	}
	return c, v
}

// pairsText is a text with a known entropy: random pairs "ab" and "cd", so
// the character after 'a' is always 'b' and after 'c' always 'd', while the
// character after 'b' or 'd' is a fair coin between 'a' and 'c'. The best
// possible loss is (ln 2)/2 nats per character.
func pairsText(n int, seed uint64) string {
	rng := rand.New(rand.NewPCG(seed, 1))
	var sb strings.Builder
	for sb.Len() < n {
		if rng.IntN(2) == 0 {
			sb.WriteString("ab")
		} else {
			sb.WriteString("cd")
		}
	}
	return sb.String()
}

func TestLearnsKnownRule(t *testing.T) {
	corpus, vocab := writeCorpus(t, pairsText(20000, 3))
	floor := math.Ln2 / 2
	for _, k := range kernels.Supported() {
		t.Run(k.Name(), func(t *testing.T) {
			cfg := TrainConfig{Model: rnnModel(16), Seq: 16, Batch: 4, Optimizer: "adam", LR: 0.01, Clip: Clip{Mode: "value", Limit: 5}, Seed: 1}
			tr, err := NewTrainer(cfg, k, corpus, vocab)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 400; i++ {
				if _, err := tr.TrainStep(); err != nil {
					t.Fatal(err)
				}
			}
			ev, err := Evaluate(k, tr.Model, vocab, corpus)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("loss %.4f nats/char after %d steps; floor %.4f", ev.LossNats, tr.Step, floor)
			if ev.LossNats > floor+0.03 {
				t.Fatalf("loss %.4f did not come within 0.03 of the floor %.4f", ev.LossNats, floor)
			}
			if ev.LossNats < floor-0.03 {
				t.Fatalf("loss %.4f is below the entropy floor %.4f: the evaluation is wrong", ev.LossNats, floor)
			}
		})
	}
}

func TestEveryOptimizerLearns(t *testing.T) {
	corpus, vocab := writeCorpus(t, pairsText(8000, 4))
	k := kernels.Best()
	for _, opt := range Optimizers {
		t.Run(opt, func(t *testing.T) {
			cfg := TrainConfig{Model: rnnModel(16), Seq: 16, Batch: 2, Optimizer: opt, LR: DefaultLR(opt), Clip: Clip{Mode: "norm", Limit: 5}, Seed: 2}
			if opt == "sgd" {
				cfg.LR = 0.1
			}
			if opt == "rmsprop" {
				cfg.Rho = DefaultRho
			}
			tr, err := NewTrainer(cfg, k, corpus, vocab)
			if err != nil {
				t.Fatal(err)
			}
			first, err := tr.TrainStep()
			if err != nil {
				t.Fatal(err)
			}
			var last StepResult
			for i := 0; i < 300; i++ {
				if last, err = tr.TrainStep(); err != nil {
					t.Fatal(err)
				}
			}
			if !(last.Loss < first.Loss-0.3) {
				t.Fatalf("%s: loss went from %.4f to %.4f", opt, first.Loss, last.Loss)
			}
		})
	}
}

func TestSameSeedSameRun(t *testing.T) {
	corpus, vocab := writeCorpus(t, pairsText(5000, 5)+"xyz, the quick brown fox")
	for _, k := range kernels.Supported() {
		t.Run(k.Name(), func(t *testing.T) {
			run := func() ([]float64, []int32) {
				cfg := TrainConfig{Model: rnnModel(24), Seq: 10, Batch: 3, Optimizer: "adagrad", LR: 0.1, Clip: Clip{Mode: "value", Limit: 5}, Seed: 9}
				tr, err := NewTrainer(cfg, k, corpus, vocab)
				if err != nil {
					t.Fatal(err)
				}
				var losses []float64
				for i := 0; i < 50; i++ {
					r, err := tr.TrainStep()
					if err != nil {
						t.Fatal(err)
					}
					losses = append(losses, r.Loss)
				}
				s := NewSampler(k, tr.Model, 77)
				var ids []int32
				s.Generate(200, func(id int32) { ids = append(ids, id) })
				return losses, ids
			}
			l1, s1 := run()
			l2, s2 := run()
			if !slices.Equal(l1, l2) {
				t.Fatalf("losses differ between identical runs:\n%v\n%v", l1, l2)
			}
			if !slices.Equal(s1, s2) {
				t.Fatal("samples differ between identical runs")
			}
		})
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	corpus, vocab := writeCorpus(t, pairsText(5000, 6)+"!?")
	k := kernels.Best()
	for _, opt := range Optimizers {
		t.Run(opt, func(t *testing.T) {
			cfg := TrainConfig{Model: rnnModel(12), Seq: 8, Batch: 2, Optimizer: opt, LR: DefaultLR(opt), Clip: Clip{Mode: "value", Limit: 5}, Seed: 3}
			if opt == "rmsprop" {
				cfg.Rho = DefaultRho
			}
			a, err := NewTrainer(cfg, k, corpus, vocab)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 7; i++ {
				a.TrainStep()
			}
			path := filepath.Join(t.TempDir(), "m.ckpt")
			if err := mustCheckpoint(t, a).Save(path); err != nil {
				t.Fatal(err)
			}
			ck, err := LoadCheckpoint(path)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ck.Sections["params"], a.Model.Params) {
				t.Fatal("loaded parameters differ from the saved ones")
			}
			b, err := NewTrainer(cfg, k, corpus, vocab)
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Restore(ck); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 3; i++ {
				ra, _ := a.TrainStep()
				rb, _ := b.TrainStep()
				if ra.Loss != rb.Loss {
					t.Fatalf("step %d after restore: loss %v, uninterrupted run %v", a.Step, rb.Loss, ra.Loss)
				}
			}
			if !slices.Equal(a.Model.Params, b.Model.Params) {
				t.Fatal("parameters diverge after restore")
			}
		})
	}
}

func TestSamplerPrimeIsSequential(t *testing.T) {
	m, _ := NewModel(rnnShape(8, 5), 1)
	k := kernels.Best()
	// Priming with "ab" must equal feeding a, then b.
	s1, s2 := NewSampler(k, m, 1), NewSampler(k, m, 1)
	s1.Prime([]int32{0, 1})
	s2.Feed(0)
	s2.Feed(1)
	if !slices.Equal(s1.logits, s2.logits) {
		t.Fatal("Prime differs from feeding one symbol at a time")
	}
	// And differ from the reverse order, which a multi-hot prime could not tell apart.
	s3 := NewSampler(k, m, 1)
	s3.Prime([]int32{1, 0})
	if slices.Equal(s1.logits, s3.logits) {
		t.Fatal("prime order does not matter: the prime is not fed sequentially")
	}
}

func TestSamplerTemperatureAndGreedy(t *testing.T) {
	m, _ := NewModel(rnnShape(4, 3), 1)
	copy(m.Tensor("c"), []float32{0, 2, 0})
	clear(m.Tensor("V"))
	k := kernels.Best()
	s := NewSampler(k, m, 5)
	s.Greedy = true
	if got := s.Next(); got != 1 {
		t.Fatalf("greedy picked %d, want 1", got)
	}
	s.Greedy = false
	count := func(temp float64) float64 {
		s.Temperature = temp
		n := 0
		for i := 0; i < 20000; i++ {
			if s.Next() == 1 {
				n++
			}
		}
		return float64(n) / 20000
	}
	// softmax([0,2,0]) gives the middle symbol e²/(e²+2) ≈ 0.787.
	if p := count(1); math.Abs(p-0.787) > 0.02 {
		t.Fatalf("temperature 1: P(1) = %.3f, want 0.787", p)
	}
	if p := count(0.25); p < 0.99 {
		t.Fatalf("temperature 0.25: P(1) = %.3f, want > 0.99", p)
	}
	if p := count(100); math.Abs(p-1.0/3) > 0.03 {
		t.Fatalf("temperature 100: P(1) = %.3f, want about 1/3", p)
	}
}

func TestTrainerRejectsShortCorpus(t *testing.T) {
	corpus, vocab := writeCorpus(t, "abcdefgh")
	cfg := TrainConfig{Model: rnnModel(4), Seq: 8, Batch: 1, Optimizer: "sgd", LR: 0.1, Clip: Clip{Mode: "none"}}
	if _, err := NewTrainer(cfg, kernels.Best(), corpus, vocab); err == nil || !strings.Contains(err.Error(), "needs at least 9") {
		t.Fatalf("want an error about the corpus being too short, got %v", err)
	}
}

func TestSamplerOverflowedLogits(t *testing.T) {
	m, _ := NewModel(rnnShape(4, 4), 1)
	clear(m.Tensor("V"))
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	s := NewSampler(kernels.Best(), m, 3)
	for _, c := range []struct {
		c    []float32
		want []int32 // the ids that may be drawn
	}{
		{[]float32{nan, 1, 50, nan}, []int32{2}},
		{[]float32{0, inf, -inf, 3}, []int32{1}},
		{[]float32{inf, 0, inf, nan}, []int32{0, 2}},
	} {
		copy(m.Tensor("c"), c.c)
		for i := 0; i < 200; i++ {
			s.Reset()
			if got := s.Next(); !slices.Contains(c.want, got) {
				t.Fatalf("logits %v: drew %d, want one of %v", c.c, got, c.want)
			}
			s.Greedy = true
			if got := s.Next(); got != c.want[0] {
				t.Fatalf("logits %v: greedy drew %d, want %d", c.c, got, c.want[0])
			}
			s.Greedy = false
		}
	}
}

// rnnModel is the notebook's model with h hidden units.
func rnnModel(h int) ModelConfig { return ModelConfig{Cell: "rnn", Layers: 1, Hidden: h} }

// rnnShape is the notebook's model with h hidden units over vocab symbols.
func rnnShape(h, vocab int) ModelConfig {
	return ModelConfig{Cell: "rnn", Layers: 1, Hidden: h, Vocab: vocab}
}
