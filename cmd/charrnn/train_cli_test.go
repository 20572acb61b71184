package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"charrnn/engine"
)

// samplesAfter returns the samples a run printed at steps above after.
func samplesAfter(t *testing.T, stdout string, after int) map[string]string {
	t.Helper()
	out := map[string]string{}
	re := regexp.MustCompile(`(?s)--- sample at step (\d+) ---\n(.*?)\n---\n`)
	for _, m := range re.FindAllStringSubmatch(stdout, -1) {
		var step int
		json.Unmarshal([]byte(m[1]), &step)
		if step > after {
			out[m[1]] = m[2]
		}
	}
	return out
}

// N steps straight and N/2 steps, then -resume to N, give bit-identical
// weights, optimizer state, trainer state and samples, through the binary:
// with validation, a plateau schedule, warm-up, momentum and periodic
// samples all in play. (A cosine schedule anneals to the -steps of each
// invocation, so it is the one schedule a split run does not reproduce.)
func TestResumeEndToEndIsBitIdentical(t *testing.T) {
	f := newFixture(t)
	for _, opt := range [][]string{
		{"-optimizer", "adamw", "-lr", "0.03", "-schedule", "plateau", "-plateau-patience", "1", "-warmup", "5"},
		// 48 characters a step: the step decay halves the rate from the
		// second epoch (step 31) on, across the resume.
		{"-optimizer", "sgd", "-momentum", "0.9", "-lr", "0.05", "-schedule", "step", "-decay", "0.5", "-decay-after", "0", "-batch", "6"},
	} {
		t.Run(opt[1], func(t *testing.T) {
			common := append([]string{"train", "-data", f.corpus, "-hidden", "16", "-seq", "8", "-batch", "3", "-seed", "4",
				"-val-frac", "0.2", "-eval-every", "4", "-report-every", "4", "-sample-every", "10", "-sample-len", "40", "-save-every", "0"}, opt...)
			run := func(ckpt string, extra ...string) result {
				r := charrnn(t, f.dir, append(append(slices.Clone(common), "-checkpoint", ckpt), extra...)...)
				if r.code != 0 {
					t.Fatalf("train %v: exit %d: %s", extra, r.code, r.stderr)
				}
				return r
			}
			straight := run("straight.ckpt", "-steps", "60", "-force")
			run("split.ckpt", "-steps", "30", "-force")
			resumed := run("split.ckpt", "-steps", "60", "-resume")
			if !strings.Contains(resumed.stderr, "resuming") {
				t.Fatalf("no resume line: %s", resumed.stderr)
			}

			a, err := engine.LoadCheckpoint(filepath.Join(f.dir, "straight.ckpt"))
			if err != nil {
				t.Fatal(err)
			}
			b, err := engine.LoadCheckpoint(filepath.Join(f.dir, "split.ckpt"))
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Sections) != len(b.Sections) {
				t.Fatalf("sections %d vs %d", len(a.Sections), len(b.Sections))
			}
			for name, s := range a.Sections {
				if !slices.Equal(s, b.Sections[name]) {
					t.Fatalf("section %s differs between the straight and the resumed run", name)
				}
			}
			ha, hb := a.Header, b.Header
			if ha.Step != 60 || hb.Step != 60 || ha.Train != hb.Train || !slices.Equal(ha.Cursors, hb.Cursors) ||
				ha.CharsSeen != hb.CharsSeen || !slices.Equal(ha.SampleRNG, hb.SampleRNG) || ha.Loss != hb.Loss {
				t.Fatalf("headers differ:\nstraight %+v %+v\nresumed  %+v %+v", ha, ha.Train, hb, hb.Train)
			}
			if ha.Train.BestValStep == 0 {
				t.Fatal("no validation ran")
			}
			// The metric history spans both halves of the split run.
			if len(ha.History) != 15 || len(hb.History) != 15 {
				t.Fatalf("history has %d and %d records, want 15 (one per 4 steps)", len(ha.History), len(hb.History))
			}
			var rec engine.Record
			if err := json.Unmarshal(hb.History[14], &rec); err != nil || rec.Step != 60 || rec.ValLoss == nil {
				t.Fatalf("last history record %s: %v", hb.History[14], err)
			}
			// Samples after the resume are the ones the straight run drew.
			sa, sb := samplesAfter(t, straight.stdout, 30), samplesAfter(t, resumed.stdout, 30)
			if len(sa) != 3 || len(sb) != 3 { // steps 40, 50, 60 and the final one (also at 60)
				t.Fatalf("samples after step 30: %d straight, %d resumed", len(sa), len(sb))
			}
			for step, text := range sa {
				if sb[step] != text {
					t.Fatalf("sample at step %s after resume %q, straight run %q", step, sb[step], text)
				}
			}
			fa, _ := os.ReadFile(filepath.Join(f.dir, "straight.sample.txt"))
			fb, _ := os.ReadFile(filepath.Join(f.dir, "split.sample.txt"))
			if string(fa) != string(fb) {
				t.Fatalf("final samples differ: %q vs %q", fa, fb)
			}
		})
	}
}

