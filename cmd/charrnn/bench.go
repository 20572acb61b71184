package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"slices"
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
	Cell              string  `json:"cell"`
	Layers            int     `json:"layers"`
	Precision         string  `json:"precision"`
	Hidden            int     `json:"hidden"`
	Seq               int     `json:"seq"`
	Batch             int     `json:"batch"`
	Vocab             int     `json:"vocab"`
	Threads           int     `json:"threads"`
	TrainCharsPerSec  float64 `json:"train_chars_per_sec"`
	SampleCharsPerSec float64 `json:"sample_chars_per_sec"`
	TrainGFLOPS       float64 `json:"train_gflops"`
	SampleGFLOPS      float64 `json:"sample_gflops"`
	// TrainPeakFraction is training's fraction of the threads' peak for its
	// precision: the fp32 FMA peak, or for bf16 the bfloat16 dot peak.
	TrainPeakFraction float64 `json:"train_peak_fraction"`
	// SampleReadFraction is sampling's fraction of the rate at which the
	// threads read a working set of the model's size (bench.ReadRate):
	// each character reads every weight once, 4 bytes each in fp32 and 2
	// in bf16.
	SampleReadFraction float64 `json:"sample_read_fraction"`
}

func runBench(args []string) error {
	flags := newFlagSet("bench", "[-workload NAMES | -cell C -layers L -hidden H -seq T -batch B] [-vocab V] [-duration D] [-backend NAME|all] [-json]")
	names := flags.String("workload", "", "standard workloads to measure, comma-separated (default: all of them): "+strings.Join(workloadNames(), ", "))
	cell := flags.String("cell", "rnn", "cell of a custom workload (set by -cell, -layers, -hidden, -seq or -batch): "+strings.Join(engine.CellNames(), ", "))
	layers := flags.Int("layers", 1, "layers of a custom workload")
	hidden := flags.Int("hidden", 512, "hidden size H of a custom workload")
	seq := flags.Int("seq", 100, "window length T of a custom workload")
	batch := flags.Int("batch", 1, "streams B of a custom workload")
	vocab := flags.Int("vocab", 65, "vocabulary size V")
	duration := flags.Duration("duration", 3*time.Second, "time per measurement")
	var be backendFlags
	be.register(flags, "all")
	precisions := flags.String("precision", "fp32", "precision of the products: fp32, bf16, auto, or both (fp32 and bf16 side by side, taking turns)")
	asJSON := flags.Bool("json", false, "print one JSON object per workload and backend")
	var prof profiling
	prof.register(flags)
	if err := flags.parse(args); err != nil {
		return err
	}
	workloads, err := chooseWorkloads(*names)
	if err != nil {
		return err
	}
	custom := false
	for _, f := range []string{"cell", "layers", "hidden", "seq", "batch"} {
		custom = custom || flags.isSet(f)
	}
	switch {
	case custom && *names != "":
		return badInputf("-workload names standard workloads; -cell, -layers, -hidden, -seq and -batch make a custom one: give one or the other")
	case custom:
		w := bench.Workload{Name: "custom", Cell: *cell, Layers: *layers, Hidden: *hidden, Seq: *seq, Batch: *batch, Vocab: *vocab}
		cfg := engine.TrainConfig{Model: w.Model(), Seq: w.Seq, Batch: w.Batch, Optimizer: "adagrad", LR: 0.1, Clip: engine.Clip{Mode: "none"}}
		if err := cfg.Validate(); err != nil {
			return configError(err)
		}
		workloads = []bench.Workload{w}
	case flags.isSet("vocab"):
		for i := range workloads {
			workloads[i].Vocab = *vocab
		}
	}
	if *duration <= 0 {
		return badInputf("-duration must be positive, got %v", *duration)
	}
	precisionList, err := benchPrecisions(*precisions)
	if err != nil {
		return err
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
	precisionsOf, err := backendPrecisions(backends, precisionList, be.name == "all")
	if err != nil {
		return err
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
		bf16Peak := ""
		if limits.BF16GFLOPS > 0 {
			bf16Peak = fmt.Sprintf(", %.0f GFLOP/s bf16 dot peak", limits.BF16GFLOPS)
		}
		if limits.AMXGFLOPS > 0 {
			bf16Peak += fmt.Sprintf(", %.0f GFLOP/s bf16 on AMX tiles", limits.AMXGFLOPS)
		}
		fmt.Printf("machine: %s, %d cores, %d thread(s) used%s; per core: %.0f GFLOP/s fp32 FMA peak (%s loop)%s, read %.0f GB/s from L2, %.0f from L3, %.0f from memory\n",
			cpuName(), runtime.NumCPU(), threads, openblasNote(""), limits.FMAGFLOPS, limits.FMAISA, bf16Peak, limits.L2ReadGBps, limits.L3ReadGBps, limits.MemReadGBps)
		fmt.Printf("%-14s %-9s %-4s %2s %5s %4s %3s %4s %-4s %14s %8s %7s %15s %12s\n",
			"workload", "backend", "cell", "L", "H", "T", "B", "V", "prec", "train chars/s", "GFLOP/s", "% peak", "sample chars/s", "% read rate")
	}
	for _, w := range workloads {
		for i, k := range backends {
			// A workload's precisions are measured side by side, taking
			// turns (bench.MeasureTrainSide), for a steady ratio.
			var runs []bench.Workload
			for _, p := range precisionsOf[i] {
				w.Precision, _, _ = resolvePrecision(p, k, w.Model(), w.Batch > 1 && !w.SampleOnly)
				runs = append(runs, w)
			}
			if len(runs) == 0 {
				continue
			}
			results, err := measure(k, runs, data, *duration, threads, limits)
			if err != nil {
				return err
			}
			for i, r := range results {
				if err := printResult(r, runs[i], k, *asJSON); err != nil {
					return err
				}
			}
		}
	}
	return stopProfiling()
}

// printResult prints one measurement, as JSON or as a row of the table.
func printResult(r benchResult, w bench.Workload, k kernels.Backend, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(os.Stdout).Encode(r)
	}
	roof := "–"
	if r.SampleCharsPerSec > 0 {
		roof = fmt.Sprintf("%.0f%%", 100*r.SampleReadFraction)
	}
	fmt.Printf("%-14s %-9s %-4s %2d %5d %4d %3d %4d %-4s %14s %8.1f %6.0f%% %15s %12s\n",
		w.Name, k.Name(), r.Cell, r.Layers, w.Hidden, w.Seq, w.Batch, w.Vocab, r.Precision,
		orDash(r.TrainCharsPerSec), r.TrainGFLOPS, 100*r.TrainPeakFraction,
		orDash(r.SampleCharsPerSec), roof)
	return nil
}

