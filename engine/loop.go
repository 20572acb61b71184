package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Limits bound one call of Run.
type Limits struct {
	Steps    int64         // stop when the step counter reaches Steps (0: no limit)
	Duration time.Duration // stop after training this long (0: no limit)
}

// Observer is told what a training run does, as it does it; a front end
// shows it. Its methods run on Run's goroutine, between steps.
type Observer interface {
	Stepped(step int64)             // after every step
	Report(r Record)                // every ReportEvery steps and at every validation
	Sample(step int64, text string) // every SampleEvery steps
	Note(msg string)                // a rollback, a learning-rate cut, an early stop
	Saved(path string)              // a checkpoint was written
}

// Record is one progress report of a training run; checkpoints keep the
// run's records (as JSON) and front ends log and plot them.
type Record struct {
	Step        int64   `json:"step"`
	Chars       int64   `json:"chars"`         // characters trained on so far
	Loss        float64 `json:"loss"`          // mean training loss since the last report, nats/char
	BitsPerChar float64 `json:"bits_per_char"` // the same in bits
	LR          float64 `json:"lr"`
	CharsPerSec float64 `json:"chars_per_sec"`
	GradNorm    float64 `json:"grad_norm"` // the last step's, before clipping
	Seconds     float64 `json:"seconds"`   // since the run started

	// Set on the steps where the held-out tail was evaluated (ValFrac).
	ValLoss        *float64 `json:"val_loss,omitempty"` // nats/char
	ValBitsPerChar *float64 `json:"val_bits_per_char,omitempty"`
	ValPerplexity  *float64 `json:"val_perplexity,omitempty"`
}

// Stop says why a run ended.
type Stop string

const (
	StopSteps       Stop = "steps"       // the step limit was reached
	StopTime        Stop = "time"        // the time limit was reached
	StopPatience    Stop = "patience"    // validation stopped improving
	StopInterrupted Stop = "interrupted" // the context was cancelled
)

// Outcome is how a run ended.
type Outcome struct {
	Stop Stop
	// Sample is drawn from the zero state after the last save (so that a
	// resumed run draws what an uninterrupted one would), SampleLen long;
	// empty when interrupted.
	Sample string
}

// maxHistory bounds the progress records a checkpoint keeps (the latest).
const maxHistory = 10000

// BestPath is where a run saves the checkpoint of its best validation:
// beside path, with ".best.ckpt" for its extension.
func BestPath(path string) string {
	return strings.TrimSuffix(path, filepath.Ext(path)) + ".best.ckpt"
}

// Run trains until a limit is reached, validation stops improving
// (Config.Patience) or ctx is cancelled, reporting, validating, sampling and
// saving to the checkpoint at path along the way, as the configuration's
// periods say, and saving at the end. A cancelled run saves and returns
// StopInterrupted. A step whose loss or gradient is not finite is rolled
// back (Config.Guard); when no retries are left the run returns an error
// and saves nothing more.
//
// On the ranks of a data-parallel job (Join), every rank calls Run and
// every decision is the job's (see distributed.go): the ranks stop, roll
// back, validate and save together. Rank 0 writes the checkpoints and draws
// the samples; the other ranks' observers are told the same steps, reports
// and notes.
func (t *Trainer) Run(ctx context.Context, path string, lim Limits, obs Observer) (Outcome, error) {
	c := t.Config
	r := runState{t: t, path: path, obs: obs, start: time.Now()}
	r.last, r.lastChars = r.start, t.CharsSeen
	for {
		stop, ok, err := r.limitReached(ctx, lim)
		if err != nil {
			return Outcome{}, err
		}
		if ok {
			if stop == StopInterrupted {
				return Outcome{Stop: stop}, r.save(path)
			}
			return r.finish(stop)
		}
		res, err := t.TrainStep()
		if err == nil && r.savesAt(t.Step) {
			// An update may have overflowed; the next step would see it,
			// but a save is due first.
			if finite, ferr := t.finiteEverywhere(); ferr != nil {
				err = ferr
			} else if !finite {
				err = &NonFiniteError{Step: t.Step, Params: true}
			}
		}
		var nf *NonFiniteError
		var ce *CommError
		if errors.As(err, &ce) { // the ranks can no longer act together
			return Outcome{}, err
		}
		if err != nil && !errors.As(err, &nf) {
			// The data could not be read (the corpus changed under the
			// run): nothing of the step happened, so the state is the last
			// step's, worth saving.
			if serr := r.save(path); serr != nil {
				return Outcome{}, fmt.Errorf("%w (and saving failed: %w)", err, serr)
			}
			return Outcome{}, fmt.Errorf("%w; checkpoint saved to %s at step %d", err, path, t.Step)
		}
		if err != nil {
			if err := t.Recover(err); err != nil {
				return Outcome{}, t.shared(fmt.Errorf("%w; %s is left as last saved", err, path))
			}
			obs.Note(fmt.Sprintf("%v; rolled back to step %d with learning rate %.3g (rollback %d of %d)",
				err, t.Step, t.LR(), t.State.Rollbacks, c.Guard.Retries))
			continue
		}
		if t.smoothed == 0 {
			t.smoothed = res.Loss
		}
		t.smoothed = 0.99*t.smoothed + 0.01*res.Loss
		obs.Stepped(t.Step)
		r.lossSum += res.Loss
		r.lossN++

		var val *Validation
		if c.EvalEvery > 0 && t.Step%c.EvalEvery == 0 {
			v, err := t.validate(ctx)
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				// Interrupted mid-validation: this step's is skipped.
				return Outcome{Stop: StopInterrupted}, r.save(path)
			}
			if err != nil {
				return Outcome{}, err
			}
			val = &v
		}
		if c.ReportEvery > 0 && t.Step%c.ReportEvery == 0 || val != nil {
			r.report(res, val)
		}
		if val != nil && val.Improved {
			if err := r.save(BestPath(path)); err != nil {
				return Outcome{}, err
			}
		}
		if val != nil && val.Cut {
			obs.Note(fmt.Sprintf("validation loss has not improved for %d evaluations; learning rate cut to %.3g", c.Schedule.PlateauPatience, t.LR()))
		}
		if c.SampleEvery > 0 && t.Step%c.SampleEvery == 0 && t.Rank() == 0 {
			obs.Sample(t.Step, t.sample())
		}
		if c.SaveEvery > 0 && t.Step%c.SaveEvery == 0 {
			if err := r.save(path); err != nil {
				return Outcome{}, err
			}
		}
		if val != nil && c.Patience > 0 && t.State.BadEvals >= c.Patience {
			obs.Note(fmt.Sprintf("stopping early at step %d: validation loss has not improved for %d evaluations (best %.4f nats/char at step %d, saved to %s)",
				t.Step, t.State.BadEvals, t.State.BestVal, t.State.BestValStep, BestPath(path)))
			return r.finish(StopPatience)
		}
	}
}

