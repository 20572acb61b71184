package main

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"charrnn/engine"
)

// bindTrainConfig registers the flags that set the engine's TrainConfig,
// each bound to its field, so the flags' defaults are cfg's values.
func bindTrainConfig(fs *commandFlags, cfg *engine.TrainConfig) {
	m := &cfg.Model
	fs.StringVar(&m.Cell, "cell", m.Cell, "recurrent cell: "+strings.Join(engine.CellNames(), ", "))
	fs.IntVar(&m.Layers, "layers", m.Layers, "recurrent layers stacked")
	fs.IntVar(&m.Hidden, "hidden", m.Hidden, "hidden state size H of every layer")
	fs.Float64Var(&m.Dropout, "dropout", m.Dropout, "inverted dropout P in [0, 1) on each layer's output while training")
	fs.IntVar(&cfg.Seq, "seq", cfg.Seq, "characters per window T (the truncated back-propagation length)")
	fs.IntVar(&cfg.Batch, "batch", cfg.Batch, "streams trained together B")
	fs.StringVar(&cfg.Optimizer, "optimizer", cfg.Optimizer, strings.Join(engine.Optimizers, ", "))
	fs.StringVar((*string)(&cfg.Precision), "precision", string(cfg.Precision), precisionUsage)
	fs.Var((*float32Flag)(&cfg.LR), "lr", "base learning rate (default: the optimizer's: sgd 0.01, adagrad 0.1, rmsprop, adam and adamw 0.002)")
	fs.Var((*float32Flag)(&cfg.Momentum), "momentum", "sgd: heavy-ball momentum M in [0, 1): v = M·v + g, p -= lr·v")
	fs.Var((*float32Flag)(&cfg.Rho), "rho", fmt.Sprintf("rmsprop: decay of the mean squared gradient, in (0, 1) (default %v)", engine.DefaultRho))
	fs.Var((*float32Flag)(&cfg.WeightDecay), "weight-decay", fmt.Sprintf("adamw: decoupled weight decay W in [0, 1): p -= lr·W·p each step (default %v)", engine.DefaultWeightDecay))
	s := &cfg.Schedule
	fs.StringVar(&s.Kind, "schedule", s.Kind, "learning-rate schedule: constant, step (×decay per epoch after -decay-after epochs), cosine (to about 0 at -steps) or plateau (×decay after -plateau-patience validations without improvement)")
	fs.Float64Var(&s.Decay, "decay", s.Decay, "step and plateau schedules: the factor of each cut, in (0, 1] (plateau's default: 0.5)")
	fs.Int64Var(&s.DecayAfter, "decay-after", s.DecayAfter, "step schedule: epochs at the full rate before decaying (an epoch is the training part's size in characters trained on)")
	fs.Int64Var(&s.Warmup, "warmup", s.Warmup, "raise the learning rate linearly over the first N steps (any schedule)")
	fs.IntVar(&s.PlateauPatience, "plateau-patience", s.PlateauPatience, "plateau schedule: validations without improvement before a cut")
	fs.Var((*float32Flag)(&cfg.Clip.Limit), "clip", "gradient clipping limit")
	fs.StringVar(&cfg.Clip.Mode, "clip-mode", cfg.Clip.Mode, "value (each element to ±clip, the notebook's), norm (global L2 norm) or none")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed for initialisation, dropout and samples")
	fs.Float64Var(&cfg.ValFrac, "val-frac", cfg.ValFrac, "hold out this fraction F of the corpus, at its end, for validation (0 ≤ F < 1; 0: none)")
	fs.Int64Var(&cfg.ValMaxChars, "val-max-chars", cfg.ValMaxChars, "evaluate at most the first N characters of the held-out tail (0: all)")
	fs.Int64Var(&cfg.EvalEvery, "eval-every", cfg.EvalEvery, "evaluate the held-out tail every N steps (default: 10×report-every when -val-frac > 0)")
	fs.IntVar(&cfg.Patience, "patience", cfg.Patience, "stop after N validations without improvement (0: never stop early)")
	fs.Int64Var(&cfg.Guard.SnapshotEvery, "snapshot-every", cfg.Guard.SnapshotEvery, "keep an in-memory copy of the last good state every N steps, to roll back to if the loss or gradient goes NaN/Inf")
	fs.Float64Var(&cfg.Guard.LRFactor, "nan-lr-factor", cfg.Guard.LRFactor, "after a NaN/Inf rollback, multiply the learning rate by this, in (0, 1]")
	fs.IntVar(&cfg.Guard.Retries, "nan-retries", cfg.Guard.Retries, "NaN/Inf rollbacks allowed before giving up (exit status 1; the checkpoint on disk is left as it was)")
	fs.Int64Var(&cfg.SaveEvery, "save-every", cfg.SaveEvery, "save a checkpoint every N steps (0: only at the end)")
	fs.Int64Var(&cfg.SampleEvery, "sample-every", cfg.SampleEvery, "print a sample every N steps (0: never)")
	fs.IntVar(&cfg.SampleLen, "sample-len", cfg.SampleLen, "characters per sample")
	fs.Int64Var(&cfg.ReportEvery, "report-every", cfg.ReportEvery, "report loss and speed every N steps")
}