// A run that diverges is rolled back -nan-retries times at ever lower
// rates, then stops with exit status 1 and one clear line, leaving the
// checkpoint on disk as it was.
func TestDivergenceStopsAndKeepsCheckpoint(t *testing.T) {
	f := newFixture(t)
	before, err := os.ReadFile(f.ckpt)
	if err != nil {
		t.Fatal(err)
	}
	r := charrnn(t, f.dir, "train", "-data", f.corpus, "-checkpoint", "m.ckpt", "-resume", "-steps", "200",
		"-lr", "1e38", "-clip-mode", "none", "-snapshot-every", "1", "-nan-retries", "2", "-nan-lr-factor", "0.5",
		"-save-every", "0", "-sample-every", "0")
	if r.code != 1 {
		t.Fatalf("exit status %d, want 1; stderr:\n%s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	last := lines[len(lines)-1]
	if !strings.Contains(last, "not finite") || !strings.Contains(last, "gave up after 2 rollbacks") {
		t.Fatalf("last line %q does not say why the run stopped", last)
	}
	if n := strings.Count(r.stderr, "rolled back to step"); n != 2 {
		t.Fatalf("%d rollback lines, want 2:\n%s", n, r.stderr)
	}
	if !strings.Contains(r.stderr, "(rollback 2 of 2)") {
		t.Fatalf("no second rollback:\n%s", r.stderr)
	}
	if strings.Contains(r.stderr, "goroutine") || strings.Contains(r.stderr, "panic") {
		t.Fatalf("panic trace:\n%s", r.stderr)
	}
	ck, err := engine.LoadCheckpoint(f.ckpt) // loading checks every parameter is finite
	if err != nil {
		t.Fatalf("the checkpoint does not load after the failed run: %v", err)
	}
	for name, s := range ck.Sections {
		for i, v := range s {
			if v != v || v > 3.4e38 || v < -3.4e38 {
				t.Fatalf("saved section %s holds %v at %d", name, v, i)
			}
		}
	}
	if after, _ := os.ReadFile(f.ckpt); string(after) != string(before) {
		t.Fatal("the failed run changed the checkpoint")
	}

	// Saving every step, with plain SGD at a rate whose first update
	// overflows the parameters to ±Inf (one stream of 32 characters: the
	// output bias gradient sums to well over 1 in magnitude): the overflow is caught before the
	// save and rolled back, so what is on disk stays finite.
	if r := charrnn(t, f.dir, "train", "-data", f.corpus, "-checkpoint", "sgd.ckpt", "-hidden", "16", "-seq", "32", "-batch", "1",
		"-optimizer", "sgd", "-steps", "10", "-sample-every", "0"); r.code != 0 {
		t.Fatalf("sgd run: %s", r.stderr)
	}
	r = charrnn(t, f.dir, "train", "-data", f.corpus, "-checkpoint", "sgd.ckpt", "-resume", "-steps", "200",
		"-lr", "3e38", "-clip-mode", "none", "-snapshot-every", "1", "-nan-retries", "2", "-save-every", "1", "-sample-every", "0")
	if r.code != 1 || !strings.Contains(r.stderr, "gave up after 2 rollbacks") || !strings.Contains(r.stderr, "overflowed") {
		t.Fatalf("exit status %d, want 1 after two rollbacks of overflowed parameters; stderr:\n%s", r.code, r.stderr)
	}
	if ck, err = engine.LoadCheckpoint(filepath.Join(f.dir, "sgd.ckpt")); err != nil {
		t.Fatal(err)
	}
	for name, s := range ck.Sections {
		for i, v := range s {
			if v != v || v > 3.4e38 || v < -3.4e38 {
				t.Fatalf("saved section %s holds %v at %d", name, v, i)
			}
		}
	}
}

// Validation is reported with loss, bits/char and perplexity, the best
// model is kept beside the latest, and -patience stops a run that has
// stopped improving.
func TestValidationBestAndPatience(t *testing.T) {
	f := newFixture(t)
	r := charrnn(t, f.dir, "train", "-data", f.corpus, "-checkpoint", "v.ckpt", "-hidden", "16", "-seq", "8", "-batch", "2",
		"-steps", "3000", "-optimizer", "sgd", "-lr", "2", "-clip-mode", "norm", "-clip", "50",
		"-val-frac", "0.25", "-eval-every", "2", "-report-every", "1000", "-patience", "2", "-sample-every", "0")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "val ") || !strings.Contains(r.stderr, "perplexity") {
		t.Fatalf("no validation in the report:\n%s", r.stderr)
	}
	m := regexp.MustCompile(`stopping early at step (\d+): validation loss has not improved for 2 evaluations`).FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("no early stop with -patience 2:\n%s", r.stderr)
	}
	latest, err := engine.LoadCheckpoint(filepath.Join(f.dir, "v.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	best, err := engine.LoadCheckpoint(filepath.Join(f.dir, "v.best.ckpt"))
	if err != nil {
		t.Fatalf("no best checkpoint: %v", err)
	}
	tr := latest.Header.Train
	if m[1] != jsonInt(latest.Header.Step) || tr.BadEvals != 2 || best.Header.Step != tr.BestValStep || best.Header.Step >= latest.Header.Step {
		t.Fatalf("latest at step %d (state %+v), best at step %d", latest.Header.Step, tr, best.Header.Step)
	}
	// Every evaluation step left a record with the validation numbers.
	var rec engine.Record
	for _, h := range latest.Header.History {
		json.Unmarshal(h, &rec)
		if rec.ValLoss == nil || rec.ValBitsPerChar == nil || rec.ValPerplexity == nil {
			t.Fatalf("history record without validation at an evaluation step: %s", h)
		}
	}
	if len(latest.Header.History) != int(latest.Header.Step/2) {
		t.Fatalf("%d records for %d steps evaluated every 2", len(latest.Header.History), latest.Header.Step)
	}
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestTrainHelpNamesNewFlags(t *testing.T) {
	r := charrnn(t, t.TempDir(), "train", "-h")
	if r.code != 0 {
		t.Fatalf("train -h: exit %d", r.code)
	}
	for _, name := range []string{"val-frac", "eval-every", "val-max-chars", "patience", "momentum", "rho", "weight-decay",
		"schedule", "decay", "decay-after", "warmup", "plateau-patience", "snapshot-every", "nan-lr-factor", "nan-retries"} {
		if !strings.Contains(r.stderr, "  -"+name+" ") {
			t.Errorf("train -h does not name -%s", name)
		}
	}
	for _, opt := range []string{"sgd", "adagrad", "rmsprop", "adam", "adamw", "constant", "step", "cosine", "plateau"} {
		if !strings.Contains(r.stderr, opt) {
			t.Errorf("train -h does not mention %s", opt)
		}
	}
}
