package engine

import (
	"fmt"
	"math"
	"slices"

	"charrnn/kernels"
)

// TrainConfig is what a training run is asked to do.
type TrainConfig struct {
	Hidden    int     // H
	Seq       int     // T, the window length in characters
	Batch     int     // B, the number of streams trained together
	Optimizer string  // sgd, adagrad or adam
	LR        float32 // learning rate
	Clip      Clip
	Seed      uint64
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
	}
	if _, err := NewOptimizer(c.Optimizer, 0); err != nil {
		return err
	}
	return c.Clip.Validate()
}

// Trainer trains a model on a corpus, one window of B streams × T
// characters per step: data, forward, backward, clip, update.
type Trainer struct {
	Config TrainConfig
	Model  *Model
	Vocab  *Vocab

	k      kernels.Backend
	opt    Optimizer
	grads  Tensors
	ws     *Workspace
	tokens *TokenStream
	size   int64   // tokens in the corpus
	window []int32 // T+1 ids read for one stream

	// Cursors are the B streams' positions in the corpus, evenly spaced at
	// the start; each advances by T per step.
	Cursors   []int64
	Step      int64
	CharsSeen int64
}

// StepResult is what one training step measured.
type StepResult struct {
	Loss     float64 // mean cross-entropy, nats per character
	GradNorm float64 // global L2 norm of the gradient before clipping
}

// NewTrainer prepares a fresh model for the corpus. Every buffer a step
// needs is allocated here.
func NewTrainer(cfg TrainConfig, k kernels.Backend, corpus *Corpus, vocab *Vocab) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	size := corpus.Size()
	if size < int64(cfg.Seq)+1 {
		return nil, fmt.Errorf("corpus has %d characters; training with -seq %d needs at least %d", size, cfg.Seq, cfg.Seq+1)
	}
	m, err := NewModel(cfg.Hidden, vocab.Size(), cfg.Seed)
	if err != nil {
		return nil, err
	}
	opt, err := NewOptimizer(cfg.Optimizer, len(m.P.Slab))
	if err != nil {
		return nil, err
	}
	t := &Trainer{
		Config: cfg, Model: m, Vocab: vocab,
		k: k, opt: opt,
		grads:   NewTensors(cfg.Hidden, vocab.Size()),
		ws:      NewWorkspace(cfg.Hidden, vocab.Size(), cfg.Seq, cfg.Batch),
		tokens:  vocab.NewTokenStream(corpus),
		size:    size,
		window:  make([]int32, cfg.Seq+1),
		Cursors: make([]int64, cfg.Batch),
	}
	for s := range t.Cursors {
		t.Cursors[s] = int64(s) * (size / int64(cfg.Batch))
	}
	return t, nil
}

// Backend is the kernel backend the trainer runs on.
func (t *Trainer) Backend() kernels.Backend { return t.k }

// TrainStep runs one step and returns its loss and gradient norm.
func (t *Trainer) TrainStep() (StepResult, error) {
	defer enter(phaseNone)
	enter(phaseData)
	if err := t.loadWindow(); err != nil {
		return StepResult{}, err
	}
	enter(phaseForward)
	loss := Forward(t.k, t.Model, t.ws)
	enter(phaseBackward)
	Backward(t.k, t.Model, t.ws, &t.grads)
	t.ws.Carry()
	enter(phaseUpdate)
	n := int64(t.Config.Seq * t.Config.Batch)
	cond := t.Config.Clip.Conditioning(t.k, t.grads.Slab)
	if math.IsNaN(loss) || math.IsInf(loss, 0) || math.IsNaN(cond.Norm) || math.IsInf(cond.Norm, 0) {
		// Never let a non-finite value into the parameters (or a checkpoint).
		return StepResult{}, fmt.Errorf("step %d: loss or gradient is not finite (loss %v, gradient norm %v); try a lower -lr or -clip-mode norm", t.Step+1, loss/float64(n), cond.Norm)
	}
	t.Step++
	t.opt.Update(t.k, t.Model.P.Slab, t.grads.Slab, t.Config.LR, t.Step, cond)
	t.CharsSeen += n
	return StepResult{Loss: loss / float64(n), GradNorm: cond.Norm}, nil
}

// loadWindow reads the next T+1 ids of every stream into the workspace. A
// stream that reaches the end of the corpus starts again at the beginning,
// from a zero state.
func (t *Trainer) loadWindow() error {
	T, B := t.Config.Seq, t.Config.Batch
	for s := 0; s < B; s++ {
		if t.Cursors[s]+int64(T)+1 > t.size {
			t.Cursors[s] = 0
			t.ws.ResetState(s)
		}
		if err := t.tokens.Window(t.Cursors[s], t.window); err != nil {
			return err
		}
		for i := 0; i < T; i++ {
			t.ws.Inputs[i*B+s] = t.window[i]
			t.ws.Targets[i*B+s] = t.window[i+1]
		}
		t.Cursors[s] += int64(T)
	}
	return nil
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
	if len(h.Cursors) != c.Batch {
		return fmt.Errorf("checkpoint has %d stream cursors, want %d", len(h.Cursors), c.Batch)
	}
	for _, cur := range h.Cursors {
		if cur < 0 || cur > t.size {
			return fmt.Errorf("checkpoint cursor %d is outside this corpus (%d characters)", cur, t.size)
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
	return nil
}
