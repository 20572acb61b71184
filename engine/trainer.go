package engine

import (
	"fmt"
	"math"
	"slices"

	"charrnn/kernels"
)

// TrainConfig is what a training run is asked to do.
type TrainConfig struct {
	Hidden    int    // H
	Seq       int    // T, the window length in characters
	Batch     int    // B, the number of streams trained together
	Optimizer string // sgd, adagrad, rmsprop, adam or adamw

	Momentum    float32 // sgd: heavy-ball momentum μ (0: plain SGD)
	Rho         float32 // rmsprop: decay of the mean square (0: DefaultRho)
	WeightDecay float32 // adamw: decoupled weight decay

	LR       float32 // base learning rate
	Schedule Schedule
	Clip     Clip
	Seed     uint64

	// ValFrac is the fraction of the corpus held out at its end for
	// validation: training reads only the first N·(1-ValFrac) characters.
	ValFrac float64
	// ValMaxChars bounds one validation to the first so many characters of
	// the held-out tail (0: all of it).
	ValMaxChars int64

	Guard Guard
}

// Guard is how the trainer recovers from a step whose loss or gradient is
// not finite: it rolls back to an in-memory snapshot of the last good state
// and cuts the learning rate.
type Guard struct {
	SnapshotEvery int64   // steps between snapshots (0: no snapshots, no recovery)
	LRFactor      float64 // the learning rate is multiplied by this after each rollback
	Retries       int     // rollbacks allowed in a run before giving up
}

// Validate reports the first unusable setting as a clear error.
func (c TrainConfig) Validate() error {
	switch {
	case c.Hidden <= 0:
		return fmt.Errorf("-hidden must be positive, got %d", c.Hidden)
	case c.Hidden > MaxHidden:
		// A larger model could be trained but never saved or loaded.
		return fmt.Errorf("-hidden must be at most %d, got %d", MaxHidden, c.Hidden)
	case c.Seq <= 0:
		return fmt.Errorf("-seq must be positive, got %d", c.Seq)
	case c.Batch <= 0:
		return fmt.Errorf("-batch must be positive, got %d", c.Batch)
	case !(c.LR > 0) || math.IsInf(float64(c.LR), 0):
		return fmt.Errorf("-lr must be a positive number, got %v", c.LR)
	case !(c.Momentum >= 0 && c.Momentum < 1):
		return fmt.Errorf("-momentum must be in [0, 1), got %v", c.Momentum)
	case c.Momentum != 0 && c.Optimizer != "sgd":
		return fmt.Errorf("-momentum applies to -optimizer sgd only (this run uses %s)", c.Optimizer)
	case !(c.Rho >= 0 && c.Rho < 1):
		return fmt.Errorf("-rho must be in (0, 1), got %v", c.Rho)
	case c.Rho != 0 && c.Optimizer != "rmsprop":
		return fmt.Errorf("-rho applies to -optimizer rmsprop only (this run uses %s)", c.Optimizer)
	case !(c.WeightDecay >= 0 && c.WeightDecay < 1):
		return fmt.Errorf("-weight-decay must be in [0, 1), got %v", c.WeightDecay)
	case c.WeightDecay != 0 && c.Optimizer != "adamw":
		return fmt.Errorf("-weight-decay applies to -optimizer adamw only (this run uses %s)", c.Optimizer)
	case !(c.ValFrac >= 0 && c.ValFrac < 1):
		return fmt.Errorf("-val-frac must be in [0, 1), got %v", c.ValFrac)
	case c.ValMaxChars < 0:
		return fmt.Errorf("-val-max-chars must not be negative, got %d", c.ValMaxChars)
	case c.Schedule.Kind == "plateau" && c.ValFrac == 0:
		return fmt.Errorf("-schedule plateau follows the validation loss: it needs -val-frac > 0")
	case c.Guard.SnapshotEvery < 0:
		return fmt.Errorf("-snapshot-every must not be negative, got %d", c.Guard.SnapshotEvery)
	case c.Guard.Retries < 0:
		return fmt.Errorf("-nan-retries must not be negative, got %d", c.Guard.Retries)
	case c.Guard.Retries > 0 && !(c.Guard.LRFactor > 0 && c.Guard.LRFactor <= 1):
		return fmt.Errorf("-nan-lr-factor must be in (0, 1], got %v", c.Guard.LRFactor)
	}
	if _, err := NewOptimizer(c, 0); err != nil {
		return err
	}
	if err := c.Schedule.Validate(); err != nil {
		return err
	}
	return c.Clip.Validate()
}

