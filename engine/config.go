package engine

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// ModelConfig describes a model: its cell, how many layers of it are
// stacked, their width and the vocabulary. The parameter layout, the
// carried state and every buffer follow from it.
type ModelConfig struct {
	Cell    string  `json:"cell"`    // a registered cell: rnn, lstm or gru
	Layers  int     `json:"layers"`  // recurrent layers stacked; layer 0 reads the one-hot input
	Hidden  int     `json:"hidden"`  // H, the width of every layer
	Dropout float64 `json:"dropout"` // inverted dropout on each layer's output while training
	Vocab   int     `json:"-"`       // the number of symbols (a checkpoint keeps the symbols themselves)
}

// Limits on a model's shape: a larger one could be trained but not saved.
const (
	MaxHidden = 1 << 16
	MaxLayers = 64
)

// Notebook reports whether this is the notebook's model, a one-layer
// vanilla RNN, whose tensors keep the notebook's names U, W, V, b and c.
func (c ModelConfig) Notebook() bool { return c.Cell == "rnn" && c.Layers == 1 }

// Validate reports the first unusable setting.
func (c ModelConfig) Validate() error {
	switch {
	case cells[c.Cell] == nil:
		return fieldErrorf("Cell", "must be one of %s, got %q", strings.Join(CellNames(), ", "), c.Cell)
	case c.Layers < 1 || c.Layers > MaxLayers:
		return fieldErrorf("Layers", "must be between 1 and %d, got %d", MaxLayers, c.Layers)
	case c.Hidden < 1 || c.Hidden > MaxHidden:
		return fieldErrorf("Hidden", "must be between 1 and %d, got %d", MaxHidden, c.Hidden)
	case !(c.Dropout >= 0 && c.Dropout < 1):
		return fieldErrorf("Dropout", "must be in [0, 1), got %v", c.Dropout)
	case c.Vocab < 1:
		return fieldErrorf("Vocab", "must be positive, got %d", c.Vocab)
	}
	return nil
}

// FieldError is an unusable configuration value. Field is the Go name of
// the setting (a TrainConfig or ModelConfig field, e.g. "Hidden"), so a
// front end can name it its own way (the command line maps it to its flag).
type FieldError struct {
	Field   string
	Problem string // e.g. "must be positive, got -5"
}

func (e *FieldError) Error() string { return e.Field + " " + e.Problem }

