package engine

import (
	"fmt"
	"math"
	"slices"
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
// on load rather than misbehaving later: one check per field. The
// configuration's own fields are TrainConfig.Validate's.
func (h *Header) checkRanges() error {
	var negative int64 // the first negative cursor, if any
	if i := slices.IndexFunc(h.Cursors, func(c int64) bool { return c < 0 }); i >= 0 {
		negative = h.Cursors[i]
	}
	s := h.Train
	checks := []headerCheck{
		{"config.seq", h.Config.Seq < maxWindow, h.Config.Seq, "a size below 2^31"},
		{"config.batch", h.Config.Batch < maxWindow, h.Config.Batch, "a size below 2^31"},
		{"ranks", h.Ranks >= 0 && h.Ranks <= MaxRanks, h.Ranks, "0 (one process) to 2^20"},
		{"step", h.Step >= 0 && h.Step <= MaxCount, h.Step, "a non-negative count up to 2^62"},
		{"chars_seen", h.CharsSeen >= 0 && h.CharsSeen <= MaxCount, h.CharsSeen, "a non-negative count up to 2^62"},
		{"cursor", negative == 0, negative, "a non-negative offset"},
		{"loss", finiteIn(h.Loss, 0, math.MaxFloat64), h.Loss, "a non-negative number"},
		{"train.lr_scale", finiteIn(s.LRScale, math.SmallestNonzeroFloat64, 1), s.LRScale, "in (0, 1]"},
		{"train.rollbacks", s.Rollbacks >= 0, s.Rollbacks, "a non-negative count"},
		{"train.best_val", finiteIn(s.BestVal, 0, math.MaxFloat64), s.BestVal, "a non-negative number"},
		{"train.best_val_step", s.BestValStep >= 0 && s.BestValStep <= MaxCount, s.BestValStep, "a non-negative step up to 2^62"},
		{"train.bad_evals", s.BadEvals >= 0, s.BadEvals, "a non-negative count"},
		{"train.schedule.plateau_scale", finiteIn(s.Schedule.PlateauScale, math.SmallestNonzeroFloat64, 1), s.Schedule.PlateauScale, "in (0, 1]"},
		{"train.schedule.plateau_bad", s.Schedule.PlateauBad >= 0, s.Schedule.PlateauBad, "a non-negative count"},
	}
	for _, c := range checks {
		if !c.ok {
			return fmt.Errorf("header: %s %v out of range (want %s)", c.field, c.value, c.want)
		}
	}
	return nil
}

// finiteIn reports whether lo ≤ x ≤ hi, which no NaN is.
func finiteIn(x, lo, hi float64) bool { return x >= lo && x <= hi }
