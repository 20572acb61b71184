package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"charrnn/bench"
	"charrnn/engine"
	"charrnn/kernels"
)

// benchResult is one line of `charrnn bench -json`.
type benchResult struct {
	Workload          string  `json:"workload"`
	Backend           string  `json:"backend"`
	Hidden            int     `json:"hidden"`
	Seq               int     `json:"seq"`
	Batch             int     `json:"batch"`
	Vocab             int     `json:"vocab"`
	Threads           int     `json:"threads"`
	TrainCharsPerSec  float64 `json:"train_chars_per_sec"`
	SampleCharsPerSec float64 `json:"sample_chars_per_sec"`
	TrainGFLOPS       float64 `json:"train_gflops"`
	SampleGFLOPS      float64 `json:"sample_gflops"`
	// Fractions of the machine's limits (the probe's figures times the
	// threads used): FMA peak, and for the recurrence's GEMVs, L2 bandwidth.
	TrainPeakFraction    float64 `json:"train_peak_fraction"`
	SampleL2RoofFraction float64 `json:"sample_l2_roof_fraction"`
}

func runBench(args []string) error {
	flags := newFlagSet("bench", "[-hidden H -seq T -batch B -vocab V] [-duration D] [-backend NAME|all] [-json]")
	hidden := flags.Int("hidden", 0, "hidden size H (with -seq and -batch: one custom workload; default: the four standard workloads)")
	seq := flags.Int("seq", 100, "window length T for a custom workload")
	batch := flags.Int("batch", 1, "streams B for a custom workload")
	vocab := flags.Int("vocab", 65, "vocabulary size V")
	duration := flags.Duration("duration", 3*time.Second, "time per measurement")
	var be backendFlags
	be.register(flags, "all")
	asJSON := flags.Bool("json", false, "print one JSON object per workload and backend")
	var prof profiling
	prof.register(flags)
	if err := flags.parse(args); err != nil {
		return err
	}
	workloads := bench.Standard
	if flags.isSet("hidden") || flags.isSet("seq") || flags.isSet("batch") {
		switch {
		case flags.isSet("hidden") && *hidden <= 0:
			return badInputf("-hidden must be positive, got %d", *hidden)
		case *hidden == 0:
			*hidden = 512
		}
		w := bench.Workload{Name: "custom", Hidden: *hidden, Seq: *seq, Batch: *batch, Vocab: *vocab}
		cfg := engine.TrainConfig{Hidden: w.Hidden, Seq: w.Seq, Batch: w.Batch, Optimizer: "adagrad", LR: 0.1, Clip: engine.Clip{Mode: "none"}}
		if err := cfg.Validate(); err != nil {
			return badInput(err)
		}
		workloads = []bench.Workload{w}
	} else if flags.isSet("vocab") {
		for i := range workloads {
			workloads[i].Vocab = *vocab
		}
	}
	if *duration <= 0 {
		return badInputf("-duration must be positive, got %v", *duration)
	}
	if err := be.check(); err != nil {
		return err
	}
	var backends []kernels.Backend
	if be.name == "all" {
		backends = kernels.Supported()
	} else {
		k, err := lookupBackend(be.name)
		if err != nil {
			return err
		}
		backends = []kernels.Backend{k}
	}
	for i, k := range backends {
		backends[i] = kernels.Parallel(k, be.threads)
	}
	data, err := bench.NewData(*vocab, 4<<20)
	if err != nil {
		return badInput(err)
	}
	defer data.Close()
	stopProfiling, err := prof.start()
	if err != nil {
		return err
	}

	threads := be.threads
	limits := bench.Probe(kernels.Best(), time.Second)
	if !*asJSON {
		fmt.Printf("machine: %s, %d cores, %d thread(s) used%s; per core: %.0f GFLOP/s fp32 FMA peak (%s loop), %.0f GB/s L2 read\n",
			cpuName(), runtime.NumCPU(), threads, openblasNote(""), limits.FMAGFLOPS, limits.FMAISA, limits.L2ReadGBps)
		fmt.Printf("%-10s %-9s %5s %4s %3s %4s %14s %8s %7s %15s %7s\n",
			"workload", "backend", "H", "T", "B", "V", "train chars/s", "GFLOP/s", "% peak", "sample chars/s", "% L2")
	}
	for _, w := range workloads {
		for _, k := range backends {
			r, err := measure(k, w, data, *duration, threads, limits)
			if err != nil {
				return err
			}
			if *asJSON {
				if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
					return err
				}
				continue
			}
			fmt.Printf("%-10s %-9s %5d %4d %3d %4d %14s %8.1f %6.0f%% %15s %6.0f%%\n",
				w.Name, k.Name(), w.Hidden, w.Seq, w.Batch, w.Vocab,
				orDash(r.TrainCharsPerSec), r.TrainGFLOPS, 100*r.TrainPeakFraction,
				orDash(r.SampleCharsPerSec), 100*r.SampleL2RoofFraction)
		}
	}
	return stopProfiling()
}

func measure(k kernels.Backend, w bench.Workload, data *bench.Data, d time.Duration, threads int, lim bench.Limits) (benchResult, error) {
	r := benchResult{Workload: w.Name, Backend: k.Name(), Hidden: w.Hidden, Seq: w.Seq, Batch: w.Batch, Vocab: w.Vocab, Threads: threads}
	if !w.SampleOnly {
		tr, err := data.NewTrainer(k, w)
		if err != nil {
			return r, badInput(err)
		}
		if r.TrainCharsPerSec, err = bench.MeasureTrain(tr, d); err != nil {
			return r, err
		}
		r.TrainGFLOPS = r.TrainCharsPerSec * bench.TrainFLOPsPerChar(w.Hidden, w.Vocab) / 1e9
		r.TrainPeakFraction = r.TrainGFLOPS / (lim.FMAGFLOPS * float64(threads))
	}
	if w.Batch == 1 {
		m, err := engine.NewModel(w.Hidden, w.Vocab, 1)
		if err != nil {
			return r, badInput(err)
		}
		r.SampleCharsPerSec = bench.MeasureSample(engine.NewSampler(k, m, 1), d)
		r.SampleGFLOPS = r.SampleCharsPerSec * bench.SampleFLOPsPerChar(w.Hidden, w.Vocab) / 1e9
		// Each sampled character reads W and V once: 4(H²+HV) bytes.
		bytesPerChar := 4 * float64(w.Hidden*w.Hidden+w.Hidden*w.Vocab)
		r.SampleL2RoofFraction = r.SampleCharsPerSec * bytesPerChar / (lim.L2ReadGBps * 1e9 * float64(threads))
	}
	return r, nil
}

func orDash(v float64) string {
	if v == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f", v)
}

// cpuName reads the processor's model name, where the system tells it.
func cpuName() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(b), "\n") {
		if key, value, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(key) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return runtime.GOARCH
}
