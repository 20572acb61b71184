package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"charrnn/engine"
	"charrnn/kernels"
)

// trainOptions are train's flags besides the engine's configuration: where
// the data and the checkpoint are, how long to train, what to show.
type trainOptions struct {
	data, vocab, checkpoint, initFrom string
	vocabSize                         int
	steps                             int64
	duration                          time.Duration
	resume, force                     bool
	logPath, plotPath                 string // -log, -plot
	backend                           backendFlags
	prof                              profiling
}

// trainFlags registers train's flags: cfg's (bound to its fields) and o's.
func trainFlags(cfg *engine.TrainConfig, o *trainOptions) *commandFlags {
	flags := newFlagSet("train", "[flags]")
	flags.StringVar(&o.data, "data", "", "training text: files, directories and globs, comma-separated (default: the Go standard library's *.go files)")
	flags.StringVar(&o.vocab, "vocab", engine.VocabBytes, "vocabulary: bytes (every byte value that occurs) or runes (Unicode code points of UTF-8 text)")
	flags.IntVar(&o.vocabSize, "vocab-size", engine.DefaultRuneVocabSize, "with -vocab runes: at most N symbols, the N-1 most frequent runes and <unk> for the rest")
	flags.Int64Var(&o.steps, "steps", 0, "stop when the step counter reaches N (0: no limit)")
	flags.DurationVar(&o.duration, "time", 0, "stop after this much training, e.g. 2m (0: no limit)")
	flags.StringVar(&o.checkpoint, "checkpoint", "charrnn.ckpt", "checkpoint file to save to (and to continue with -resume)")
	flags.BoolVar(&o.resume, "resume", false, "continue training the model in -checkpoint, with its settings except those given again")
	flags.BoolVar(&o.force, "force", false, "start afresh even if -checkpoint exists, replacing it")
	flags.StringVar(&o.initFrom, "init-from", "", "start from the weights (and vocabulary) of a file written by 'charrnn export'")
	flags.StringVar(&o.logPath, "log", "", "append each report as a JSON line to `FILE` (replaced unless -resume)")
	flags.StringVar(&o.plotPath, "plot", "", "draw the loss curves to `FILE` (.png, .svg or .pdf) at each save and at the end")
	bindTrainConfig(flags, cfg)
	o.backend.register(flags, "auto")
	o.prof.register(flags)
	return flags
}