// TrainState is the trainer's running state beyond parameters, optimizer
// slabs, hidden states, cursors and counters; checkpoints carry it.
type TrainState struct {
	Schedule ScheduleState `json:"schedule"`
	// LRScale is the product of the cuts made by non-finite rollbacks.
	LRScale   float64 `json:"lr_scale"`
	Rollbacks int     `json:"rollbacks"` // non-finite rollbacks so far

	BestVal     float64 `json:"best_val"`      // the lowest validation loss so far (nats/char)
	BestValStep int64   `json:"best_val_step"` // the step it was measured at; 0: no validation yet
	BadEvals    int     `json:"bad_evals"`     // validations since the best one
}

// NewTrainState is the state before the first step.
func NewTrainState() TrainState {
	return TrainState{Schedule: NewScheduleState(), LRScale: 1}
}

// Trainer trains a model on a corpus, one window of B streams × T
// characters per step: data, forward, backward, clip, update.
type Trainer struct {
	Config TrainConfig
	Model  *Model
	Vocab  *Vocab

	k         kernels.Backend
	opt       Optimizer
	optState  [][]float32 // opt.State(), asked for once
	grads     Tensors
	ws        *Workspace
	corpus    *Corpus
	tokens    *TokenStream // limited to the training part
	size      int64        // bytes in the corpus
	trainSize int64        // bytes in its training part, [0, trainSize)
	window    []int32      // T+1 ids read for one stream
	snap      *snapshot

	// inject, when set (by tests), may change the gradient after the
	// backward pass of update number step.
	inject func(step int64, g []float32)

	// Cursors are the B streams' positions in the corpus, byte offsets of
	// token starts, evenly spaced at the start; each advances by T tokens per
	// step (T bytes with a byte vocabulary).
	Cursors   []int64
	Step      int64
	CharsSeen int64
	State     TrainState
}

// StepResult is what one training step measured.
type StepResult struct {
	Loss     float64 // mean cross-entropy, nats per character
	GradNorm float64 // global L2 norm of the gradient before clipping
	LR       float32 // the learning rate the update used
}

// NonFiniteError is a step whose loss or gradient was NaN or infinite, or
// whose parameters were found not finite; nothing of it reached the model.
type NonFiniteError struct {
	Step           int64
	Loss, GradNorm float64
	// Params is set when the step's inputs were finite but the update
	// before it overflowed the parameters or the optimizer state.
	Params bool
}

func (e *NonFiniteError) Error() string {
	if e.Params {
		return fmt.Sprintf("step %d: the parameters or optimizer state overflowed (not finite)", e.Step)
	}
	return fmt.Sprintf("step %d: loss or gradient is not finite (loss %.4g, gradient norm %.4g)", e.Step, e.Loss, e.GradNorm)
}

// NewTrainer prepares a fresh model for the corpus. Every buffer a step
// needs is allocated here.
func NewTrainer(cfg TrainConfig, k kernels.Backend, corpus *Corpus, vocab *Vocab) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := checkMemory(cfg.TrainingBytes(vocab.Size())); err != nil {
		return nil, err
	}
	size := corpus.Size()
	trainSize := int64(float64(size) * (1 - cfg.ValFrac))
	if cfg.ValFrac > 0 && size-trainSize < 2 {
		return nil, fmt.Errorf("-val-frac %v holds out %d characters of %d; validation needs at least 2", cfg.ValFrac, size-trainSize, size)
	}
	if trainSize < int64(cfg.Seq)+1 {
		if trainSize < size {
			return nil, fmt.Errorf("the training part of the corpus has %d characters; training with -seq %d needs at least %d (lower -val-frac)", trainSize, cfg.Seq, cfg.Seq+1)
		}
		return nil, fmt.Errorf("corpus has %d characters; training with -seq %d needs at least %d", size, cfg.Seq, cfg.Seq+1)
	}
	m, err := NewModel(cfg.Hidden, vocab.Size(), cfg.Seed)
	if err != nil {
		return nil, err
	}
	opt, err := NewOptimizer(cfg, len(m.P.Slab))
	if err != nil {
		return nil, err
	}
	t := &Trainer{
		Config: cfg, Model: m, Vocab: vocab,
		k: k, opt: opt, optState: opt.State(),
		grads:     NewTensors(cfg.Hidden, vocab.Size()),
		ws:        NewWorkspace(cfg.Hidden, vocab.Size(), cfg.Seq, cfg.Batch),
		corpus:    corpus,
		tokens:    vocab.NewTokenStream(corpus),
		size:      size,
		trainSize: trainSize,
		window:    make([]int32, cfg.Seq+1),
		Cursors:   make([]int64, cfg.Batch),
		State:     NewTrainState(),
	}
	t.tokens.Limit(trainSize)
	// A rune corpus needs T+1 runes, not just T+1 bytes.
	if n, _, err := t.tokens.ReadTokens(0, t.window); err != nil {
		return nil, err
	} else if n < cfg.Seq+1 {
		return nil, fmt.Errorf("corpus has %d characters; training with -seq %d needs at least %d", n, cfg.Seq, cfg.Seq+1)
	}
	for s := range t.Cursors {
		if t.Cursors[s], err = t.tokens.TokenStart(int64(s) * (trainSize / int64(cfg.Batch))); err != nil {
			return nil, err
		}
	}
	if cfg.Guard.SnapshotEvery > 0 {
		t.snap = t.newSnapshot()
	}
	return t, nil
}

