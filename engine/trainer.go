package engine

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"charrnn/kernels"
)

// TrainState is the trainer's running state beyond parameters, optimizer
// slabs, carried states, cursors and counters; checkpoints carry it.
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
	// Data says what the corpus is, for checkpoints (e.g. its paths).
	Data string

	k         kernels.Backend
	opt       Optimizer
	optState  [][]float32 // opt.State(), asked for once
	grads     []float32   // laid out as Model.Params
	ws        *Workspace
	corpus    *Corpus
	tokens    *TokenStream // limited to the training part
	size      int64        // bytes in the corpus
	trainSize int64        // bytes in its training part, [0, trainSize)
	window    []int32      // T+1 ids read for one stream
	next      []int64      // the cursors after the window being read
	wrapped   []bool       // the streams that start again in that window
	snap      *snapshot
	job       *job // the trainer's part in a data-parallel job; nil alone (Join)

	// What the training loop (Run) carries from one call to the next, and
	// a checkpoint with it: the sampler of its periodic samples, the
	// progress records so far and the smoothed training loss.
	sampler  *Sampler
	history  []json.RawMessage
	smoothed float64

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
// needs is allocated here. The model's vocabulary size is the vocabulary's.
func NewTrainer(cfg TrainConfig, k kernels.Backend, corpus *Corpus, vocab *Vocab) (*Trainer, error) {
	cfg.Model.Vocab = vocab.Size()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	need, err := cfg.TrainingBytes()
	if err != nil {
		return nil, err
	}
	if err := checkMemory(need); err != nil {
		return nil, err
	}
	size := corpus.Size()
	trainSize := int64(float64(size) * (1 - cfg.ValFrac))
	if cfg.ValFrac > 0 && size-trainSize < 2 {
		return nil, fieldErrorf("ValFrac", "(%v) holds out %d characters of %d; validation needs at least 2", cfg.ValFrac, size-trainSize, size)
	}
	if trainSize < int64(cfg.Seq)+1 {
		if trainSize < size {
			return nil, fieldErrorf("ValFrac", "(%v) leaves %d characters to train on; windows of %d need at least %d (lower ValFrac)", cfg.ValFrac, trainSize, cfg.Seq, cfg.Seq+1)
		}
		return nil, fmt.Errorf("corpus has %d characters; training with windows of %d needs at least %d", size, cfg.Seq, cfg.Seq+1)
	}
	if cfg.Precision == BF16 {
		if _, err := BF16Products(k); err != nil {
			return nil, &FieldError{Field: "Precision", Problem: err.Error()}
		}
	}
	m, err := NewModel(cfg.Model, cfg.Seed)
	if err != nil {
		return nil, err
	}
	m.Precision = cfg.Precision
	// The run's samples are drawn in float32: in mixed precision the
	// sampler's bfloat16 weights would be those of the first sample.
	fp32 := *m
	fp32.Precision = FP32
	opt, err := NewOptimizer(cfg, len(m.Params))
	if err != nil {
		return nil, err
	}
	grads := make([]float32, len(m.Params))
	t := &Trainer{
		Config: cfg, Model: m, Vocab: vocab, Data: corpus.Spec(),
		k: k, opt: opt, optState: opt.State(),
		grads:     grads,
		ws:        NewWorkspace(m, grads, cfg.Seq, cfg.Batch),
		corpus:    corpus,
		tokens:    vocab.NewTokenStream(corpus),
		size:      size,
		trainSize: trainSize,
		window:    make([]int32, cfg.Seq+1),
		next:      make([]int64, cfg.Batch),
		wrapped:   make([]bool, cfg.Batch),
		sampler:   NewSampler(k, &fp32, cfg.Seed),
		Cursors:   make([]int64, cfg.Batch),
		State:     NewTrainState(),
	}
	t.ws.trainDropout(cfg.Seed, 0)
	t.tokens.Limit(trainSize)
	// A rune corpus needs T+1 runes, not just T+1 bytes.
	if n, _, err := t.tokens.ReadTokens(0, t.window); err != nil {
		return nil, err
	} else if n < cfg.Seq+1 {
		return nil, fmt.Errorf("corpus has %d characters; training with windows of %d needs at least %d", n, cfg.Seq, cfg.Seq+1)
	}
	if err := t.placeStreams(); err != nil {
		return nil, err
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

// Sampler is the sampler of the training run's samples; its random state is
// saved in checkpoints.
func (t *Trainer) Sampler() *Sampler { return t.sampler }

// TrainStep runs one step and returns its loss and gradient norm. A step
// whose loss or gradient is not finite changes nothing but the data
// cursors and carried states (which Recover rolls back) and returns a
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
	t.ws.dropStep = t.Step + 1
	loss := t.ws.Forward(t.k)
	enter(phaseBackward)
	t.ws.Backward(t.k)
	if t.inject != nil {
		t.inject(t.Step+1, t.grads)
	}
	t.ws.Carry()
	if t.job != nil {
		enter(phaseReduce)
		if err := t.job.reduceGradients(t.grads); err != nil {
			return StepResult{}, err
		}
	}
	enter(phaseUpdate)
	n := int64(t.Config.Seq * t.totalStreams())
	cond := t.Config.Clip.Conditioning(t.k, t.grads)
	nonFinite := math.IsNaN(loss) || math.IsInf(loss, 0) || math.IsNaN(cond.Norm) || math.IsInf(cond.Norm, 0)
	if t.job != nil {
		var err error
		if loss, nonFinite, err = t.job.reduceLoss(loss, nonFinite); err != nil {
			return StepResult{}, err
		}
	}
	if nonFinite {
		// Never let a non-finite value into the parameters (or a checkpoint).
		return StepResult{}, &NonFiniteError{Step: t.Step + 1, Loss: loss / float64(n), GradNorm: cond.Norm}
	}
	lr := t.LR()
	t.Step++
	t.opt.Update(t.k, t.Model.Params, t.grads, lr, t.Step, cond)
	t.CharsSeen += n
	return StepResult{Loss: loss / float64(n), GradNorm: cond.Norm, LR: lr}, nil
}

// loadWindow reads the next T+1 ids of every stream into the workspace and
// moves the stream's cursor to the start of the last one, where the next
// window begins. A stream that reaches the end of the corpus starts again at
// the beginning, from a zero state. Nothing but the workspace's ids changes
// unless every stream's window was read (on every rank of a job).
func (t *Trainer) loadWindow() error {
	if err := t.agreeRead(t.readWindows()); err != nil {
		return err
	}
	for s := 0; s < t.Config.Batch; s++ {
		if t.wrapped[s] {
			t.ws.ResetStream(s)
		}
	}
	copy(t.Cursors, t.next)
	return nil
}

// readWindows reads the next T+1 ids of every stream into the workspace,
// and notes where each stream's next window begins and which streams start
// again from the beginning.
func (t *Trainer) readWindows() error {
	T, B := t.Config.Seq, t.Config.Batch
	for s := 0; s < B; s++ {
		pos := t.Cursors[s]
		t.wrapped[s] = pos+int64(T)+1 > t.trainSize // too few bytes for T+1 tokens of any kind
		if t.wrapped[s] {
			pos = 0
		}
		n, last, err := t.tokens.ReadTokens(pos, t.window)
		if err == nil && n < T+1 && !t.wrapped[s] { // too few runes
			t.wrapped[s] = true
			n, last, err = t.tokens.ReadTokens(0, t.window)
		}
		if err != nil {
			return err
		}
		if n < T+1 {
			return fmt.Errorf("corpus has %d characters; training with windows of %d needs at least %d", n, T, T+1)
		}
		for i := 0; i < T; i++ {
			t.ws.Inputs[i*B+s] = t.window[i]
			t.ws.Targets[i*B+s] = t.window[i+1]
		}
		t.next[s] = last
	}
	return nil
}

// Checkpoint captures everything needed to sample or to resume exactly. On
// a rank of a data-parallel job every rank calls it: rank 0's checkpoint
// holds every stream of the job, in global order, as a single process
// training them all would hold them, and the other ranks' is nil.
func (t *Trainer) Checkpoint() (*Checkpoint, error) {
	rng, err := t.sampler.RNGState()
	if err != nil {
		return nil, err
	}
	state := make([]float32, t.ws.StateFloats())
	t.ws.SaveState(state)
	cursors, ranks := t.Cursors, 0
	if t.job != nil {
		if state, cursors, err = t.gatherStreams(state); err != nil || t.job.rank != 0 {
			return nil, err
		}
		ranks = t.job.size
	}
	ck := &Checkpoint{
		Header: Header{
			Config: t.Config, Ranks: ranks, VocabKind: t.Vocab.Kind, Vocab: t.Vocab.Symbols, Data: t.Data,
			Step: t.Step, CharsSeen: t.CharsSeen, Cursors: cursors, Loss: t.smoothed,
			Train: t.State, SampleRNG: rng, History: t.history,
			Tensors: t.Model.Layout.Tensors,
		},
		Sections: map[string][]float32{
			"params": t.Model.Params,
			"hidden": state,
		},
	}
	for i, s := range t.optState {
		ck.Sections[fmt.Sprintf("opt.%d", i)] = s
	}
	return ck, nil
}

// Restore continues from a checkpoint: parameters, optimizer state, carried
// states, cursors, counters, the sampler's random state and the progress
// so far. The checkpoint's model, window, optimizer and held-out fraction
// must be the trainer's, and so must its number of streams, ranks × batch
// (a job may resume with another number of ranks, each rank taking its
// streams); its other settings may have changed.
func (t *Trainer) Restore(ck *Checkpoint) error {
	h := ck.Header
	was, now := h.Config, t.Config
	differ := func(field string, was, now any) error {
		return &FieldError{Field: field, Problem: fmt.Sprintf("differs: the checkpoint was trained with %s %v; this run has %s %v", field, was, field, now)}
	}
	switch {
	case was.Model.Cell != now.Model.Cell:
		return differ("Cell", was.Model.Cell, now.Model.Cell)
	case was.Model.Layers != now.Model.Layers:
		return differ("Layers", was.Model.Layers, now.Model.Layers)
	case was.Model.Hidden != now.Model.Hidden:
		return differ("Hidden", was.Model.Hidden, now.Model.Hidden)
	case was.Seq != now.Seq:
		return differ("Seq", was.Seq, now.Seq)
	case h.ranks()*was.Batch != t.totalStreams():
		if h.ranks() == 1 && t.Ranks() == 1 {
			return differ("Batch", was.Batch, now.Batch)
		}
		return &FieldError{Field: "Batch", Problem: fmt.Sprintf("differs: the checkpoint was trained with %d streams (%d ranks × Batch %d); this run has %d (%d ranks × Batch %d), and the total must be the same",
			h.ranks()*was.Batch, h.ranks(), was.Batch, t.totalStreams(), t.Ranks(), now.Batch)}
	case was.Optimizer != now.Optimizer:
		return differ("Optimizer", was.Optimizer, now.Optimizer)
	case (was.Momentum == 0) != (now.Momentum == 0):
		return &FieldError{Field: "Momentum", Problem: fmt.Sprintf("differs: the checkpoint was trained with Momentum %v; this run has Momentum %v (with and without momentum cannot be mixed)", was.Momentum, now.Momentum)}
	case was.ValFrac != now.ValFrac:
		return differ("ValFrac", was.ValFrac, now.ValFrac)
	}
	if !slices.Equal(h.Vocab, t.Vocab.Symbols) || h.VocabKind != t.Vocab.Kind {
		return fmt.Errorf("checkpoint's vocabulary (%d symbols) differs from this corpus's (%d symbols)", len(h.Vocab), t.Vocab.Size())
	}
	if len(h.Cursors) != t.totalStreams() {
		return fmt.Errorf("checkpoint has %d stream cursors, want %d", len(h.Cursors), t.totalStreams())
	}
	for _, cur := range h.Cursors {
		if cur < 0 || cur > t.trainSize {
			return fmt.Errorf("checkpoint cursor %d is outside this corpus's training part (%d characters)", cur, t.trainSize)
		}
	}
	want := map[string]int{"params": len(t.Model.Params), "hidden": t.ws.StateFloats() * t.Ranks()}
	for i := range t.optState {
		want[fmt.Sprintf("opt.%d", i)] = len(t.Model.Params)
	}
	for name, n := range want {
		if len(ck.Sections[name]) != n {
			return fmt.Errorf("checkpoint section %q has %d floats, want %d", name, len(ck.Sections[name]), n)
		}
	}
	if h.SampleRNG != nil {
		if err := t.sampler.SetRNGState(h.SampleRNG); err != nil {
			return err
		}
	}
	copy(t.Model.Params, ck.Sections["params"])
	hidden, cursors := t.ownStreams(ck.Sections["hidden"], h.Cursors)
	t.ws.LoadState(hidden)
	for i, s := range t.optState {
		copy(s, ck.Sections[fmt.Sprintf("opt.%d", i)])
	}
	copy(t.Cursors, cursors)
	t.Step, t.CharsSeen, t.State = h.Step, h.CharsSeen, h.Train
	t.history, t.smoothed = h.History, h.Loss
	if t.snap != nil {
		t.snap.taken = false // the next step snapshots the restored state
	}
	return nil
}

// InitFrom replaces the trainer's freshly initialised parameters with m's,
// for instance weights read back from an exported file. m must have the
// trainer's shape and use the trainer's vocabulary (same symbols, same ids);
// the optimizer state, counters and cursors stay fresh.
func (t *Trainer) InitFrom(m *Model) error {
	was, now := m.Config, t.Model.Config
	if was.Cell != now.Cell || was.Layers != now.Layers || was.Hidden != now.Hidden || was.Vocab != now.Vocab {
		return fmt.Errorf("initial weights are a %s model of %d layers of %d with a vocabulary of %d; this run has a %s model of %d layers of %d with a vocabulary of %d",
			was.Cell, was.Layers, was.Hidden, was.Vocab, now.Cell, now.Layers, now.Hidden, now.Vocab)
	}
	copy(t.Model.Params, m.Params)
	return nil
}
