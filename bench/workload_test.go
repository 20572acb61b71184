package bench

import (
	"testing"
	"time"

	"charrnn/engine"
	"charrnn/kernels"
)

// Runs measured side by side each get a rate of their own, and every
// trainer trains.
func TestMeasureSide(t *testing.T) {
	data, err := NewData(65, 1<<16)
	if err != nil {
		t.Fatal(err)
	}
	defer data.Close()
	w := Workload{Name: "small", Hidden: 32, Seq: 8, Batch: 1, Vocab: 65}
	var trs []*engine.Trainer
	var ss []*engine.Sampler
	for range 2 {
		tr, err := data.NewTrainer(kernels.Best(), w)
		if err != nil {
			t.Fatal(err)
		}
		trs = append(trs, tr)
		m, err := engine.NewModel(w.Model(), 1)
		if err != nil {
			t.Fatal(err)
		}
		ss = append(ss, engine.NewSampler(kernels.Best(), m, 1))
	}
	rates, err := MeasureTrainSide(trs, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	samples := MeasureSampleSide(ss, 20*time.Millisecond)
	for i := range 2 {
		if rates[i] <= 0 || samples[i] <= 0 || trs[i].CharsSeen <= 3*int64(w.Seq) {
			t.Errorf("run %d: %v chars/s training (%d characters seen), %v chars/s sampling", i, rates[i], trs[i].CharsSeen, samples[i])
		}
	}
}
