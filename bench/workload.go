// Package bench measures charrnn's throughput: the standard workloads
// (Standard) on every kernel backend, and the machine's limits they are
// judged against (Probe). `charrnn bench` and `go test -bench` both use it;
// compare.py measures the same workloads in PyTorch and numpy.
package bench

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"charrnn/engine"
	"charrnn/kernels"
)

// Workload is one model shape to measure.
type Workload struct {
	Name                      string
	Cell                      string // "" is the notebook's rnn
	Layers                    int    // 0 is one
	Hidden, Seq, Batch, Vocab int
	// SampleOnly workloads measure generation, not training.
	SampleOnly bool
	// Precision of the products ("" is fp32).
	Precision engine.Precision
}

// Model is the workload's model configuration.
func (w Workload) Model() engine.ModelConfig {
	c := engine.ModelConfig{Cell: w.Cell, Layers: w.Layers, Hidden: w.Hidden, Vocab: w.Vocab}
	if c.Cell == "" {
		c.Cell = "rnn"
	}
	if c.Layers == 0 {
		c.Layers = 1
	}
	return c
}

// Standard is the table of standard workloads: the notebook's setting
// (tiny), latency-bound training and sampling at H=512 (h512b1, sample512),
// throughput-bound training (h512b32), and the gated cells people train
// (two layers, as char-rnn and torch-rnn default to).
var Standard = []Workload{
	{Name: "tiny", Hidden: 100, Seq: 25, Batch: 1, Vocab: 65},
	{Name: "h512b1", Hidden: 512, Seq: 100, Batch: 1, Vocab: 65},
	{Name: "h512b32", Hidden: 512, Seq: 100, Batch: 32, Vocab: 65},
	{Name: "sample512", Hidden: 512, Batch: 1, Vocab: 65, SampleOnly: true},
	{Name: "lstm512b32", Cell: "lstm", Layers: 2, Hidden: 512, Seq: 100, Batch: 32, Vocab: 65},
	{Name: "lstm256b32", Cell: "lstm", Layers: 2, Hidden: 256, Seq: 100, Batch: 32, Vocab: 65},
	{Name: "gru512b32", Cell: "gru", Layers: 2, Hidden: 512, Seq: 100, Batch: 32, Vocab: 65},
	{Name: "lstm512b1", Cell: "lstm", Layers: 2, Hidden: 512, Seq: 100, Batch: 1, Vocab: 65},
	{Name: "sample-lstm512", Cell: "lstm", Layers: 2, Hidden: 512, Batch: 1, Vocab: 65, SampleOnly: true},
}

// productWeights counts the weights a character's forward pass multiplies
// by: every matrix of the layout but the one-hot input's, which is read by
// row lookup.
func productWeights(c engine.ModelConfig) float64 {
	lay, err := engine.NewLayout(c)
	if err != nil {
		return 0
	}
	var n int
	for _, t := range lay.Tensors {
		if len(t.Shape) == 2 && !t.Lookup {
			n += t.Size()
		}
	}
	return float64(n)
}

// TrainFLOPsPerChar counts a training step's flops per character: a
// multiply-add (two flops) per weight in the forward pass, and two in the
// backward pass (the weights' gradient and the input's). Element-wise work
// is not counted. For the notebook's model that is 6H² + 6HV.
func TrainFLOPsPerChar(c engine.ModelConfig) float64 { return 6 * productWeights(c) }

// SampleFLOPsPerChar counts one generated character's: a multiply-add per
// weight.
func SampleFLOPsPerChar(c engine.ModelConfig) float64 { return 2 * productWeights(c) }

// Data is a synthetic corpus: random symbols from a vocabulary of the
// workload's size, so every system and backend does the same work.
type Data struct {
	Corpus *engine.Corpus
	Vocab  *engine.Vocab
	dir    string
}