// TrainSize is the number of characters training reads, the corpus's
// first; the rest is held out for validation.
func (t *Trainer) TrainSize() int64 { return t.trainSize }

// Epochs is how many times the training part has been read, all streams
// together.
func (t *Trainer) Epochs() float64 { return float64(t.CharsSeen) / float64(t.trainSize) }

// LR is the learning rate of the next update: the base rate times the
// schedule's factor times the cuts of non-finite rollbacks.
func (t *Trainer) LR() float32 {
	f := t.Config.Schedule.Factor(t.Step+1, t.Epochs(), t.State.Schedule)
	return float32(float64(t.Config.LR) * f * t.State.LRScale)
}

// Backend is the kernel backend the trainer runs on.
func (t *Trainer) Backend() kernels.Backend { return t.k }

// TrainStep runs one step and returns its loss and gradient norm. A step
// whose loss or gradient is not finite changes nothing but the data
// cursors and hidden states (which Recover rolls back) and returns a
// *NonFiniteError.
func (t *Trainer) TrainStep() (StepResult, error) {
	defer enter(phaseNone)
	if err := t.snapshotIfDue(); err != nil {
		return StepResult{}, err
	}
	enter(phaseData)
	if err := t.loadWindow(); err != nil {
		return StepResult{}, err
	}
	enter(phaseForward)
	loss := Forward(t.k, t.Model, t.ws)
	enter(phaseBackward)
	Backward(t.k, t.Model, t.ws, &t.grads)
	if t.inject != nil {
		t.inject(t.Step+1, t.grads.Slab)
	}
	t.ws.Carry()
	enter(phaseUpdate)
	n := int64(t.Config.Seq * t.Config.Batch)
	cond := t.Config.Clip.Conditioning(t.k, t.grads.Slab)
	if math.IsNaN(loss) || math.IsInf(loss, 0) || math.IsNaN(cond.Norm) || math.IsInf(cond.Norm, 0) {
		// Never let a non-finite value into the parameters (or a checkpoint).
		return StepResult{}, &NonFiniteError{Step: t.Step + 1, Loss: loss / float64(n), GradNorm: cond.Norm}
	}
	lr := t.LR()
	t.Step++
	t.opt.Update(t.k, t.Model.P.Slab, t.grads.Slab, lr, t.Step, cond)
	t.CharsSeen += n
	return StepResult{Loss: loss / float64(n), GradNorm: cond.Norm, LR: lr}, nil
}

// loadWindow reads the next T+1 ids of every stream into the workspace and
// moves the stream's cursor to the start of the last one, where the next
// window begins. A stream that reaches the end of the corpus starts again at
// the beginning, from a zero state.
func (t *Trainer) loadWindow() error {
	T, B := t.Config.Seq, t.Config.Batch
	for s := 0; s < B; s++ {
		if t.Cursors[s]+int64(T)+1 > t.trainSize { // too few bytes for T+1 tokens of any kind
			t.wrap(s)
		}
		n, last, err := t.tokens.ReadTokens(t.Cursors[s], t.window)
		if err == nil && n < T+1 { // too few runes
			t.wrap(s)
			n, last, err = t.tokens.ReadTokens(0, t.window)
		}
		if err != nil {
			return err
		}
		if n < T+1 {
			return fmt.Errorf("corpus has %d characters; training with -seq %d needs at least %d", n, T, T+1)
		}
		for i := 0; i < T; i++ {
			t.ws.Inputs[i*B+s] = t.window[i]
			t.ws.Targets[i*B+s] = t.window[i+1]
		}
		t.Cursors[s] = last
	}
	return nil
}