func fieldErrorf(field, format string, args ...any) error {
	return &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

// TrainConfig is everything that shapes a training run. A checkpoint keeps
// it whole, so a resumed run continues with the same settings unless it is
// given others.
type TrainConfig struct {
	Model ModelConfig `json:"model"`
	Seq   int         `json:"seq"`   // T, the window length in characters
	Batch int         `json:"batch"` // B, the number of streams trained together

	Optimizer   string  `json:"optimizer"`              // sgd, adagrad, rmsprop, adam or adamw
	Momentum    float32 `json:"momentum,omitempty"`     // sgd: heavy-ball momentum μ (0: plain SGD)
	Rho         float32 `json:"rho,omitempty"`          // rmsprop: decay of the mean square (DefaultRho is PyTorch's)
	WeightDecay float32 `json:"weight_decay,omitempty"` // adamw: decoupled weight decay

	// Precision is how the products with weights run: FP32, or BF16, mixed
	// precision (bf16.go), where the CPU has bfloat16 products.
	Precision Precision `json:"precision,omitempty"`

	LR       float32  `json:"lr"` // base learning rate
	Schedule Schedule `json:"schedule"`
	Clip     Clip     `json:"clip"`
	Seed     uint64   `json:"seed"`

	// ValFrac is the fraction of the corpus held out at its end for
	// validation: training reads only the first N·(1-ValFrac) characters.
	ValFrac float64 `json:"val_frac,omitempty"`
	// ValMaxChars bounds one validation to the first so many characters of
	// the held-out tail (0: all of it).
	ValMaxChars int64 `json:"val_max_chars,omitempty"`

	Guard Guard `json:"guard"`

	// The training loop's periods, in steps (0: never, except that a run
	// always saves at its end).
	EvalEvery   int64 `json:"eval_every,omitempty"` // validate on the held-out tail (needs ValFrac > 0)
	SaveEvery   int64 `json:"save_every,omitempty"`
	SampleEvery int64 `json:"sample_every,omitempty"`
	ReportEvery int64 `json:"report_every,omitempty"`
	// SampleLen is the length of each sample, and of the one a run draws
	// at its end (0: none).
	SampleLen int `json:"sample_len,omitempty"`
	// Patience stops the run after so many validations without improvement
	// (0: never stop early).
	Patience int `json:"patience,omitempty"`
}

// Guard is how the trainer recovers from a step whose loss or gradient is
// not finite: it rolls back to an in-memory snapshot of the last good state
// and cuts the learning rate.
type Guard struct {
	SnapshotEvery int64   `json:"snapshot_every"` // steps between snapshots (0: no snapshots, no recovery)
	LRFactor      float64 `json:"lr_factor"`      // the learning rate is multiplied by this after each rollback
	Retries       int     `json:"retries"`        // rollbacks allowed in a run before giving up
}

// DefaultTrainConfig is the run that a trainer given no settings makes: the
// default recipe, a 2-layer LSTM of 256 units over windows of 100 characters
// and 32 streams, chosen by bench/recipe.sh as the candidate with the lowest
// held-out loss after ten minutes on two cores (bench/RESULTS.md).
func DefaultTrainConfig() TrainConfig {
	return TrainConfig{
		Model:       ModelConfig{Cell: "lstm", Layers: 2, Hidden: 256},
		Seq:         100,
		Batch:       32,
		Optimizer:   "adam",
		Precision:   FP32,
		LR:          DefaultLR("adam"),
		Schedule:    Schedule{Kind: "constant", Decay: 0.97, DecayAfter: 10, PlateauPatience: 3},
		Clip:        Clip{Mode: "value", Limit: 5},
		Seed:        1,
		ValMaxChars: 1_000_000,
		Guard:       Guard{SnapshotEvery: 100, LRFactor: 0.5, Retries: 3},
		SaveEvery:   1000,
		SampleEvery: 1000,
		ReportEvery: 100,
		SampleLen:   200,
	}
}

// Validate reports the first unusable setting (Model.Vocab aside: it comes
// from the corpus).
func (c TrainConfig) Validate() error {
	m := c.Model
	if m.Vocab == 0 {
		m.Vocab = 1
	}
	if err := m.Validate(); err != nil {
		return err
	}
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	switch {
	case c.Seq <= 0:
		return fieldErrorf("Seq", "must be positive, got %d", c.Seq)
	case c.Batch <= 0:
		return fieldErrorf("Batch", "must be positive, got %d", c.Batch)
	case !slices.Contains(Optimizers, c.Optimizer):
		return fieldErrorf("Optimizer", "must be one of %s, got %q", strings.Join(Optimizers, ", "), c.Optimizer)
	case !(c.LR > 0) || !finite(float64(c.LR)):
		return fieldErrorf("LR", "must be a positive number, got %v", c.LR)
	case !(c.Momentum >= 0 && c.Momentum < 1):
		return fieldErrorf("Momentum", "must be in [0, 1), got %v", c.Momentum)
	case c.Momentum != 0 && c.Optimizer != "sgd":
		return fieldErrorf("Momentum", "applies to Optimizer sgd only (this run uses %s)", c.Optimizer)
	case c.Optimizer == "rmsprop" && !(c.Rho > 0 && c.Rho < 1):
		return fieldErrorf("Rho", "must be in (0, 1), got %v", c.Rho)
	case c.Rho != 0 && c.Optimizer != "rmsprop":
		return fieldErrorf("Rho", "applies to Optimizer rmsprop only (this run uses %s)", c.Optimizer)
	case !(c.WeightDecay >= 0 && c.WeightDecay < 1):
		return fieldErrorf("WeightDecay", "must be in [0, 1), got %v", c.WeightDecay)
	case c.WeightDecay != 0 && c.Optimizer != "adamw":
		return fieldErrorf("WeightDecay", "applies to Optimizer adamw only (this run uses %s)", c.Optimizer)
	case !(c.ValFrac >= 0 && c.ValFrac < 1):
		return fieldErrorf("ValFrac", "must be in [0, 1), got %v", c.ValFrac)
	case c.ValMaxChars < 0 || c.ValMaxChars == 1:
		return fieldErrorf("ValMaxChars", "must be at least 2 (a validation predicts one character from another), or 0 for all, got %d", c.ValMaxChars)
	case c.Schedule.Kind == "plateau" && c.ValFrac == 0:
		return fieldErrorf("Schedule", "plateau follows the validation loss: it needs ValFrac > 0")
	case c.Guard.SnapshotEvery < 0:
		return fieldErrorf("Guard.SnapshotEvery", "must not be negative, got %d", c.Guard.SnapshotEvery)
	case c.Guard.Retries < 0:
		return fieldErrorf("Guard.Retries", "must not be negative, got %d", c.Guard.Retries)
	case c.Guard.Retries > 0 && !(c.Guard.LRFactor > 0 && c.Guard.LRFactor <= 1), !finite(c.Guard.LRFactor):
		return fieldErrorf("Guard.LRFactor", "must be in (0, 1], got %v", c.Guard.LRFactor)
	case c.EvalEvery < 0:
		return fieldErrorf("EvalEvery", "must not be negative, got %d", c.EvalEvery)
	case c.ValFrac == 0 && c.EvalEvery != 0:
		return fieldErrorf("EvalEvery", "needs ValFrac > 0: there is nothing held out to evaluate")
	case c.SaveEvery < 0:
		return fieldErrorf("SaveEvery", "must not be negative, got %d", c.SaveEvery)
	case c.SampleEvery < 0:
		return fieldErrorf("SampleEvery", "must not be negative, got %d", c.SampleEvery)
	case c.ReportEvery < 0:
		return fieldErrorf("ReportEvery", "must not be negative, got %d", c.ReportEvery)
	case c.SampleLen < 0:
		return fieldErrorf("SampleLen", "must not be negative, got %d", c.SampleLen)
	case c.SampleEvery > 0 && c.SampleLen == 0:
		return fieldErrorf("SampleLen", "must be positive when SampleEvery is %d", c.SampleEvery)
	case c.Patience < 0:
		return fieldErrorf("Patience", "must not be negative, got %d", c.Patience)
	case c.Patience > 0 && c.EvalEvery == 0:
		return fieldErrorf("Patience", "needs ValFrac > 0 and EvalEvery > 0: it counts validations without improvement")
	}
	if err := c.Precision.validate(); err != nil {
		return err
	}
	if err := c.Schedule.Validate(); err != nil {
		return err
	}
	return c.Clip.Validate()
}
