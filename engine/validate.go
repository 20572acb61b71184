package engine

import (
	"context"
	"math"
)

// Validation is one measurement on the held-out tail.
type Validation struct {
	Evaluation
	Improved bool // lower than every validation before it
	Stale    int  // validations since the best one (0 when Improved)
	Cut      bool // the plateau schedule cut the learning rate
}

// HeldOut is the range of the corpus one validation reads: the tail after
// the training part, at most Config.ValMaxChars of it.
func (t *Trainer) HeldOut() (from, to int64) {
	from, to = t.trainSize, t.size
	if m := t.Config.ValMaxChars; m > 0 && to-from > m {
		to = from + m
	}
	return from, to
}

// Validate measures the exact sequential loss on the held-out tail and
// updates the best loss, the count of validations without improvement and
// the plateau schedule.
func (t *Trainer) Validate() (Validation, error) { return t.validate(context.Background()) }

// validate is Validate, giving up (and changing nothing) with ctx's error
// once ctx is done.
func (t *Trainer) validate(ctx context.Context) (Validation, error) {
	ev, err := t.heldOutLoss(ctx)
	if err != nil {
		return Validation{}, err
	}
	st := &t.State
	finite := !math.IsNaN(ev.LossNats) && !math.IsInf(ev.LossNats, 0)
	v := Validation{Evaluation: ev, Improved: finite && (st.BestValStep == 0 || ev.LossNats < st.BestVal)}
	if v.Improved {
		st.BestVal, st.BestValStep, st.BadEvals = ev.LossNats, t.Step, 0
	} else {
		st.BadEvals++
	}
	v.Stale = st.BadEvals
	v.Cut = t.Config.Schedule.Observe(&st.Schedule, v.Improved)
	return v, nil
}