// NewData writes size random bytes drawn from vocab symbols to a temporary
// file and opens it as a corpus.
func NewData(vocab, size int) (*Data, error) {
	if vocab < 2 || vocab > 256 {
		return nil, fmt.Errorf("-vocab must be between 2 and 256, got %d", vocab)
	}
	dir, err := os.MkdirTemp("", "charrnn-bench")
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	text := make([]byte, size)
	for i := range text {
		text[i] = byte(' ' + rng.IntN(vocab)) // printable for vocab ≤ 95
	}
	copy(text, allSymbols(vocab)) // every symbol occurs, so the vocabulary is the full size
	path := filepath.Join(dir, "synthetic.txt")
	if err := os.WriteFile(path, text, 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	c, err := engine.OpenCorpus(path)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	v, err := engine.BuildByteVocab(c)
	if err != nil {
		c.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	return &Data{Corpus: c, Vocab: v, dir: dir}, nil
}

func allSymbols(vocab int) []byte {
	b := make([]byte, vocab)
	for i := range b {
		b[i] = byte(' ' + i)
	}
	return b
}

// Close removes the synthetic corpus.
func (d *Data) Close() error {
	d.Corpus.Close()
	return os.RemoveAll(d.dir)
}

// NewTrainer makes a trainer for the workload on this data, with
// min-char-rnn's Adagrad, as the PyTorch and numpy comparisons use.
func (d *Data) NewTrainer(k kernels.Backend, w Workload) (*engine.Trainer, error) {
	cfg := engine.TrainConfig{
		Model: w.Model(), Seq: w.Seq, Batch: w.Batch,
		Optimizer: "adagrad", LR: 0.1,
		Clip: engine.Clip{Mode: "value", Limit: 5}, Seed: 1, Precision: w.Precision,
	}
	return engine.NewTrainer(cfg, k, d.Corpus, d.Vocab)
}

// sideTurns is how many turns each of the runs measured side by side takes.
const sideTurns = 10

// MeasureTrainSide trains each trainer for about d, after a short warm-up
// of each, and returns their characters per second. The trainers take
// turns of d/sideTurns, so that they go through the same slow and fast
// spells of a shared machine: their ratio is then steadier than that of
// runs made one after the other.
func MeasureTrainSide(trs []*engine.Trainer, d time.Duration) ([]float64, error) {
	for _, tr := range trs {
		for i := 0; i < 3; i++ {
			if _, err := tr.TrainStep(); err != nil {
				return nil, err
			}
		}
	}
	return takeTurns(len(trs), d, func(i int) (int64, error) {
		seen := trs[i].CharsSeen
		_, err := trs[i].TrainStep()
		return trs[i].CharsSeen - seen, err
	})
}

// MeasureSampleSide generates with each sampler for about d, taking turns
// as MeasureTrainSide does, and returns their characters per second.
func MeasureSampleSide(ss []*engine.Sampler, d time.Duration) []float64 {
	const chunk = 64
	for _, s := range ss {
		s.Reset()
	}
	rates, _ := takeTurns(len(ss), d, func(i int) (int64, error) {
		ss[i].Generate(chunk, func(int32) {})
		return chunk, nil
	})
	return rates
}

// takeTurns gives n runs sideTurns turns of d/sideTurns each, in which run
// i repeats unit(i) (which reports the characters it made), and returns
// each run's characters per second.
func takeTurns(n int, d time.Duration, unit func(i int) (int64, error)) ([]float64, error) {
	spent := make([]time.Duration, n)
	chars := make([]int64, n)
	for turn := 0; turn < sideTurns; turn++ {
		for i := range n {
			start := time.Now()
			for time.Since(start) < d/sideTurns {
				c, err := unit(i)
				if err != nil {
					return nil, err
				}
				chars[i] += c
			}
			spent[i] += time.Since(start)
		}
	}
	rates := make([]float64, n)
	for i := range rates {
		rates[i] = float64(chars[i]) / spent[i].Seconds()
	}
	return rates, nil
}
