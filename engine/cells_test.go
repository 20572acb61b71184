package engine

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"charrnn/kernels"
)

// cellConfigs are the models every cell is tried as: one layer, and two
// with dropout.
func cellConfigs() []ModelConfig {
	var cs []ModelConfig
	for _, cell := range CellNames() {
		cs = append(cs, ModelConfig{Cell: cell, Layers: 1, Hidden: 24}, ModelConfig{Cell: cell, Layers: 2, Hidden: 20, Dropout: 0.2})
	}
	return cs
}

func (c ModelConfig) String() string {
	return fmt.Sprintf("%s/L=%d/H=%d/dropout=%v", c.Cell, c.Layers, c.Hidden, c.Dropout)
}

func cellTrainConfig(m ModelConfig, batch int) TrainConfig {
	return TrainConfig{Model: m, Seq: 12, Batch: batch, Optimizer: "adam", LR: 0.01, Clip: Clip{Mode: "norm", Limit: 5}, Seed: 9,
		ValFrac: 0.1, Guard: Guard{SnapshotEvery: 4, LRFactor: 0.5, Retries: 3}}
}

// Every cell, stacked and with dropout, learns the pairs rule down to near
// its floor of (ln 2)/2 nats per character.
func TestEveryCellLearns(t *testing.T) {
	corpus, vocab := writeCorpus(t, pairsText(20000, 3))
	for _, m := range cellConfigs() {
		t.Run(m.String(), func(t *testing.T) {
			tr, err := NewTrainer(cellTrainConfig(m, 4), kernels.Best(), corpus, vocab)
			if err != nil {
				t.Fatal(err)
			}
			var last float64
			for i := 0; i < 300; i++ {
				r, err := tr.TrainStep()
				if err != nil {
					t.Fatal(err)
				}
				if i >= 280 {
					last += r.Loss / 20
				}
			}
			ev, err := tr.Validate()
			if err != nil {
				t.Fatal(err)
			}
			floor := math.Ln2 / 2
			if last > floor+0.15 || ev.LossNats > floor+0.15 {
				t.Fatalf("training loss %.3f, held-out %.3f after 300 steps; the floor is %.3f", last, ev.LossNats, floor)
			}
		})
	}
}

// A run and its resumption from a checkpoint halfway give the same
// parameters, optimizer state, carried states and samples bit for bit, for
// every cell (dropout masks included); two runs with one seed are one run.
func TestEveryCellResumesExactly(t *testing.T) {
	corpus, vocab := writeCorpus(t, pairsText(6000, 5)+"xyz")
	for _, k := range kernels.Supported() {
		for _, m := range cellConfigs() {
			t.Run(k.Name()+"/"+m.String(), func(t *testing.T) {
				cfg := cellTrainConfig(m, 3)
				run := func() *Trainer {
					tr, err := NewTrainer(cfg, k, corpus, vocab)
					if err != nil {
						t.Fatal(err)
					}
					return tr
				}
				straight := run()
				trainTo(t, straight, 20, 5)
				again := run()
				trainTo(t, again, 20, 5)
				if !slices.Equal(straight.Model.Params, again.Model.Params) {
					t.Fatal("two runs with the same seed differ")
				}

				first := run()
				trainTo(t, first, 10, 5)
				path := filepath.Join(t.TempDir(), "m.ckpt")
				if err := mustCheckpoint(t, first).Save(path); err != nil {
					t.Fatal(err)
				}
				ck, err := LoadCheckpoint(path)
				if err != nil {
					t.Fatal(err)
				}
				resumed := run()
				if err := resumed.Restore(ck); err != nil {
					t.Fatal(err)
				}
				trainTo(t, resumed, 20, 5)
				if !slices.Equal(straight.Model.Params, resumed.Model.Params) || !slices.Equal(savedState(straight), savedState(resumed)) {
					t.Fatal("parameters or carried states after resume differ from the uninterrupted run's")
				}
				for i, s := range straight.opt.State() {
					if !slices.Equal(s, resumed.opt.State()[i]) {
						t.Fatalf("optimizer state %d differs after resume", i)
					}
				}
				if a, b := straight.sample(), resumed.sample(); a != b {
					t.Fatalf("samples differ after resume: %q and %q", a, b)
				}
			})
		}
	}
}

