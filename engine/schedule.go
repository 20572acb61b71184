package engine

import (
	"math"
	"strings"
)

// Schedules lists the learning-rate schedules Schedule.Kind accepts.
var Schedules = []string{"constant", "step", "cosine", "plateau"}

// Schedule moves the learning rate during training. Its factor is a pure
// function of the step, the epochs trained and ScheduleState, all of which
// a checkpoint holds, so a resumed run continues on the same curve.
//
// An epoch is one training part's worth of characters: epochs = characters
// trained on (all streams together) / characters in the training part.
type Schedule struct {
	Kind            string  `json:"kind"`                       // constant (or ""), step, cosine or plateau
	Warmup          int64   `json:"warmup,omitempty"`           // steps of linear warm-up from lr/Warmup to lr
	Decay           float64 `json:"decay,omitempty"`            // step: factor per epoch; plateau: factor per plateau
	DecayAfter      int64   `json:"decay_after,omitempty"`      // step: whole epochs at the full rate before decaying
	Steps           int64   `json:"steps,omitempty"`            // cosine: the run's last step, where the rate reaches about 0
	PlateauPatience int     `json:"plateau_patience,omitempty"` // plateau: evaluations without improvement before a cut
}

// ScheduleState is what a schedule carries from one validation to the next.
type ScheduleState struct {
	PlateauScale float64 `json:"plateau_scale"` // product of the plateau cuts so far (1: none)
	PlateauBad   int     `json:"plateau_bad"`   // evaluations since the last improvement or cut
}

// NewScheduleState is the state before the first step.
func NewScheduleState() ScheduleState { return ScheduleState{PlateauScale: 1} }

// Validate reports the first unusable setting as a clear error.
func (s Schedule) Validate() error {
	switch s.Kind {
	case "", "constant", "step", "cosine", "plateau":
	default:
		return fieldErrorf("Schedule.Kind", "must be one of %s, got %q", strings.Join(Schedules, ", "), s.Kind)
	}
	if s.Warmup < 0 {
		return fieldErrorf("Schedule.Warmup", "must not be negative, got %d", s.Warmup)
	}
	switch s.Kind {
	case "step", "plateau":
		if !(s.Decay > 0 && s.Decay <= 1) {
			return fieldErrorf("Schedule.Decay", "must be in (0, 1], got %v", s.Decay)
		}
	default: // unused, but kept in checkpoints: a number JSON can hold
		if math.IsNaN(s.Decay) || math.IsInf(s.Decay, 0) {
			return fieldErrorf("Schedule.Decay", "must be in (0, 1], got %v", s.Decay)
		}
	}
	switch {
	case s.Kind == "step" && s.DecayAfter < 0:
		return fieldErrorf("Schedule.DecayAfter", "must not be negative, got %d", s.DecayAfter)
	case s.Kind == "cosine" && s.Steps <= 0:
		return fieldErrorf("Schedule.Steps", "must be positive with the cosine schedule: it anneals the rate to 0 at that step")
	case s.Kind == "cosine" && s.Steps <= s.Warmup:
		return fieldErrorf("Schedule.Steps", "(%d) must be greater than Schedule.Warmup (%d) with the cosine schedule", s.Steps, s.Warmup)
	case s.Kind == "plateau" && s.PlateauPatience <= 0:
		return fieldErrorf("Schedule.PlateauPatience", "must be positive, got %d", s.PlateauPatience)
	}
	return nil
}

// Factor is what the base learning rate is multiplied by for update number
// step (1, 2, ...), after epochs of training, in state st.
func (s Schedule) Factor(step int64, epochs float64, st ScheduleState) float64 {
	f := 1.0
	if s.Warmup > 0 && step < s.Warmup {
		f = float64(step) / float64(s.Warmup)
	}
	switch s.Kind {
	case "step":
		if over := math.Floor(epochs) - float64(s.DecayAfter); over > 0 {
			f *= math.Pow(s.Decay, over)
		}
	case "cosine":
		// From the full rate at the first step after warm-up to nearly 0 at
		// step Steps (the last step still moves the parameters).
		progress := float64(step-1-s.Warmup) / float64(s.Steps-s.Warmup)
		progress = min(max(progress, 0), 1)
		f *= 0.5 * (1 + math.Cos(math.Pi*progress))
	case "plateau":
		f *= st.PlateauScale
	}
	return f
}

// Observe updates st after a validation that improved on the best loss so
// far or did not; it reports whether the plateau schedule cut the rate.
func (s Schedule) Observe(st *ScheduleState, improved bool) bool {
	if s.Kind != "plateau" {
		return false
	}
	if improved {
		st.PlateauBad = 0
		return false
	}
	st.PlateauBad++
	if st.PlateauBad < s.PlateauPatience {
		return false
	}
	st.PlateauScale *= s.Decay
	st.PlateauBad = 0
	return true
}
