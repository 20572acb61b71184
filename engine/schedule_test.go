package engine

import (
	"math"
	"strings"
	"testing"

	"charrnn/kernels"
)

func TestScheduleFactor(t *testing.T) {
	st := NewScheduleState()
	cases := []struct {
		name   string
		s      Schedule
		step   int64
		epochs float64
		want   float64
	}{
		{"constant", Schedule{Kind: "constant"}, 1000, 7.5, 1},
		{"warm-up start", Schedule{Kind: "constant", Warmup: 4}, 1, 0, 0.25},
		{"warm-up middle", Schedule{Kind: "constant", Warmup: 4}, 3, 0, 0.75},
		{"warm-up done", Schedule{Kind: "constant", Warmup: 4}, 4, 0, 1},
		{"step before decay-after", Schedule{Kind: "step", Decay: 0.5, DecayAfter: 2}, 10, 2.99, 1},
		{"step one epoch over", Schedule{Kind: "step", Decay: 0.5, DecayAfter: 2}, 10, 3, 0.5},
		{"step two and a half over", Schedule{Kind: "step", Decay: 0.5, DecayAfter: 2}, 10, 4.5, 0.25},
		{"step with warm-up", Schedule{Kind: "step", Decay: 0.5, DecayAfter: 0, Warmup: 10}, 5, 1.2, 0.25},
		{"cosine first step", Schedule{Kind: "cosine", Steps: 100}, 1, 0, 1},
		{"cosine half way", Schedule{Kind: "cosine", Steps: 100}, 51, 0, 0.5},
		{"cosine after the end", Schedule{Kind: "cosine", Steps: 100}, 500, 0, 0},
		{"cosine in warm-up", Schedule{Kind: "cosine", Steps: 110, Warmup: 10}, 5, 0, 0.5},
		{"cosine after warm-up", Schedule{Kind: "cosine", Steps: 110, Warmup: 10}, 11, 0, 1},
		{"cosine half way after warm-up", Schedule{Kind: "cosine", Steps: 110, Warmup: 10}, 61, 0, 0.5},
		{"plateau uncut", Schedule{Kind: "plateau", Decay: 0.5, PlateauPatience: 2}, 77, 3, 1},
	}
	for _, c := range cases {
		if got := c.s.Factor(c.step, c.epochs, st); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: factor %v, want %v", c.name, got, c.want)
		}
	}
	if last := (Schedule{Kind: "cosine", Steps: 100}).Factor(100, 0, st); !(last > 0 && last < 0.001) {
		t.Errorf("cosine's last step has factor %v, want small but positive", last)
	}
}

func TestSchedulePlateau(t *testing.T) {
	s := Schedule{Kind: "plateau", Decay: 0.5, PlateauPatience: 2}
	st := NewScheduleState()
	steps := []struct {
		improved, cut bool
		scale         float64
	}{
		{true, false, 1}, {false, false, 1}, {true, false, 1}, // an improvement resets the count
		{false, false, 1}, {false, true, 0.5}, // two without improvement: cut
		{false, false, 0.5}, {false, true, 0.25}, // the count restarts after a cut
	}
	for i, c := range steps {
		if cut := s.Observe(&st, c.improved); cut != c.cut || st.PlateauScale != c.scale {
			t.Fatalf("validation %d (improved %v): cut %v scale %v, want cut %v scale %v", i, c.improved, cut, st.PlateauScale, c.cut, c.scale)
		}
		if f := s.Factor(1, 0, st); f != c.scale {
			t.Fatalf("validation %d: factor %v, want the plateau scale %v", i, f, c.scale)
		}
	}
	other := NewScheduleState()
	if (Schedule{Kind: "step", Decay: 0.5}).Observe(&other, false) || other != NewScheduleState() {
		t.Fatal("a step schedule changed its state on a validation")
	}
}

func TestScheduleValidate(t *testing.T) {
	bad := []struct {
		s    Schedule
		want string
	}{
		{Schedule{Kind: "exponential"}, "Schedule.Kind"},
		{Schedule{Kind: "constant", Warmup: -1}, "Schedule.Warmup"},
		{Schedule{Kind: "step", Decay: 0}, "Schedule.Decay"},
		{Schedule{Kind: "step", Decay: 1.5}, "Schedule.Decay"},
		{Schedule{Kind: "step", Decay: 0.9, DecayAfter: -1}, "Schedule.DecayAfter"},
		{Schedule{Kind: "cosine"}, "Schedule.Steps must be positive"},
		{Schedule{Kind: "cosine", Steps: 10, Warmup: 10}, "greater than Schedule.Warmup"},
		{Schedule{Kind: "plateau", Decay: 0.5}, "Schedule.PlateauPatience"},
	}
	for _, c := range bad {
		if err := c.s.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one mentioning %q", c.s, err, c.want)
		}
	}
	for _, s := range []Schedule{{}, {Kind: "constant", Warmup: 5}, {Kind: "step", Decay: 0.97, DecayAfter: 10}, {Kind: "cosine", Steps: 10}, {Kind: "plateau", Decay: 0.5, PlateauPatience: 1}} {
		if err := s.Validate(); err != nil {
			t.Errorf("%+v rejected: %v", s, err)
		}
	}
}

// The trainer's updates use the scheduled rate: with a step decay of 0.5
// per epoch, the rate halves once the streams have read the training part.
func TestTrainerFollowsSchedule(t *testing.T) {
	corpus, vocab := writeCorpus(t, pairsText(1000, 11))
	cfg := TrainConfig{Model: rnnModel(8), Seq: 10, Batch: 2, Optimizer: "sgd", LR: 0.1, Clip: Clip{Mode: "value", Limit: 5}, Seed: 1,
		Schedule: Schedule{Kind: "step", Decay: 0.5, DecayAfter: 1, Warmup: 2}}
	tr, err := NewTrainer(cfg, kernels.Best(), corpus, vocab)
	if err != nil {
		t.Fatal(err)
	}
	for tr.Step < 200 {
		epochs := tr.Epochs()
		want := cfg.Schedule.Factor(tr.Step+1, epochs, tr.State.Schedule) * 0.1
		r, err := tr.TrainStep()
		if err != nil {
			t.Fatal(err)
		}
		if r.LR != float32(want) {
			t.Fatalf("step %d (%.2f epochs): lr %v, want %v", tr.Step, epochs, r.LR, want)
		}
		switch {
		case tr.Step == 1 && r.LR != 0.05:
			t.Fatalf("first warm-up step: lr %v, want 0.05", r.LR)
		case epochs >= 2 && epochs < 3 && r.LR != 0.05:
			t.Fatalf("in the third epoch: lr %v, want 0.05", r.LR)
		}
	}
	if tr.Epochs() < 3 {
		t.Fatalf("only %.2f epochs in 200 steps; the test wants at least 3", tr.Epochs())
	}
}