// runTrain trains as one rank of a data-parallel job when mpirun started
// it (a binary built with -tags mpi), otherwise as a single process. Every
// rank runs the same steps; what could fail on one rank alone (its files)
// is agreed on before the ranks go on together (see distributed.go).
func runTrain(args []string) (err error) {
	job, err := startTrainJob()
	if err != nil {
		return err
	}
	defer func() { err = job.end(err) }()
	if err := job.sameArgs(args); err != nil {
		return err
	}
	run, err := setUpTrain(job, args)
	defer run.close()
	if err := job.agree(err); err != nil {
		return err
	}
	cfg, o, k, corpus, vocab, tr := run.cfg, run.o, run.k, run.corpus, run.vocab, run.tr
	if err := tr.Join(job.comm); err != nil {
		var ce *engine.CommError
		if errors.As(err, &ce) {
			return err
		}
		return job.shared(badInput(configError(err))) // every rank's, alike
	}
	if run.resumeFrom != nil {
		if err := tr.Restore(run.resumeFrom); err != nil {
			return job.shared(badInputf("resume %s: %v", o.checkpoint, configError(err)))
		}
	}
	m := tr.Model.Config
	if job.root() {
		fmt.Fprintf(os.Stderr, "charrnn: backend %s, %d thread(s)%s; corpus %s (%s); vocabulary %d %s; %s (%d parameters) T=%d B=%d; %s lr %g, %s schedule\n",
			k.Name(), o.backend.threads, openblasNote(k.Name()), tr.Data, corpus.Describe(), vocab.Size(), vocab.Kind,
			describeModel(m), len(tr.Model.Params), cfg.Seq, cfg.Batch, cfg.Optimizer, cfg.LR, cfg.Schedule.Kind)
		fmt.Fprintf(os.Stderr, "charrnn: precision %s (%s)\n", cfg.Precision, run.why)
		if tr.Ranks() > 1 {
			fmt.Fprintf(os.Stderr, "charrnn: data-parallel over %d ranks (MPI), %d streams each, %d in all\n", tr.Ranks(), cfg.Batch, tr.Ranks()*cfg.Batch)
		}
		if cfg.ValFrac > 0 {
			from, to := tr.HeldOut()
			fmt.Fprintf(os.Stderr, "charrnn: training on the first %d characters; validating on %d held-out characters every %d steps\n",
				tr.TrainSize(), to-from, cfg.EvalEvery)
		}
		if run.resumeFrom != nil {
			fmt.Fprintf(os.Stderr, "charrnn: resuming %s at step %d\n", o.checkpoint, tr.Step)
		}
	}

	rep, err := newReporter(job.reportConfig(reportConfig{
		stderr: os.Stderr, stdout: os.Stdout, terminal: stderrIsTerminal(),
		startStep: tr.Step, steps: o.steps, duration: o.duration,
		logPath: o.logPath, plotPath: o.plotPath, appendLog: o.resume,
	}))
	if err := job.agree(err); err != nil {
		return err
	}
	defer rep.close()

	stopProfiling, err := job.profile(&o.prof)
	if err != nil {
		return err
	}
	// An interrupt, a termination or a hang-up (a dropped ssh session)
	// saves and stops. A closed stdout or stderr must not stop training:
	// with SIGPIPE ignored, writes to them fail instead, and the reporter
	// stops writing there.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	signal.Ignore(syscall.SIGPIPE)
	start := time.Now()
	out, err := tr.Run(ctx, o.checkpoint, engine.Limits{Steps: o.steps, Duration: o.duration}, rep)
	if perr := stopProfiling(); err == nil {
		err = perr
	}
	if err != nil {
		return err
	}
	if out.Stop == engine.StopInterrupted {
		rep.close()
		rep.line(fmt.Sprintf("charrnn: interrupted at step %d; checkpoint saved to %s", tr.Step, o.checkpoint))
		return job.shared(errInterrupted)
	}
	if !job.root() {
		return nil
	}
	samplePath := strings.TrimSuffix(o.checkpoint, filepath.Ext(o.checkpoint)) + ".sample.txt"
	if err := os.WriteFile(samplePath, []byte(out.Sample+"\n"), 0o644); err != nil {
		return fmt.Errorf("write sample: %w", err)
	}
	rep.Sample(tr.Step, out.Sample)
	reportErr := rep.close()
	fmt.Fprintf(os.Stderr, "charrnn: trained %d steps (%d characters) in %s; checkpoint %s, sample %s\n",
		tr.Step, tr.CharsSeen, time.Since(start).Round(time.Second), o.checkpoint, samplePath)
	if tr.Ranks() > 1 && tr.Step > 0 {
		fmt.Fprintf(os.Stderr, "charrnn: waiting for and summing gradients over the %d ranks took %s per step, %.1f%% of the training time\n",
			tr.Ranks(), (tr.CommTime() / time.Duration(tr.Step)).Round(time.Microsecond), 100*tr.CommTime().Seconds()/time.Since(start).Seconds())
	}
	return reportErr
}

// trainRun is what train sets up before the ranks go on together.
type trainRun struct {
	cfg        engine.TrainConfig
	o          trainOptions
	k          kernels.Backend
	why        string // why this precision
	corpus     *engine.Corpus
	vocab      *engine.Vocab
	tr         *engine.Trainer
	resumeFrom *engine.Checkpoint
	unlock     func() error // releases the checkpoint's lock (rank 0's)
}

// close releases what the run holds: the corpus and the checkpoint's lock.
func (r *trainRun) close() {
	if r.corpus != nil {
		r.corpus.Close()
	}
	if r.unlock != nil {
		r.unlock()
	}
}

