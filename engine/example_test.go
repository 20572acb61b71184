package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"charrnn/engine"
	"charrnn/kernels"
)

// trainABC trains a small model on "abcabc..." and returns the trainer.
func trainABC() (*engine.Trainer, error) {
	corpus, err := engine.NewCorpus("abc", []byte(strings.Repeat("abc", 2000)))
	if err != nil {
		return nil, err
	}
	vocab, err := engine.BuildByteVocab(corpus)
	if err != nil {
		return nil, err
	}
	cfg := engine.DefaultTrainConfig()
	cfg.Model = engine.ModelConfig{Cell: "rnn", Layers: 1, Hidden: 16} // the notebook's vanilla RNN
	cfg.Seq, cfg.Batch, cfg.LR = 16, 4, 0.01
	tr, err := engine.NewTrainer(cfg, kernels.Best(), corpus, vocab)
	if err != nil {
		return nil, err
	}
	for tr.Step < 150 {
		if _, err := tr.TrainStep(); err != nil {
			return nil, err
		}
	}
	return tr, nil
}

// Train a small model on a string, then write text with it.
func Example() {
	corpus, err := engine.NewCorpus("abc", []byte(strings.Repeat("abc", 2000)))
	if err != nil {
		fmt.Println(err)
		return
	}
	vocab, err := engine.BuildByteVocab(corpus)
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg := engine.DefaultTrainConfig()                                 // Adam; the default model is a 2-layer LSTM
	cfg.Model = engine.ModelConfig{Cell: "rnn", Layers: 1, Hidden: 16} // the notebook's vanilla RNN
	cfg.Seq, cfg.Batch, cfg.LR = 16, 4, 0.01
	k := kernels.Best()
	tr, err := engine.NewTrainer(cfg, k, corpus, vocab)
	if err != nil {
		fmt.Println(err)
		return
	}
	for tr.Step < 150 { // data, forward, backward, update
		if _, err := tr.TrainStep(); err != nil {
			fmt.Println(err)
			return
		}
	}

	s := engine.NewSampler(k, tr.Model, 1)
	s.Greedy = true // the most likely character each time
	prime, _ := vocab.Encode("a")
	s.Prime(prime)
	var ids []int32
	s.Generate(11, func(id int32) { ids = append(ids, id) })
	fmt.Println("a" + vocab.Decode(ids))
	// Output: abcabcabcabc
}

// Measure how well a model predicts a text.
func ExampleEvaluate() {
	tr, err := trainABC()
	if err != nil {
		fmt.Println(err)
		return
	}
	text, _ := engine.NewCorpus("held out", []byte("cabcabcabcabcabcabcabcab"))
	ev, err := engine.Evaluate(kernels.Best(), tr.Model, tr.Vocab, text)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d characters predicted, under 0.5 bits each: %v\n", ev.Chars, ev.BitsPerChar() < 0.5)
	// Output: 23 characters predicted, under 0.5 bits each: true
}

// Save a checkpoint and load it back.
func ExampleLoadCheckpoint() {
	tr, err := trainABC()
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, _ := os.MkdirTemp("", "charrnn-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "abc.ckpt")
	ck, err := tr.Checkpoint()
	if err == nil {
		err = ck.Save(path) // atomic: the old file or the new, never a mix
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	loaded, err := engine.LoadCheckpoint(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	m := loaded.Model()
	fmt.Printf("%s, %d layer(s) of %d, step %d, %d parameters\n", m.Config.Cell, m.Config.Layers, m.Config.Hidden, loaded.Header.Step, len(m.Params))
	for _, t := range m.Layout.Tensors {
		fmt.Println(t.Name, t.ExportShape())
	}
	// Output:
	// rnn, 1 layer(s) of 16, step 150, 371 parameters
	// U [16 3]
	// W [16 16]
	// V [3 16]
	// b [16]
	// c [3]
}

// Export a model as safetensors, for PyTorch or numpy, and read it back.
func ExampleExportSafetensors() {
	tr, err := trainABC()
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, _ := os.MkdirTemp("", "charrnn-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "abc.safetensors")
	if err := engine.ExportSafetensors(path, tr.Model, tr.Vocab); err != nil {
		fmt.Println(err)
		return
	}
	m, vocab, err := engine.LoadSafetensors(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d parameters, vocabulary %q\n", len(m.Params), vocab.Decode([]int32{0, 1, 2}))
	// Output: 371 parameters, vocabulary "abc"
}

// printer shows a training run's reports.
type printer struct{}

func (printer) Stepped(int64)          {}
func (printer) Sample(int64, string)   {}
func (printer) Note(msg string)        { fmt.Println(msg) }
func (printer) Saved(path string)      { fmt.Println("saved", filepath.Base(path)) }
func (printer) Report(r engine.Record) { fmt.Printf("step %d, %d characters\n", r.Step, r.Chars) }

// Run the training loop: it reports, validates, samples and saves as the
// configuration says, until a limit.
func ExampleTrainer_Run() {
	corpus, _ := engine.NewCorpus("abc", []byte(strings.Repeat("abc", 2000)))
	vocab, _ := engine.BuildByteVocab(corpus)
	cfg := engine.DefaultTrainConfig()
	cfg.Model = engine.ModelConfig{Cell: "rnn", Layers: 1, Hidden: 16}
	cfg.Seq, cfg.Batch = 16, 4
	cfg.ReportEvery, cfg.SaveEvery, cfg.SampleEvery = 25, 50, 0
	tr, err := engine.NewTrainer(cfg, kernels.Best(), corpus, vocab)
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, _ := os.MkdirTemp("", "charrnn-example")
	defer os.RemoveAll(dir)
	out, err := tr.Run(context.Background(), filepath.Join(dir, "abc.ckpt"), engine.Limits{Steps: 60}, printer{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("stopped at the %s limit; final sample of %d characters\n", out.Stop, len(out.Sample))
	// Output:
	// step 25, 1600 characters
	// step 50, 3200 characters
	// saved abc.ckpt
	// saved abc.ckpt
	// stopped at the steps limit; final sample of 200 characters
}
