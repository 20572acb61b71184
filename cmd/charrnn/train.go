package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"charrnn/engine"
)

// trainFlags are train's flags, named per the command-line contract.
type trainFlags struct {
	data, checkpoint, optimizer, clipMode, backend string
	hidden, seq, batch, sampleLen                  int
	steps, saveEvery, sampleEvery, reportEvery     int64
	lr, clip                                       float64
	duration                                       time.Duration
	seed                                           uint64
	resume, force                                  bool
}

func runTrain(args []string) error {
	var f trainFlags
	flags := newFlagSet("train", "[flags]")
	flags.StringVar(&f.data, "data", "", "training text: files, directories and globs, comma-separated (default: the Go standard library's *.go files)")
	flags.IntVar(&f.hidden, "hidden", 256, "hidden state size H")
	flags.IntVar(&f.seq, "seq", 64, "characters per window T (the truncated back-propagation length)")
	flags.IntVar(&f.batch, "batch", 16, "streams trained together B")
	flags.Int64Var(&f.steps, "steps", 0, "stop when the step counter reaches N (0: no limit)")
	flags.DurationVar(&f.duration, "time", 0, "stop after this much training, e.g. 2m (0: no limit)")
	flags.Float64Var(&f.lr, "lr", 0, "learning rate (default: the optimizer's: sgd 0.01, adagrad 0.1, adam 0.002)")
	flags.StringVar(&f.optimizer, "optimizer", "adam", "sgd, adagrad or adam")
	flags.Float64Var(&f.clip, "clip", 5, "gradient clipping limit")
	flags.StringVar(&f.clipMode, "clip-mode", "value", "value (each element to ±clip, the notebook's), norm (global L2 norm) or none")
	flags.StringVar(&f.checkpoint, "checkpoint", "charrnn.ckpt", "checkpoint file to save to (and to continue with -resume)")
	flags.Int64Var(&f.saveEvery, "save-every", 1000, "save a checkpoint every N steps (0: only at the end)")
	flags.BoolVar(&f.resume, "resume", false, "continue training the model in -checkpoint")
	flags.BoolVar(&f.force, "force", false, "start afresh even if -checkpoint exists, replacing it")
	flags.Uint64Var(&f.seed, "seed", 1, "random seed for initialisation and samples")
	flags.StringVar(&f.backend, "backend", "auto", "kernel backend: auto or a name (also CHARRNN_BACKEND)")
	flags.Int64Var(&f.sampleEvery, "sample-every", 1000, "print a sample every N steps (0: never)")
	flags.IntVar(&f.sampleLen, "sample-len", 200, "characters per sample")
	flags.Int64Var(&f.reportEvery, "report-every", 100, "report loss and speed every N steps")
	var prof profiling
	prof.register(flags)
	if err := flags.parse(args); err != nil {
		return err
	}

	var resumeFrom *engine.Checkpoint
	if f.resume {
		ck, err := engine.LoadCheckpoint(f.checkpoint)
		if err != nil {
			return badInput(err)
		}
		resumeFrom = ck
		adoptCheckpointConfig(flags, &f, ck.Header)
	} else if _, err := os.Stat(f.checkpoint); err == nil && !f.force {
		return badInputf("checkpoint %s already exists: pass -resume to continue it or -force to replace it", f.checkpoint)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return badInputf("checkpoint %s: %v", f.checkpoint, err)
	}
	if !flags.isSet("lr") && resumeFrom == nil {
		f.lr = float64(engine.DefaultLR(f.optimizer))
	}
	cfg := engine.TrainConfig{
		Hidden: f.hidden, Seq: f.seq, Batch: f.batch,
		Optimizer: f.optimizer, LR: float32(f.lr),
		Clip: engine.Clip{Mode: f.clipMode, Limit: float32(f.clip)},
		Seed: f.seed,
	}
	if err := checkTrainFlags(&f, cfg); err != nil {
		return err
	}

	k, err := chooseBackend(f.backend)
	if err != nil {
		return err
	}
	corpus, err := engine.OpenCorpus(f.data)
	if err != nil {
		return badInput(err)
	}
	defer corpus.Close()
	vocab, err := engine.BuildByteVocab(corpus)
	if err != nil {
		return badInput(err)
	}
	if resumeFrom != nil {
		// Continue with the checkpoint's vocabulary, which must cover the data.
		if vocab, err = resumeVocab(resumeFrom, vocab); err != nil {
			return badInput(fmt.Errorf("resume %s: %w", f.checkpoint, err))
		}
	}
	tr, err := engine.NewTrainer(cfg, k, corpus, vocab)
	if err != nil {
		return badInput(err)
	}
	if resumeFrom != nil {
		if err := tr.Restore(resumeFrom); err != nil {
			return badInput(fmt.Errorf("resume %s: %w", f.checkpoint, err))
		}
	}
	dataName := f.data
	if dataName == "" {
		dataName = "the Go standard library"
	}
	fmt.Fprintf(os.Stderr, "charrnn: backend %s; corpus %s (%s); vocabulary %d; H=%d (%d parameters) T=%d B=%d; %s lr %g\n",
		k.Name(), dataName, corpus.Describe(), vocab.Size(), cfg.Hidden, len(tr.Model.P.Slab), cfg.Seq, cfg.Batch, cfg.Optimizer, cfg.LR)
	if resumeFrom != nil {
		fmt.Fprintf(os.Stderr, "charrnn: resuming %s at step %d\n", f.checkpoint, tr.Step)
	}

	stopProfiling, err := prof.start()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = trainLoop(ctx, tr, &f, dataName)
	if perr := stopProfiling(); err == nil {
		err = perr
	}
	return err
}

