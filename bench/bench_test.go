package bench

import (
	"fmt"
	"runtime"
	"testing"

	"charrnn/engine"
	"charrnn/kernels"
)

// The standard workloads on every backend this CPU supports, on one core
// and on all of them, named for benchstat:
// BenchmarkTrain/workload=h512b1/backend=avx512/threads=2. They report
// characters per second; compare runs with -count and benchstat.

// threadCounts are the -threads settings benchmarked: one core and all.
func threadCounts() []int {
	if n := runtime.GOMAXPROCS(0); n > 1 {
		return []int{1, n}
	}
	return []int{1}
}

func BenchmarkTrain(b *testing.B) {
	data, err := NewData(65, 1<<20)
	if err != nil {
		b.Fatal(err)
	}
	defer data.Close()
	for _, w := range Standard {
		if w.SampleOnly {
			continue
		}
		for _, k := range kernels.Supported() {
			for _, threads := range threadCounts() {
				name := fmt.Sprintf("workload=%s/backend=%s/threads=%d", w.Name, k.Name(), threads)
				b.Run(name, func(b *testing.B) { benchTrain(b, data, kernels.Parallel(k, threads), w) })
			}
		}
	}
}

func benchTrain(b *testing.B, data *Data, k kernels.Backend, w Workload) {
	tr, err := data.NewTrainer(k, w)
	if err != nil {
		b.Fatal(err)
	}
	tr.TrainStep() // warm up
	chars := tr.CharsSeen
	b.ResetTimer()
	for range b.N {
		if _, err := tr.TrainStep(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(tr.CharsSeen-chars)/b.Elapsed().Seconds(), "chars/s")
	b.ReportMetric(float64(tr.CharsSeen-chars)*TrainFLOPsPerChar(w.Model())/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func BenchmarkSample(b *testing.B) {
	for _, w := range Standard {
		if w.Batch != 1 {
			continue
		}
		for _, k := range kernels.Supported() {
			for _, threads := range threadCounts() {
				name := fmt.Sprintf("workload=%s/backend=%s/threads=%d", w.Name, k.Name(), threads)
				b.Run(name, func(b *testing.B) { benchSample(b, kernels.Parallel(k, threads), w) })
			}
		}
	}
}

func benchSample(b *testing.B, k kernels.Backend, w Workload) {
	m, err := engine.NewModel(w.Model(), 1)
	if err != nil {
		b.Fatal(err)
	}
	s := engine.NewSampler(k, m, 1)
	b.ResetTimer()
	s.Generate(b.N, func(int32) {})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "chars/s")
}

// TestStandardWorkloadsRun trains each standard workload for a step on the
// best backend, so the benchmarks' set-up cannot silently rot.
func TestStandardWorkloadsRun(t *testing.T) {
	data, err := NewData(65, 1<<16)
	if err != nil {
		t.Fatal(err)
	}
	defer data.Close()
	for _, w := range Standard {
		if w.SampleOnly {
			continue
		}
		tr, err := data.NewTrainer(kernels.Best(), w)
		if err != nil {
			t.Fatal(err)
		}
		if tr.Vocab.Size() != w.Vocab {
			t.Fatalf("%s: vocabulary %d, want %d", w.Name, tr.Vocab.Size(), w.Vocab)
		}
		r, err := tr.TrainStep()
		if err != nil {
			t.Fatal(err)
		}
		if want := 4.17; r.Loss < want-0.2 || r.Loss > want+0.2 { // ln 65: random data
			t.Fatalf("%s: first loss %.3f, want about ln 65 = %.2f", w.Name, r.Loss, want)
		}
	}
}
