package engine

import (
	"errors"
	"fmt"
	"math"
)

// snapshot is the last known good training state, kept in memory so that a
// non-finite step can be undone. Its buffers are allocated once, with the
// trainer.
type snapshot struct {
	taken      bool
	params     []float32
	opt        [][]float32
	hidden     []float32
	cursors    []int64
	step, seen int64
	state      TrainState
}

func (t *Trainer) newSnapshot() *snapshot {
	s := &snapshot{
		params:  make([]float32, len(t.Model.Params)),
		hidden:  make([]float32, t.ws.StateFloats()),
		cursors: make([]int64, t.Config.Batch),
	}
	for _, o := range t.optState {
		s.opt = append(s.opt, make([]float32, len(o)))
	}
	return s
}

// snapshotIfDue refreshes the snapshot every Guard.SnapshotEvery steps (and
// on the first step), after checking that the state is finite: an update
// with a finite but huge gradient can still overflow a parameter, and such
// a state must not become the one rolled back to.
func (t *Trainer) snapshotIfDue() error {
	s := t.snap
	if s == nil || (s.taken && (t.Step%t.Config.Guard.SnapshotEvery != 0 || s.step == t.Step)) {
		return nil
	}
	if finite, err := t.finiteEverywhere(); err != nil {
		return err
	} else if !finite {
		return &NonFiniteError{Step: t.Step, Loss: math.NaN(), GradNorm: math.NaN(), Params: true}
	}
	copy(s.params, t.Model.Params)
	for i, o := range t.optState {
		copy(s.opt[i], o)
	}
	t.ws.SaveState(s.hidden)
	copy(s.cursors, t.Cursors)
	s.step, s.seen, s.state = t.Step, t.CharsSeen, t.State
	s.taken = true
	return nil
}

// Finite reports whether the parameters, optimizer state and carried states
// are all finite: what must hold before anything is saved.
func (t *Trainer) Finite() bool {
	finite := func(x []float32) bool {
		s := t.k.SumSquares(x)
		return !math.IsNaN(s) && !math.IsInf(s, 0)
	}
	ok := finite(t.Model.Params)
	t.ws.state(func(s []float32) { ok = ok && finite(s) })
	for _, o := range t.optState {
		ok = ok && finite(o)
	}
	return ok
}

// Recover handles an error from TrainStep. A non-finite step is undone by
// rolling back to the last snapshot (parameters, optimizer state, hidden
// states, cursors, counters) with the learning rate multiplied by
// Guard.LRFactor, at most Guard.Retries times in a run; Recover then
// returns nil and training can go on. Any other error, or a non-finite step
// with no retries left, is returned.
func (t *Trainer) Recover(err error) error {
	var nf *NonFiniteError
	if !errors.As(err, &nf) {
		return err
	}
	g := t.Config.Guard
	if t.snap == nil || !t.snap.taken || t.State.Rollbacks >= g.Retries {
		return fmt.Errorf("%w; gave up after %d rollbacks (learning rate %.3g); try a lower learning rate or norm clipping", err, t.State.Rollbacks, t.LR())
	}
	s := t.snap
	copy(t.Model.Params, s.params)
	for i, o := range t.optState {
		copy(o, s.opt[i])
	}
	t.ws.LoadState(s.hidden)
	copy(t.Cursors, s.cursors)
	rollbacks, scale := t.State.Rollbacks, t.State.LRScale
	t.Step, t.CharsSeen, t.State = s.step, s.seen, s.state
	t.State.Rollbacks = rollbacks + 1
	t.State.LRScale = scale * g.LRFactor
	return nil
}