// wrap starts stream s again at the beginning of the corpus.
func (t *Trainer) wrap(s int) {
	t.Cursors[s] = 0
	t.ws.ResetState(s)
}

// Checkpoint captures everything needed to sample or to resume exactly.
func (t *Trainer) Checkpoint(data string, smoothedLoss float64) *Checkpoint {
	c := t.Config
	ck := &Checkpoint{
		Header: Header{
			Hidden: c.Hidden, VocabKind: t.Vocab.Kind, Vocab: t.Vocab.Symbols,
			Seq: c.Seq, Batch: c.Batch, Optimizer: c.Optimizer, LR: c.LR,
			ClipMode: c.Clip.Mode, Clip: c.Clip.Limit, Seed: c.Seed, Data: data,
			Step: t.Step, CharsSeen: t.CharsSeen, Cursors: t.Cursors, Loss: smoothedLoss,
			Momentum: c.Momentum, Rho: c.Rho, WeightDecay: c.WeightDecay,
			Schedule: &c.Schedule, ValFrac: c.ValFrac, Train: &t.State,
		},
		Sections: map[string][]float32{
			"params": t.Model.P.Slab,
			"hidden": t.ws.hs[:c.Batch*c.Hidden],
		},
	}
	for i, s := range t.opt.State() {
		ck.Sections[fmt.Sprintf("opt.%d", i)] = s
	}
	return ck
}

// Restore continues from a checkpoint made with the same configuration:
// parameters, optimizer state, carried hidden states, cursors and counters.
func (t *Trainer) Restore(ck *Checkpoint) error {
	h := ck.Header
	c := t.Config
	if h.Hidden != c.Hidden || h.Seq != c.Seq || h.Batch != c.Batch || h.Optimizer != c.Optimizer {
		return fmt.Errorf("checkpoint was trained with -hidden %d -seq %d -batch %d -optimizer %s; this run has -hidden %d -seq %d -batch %d -optimizer %s",
			h.Hidden, h.Seq, h.Batch, h.Optimizer, c.Hidden, c.Seq, c.Batch, c.Optimizer)
	}
	if !slices.Equal(h.Vocab, t.Vocab.Symbols) || h.VocabKind != t.Vocab.Kind {
		return fmt.Errorf("checkpoint's vocabulary (%d symbols) differs from this corpus's (%d symbols)", len(h.Vocab), t.Vocab.Size())
	}
	if (h.Momentum == 0) != (c.Momentum == 0) {
		return fmt.Errorf("checkpoint was trained with -momentum %v; this run has -momentum %v (with and without momentum cannot be mixed)", h.Momentum, c.Momentum)
	}
	if len(h.Cursors) != c.Batch {
		return fmt.Errorf("checkpoint has %d stream cursors, want %d", len(h.Cursors), c.Batch)
	}
	if h.ValFrac != c.ValFrac {
		return fmt.Errorf("checkpoint was trained with -val-frac %v; this run has -val-frac %v", h.ValFrac, c.ValFrac)
	}
	for _, cur := range h.Cursors {
		if cur < 0 || cur > t.trainSize {
			return fmt.Errorf("checkpoint cursor %d is outside this corpus's training part (%d characters)", cur, t.trainSize)
		}
	}
	state := t.opt.State()
	want := map[string]int{"params": len(t.Model.P.Slab), "hidden": c.Batch * c.Hidden}
	for i := range state {
		want[fmt.Sprintf("opt.%d", i)] = len(t.Model.P.Slab)
	}
	for name, n := range want {
		if len(ck.Sections[name]) != n {
			return fmt.Errorf("checkpoint section %q has %d floats, want %d", name, len(ck.Sections[name]), n)
		}
	}
	copy(t.Model.P.Slab, ck.Sections["params"])
	copy(t.ws.hs, ck.Sections["hidden"])
	for i, s := range state {
		copy(s, ck.Sections[fmt.Sprintf("opt.%d", i)])
	}
	copy(t.Cursors, h.Cursors)
	t.Step, t.CharsSeen = h.Step, h.CharsSeen
	t.State = NewTrainState()
	if h.Train != nil {
		t.State = *h.Train
	}
	if t.snap != nil {
		t.snap.taken = false // the next step snapshots the restored state
	}
	return nil
}