// Sharing a batch's streams between two cores changes nothing, for every
// cell (on OpenBLAS, whose GEMM may round a row differently with another
// row count, a step agrees to rounding).
func TestEveryCellStreamSplit(t *testing.T) {
	corpus, vocab := writeCorpus(t, pairsText(6000, 6))
	for _, k := range kernels.Supported() {
		for _, m := range cellConfigs() {
			t.Run(k.Name()+"/"+m.String(), func(t *testing.T) {
				steps := 6
				if k.Name() == "openblas" {
					steps = 1
				}
				run := func(k kernels.Backend) []float32 {
					tr, err := NewTrainer(cellTrainConfig(m, 5), k, corpus, vocab)
					if err != nil {
						t.Fatal(err)
					}
					for range steps {
						if _, err := tr.TrainStep(); err != nil {
							t.Fatal(err)
						}
					}
					return tr.Model.Params
				}
				two := kernels.Parallel(k, 2)
				defer two.(io.Closer).Close()
				p1, p2 := run(k), run(two)
				for i := range p1 {
					same := math.Float32bits(p1[i]) == math.Float32bits(p2[i])
					if !same && !(k.Name() == "openblas" && math.Abs(float64(p1[i]-p2[i])) <= 1e-5*math.Max(1, math.Abs(float64(p1[i])))) {
						t.Fatalf("parameter %d: %v alone, %v on two cores", i, p1[i], p2[i])
					}
				}
			})
		}
	}
}

// A training step and a sampled character allocate nothing, for every
// cell, on one core and on two.
func TestEveryCellAllocatesNothing(t *testing.T) {
	corpus, vocab := writeCorpus(t, pairsText(6000, 7))
	for _, k := range kernels.Supported() {
		two := kernels.Parallel(k, 2)
		defer two.(io.Closer).Close()
		for _, kk := range []kernels.Backend{k, two} {
			for _, m := range cellConfigs() {
				for _, b := range []int{1, 3} {
					tr, err := NewTrainer(cellTrainConfig(m, b), kk, corpus, vocab)
					if err != nil {
						t.Fatal(err)
					}
					tr.TrainStep()
					if n := testing.AllocsPerRun(20, func() {
						if _, err := tr.TrainStep(); err != nil {
							t.Fatal(err)
						}
					}); n != 0 {
						t.Errorf("%s %v B=%d: %v allocations per step", kk.Name(), m, b, n)
					}
					s := NewSampler(kk, tr.Model, 1)
					if n := testing.AllocsPerRun(100, func() { s.Feed(s.Next()) }); n != 0 {
						t.Errorf("%s %v: %v allocations per sampled character", kk.Name(), m, n)
					}
				}
			}
		}
	}
}

