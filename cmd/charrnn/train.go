package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"charrnn/engine"
)

// trainFlags are train's flags, named per the command-line contract.
type trainFlags struct {
	data, checkpoint, optimizer, clipMode      string
	backend                                    backendFlags
	initFrom, vocab                            string
	hidden, seq, batch, sampleLen, vocabSize   int
	steps, saveEvery, sampleEvery, reportEvery int64
	lr, clip                                   float64
	duration                                   time.Duration
	seed                                       uint64
	resume, force                              bool
	logPath, plotPath                          string // -log, -plot

	momentum, rho, weightDecay float64

	schedule               string
	decay                  float64
	decayAfter, warmup     int64
	plateauPatience        int
	valFrac                float64
	evalEvery, valMaxChars int64
	patience               int
	snapshotEvery          int64
	nanLRFactor            float64
	nanRetries             int
}

// maxHistory bounds the progress records a checkpoint keeps (the latest).
const maxHistory = 10000

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
	flags.Float64Var(&f.lr, "lr", 0, "base learning rate (default: the optimizer's: sgd 0.01, adagrad 0.1, rmsprop, adam and adamw 0.002)")
	flags.StringVar(&f.optimizer, "optimizer", "adam", "sgd, adagrad, rmsprop, adam or adamw")
	flags.Float64Var(&f.momentum, "momentum", 0, "sgd: heavy-ball momentum M in [0, 1): v = M·v + g, p -= lr·v")
	flags.Float64Var(&f.rho, "rho", engine.DefaultRho, "rmsprop: decay of the mean squared gradient, in (0, 1)")
	flags.Float64Var(&f.weightDecay, "weight-decay", engine.DefaultWeightDecay, "adamw: decoupled weight decay W in [0, 1): p -= lr·W·p each step")
	flags.StringVar(&f.schedule, "schedule", "constant", "learning-rate schedule: constant, step (×decay per epoch after -decay-after epochs), cosine (to about 0 at -steps) or plateau (×decay after -plateau-patience validations without improvement)")
	flags.Float64Var(&f.decay, "decay", 0.97, "step and plateau schedules: the factor of each cut, in (0, 1] (plateau's default: 0.5)")
	flags.Int64Var(&f.decayAfter, "decay-after", 10, "step schedule: epochs at the full rate before decaying (an epoch is the training part's size in characters trained on)")
	flags.Int64Var(&f.warmup, "warmup", 0, "raise the learning rate linearly over the first N steps (any schedule)")
	flags.IntVar(&f.plateauPatience, "plateau-patience", 3, "plateau schedule: validations without improvement before a cut")
	flags.Float64Var(&f.valFrac, "val-frac", 0, "hold out this fraction F of the corpus, at its end, for validation (0 ≤ F < 1; 0: none)")
	flags.Int64Var(&f.evalEvery, "eval-every", 0, "evaluate the held-out tail every N steps (default: 10×report-every when -val-frac > 0)")
	flags.Int64Var(&f.valMaxChars, "val-max-chars", 1_000_000, "evaluate at most the first N characters of the held-out tail")
	flags.IntVar(&f.patience, "patience", 0, "stop after N validations without improvement (0: never stop early)")
	flags.Int64Var(&f.snapshotEvery, "snapshot-every", 100, "keep an in-memory copy of the last good state every N steps, to roll back to if the loss or gradient goes NaN/Inf")
	flags.Float64Var(&f.nanLRFactor, "nan-lr-factor", 0.5, "after a NaN/Inf rollback, multiply the learning rate by this, in (0, 1]")
	flags.IntVar(&f.nanRetries, "nan-retries", 3, "NaN/Inf rollbacks allowed before giving up (exit status 1; the checkpoint on disk is left as it was)")
	flags.Float64Var(&f.clip, "clip", 5, "gradient clipping limit")
	flags.StringVar(&f.clipMode, "clip-mode", "value", "value (each element to ±clip, the notebook's), norm (global L2 norm) or none")
	flags.StringVar(&f.checkpoint, "checkpoint", "charrnn.ckpt", "checkpoint file to save to (and to continue with -resume)")
	flags.Int64Var(&f.saveEvery, "save-every", 1000, "save a checkpoint every N steps (0: only at the end)")
	flags.BoolVar(&f.resume, "resume", false, "continue training the model in -checkpoint")
	flags.BoolVar(&f.force, "force", false, "start afresh even if -checkpoint exists, replacing it")
	flags.StringVar(&f.initFrom, "init-from", "", "start from the weights (and vocabulary) of a file written by 'charrnn export'")
	flags.Uint64Var(&f.seed, "seed", 1, "random seed for initialisation and samples")
	f.backend.register(flags, "auto")
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
	// Held for the whole run, before the checkpoint is read or replaced.
	unlock, err := lockCheckpoint(f.checkpoint)
	if err != nil {
		return err
	}
	defer unlock()
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
	// A directory the checkpoint cannot be written to is found now, not
	// after the training it was meant to keep.
	if err := engine.CheckWritable(f.checkpoint); err != nil {
		return badInputf("cannot save checkpoint %s: %v", f.checkpoint, err)
	}
	if !flags.isSet("lr") && resumeFrom == nil {
		f.lr = float64(engine.DefaultLR(f.optimizer))
	}
	if f.schedule == "plateau" && !flags.isSet("decay") && (resumeFrom == nil || resumeFrom.Header.Schedule == nil || resumeFrom.Header.Schedule.Kind != "plateau") {
		f.decay = 0.5
	}
	if f.valFrac > 0 && !flags.isSet("eval-every") {
		f.evalEvery = 10 * f.reportEvery
	}
	cfg := engine.TrainConfig{
		Hidden: f.hidden, Seq: f.seq, Batch: f.batch,
		Optimizer: f.optimizer, LR: float32(f.lr),
		Clip: engine.Clip{Mode: f.clipMode, Limit: float32(f.clip)},
		Seed: f.seed,
		Schedule: engine.Schedule{Kind: f.schedule, Warmup: f.warmup, Decay: f.decay, DecayAfter: f.decayAfter,
			Steps: f.steps, PlateauPatience: f.plateauPatience},
		ValFrac: f.valFrac, ValMaxChars: f.valMaxChars,
		Guard: engine.Guard{SnapshotEvery: f.snapshotEvery, LRFactor: f.nanLRFactor, Retries: f.nanRetries},
	}
	// Each optimizer's own setting, checked (by cfg.Validate) only when given.
	if f.optimizer == "sgd" || flags.isSet("momentum") {
		cfg.Momentum = float32(f.momentum)
	}
	if f.optimizer == "rmsprop" || flags.isSet("rho") {
		cfg.Rho = float32(f.rho)
	}
	if f.optimizer == "adamw" || flags.isSet("weight-decay") {
		cfg.WeightDecay = float32(f.weightDecay)
	}
	if err := checkTrainFlags(flags, &f, cfg); err != nil {
		return err
	}

	k, err := f.backend.choose(true)
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
	fmt.Fprintf(os.Stderr, "charrnn: backend %s, %d thread(s)%s; corpus %s (%s); vocabulary %d %s; H=%d (%d parameters) T=%d B=%d; %s lr %g, %s schedule\n",
		k.Name(), f.backend.threads, openblasNote(k.Name()), dataName, corpus.Describe(), vocab.Size(), vocab.Kind, cfg.Hidden, len(tr.Model.P.Slab), cfg.Seq, cfg.Batch, cfg.Optimizer, cfg.LR, f.schedule)
	if cfg.ValFrac > 0 {
		from, to := tr.HeldOut()
		fmt.Fprintf(os.Stderr, "charrnn: training on the first %d characters; validating on %d held-out characters every %d steps\n",
			tr.TrainSize(), to-from, f.evalEvery)
	}
	sampler := engine.NewSampler(tr.Backend(), tr.Model, f.seed)
	var history []json.RawMessage
	smoothed := 0.0
	if resumeFrom != nil {
		h := resumeFrom.Header
		if h.SampleRNG != nil {
			if err := sampler.SetRNGState(h.SampleRNG); err != nil {
				return badInput(fmt.Errorf("resume %s: %w", f.checkpoint, err))
			}
		}
		history, smoothed = h.History, h.Loss
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
	err = trainLoop(ctx, tr, &f, loopState{dataName: dataName, sampler: sampler, history: history, smoothed: smoothed, rep: rep})
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
	case flags.isSet("rho") && !(f.rho > 0 && f.rho < 1):
		return badInputf("-rho must be in (0, 1), got %v", f.rho)
	case f.evalEvery < 0:
		return badInputf("-eval-every must not be negative, got %d", f.evalEvery)
	case f.valFrac > 0 && f.evalEvery == 0:
		return badInputf("-eval-every must be positive with -val-frac %v", f.valFrac)
	case f.valFrac == 0 && flags.isSet("eval-every"):
		return badInputf("-eval-every needs -val-frac > 0: there is nothing held out to evaluate")
	case f.valMaxChars <= 0:
		return badInputf("-val-max-chars must be positive, got %d", f.valMaxChars)
	case f.patience < 0:
		return badInputf("-patience must not be negative, got %d", f.patience)
	case f.patience > 0 && f.valFrac == 0:
		return badInputf("-patience needs -val-frac > 0: it counts validations without improvement")
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
	adopt("momentum", func() { f.momentum = float64(h.Momentum) })
	if h.Rho != 0 {
		adopt("rho", func() { f.rho = float64(h.Rho) })
	}
	if h.WeightDecay != 0 || h.Optimizer == "adamw" {
		adopt("weight-decay", func() { f.weightDecay = float64(h.WeightDecay) })
	}
	adopt("val-frac", func() { f.valFrac = h.ValFrac })
	if s := h.Schedule; s != nil && s.Kind != "" {
		adopt("schedule", func() { f.schedule = s.Kind })
		adopt("warmup", func() { f.warmup = s.Warmup })
		if s.Kind == "step" || s.Kind == "plateau" {
			adopt("decay", func() { f.decay = s.Decay })
		}
		if s.Kind == "step" {
			adopt("decay-after", func() { f.decayAfter = s.DecayAfter })
		}
		if s.Kind == "plateau" {
			adopt("plateau-patience", func() { f.plateauPatience = s.PlateauPatience })
		}
	}
}