// resumeVocab returns the checkpoint's vocabulary after checking that it
// has every symbol of the corpus's.
func resumeVocab(ck *engine.Checkpoint, corpusVocab *engine.Vocab) (*engine.Vocab, error) {
	vocab, err := engine.NewByteVocab(ck.Header.Vocab)
	if err != nil {
		return nil, err
	}
	var missing []byte
	for _, sym := range corpusVocab.Symbols {
		if _, ok := vocab.ID(sym); !ok {
			missing = append(missing, byte(sym))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the data has %d characters the checkpoint's vocabulary lacks: %q", len(missing), missing)
	}
	return vocab, nil
}

// checkTrainFlags validates everything that can be checked before reading
// any data.
func checkTrainFlags(f *trainFlags, cfg engine.TrainConfig) error {
	if err := cfg.Validate(); err != nil {
		return badInput(err)
	}
	switch {
	case f.steps < 0:
		return badInputf("-steps must not be negative, got %d", f.steps)
	case f.duration < 0:
		return badInputf("-time must not be negative, got %v", f.duration)
	case f.saveEvery < 0:
		return badInputf("-save-every must not be negative, got %d", f.saveEvery)
	case f.sampleEvery < 0:
		return badInputf("-sample-every must not be negative, got %d", f.sampleEvery)
	case f.sampleLen <= 0:
		return badInputf("-sample-len must be positive, got %d", f.sampleLen)
	case f.reportEvery <= 0:
		return badInputf("-report-every must be positive, got %d", f.reportEvery)
	case f.checkpoint == "":
		return badInputf("-checkpoint must name a file")
	}
	if info, err := os.Stat(filepath.Dir(f.checkpoint)); err != nil || !info.IsDir() {
		return badInputf("-checkpoint %s: directory %s does not exist", f.checkpoint, filepath.Dir(f.checkpoint))
	}
	// Found now rather than when the first save fails (or renames over a
	// device file) after the training.
	if info, err := os.Stat(f.checkpoint); err == nil && !info.Mode().IsRegular() {
		return badInputf("-checkpoint %s is not a regular file", f.checkpoint)
	}
	return nil
}

// adoptCheckpointConfig takes the run's settings from the checkpoint being
// resumed, except those given explicitly (Restore rejects a shape that
// disagrees with the checkpoint).
func adoptCheckpointConfig(flags *commandFlags, f *trainFlags, h engine.Header) {
	adopt := func(name string, apply func()) {
		if !flags.isSet(name) {
			apply()
		}
	}
	adopt("hidden", func() { f.hidden = h.Hidden })
	adopt("seq", func() { f.seq = h.Seq })
	adopt("batch", func() { f.batch = h.Batch })
	adopt("optimizer", func() { f.optimizer = h.Optimizer })
	adopt("lr", func() { f.lr = float64(h.LR) })
	adopt("clip-mode", func() { f.clipMode = h.ClipMode })
	adopt("clip", func() { f.clip = float64(h.Clip) })
	adopt("seed", func() { f.seed = h.Seed })
}

// trainLoop runs steps until -steps or -time is reached or a signal
// arrives, reporting, sampling and saving along the way. An interrupted run
// saves its checkpoint and returns errInterrupted (exit status 130).
func trainLoop(ctx context.Context, tr *engine.Trainer, f *trainFlags, dataName string) error {
	start := time.Now()
	rep := newReporter(os.Stderr)
	last, lastChars := start, tr.CharsSeen
	var lossSum float64
	var lossN int
	smoothed := 0.0
	save := func() error { return tr.Checkpoint(dataName, smoothed).Save(f.checkpoint) }
	sampler := engine.NewSampler(tr.Backend(), tr.Model, f.seed)
	for {
		if f.steps > 0 && tr.Step >= f.steps {
			break
		}
		if f.duration > 0 && time.Since(start) >= f.duration {
			break
		}
		if ctx.Err() != nil {
			if err := save(); err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "charrnn: interrupted at step %d; checkpoint saved to %s\n", tr.Step, f.checkpoint)
			return errInterrupted
		}
		res, err := tr.TrainStep()
		if err != nil {
			return err
		}
		if smoothed == 0 {
			smoothed = res.Loss
		}
		smoothed = 0.99*smoothed + 0.01*res.Loss
		lossSum += res.Loss
		lossN++
		if tr.Step%f.reportEvery == 0 {
			now := time.Now()
			mean := lossSum / float64(lossN)
			rep.report(record{
				Step: tr.Step, Chars: tr.CharsSeen,
				Loss: mean, BitsPerChar: mean / math.Ln2,
				LR:          float64(tr.Config.LR),
				CharsPerSec: float64(tr.CharsSeen-lastChars) / now.Sub(last).Seconds(),
				GradNorm:    res.GradNorm,
				Seconds:     now.Sub(start).Seconds(),
			})
			last, lastChars, lossSum, lossN = now, tr.CharsSeen, 0, 0
		}
		if f.sampleEvery > 0 && tr.Step%f.sampleEvery == 0 {
			fmt.Printf("--- sample at step %d ---\n%s\n---\n", tr.Step, sampleText(sampler, tr.Vocab, f.sampleLen))
		}
		if f.saveEvery > 0 && tr.Step%f.saveEvery == 0 {
			if err := save(); err != nil {
				return err
			}
		}
	}
	if err := save(); err != nil {
		return err
	}
	text := sampleText(sampler, tr.Vocab, f.sampleLen)
	samplePath := strings.TrimSuffix(f.checkpoint, filepath.Ext(f.checkpoint)) + ".sample.txt"
	if err := os.WriteFile(samplePath, []byte(text+"\n"), 0o644); err != nil {
		return fmt.Errorf("write sample: %w", err)
	}
	fmt.Printf("--- sample at step %d ---\n%s\n---\n", tr.Step, text)
	fmt.Fprintf(os.Stderr, "charrnn: trained %d steps (%d characters) in %s; checkpoint %s, sample %s\n",
		tr.Step, tr.CharsSeen, time.Since(start).Round(time.Second), f.checkpoint, samplePath)
	return nil
}

// sampleText draws n symbols from the zero state.
func sampleText(s *engine.Sampler, v *engine.Vocab, n int) string {
	s.Reset()
	ids := make([]int32, 0, n)
	s.Generate(n, func(id int32) { ids = append(ids, id) })
	return v.Decode(ids)
}