// runState is what one call of Run keeps between steps.
type runState struct {
	t     *Trainer
	path  string
	obs   Observer
	start time.Time
	// Since the last report: when it was, the characters seen then, and
	// the losses of the steps since.
	last      time.Time
	lastChars int64
	lossSum   float64
	lossN     int
}

// limitReached reports whether the run must stop before the next step, and
// why: the job's decision, the same on every rank.
func (r *runState) limitReached(ctx context.Context, lim Limits) (Stop, bool, error) {
	timeUp, interrupted, err := r.t.agreeStop(lim.Duration > 0 && time.Since(r.start) >= lim.Duration, ctx.Err() != nil)
	switch {
	case err != nil:
		return "", false, err
	case lim.Steps > 0 && r.t.Step >= lim.Steps:
		return StopSteps, true, nil
	case timeUp:
		return StopTime, true, nil
	case interrupted:
		return StopInterrupted, true, nil
	}
	return "", false, nil
}

// savesAt reports whether step may save a checkpoint (periodic or best).
func (r *runState) savesAt(step int64) bool {
	c := r.t.Config
	return c.SaveEvery > 0 && step%c.SaveEvery == 0 || c.EvalEvery > 0 && step%c.EvalEvery == 0
}

// save writes the trainer's checkpoint to path; in a data-parallel job,
// after checking that every rank still holds the same parameters, rank 0
// writes it, with every rank's streams.
func (r *runState) save(path string) error {
	t := r.t
	if err := t.checkInSync(); err != nil {
		return err
	}
	if finite, err := t.finiteEverywhere(); err != nil {
		return err
	} else if !finite { // never expected: TrainStep and Recover keep the state finite
		return t.shared(fmt.Errorf("not saving %s: the training state is not finite", path))
	}
	ck, err := t.Checkpoint()
	if err == nil && ck != nil {
		err = ck.Save(path)
	}
	var ce *CommError
	if errors.As(err, &ce) {
		return err
	}
	if err := t.rootOutcome(err); err != nil {
		return err
	}
	r.obs.Saved(path)
	return nil
}

// finish saves the checkpoint and draws the run's last sample.
func (r *runState) finish(stop Stop) (Outcome, error) {
	if err := r.save(r.path); err != nil {
		return Outcome{}, err
	}
	out := Outcome{Stop: stop}
	if r.t.Config.SampleLen > 0 && r.t.Rank() == 0 {
		out.Sample = r.t.sample()
	}
	return out, nil
}

// report makes the record of the steps since the last one, tells the
// observer and keeps it in the history.
func (r *runState) report(res StepResult, val *Validation) {
	t := r.t
	now := time.Now()
	mean := r.lossSum / float64(r.lossN)
	rec := Record{
		Step: t.Step, Chars: t.CharsSeen,
		Loss: mean, BitsPerChar: mean / math.Ln2,
		LR:          shortest(res.LR),
		CharsPerSec: float64(t.CharsSeen-r.lastChars) / now.Sub(r.last).Seconds(),
		GradNorm:    res.GradNorm,
		Seconds:     now.Sub(r.start).Seconds(),
	}
	if val != nil {
		loss, bits, ppl := val.LossNats, val.BitsPerChar(), val.Perplexity()
		rec.ValLoss, rec.ValBitsPerChar, rec.ValPerplexity = &loss, &bits, &ppl
	}
	r.obs.Report(rec)
	if b, err := json.Marshal(rec); err == nil { // a non-finite loss is shown, not kept
		t.history = appendBounded(t.history, b, maxHistory)
	}
	r.last, r.lastChars, r.lossSum, r.lossN = now, t.CharsSeen, 0, 0
}

// appendBounded appends rec to history, keeping only the latest max.
func appendBounded(history []json.RawMessage, rec json.RawMessage, max int) []json.RawMessage {
	history = append(history, rec)
	if len(history) > max {
		history = slices.Delete(history, 0, len(history)-max)
	}
	return history
}

// sample draws SampleLen symbols from the zero state.
func (t *Trainer) sample() string {
	s := t.sampler
	s.Reset()
	ids := make([]int32, 0, t.Config.SampleLen)
	s.Generate(t.Config.SampleLen, func(id int32) { ids = append(ids, id) })
	return t.Vocab.Decode(ids)
}

// shortest is a float32 as the float64 with the same shortest decimal
// form, so 0.002 is logged as 0.002, not 0.0020000000949949026.
func shortest(x float32) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(float64(x), 'g', -1, 32), 64)
	return v
}
