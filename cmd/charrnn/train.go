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
	initFrom, vocab                                string
	hidden, seq, batch, sampleLen, vocabSize       int
	steps, saveEvery, sampleEvery, reportEvery     int64
	lr, clip                                       float64
	duration                                       time.Duration
	seed                                           uint64
	resume, force                                  bool
	logPath, plotPath                              string // -log, -plot
}

func runTrain(args []string) error {
	var f trainFlags
	flags := newFlagSet("train", "[flags]")
	flags.StringVar(&f.data, "data", "", "training text: files, directories and globs, comma-separated (default: the Go standard library's *.go files)")
	flags.StringVar(&f.vocab, "vocab", engine.VocabBytes, "vocabulary: bytes (every byte value that occurs) or runes (Unicode code points of UTF-8 text)")
	flags.IntVar(&f.vocabSize, "vocab-size", engine.DefaultRuneVocabSize, "with -vocab runes: at most N symbols, the N-1 most frequent runes and <unk> for the rest")
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
	flags.StringVar(&f.initFrom, "init-from", "", "start from the weights (and vocabulary) of a file written by 'charrnn export'")
	flags.Uint64Var(&f.seed, "seed", 1, "random seed for initialisation and samples")
	flags.StringVar(&f.backend, "backend", "auto", "kernel backend: auto or a name (also CHARRNN_BACKEND)")
	flags.Int64Var(&f.sampleEvery, "sample-every", 1000, "print a sample every N steps (0: never)")
	flags.IntVar(&f.sampleLen, "sample-len", 200, "characters per sample")
	flags.Int64Var(&f.reportEvery, "report-every", 100, "report loss and speed every N steps")
	flags.StringVar(&f.logPath, "log", "", "append each report as a JSON line to `FILE` (replaced unless -resume)")
	flags.StringVar(&f.plotPath, "plot", "", "draw the loss curves to `FILE` (.png, .svg or .pdf) at each save and at the end")
	var prof profiling
	prof.register(flags)
	if err := flags.parse(args); err != nil {
		return err
	}

	switch {
	case f.vocab != engine.VocabBytes && f.vocab != engine.VocabRunes:
		return badInputf("-vocab must be %s or %s, got %q", engine.VocabBytes, engine.VocabRunes, f.vocab)
	case f.vocabSize < 2:
		return badInputf("-vocab-size must be at least 2 (<unk> and one rune), got %d", f.vocabSize)
	}
	startFrom, err := loadInitFrom(flags, &f)
	if err != nil {
		return err
	}
	var resumeFrom *engine.Checkpoint
	if f.resume {
		ck, err := engine.LoadCheckpoint(f.checkpoint)
		if err != nil {
			return badInput(err)
		}
		resumeFrom = ck
		if err := adoptCheckpointVocab(flags, &f, ck.Header); err != nil {
			return err
		}
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
	if err := checkTrainFlags(flags, &f, cfg); err != nil {
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
	var vocab *engine.Vocab
	if startFrom != nil {
		vocab, err = startFrom.vocabFor(corpus)
	} else {
		vocab, err = trainVocab(&f, corpus, resumeFrom)
	}
	if err != nil {
		return err
	}
	tr, err := engine.NewTrainer(cfg, k, corpus, vocab)
	if err != nil {
		return badInput(err)
	}
	if startFrom != nil {
		if err := startFrom.apply(tr); err != nil {
			return err
		}
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
	fmt.Fprintf(os.Stderr, "charrnn: backend %s; corpus %s (%s); vocabulary %d %s; H=%d (%d parameters) T=%d B=%d; %s lr %g\n",
		k.Name(), dataName, corpus.Describe(), vocab.Size(), vocab.Kind, cfg.Hidden, len(tr.Model.P.Slab), cfg.Seq, cfg.Batch, cfg.Optimizer, cfg.LR)
	if resumeFrom != nil {
		fmt.Fprintf(os.Stderr, "charrnn: resuming %s at step %d\n", f.checkpoint, tr.Step)
	}

	rep, err := newReporter(reportConfig{
		stderr: os.Stderr, stdout: os.Stdout, terminal: stderrIsTerminal(),
		startStep: tr.Step, steps: f.steps, duration: f.duration,
		logPath: f.logPath, plotPath: f.plotPath, appendLog: f.resume,
	})
	if err != nil {
		return err
	}
	defer rep.close()

	stopProfiling, err := prof.start()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = trainLoop(ctx, tr, &f, dataName, rep)
	if perr := stopProfiling(); err == nil {
		err = perr
	}
	return err
}

// trainVocab is the vocabulary to train with: the checkpoint's when resuming,
// otherwise built from the corpus.
func trainVocab(f *trainFlags, corpus *engine.Corpus, resumeFrom *engine.Checkpoint) (*engine.Vocab, error) {
	switch {
	case f.vocab == engine.VocabRunes && resumeFrom != nil:
		// Runes the checkpoint lacks read as <unk>: nothing to check.
		vocab, err := engine.NewVocab(engine.VocabRunes, resumeFrom.Header.Vocab)
		if err != nil {
			return nil, badInput(fmt.Errorf("resume %s: %w", f.checkpoint, err))
		}
		return vocab, nil
	case f.vocab == engine.VocabRunes:
		vocab, err := engine.BuildRuneVocab(corpus, f.vocabSize)
		if err != nil {
			return nil, badInput(err)
		}
		return vocab, nil
	}
	vocab, err := engine.BuildByteVocab(corpus)
	if err != nil {
		return nil, badInput(err)
	}
	if resumeFrom != nil {
		// Continue with the checkpoint's vocabulary, which must cover the data.
		if vocab, err = resumeVocab(resumeFrom, vocab); err != nil {
			return nil, badInput(fmt.Errorf("resume %s: %w", f.checkpoint, err))
		}
	}
	return vocab, nil
}

// adoptCheckpointVocab takes the vocabulary kind of the checkpoint being
// resumed; -vocab or -vocab-size given explicitly must agree with it.
func adoptCheckpointVocab(flags *commandFlags, f *trainFlags, h engine.Header) error {
	if flags.isSet("vocab") && f.vocab != h.VocabKind {
		return badInputf("-vocab %s: checkpoint %s was trained with -vocab %s", f.vocab, f.checkpoint, h.VocabKind)
	}
	if h.VocabKind == engine.VocabRunes && flags.isSet("vocab-size") && f.vocabSize != len(h.Vocab) {
		return badInputf("-vocab-size %d: checkpoint %s has a vocabulary of %d", f.vocabSize, f.checkpoint, len(h.Vocab))
	}
	f.vocab = h.VocabKind
	return nil
}

// resumeVocab returns the checkpoint's byte vocabulary after checking that
// it has every symbol of the corpus's.
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
func checkTrainFlags(flags *commandFlags, f *trainFlags, cfg engine.TrainConfig) error {
	if f.vocab == engine.VocabBytes && flags.isSet("vocab-size") {
		return badInputf("-vocab-size applies to -vocab runes only (a byte vocabulary is the bytes that occur, at most 256)")
	}
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
	if f.logPath != "" {
		if err := checkOutputDir("-log", f.logPath); err != nil {
			return err
		}
	}
	if f.plotPath != "" {
		if err := checkPlotPath("-plot", f.plotPath); err != nil {
			return err
		}
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
func trainLoop(ctx context.Context, tr *engine.Trainer, f *trainFlags, dataName string, rep *reporter) error {
	start := time.Now()
	last, lastChars := start, tr.CharsSeen
	var lossSum float64
	var lossN int
	smoothed := 0.0
	save := func() error {
		if err := tr.Checkpoint(dataName, smoothed).Save(f.checkpoint); err != nil {
			return err
		}
		rep.saved()
		return nil
	}
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
			rep.close()
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
		rep.progress(tr.Step)
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
			rep.sample(tr.Step, sampleText(sampler, tr.Vocab, f.sampleLen))
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
	rep.sample(tr.Step, text)
	reportErr := rep.close()
	fmt.Fprintf(os.Stderr, "charrnn: trained %d steps (%d characters) in %s; checkpoint %s, sample %s\n",
		tr.Step, tr.CharsSeen, time.Since(start).Round(time.Second), f.checkpoint, samplePath)
	return reportErr
}

// sampleText draws n symbols from the zero state.
func sampleText(s *engine.Sampler, v *engine.Vocab, n int) string {
	s.Reset()
	ids := make([]int32, 0, n)
	s.Generate(n, func(id int32) { ids = append(ids, id) })
	return v.Decode(ids)
}
