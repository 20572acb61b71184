package engine

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// MaxCount bounds the step and character counters a checkpoint may hold:
// far more than any run reaches (2^62 characters is over a century at a
// billion a second), and far enough below the int64 limit that continuing
// from it cannot overflow.
const MaxCount = 1 << 62

// maxWindow bounds -seq and -batch in a header: a run past it could not
// allocate its buffers anyway.
const maxWindow = 1 << 31

// headerCheck is one field's range check: ok says whether value is in it,
// want says what it must be.
type headerCheck struct {
	field string
	ok    bool
	value any
	want  string
}

// checkRanges checks every field of the header against the range a trainer
// can write, so a crafted header (even under a valid checksum) is refused
// on load rather than misbehaving later: one check per field.
func (h *Header) checkRanges() error {
	var negative int64 // the first negative cursor, if any
	if i := slices.IndexFunc(h.Cursors, func(c int64) bool { return c < 0 }); i >= 0 {
		negative = h.Cursors[i]
	}
	checks := []headerCheck{
		{"seq", h.Seq >= 0 && h.Seq < maxWindow, h.Seq, "a non-negative size below 2^31"},
		{"batch", h.Batch >= 0 && h.Batch < maxWindow, h.Batch, "a non-negative size below 2^31"},
		{"optimizer", h.Optimizer == "" || slices.Contains(Optimizers, h.Optimizer), h.Optimizer, "one of " + strings.Join(Optimizers, ", ")},
		{"lr", finiteIn(float64(h.LR), 0, math.MaxFloat32), h.LR, "a non-negative number"},
		{"clip_mode", slices.Contains([]string{"", "value", "norm", "none"}, h.ClipMode), h.ClipMode, "value, norm or none"},
		{"clip", clipInRange(h.ClipMode, h.Clip), h.Clip, "a number, positive when clip_mode is value or norm"},
		{"step", h.Step >= 0 && h.Step <= MaxCount, h.Step, "a non-negative count up to 2^62"},
		{"chars_seen", h.CharsSeen >= 0 && h.CharsSeen <= MaxCount, h.CharsSeen, "a non-negative count up to 2^62"},
		{"cursor", negative == 0, negative, "a non-negative offset"},
		{"loss", finiteIn(h.Loss, 0, math.MaxFloat64), h.Loss, "a non-negative number"},
		{"momentum", h.Momentum >= 0 && h.Momentum < 1, h.Momentum, "in [0, 1)"},
		{"rho", h.Rho >= 0 && h.Rho < 1, h.Rho, "in [0, 1)"},
		{"weight_decay", h.WeightDecay >= 0 && h.WeightDecay < 1, h.WeightDecay, "in [0, 1)"},
		{"val_frac", h.ValFrac >= 0 && h.ValFrac < 1, h.ValFrac, "in [0, 1)"},
	}
	if s := h.Train; s != nil {
		checks = append(checks,
			headerCheck{"train.lr_scale", finiteIn(s.LRScale, math.SmallestNonzeroFloat64, 1), s.LRScale, "in (0, 1]"},
			headerCheck{"train.rollbacks", s.Rollbacks >= 0, s.Rollbacks, "a non-negative count"},
			headerCheck{"train.best_val", finiteIn(s.BestVal, 0, math.MaxFloat64), s.BestVal, "a non-negative number"},
			headerCheck{"train.best_val_step", s.BestValStep >= 0 && s.BestValStep <= MaxCount, s.BestValStep, "a non-negative step up to 2^62"},
			headerCheck{"train.bad_evals", s.BadEvals >= 0, s.BadEvals, "a non-negative count"},
			headerCheck{"train.schedule.plateau_scale", finiteIn(s.Schedule.PlateauScale, math.SmallestNonzeroFloat64, 1), s.Schedule.PlateauScale, "in (0, 1]"},
			headerCheck{"train.schedule.plateau_bad", s.Schedule.PlateauBad >= 0, s.Schedule.PlateauBad, "a non-negative count"},
		)
	}
	for _, c := range checks {
		if !c.ok {
			return fmt.Errorf("header: %s %v out of range (want %s)", c.field, c.value, c.want)
		}
	}
	if h.Schedule != nil {
		if err := h.Schedule.Validate(); err != nil {
			return fmt.Errorf("header: schedule: %w", err)
		}
	}
	return nil
}

// finiteIn reports whether lo ≤ x ≤ hi, which no NaN is.
func finiteIn(x, lo, hi float64) bool { return x >= lo && x <= hi }

// clipInRange is Clip.Validate's rule for a header: a positive bound when
// clipping by value or norm, any finite number otherwise.
func clipInRange(mode string, limit float32) bool {
	if mode == "value" || mode == "norm" {
		return finiteIn(float64(limit), math.SmallestNonzeroFloat32, math.MaxFloat32)
	}
	return finiteIn(float64(limit), -math.MaxFloat32, math.MaxFloat32)
}