// setUpTrain reads the flags, the checkpoint to resume (rank 0 reads it for
// every rank), the corpus and the vocabulary, and makes the trainer. Every
// rank issues the same collectives whatever fails: the flags are the same
// on every rank, so a bad one stops all at the same point, and a failure
// on one rank's files is agreed on before the next collective.
func setUpTrain(job *trainJob, args []string) (*trainRun, error) {
	run := &trainRun{}
	cfg := engine.DefaultTrainConfig()
	var o trainOptions
	flags := trainFlags(&cfg, &o)
	if err := flags.parse(args); err != nil {
		return run, job.shared(err)
	}
	startFrom, err := loadInitFrom(flags, &o, &cfg)
	if err == nil && job.root() {
		// Held for the whole run, before the checkpoint is read or
		// replaced; rank 0 alone reads and writes it.
		var unlock func() error
		if unlock, err = lockCheckpoint(o.checkpoint); err == nil {
			run.unlock = unlock
		}
	}
	if err := job.agree(err); err != nil {
		return run, err
	}
	var resumeFrom *engine.Checkpoint
	if o.resume {
		if resumeFrom, err = job.loadCheckpoint(o.checkpoint); err != nil {
			return run, badInput(configError(err))
		}
		// The checkpoint's settings, then the flags given again on top.
		cfg = resumeFrom.Header.Config
		flags = trainFlags(&cfg, &o)
		if err := flags.parse(args); err != nil {
			return run, job.shared(err)
		}
		if err := adoptCheckpointVocab(flags, &o, resumeFrom.Header); err != nil {
			return run, job.shared(err)
		}
		if err := job.shareStreams(flags, &cfg, resumeFrom.Header); err != nil {
			return run, job.shared(err)
		}
	} else {
		freshDefaults(flags, &cfg)
	}
	// The cosine schedule anneals to this run's last step.
	cfg.Schedule.Steps = o.steps
	k, err := o.backend.choose()
	if err != nil {
		return run, err
	}
	var why string
	if cfg.Precision, why, err = resolvePrecision(cfg.Precision, k, cfg.Model, cfg.Batch > 1); err != nil {
		return run, err
	}
	if err := checkTrainFlags(flags, &o, cfg, job.root()); err != nil {
		return run, err
	}
	corpus, err := engine.OpenCorpus(o.data)
	if err != nil {
		return run, badInput(err)
	}
	run.cfg, run.o, run.k, run.why, run.corpus, run.resumeFrom = cfg, o, k, why, corpus, resumeFrom
	if startFrom != nil {
		run.vocab, err = startFrom.vocabFor(corpus)
	} else {
		run.vocab, err = trainVocab(&o, corpus, resumeFrom)
	}
	if err != nil {
		return run, err
	}
	if run.tr, err = engine.NewTrainer(cfg, k, corpus, run.vocab); err != nil {
		return run, badInput(configError(err))
	}
	run.tr.Data = o.data
	if o.data == "" {
		run.tr.Data = "the Go standard library"
	}
	if startFrom != nil {
		if err := startFrom.apply(run.tr); err != nil {
			return run, err
		}
	}
	return run, nil
}

// describeModel is a model's shape in a few words.
func describeModel(m engine.ModelConfig) string {
	if m.Notebook() {
		return fmt.Sprintf("H=%d", m.Hidden)
	}
	s := fmt.Sprintf("%s %d×%d", m.Cell, m.Layers, m.Hidden)
	if m.Dropout > 0 {
		s += fmt.Sprintf(" dropout %g", m.Dropout)
	}
	return s
}

// freshDefaults fills in, for a new run, the defaults that depend on other
// settings: the optimizer's learning rate and its own setting, the plateau
// schedule's cut, how often to validate.
func freshDefaults(flags *commandFlags, cfg *engine.TrainConfig) {
	if !flags.isSet("lr") {
		cfg.LR = engine.DefaultLR(cfg.Optimizer)
	}
	if cfg.Optimizer == "rmsprop" && !flags.isSet("rho") {
		cfg.Rho = engine.DefaultRho
	}
	if cfg.Optimizer == "adamw" && !flags.isSet("weight-decay") {
		cfg.WeightDecay = engine.DefaultWeightDecay
	}
	if cfg.Schedule.Kind == "plateau" && !flags.isSet("decay") {
		cfg.Schedule.Decay = 0.5
	}
	if cfg.ValFrac > 0 && !flags.isSet("eval-every") {
		cfg.EvalEvery = 10 * cfg.ReportEvery
	}
}