// The sampler's single steps and the window passes are the same model:
// predicting a text character by character with Sampler.Feed gives the loss
// Evaluate measures, for every cell. Beam search of width 1 is greedy
// sampling, and every sampling mode draws symbols of the vocabulary.
func TestEveryCellSamplesWhatItEvaluates(t *testing.T) {
	text := pairsText(700, 8) + "the quick brown fox"
	corpus, vocab := writeCorpus(t, text)
	ids, err := vocab.Encode(text)
	if err != nil {
		t.Fatal(err)
	}
	k := kernels.Best()
	for _, c := range cellConfigs() {
		t.Run(c.String(), func(t *testing.T) {
			c.Vocab = vocab.Size()
			m, err := NewModel(c, 3)
			if err != nil {
				t.Fatal(err)
			}
			for i := range m.Params {
				m.Params[i] *= 4 // far from uniform, so that order matters
			}
			ev, err := Evaluate(k, m, vocab, corpus)
			if err != nil {
				t.Fatal(err)
			}
			s := NewSampler(k, m, 1)
			var total float64
			for i := 0; i+1 < len(ids); i++ {
				s.Feed(ids[i])
				total += float64(logSumExp(s.logits)) - float64(s.logits[ids[i+1]])
			}
			if want := total / float64(len(ids)-1); math.Abs(ev.LossNats-want) > 1e-4*math.Max(1, want) {
				t.Fatalf("Evaluate loss %.6f, character by character %.6f", ev.LossNats, want)
			}

			prime := ids[:5]
			g := NewSampler(k, m, 1)
			g.Greedy = true
			g.Prime(prime)
			var greedy []int32
			g.Generate(30, func(id int32) { greedy = append(greedy, id) })
			beam, _, err := BeamSearch(k, m, prime, 30, 1)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(greedy, beam) {
				t.Fatalf("beam of width 1 %v, greedy %v", beam, greedy)
			}
			if _, _, err := BeamSearch(k, m, prime, 20, 4); err != nil {
				t.Fatal(err)
			}
			r := NewSampler(k, m, 2)
			r.Temperature, r.TopK, r.TopP = 0.8, 3, 0.9
			r.Generate(200, func(id int32) {
				if id < 0 || int(id) >= vocab.Size() {
					t.Fatalf("drew id %d of a vocabulary of %d", id, vocab.Size())
				}
			})
		})
	}
}

// A sampler binds the model's parameters once and reads them in place: one
// made before they change, as the sampler of a training run is, computes
// what one made after does.
func TestEveryCellSamplerSeesUpdates(t *testing.T) {
	k := kernels.Best()
	for _, c := range cellConfigs() {
		t.Run(c.String(), func(t *testing.T) {
			c.Vocab = 7
			m, err := NewModel(c, 5)
			if err != nil {
				t.Fatal(err)
			}
			early := NewSampler(k, m, 1)
			for i := range m.Params {
				m.Params[i] = 3*m.Params[i] + 0.01 // every tensor, the biases too
			}
			late := NewSampler(k, m, 1)
			for _, id := range []int32{0, 3, 6, 2, 5} {
				early.Feed(id)
				late.Feed(id)
				if !slices.Equal(early.logits, late.logits) {
					t.Fatalf("after feeding %d: the sampler made before the update computes %v, one made after %v", id, early.logits, late.logits)
				}
			}
		})
	}
}

// Every cell's model exports to safetensors and imports back to the same
// parameters, and a trainer starts from them (-init-from).
func TestEveryCellExports(t *testing.T) {
	corpus, vocab := writeCorpus(t, pairsText(3000, 9))
	for _, c := range cellConfigs() {
		t.Run(c.String(), func(t *testing.T) {
			tr, err := NewTrainer(cellTrainConfig(c, 2), kernels.Best(), corpus, vocab)
			if err != nil {
				t.Fatal(err)
			}
			tr.TrainStep()
			data, err := EncodeSafetensors(tr.Model, vocab)
			if err != nil {
				t.Fatal(err)
			}
			m, v, err := DecodeSafetensors(data)
			if err != nil {
				t.Fatal(err)
			}
			if m.Config.Cell != c.Cell || m.Config.Layers != c.Layers || !slices.Equal(m.Params, tr.Model.Params) || !slices.Equal(v.Symbols, vocab.Symbols) {
				t.Fatalf("imported %v, %d parameters; exported %v", m.Config, len(m.Params), c)
			}
			fresh, err := NewTrainer(cellTrainConfig(c, 2), kernels.Best(), corpus, vocab)
			if err != nil {
				t.Fatal(err)
			}
			if err := fresh.InitFrom(m); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(fresh.Model.Params, tr.Model.Params) {
				t.Fatal("InitFrom did not take the imported parameters")
			}
		})
	}
}