// loopState is what trainLoop continues from: the sampler (whose random state a
// resumed run restores), the progress records so far and the smoothed loss,
// and where progress is reported.
type loopState struct {
	dataName string
	sampler  *engine.Sampler
	history  []json.RawMessage
	smoothed float64
	rep      *reporter
}

// trainLoop runs steps until -steps or -time is reached, validation stops
// improving (-patience) or a signal arrives, reporting, validating,
// sampling and saving along the way. An interrupted run saves its
// checkpoint and returns errInterrupted (exit status 130). A step whose
// loss or gradient is not finite is rolled back (-nan-retries); when none
// are left the run stops with an error and saves nothing.
func trainLoop(ctx context.Context, tr *engine.Trainer, f *trainFlags, r loopState) error {
	start := time.Now()
	rep := r.rep
	last, lastChars := start, tr.CharsSeen
	var lossSum float64
	var lossN int
	bestPath := strings.TrimSuffix(f.checkpoint, filepath.Ext(f.checkpoint)) + ".best.ckpt"
	save := func(path string) error {
		if !tr.Finite() { // never expected: TrainStep and Recover keep the state finite
			return fmt.Errorf("not saving %s: the training state is not finite", path)
		}
		ck := tr.Checkpoint(r.dataName, r.smoothed)
		rng, err := r.sampler.RNGState()
		if err != nil {
			return err
		}
		ck.Header.SampleRNG, ck.Header.History = rng, r.history
		if err := ck.Save(path); err != nil {
			return err
		}
		rep.saved()
		return nil
	}
	for {
		if f.steps > 0 && tr.Step >= f.steps {
			break
		}
		if f.duration > 0 && time.Since(start) >= f.duration {
			break
		}
		if ctx.Err() != nil {
			if err := save(f.checkpoint); err != nil {
				return err
			}
			rep.close()
			fmt.Fprintf(os.Stderr, "charrnn: interrupted at step %d; checkpoint saved to %s\n", tr.Step, f.checkpoint)
			return errInterrupted
		}
		res, err := tr.TrainStep()
		if err == nil && savesAt(f, tr.Step) && !tr.Finite() {
			// An update overflowed; the next step would see it, but a save
			// is due first.
			err = &engine.NonFiniteError{Step: tr.Step, Params: true}
		}
		if err != nil {
			if err := tr.Recover(err); err != nil {
				return fmt.Errorf("%w; %s is left as last saved", err, f.checkpoint)
			}
			rep.note(fmt.Sprintf("charrnn: %v; rolled back to step %d with learning rate %.3g (rollback %d of %d)",
				err, tr.Step, tr.LR(), tr.State.Rollbacks, f.nanRetries))
			continue
		}
		if r.smoothed == 0 {
			r.smoothed = res.Loss
		}
		r.smoothed = 0.99*r.smoothed + 0.01*res.Loss
		rep.progress(tr.Step)
		lossSum += res.Loss
		lossN++

		var val *engine.Validation
		if f.valFrac > 0 && tr.Step%f.evalEvery == 0 {
			v, err := tr.Validate()
			if err != nil {
				return err
			}
			val = &v
		}
		if tr.Step%f.reportEvery == 0 || val != nil {
			now := time.Now()
			mean := lossSum / float64(lossN)
			rec := record{
				Step: tr.Step, Chars: tr.CharsSeen,
				Loss: mean, BitsPerChar: mean / math.Ln2,
				LR:          shortest(res.LR),
				CharsPerSec: float64(tr.CharsSeen-lastChars) / now.Sub(last).Seconds(),
				GradNorm:    res.GradNorm,
				Seconds:     now.Sub(start).Seconds(),
			}
			if val != nil {
				loss, bits, ppl := val.LossNats, val.BitsPerChar(), val.Perplexity()
				rec.ValLoss, rec.ValBitsPerChar, rec.ValPerplexity = &loss, &bits, &ppl
			}
			rep.report(rec)
			r.history = appendRecord(r.history, rec, maxHistory)
			last, lastChars, lossSum, lossN = now, tr.CharsSeen, 0, 0
		}
		if val != nil && val.Improved {
			if err := save(bestPath); err != nil {
				return err
			}
		}
		if val != nil && val.Cut {
			rep.note(fmt.Sprintf("charrnn: validation loss has not improved for %d evaluations; learning rate cut to %.3g", f.plateauPatience, tr.LR()))
		}
		if f.sampleEvery > 0 && tr.Step%f.sampleEvery == 0 {
			rep.sample(tr.Step, sampleText(r.sampler, tr.Vocab, f.sampleLen))
		}
		if f.saveEvery > 0 && tr.Step%f.saveEvery == 0 {
			if err := save(f.checkpoint); err != nil {
				return err
			}
		}
		if val != nil && f.patience > 0 && tr.State.BadEvals >= f.patience {
			rep.note(fmt.Sprintf("charrnn: stopping early at step %d: validation loss has not improved for %d evaluations (best %.4f nats/char at step %d, saved to %s)",
				tr.Step, tr.State.BadEvals, tr.State.BestVal, tr.State.BestValStep, bestPath))
			break
		}
	}
	// The checkpoint holds the sampler's state before the final sample, so a
	// resumed run draws what an uninterrupted one would.
	if err := save(f.checkpoint); err != nil {
		return err
	}
	text := sampleText(r.sampler, tr.Vocab, f.sampleLen)
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

// shortest is a float32 as the float64 with the same shortest decimal
// form, so 0.002 is logged as 0.002, not 0.0020000000949949026.
func shortest(x float32) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(float64(x), 'g', -1, 32), 64)
	return v
}

// savesAt reports whether step may save a checkpoint (periodic or best).
func savesAt(f *trainFlags, step int64) bool {
	return f.saveEvery > 0 && step%f.saveEvery == 0 || f.valFrac > 0 && step%f.evalEvery == 0
}

// appendRecord adds rec to the history, keeping only the latest max.
func appendRecord(history []json.RawMessage, rec record, max int) []json.RawMessage {
	b, err := json.Marshal(rec)
	if err != nil { // a record is plain numbers: cannot happen
		panic(err)
	}
	history = append(history, b)
	if len(history) > max {
		history = slices.Delete(history, 0, len(history)-max)
	}
	return history
}

// sampleText draws n symbols from the zero state.
func sampleText(s *engine.Sampler, v *engine.Vocab, n int) string {
	s.Reset()
	ids := make([]int32, 0, n)
	s.Generate(n, func(id int32) { ids = append(ids, id) })
	return v.Decode(ids)
}