// benchPrecisions parses bench's -precision, a comma-separated list in
// which both stands for fp32,bf16, before anything is measured.
func benchPrecisions(list string) ([]engine.Precision, error) {
	var ps []engine.Precision
	for _, p := range strings.Split(strings.ReplaceAll(list, "both", "fp32,bf16"), ",") {
		switch engine.Precision(p) {
		case engine.FP32, engine.BF16, "auto":
			ps = append(ps, engine.Precision(p))
		default:
			return nil, badInputf("-precision must be fp32, bf16, auto or both (or a comma-separated list of them), got %q", list)
		}
	}
	return ps, nil
}

// backendPrecisions checks the precisions for each backend before
// anything is measured (auto stays auto: it depends on the workload, see
// resolvePrecision). Where every backend is measured (-backend all), a
// precision a backend cannot run is left out for it, said once on stderr;
// a backend named on its own must run them all.
func backendPrecisions(backends []kernels.Backend, list []engine.Precision, all bool) ([][]engine.Precision, error) {
	out := make([][]engine.Precision, len(backends))
	var firstErr error
	runs := 0
	for i, k := range backends {
		for _, p := range list {
			_, _, err := resolvePrecision(p, k, engine.ModelConfig{}, false)
			if err != nil {
				if !all {
					return nil, err
				}
				firstErr = cmp.Or(firstErr, err)
				fmt.Fprintf(os.Stderr, "charrnn bench: %s is not measured on backend %s: it has no bfloat16 products\n", p, k.Name())
				continue
			}
			out[i] = append(out[i], p) // auto is resolved for each workload
			runs++
		}
	}
	if runs == 0 {
		return nil, firstErr
	}
	return out, nil
}