// checkTrainFlags validates everything that can be checked before reading
// any data: the configuration (the engine's one validation), the options,
// and, on rank 0 (root), the files the run will write.
func checkTrainFlags(flags *commandFlags, o *trainOptions, cfg engine.TrainConfig, root bool) error {
	switch {
	case o.vocab != engine.VocabBytes && o.vocab != engine.VocabRunes:
		return badInputf("-vocab must be %s or %s, got %q", engine.VocabBytes, engine.VocabRunes, o.vocab)
	case o.vocabSize < 2:
		return badInputf("-vocab-size must be at least 2 (<unk> and one rune), got %d", o.vocabSize)
	case o.vocab == engine.VocabBytes && flags.isSet("vocab-size"):
		return badInputf("-vocab-size applies to -vocab runes only (a byte vocabulary is the bytes that occur, at most 256)")
	case o.steps < 0:
		return badInputf("-steps must not be negative, got %d", o.steps)
	case o.duration < 0:
		return badInputf("-time must not be negative, got %v", o.duration)
	case o.checkpoint == "":
		return badInputf("-checkpoint must name a file")
	case cfg.ReportEvery <= 0:
		return badInputf("-report-every must be positive, got %d", cfg.ReportEvery)
	case cfg.SampleLen <= 0:
		return badInputf("-sample-len must be positive, got %d", cfg.SampleLen)
	}
	if err := cfg.Validate(); err != nil {
		return configError(err)
	}
	if !root {
		return nil // only rank 0 of a job writes files
	}
	if !o.resume {
		if _, err := os.Stat(o.checkpoint); err == nil && !o.force {
			return badInputf("checkpoint %s already exists: pass -resume to continue it or -force to replace it", o.checkpoint)
		} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return badInputf("checkpoint %s: %v", o.checkpoint, err)
		}
	}
	if info, err := os.Stat(filepath.Dir(o.checkpoint)); err != nil || !info.IsDir() {
		return badInputf("-checkpoint %s: directory %s does not exist", o.checkpoint, filepath.Dir(o.checkpoint))
	}
	// Found now rather than when the first save fails (or renames over a
	// device file) after the training.
	if info, err := os.Stat(o.checkpoint); err == nil && !info.Mode().IsRegular() {
		return badInputf("-checkpoint %s is not a regular file", o.checkpoint)
	}
	if err := engine.CheckWritable(o.checkpoint); err != nil {
		return badInputf("cannot save checkpoint %s: %v", o.checkpoint, err)
	}
	if o.logPath != "" {
		if err := checkOutputDir("-log", o.logPath); err != nil {
			return err
		}
		if err := engine.CheckWritable(o.logPath); err != nil {
			return badInputf("-log %s: %v", o.logPath, err)
		}
	}
	if o.plotPath != "" {
		if err := checkPlotPath("-plot", o.plotPath); err != nil {
			return err
		}
		if err := engine.CheckWritable(o.plotPath); err != nil {
			return badInputf("-plot %s: %v", o.plotPath, err)
		}
	}
	return o.prof.check()
}

// trainVocab is the vocabulary to train with: the checkpoint's when resuming,
// otherwise built from the corpus.
func trainVocab(o *trainOptions, corpus *engine.Corpus, resumeFrom *engine.Checkpoint) (*engine.Vocab, error) {
	switch {
	case o.vocab == engine.VocabRunes && resumeFrom != nil:
		// Runes the checkpoint lacks read as <unk>: nothing to check.
		vocab, err := engine.NewVocab(engine.VocabRunes, resumeFrom.Header.Vocab)
		if err != nil {
			return nil, badInput(fmt.Errorf("resume %s: %w", o.checkpoint, err))
		}
		return vocab, nil
	case o.vocab == engine.VocabRunes:
		vocab, err := engine.BuildRuneVocab(corpus, o.vocabSize)
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
			return nil, badInput(fmt.Errorf("resume %s: %w", o.checkpoint, err))
		}
	}
	return vocab, nil
}

// adoptCheckpointVocab takes the vocabulary kind of the checkpoint being
// resumed; -vocab or -vocab-size given explicitly must agree with it.
func adoptCheckpointVocab(flags *commandFlags, o *trainOptions, h engine.Header) error {
	if flags.isSet("vocab") && o.vocab != h.VocabKind {
		return badInputf("-vocab %s: checkpoint %s was trained with -vocab %s", o.vocab, o.checkpoint, h.VocabKind)
	}
	if h.VocabKind == engine.VocabRunes && flags.isSet("vocab-size") && o.vocabSize != len(h.Vocab) {
		return badInputf("-vocab-size %d: checkpoint %s has a vocabulary of %d", o.vocabSize, o.checkpoint, len(h.Vocab))
	}
	o.vocab = h.VocabKind
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