// float32Flag is a float32 setting as a flag.
type float32Flag float32

func (f *float32Flag) String() string { return strconv.FormatFloat(float64(*f), 'g', -1, 32) }
func (f *float32Flag) Set(s string) error {
	v, err := strconv.ParseFloat(s, 32)
	if err != nil {
		return errors.New("parse error")
	}
	*f = float32Flag(v)
	return nil
}

// configFlags names the flag of each TrainConfig field, as the engine's
// errors name the fields.
var configFlags = map[string]string{
	"Cell": "-cell", "Layers": "-layers", "Hidden": "-hidden", "Dropout": "-dropout",
	"Seq": "-seq", "Batch": "-batch", "Precision": "-precision",
	"Optimizer": "-optimizer", "Momentum": "-momentum", "Rho": "-rho", "WeightDecay": "-weight-decay", "LR": "-lr",
	"Schedule.Kind": "-schedule", "Schedule": "-schedule", "Schedule.Warmup": "-warmup", "Schedule.Decay": "-decay",
	"Schedule.DecayAfter": "-decay-after", "Schedule.Steps": "-steps", "Schedule.PlateauPatience": "-plateau-patience",
	"Clip.Mode": "-clip-mode", "Clip.Limit": "-clip", "Seed": "-seed",
	"ValFrac": "-val-frac", "ValMaxChars": "-val-max-chars",
	"Guard.SnapshotEvery": "-snapshot-every", "Guard.LRFactor": "-nan-lr-factor", "Guard.Retries": "-nan-retries",
	"EvalEvery": "-eval-every", "SaveEvery": "-save-every", "SampleEvery": "-sample-every",
	"ReportEvery": "-report-every", "SampleLen": "-sample-len", "Patience": "-patience",
}

// configError turns an engine error that names configuration fields into
// the user's error naming the flags, e.g. "Hidden must be between 1 and
// 65536, got 0" into "-hidden must be ...". Other errors are returned as
// they are.
func configError(err error) error {
	var fe *engine.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	msg := err.Error()
	// Longest names first, so Schedule.Steps is replaced before Schedule.
	names := make([]string, 0, len(configFlags))
	for n := range configFlags {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int { return len(b) - len(a) })
	for _, n := range names {
		msg = replaceWord(msg, n, configFlags[n])
	}
	return badInput(errors.New(msg))
}

// replaceWord replaces whole-word occurrences of old in s by new: old not
// preceded or followed by a letter, digit, '.' or '-'.
func replaceWord(s, old, new string) string {
	word := func(c byte) bool {
		return c == '.' || c == '-' || c == '_' || '0' <= c && c <= '9' || 'a' <= c|0x20 && c|0x20 <= 'z'
	}
	var b strings.Builder
	for {
		i := strings.Index(s, old)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := i + len(old)
		if (i == 0 || !word(s[i-1])) && (j == len(s) || !word(s[j])) {
			b.WriteString(s[:i] + new)
		} else {
			b.WriteString(s[:j])
		}
		s = s[j:]
	}
}