// measure measures the runs of one workload (in their precisions) on k,
// side by side: training, then sampling.
func measure(k kernels.Backend, runs []bench.Workload, data *bench.Data, d time.Duration, threads int, lim bench.Limits) ([]benchResult, error) {
	rs := make([]benchResult, len(runs))
	for i, w := range runs {
		m := w.Model()
		rs[i] = benchResult{Workload: w.Name, Backend: k.Name(), Cell: m.Cell, Layers: m.Layers, Precision: string(w.Precision),
			Hidden: w.Hidden, Seq: w.Seq, Batch: w.Batch, Vocab: w.Vocab, Threads: threads}
	}
	w := runs[0]
	if !w.SampleOnly {
		trs := make([]*engine.Trainer, len(runs))
		for i, w := range runs {
			var err error
			if trs[i], err = data.NewTrainer(k, w); err != nil {
				return nil, badInput(err)
			}
		}
		rates, err := bench.MeasureTrainSide(trs, d)
		if err != nil {
			return nil, err
		}
		for i, w := range runs {
			r := &rs[i]
			r.TrainCharsPerSec = rates[i]
			r.TrainGFLOPS = r.TrainCharsPerSec * bench.TrainFLOPsPerChar(w.Model()) / 1e9
			peak := lim.FMAGFLOPS
			if w.Precision == engine.BF16 && lim.BF16GFLOPS > 0 {
				peak = lim.BF16GFLOPS
			}
			if w.Precision == engine.BF16 && kernels.UsesAMX(k) && lim.AMXGFLOPS > 0 {
				peak = lim.AMXGFLOPS
			}
			r.TrainPeakFraction = r.TrainGFLOPS / (peak * float64(threads))
		}
	}
	if w.Batch == 1 {
		ss := make([]*engine.Sampler, len(runs))
		for i, w := range runs {
			m, err := engine.NewModel(w.Model(), 1)
			if err != nil {
				return nil, badInput(err)
			}
			m.Precision = w.Precision
			ss[i] = engine.NewSampler(k, m, 1)
		}
		rates := bench.MeasureSampleSide(ss, d)
		for i, w := range runs {
			r := &rs[i]
			r.SampleCharsPerSec = rates[i]
			r.SampleGFLOPS = r.SampleCharsPerSec * bench.SampleFLOPsPerChar(w.Model()) / 1e9
			// Each sampled character reads every weight it multiplies by
			// once: two flops per 4 bytes, or per 2 in bfloat16.
			bytesPerChar := 2 * bench.SampleFLOPsPerChar(w.Model())
			if w.Precision == engine.BF16 {
				bytesPerChar /= 2
			}
			roof := bench.ReadRate(k, int(bytesPerChar), threads, d/4)
			r.SampleReadFraction = r.SampleCharsPerSec * bytesPerChar / (roof * 1e9)
		}
	}
	return rs, nil
}

// workloadNames lists the standard workloads.
func workloadNames() []string {
	var names []string
	for _, w := range bench.Standard {
		names = append(names, w.Name)
	}
	return names
}

// chooseWorkloads returns the standard workloads named (all for ""), as a
// copy the caller may change.
func chooseWorkloads(names string) ([]bench.Workload, error) {
	if names == "" {
		return slices.Clone(bench.Standard), nil
	}
	var out []bench.Workload
	for _, n := range strings.Split(names, ",") {
		i := slices.IndexFunc(bench.Standard, func(w bench.Workload) bool { return w.Name == n })
		if i < 0 {
			return nil, badInputf("-workload: no standard workload %q (want %s)", n, strings.Join(workloadNames(), ", "))
		}
		out = append(out, bench.Standard[i])
	}
	return out, nil
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
