package main

import (
	"bytes"
	"charrnn/engine"
	"crypto/sha256"
	"encoding/json"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// These tests run the built binary as a user would.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "charrnn-cli")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "charrnn")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("building charrnn: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

func charrnn(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return runWrapped(t, dir, nil, nil, args...)
}

// fixture is a directory with a small corpus and a trained checkpoint.
type fixture struct {
	dir, corpus, ckpt string
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	dir := t.TempDir()
	corpus := filepath.Join(dir, "text.txt")
	text := strings.Repeat("the cat sat on the mat. the dog ate the log.\n", 40)
	if err := os.WriteFile(corpus, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	// The notebook's vanilla RNN (the default model is a 2-layer LSTM), whose
	// tensors keep the names U, W, V, b, c.
	r := charrnn(t, dir, "train", "-data", corpus, "-cell", "rnn", "-layers", "1", "-hidden", "16", "-seq", "8", "-batch", "2", "-steps", "30", "-checkpoint", "m.ckpt", "-sample-every", "0", "-report-every", "10")
	if r.code != 0 {
		t.Fatalf("training the fixture failed (%d): %s", r.code, r.stderr)
	}
	return fixture{dir, corpus, filepath.Join(dir, "m.ckpt")}
}

func TestTrainSampleEval(t *testing.T) {
	f := newFixture(t)
	if _, err := os.Stat(filepath.Join(f.dir, "m.sample.txt")); err != nil {
		t.Fatalf("train left no sample file: %v", err)
	}
	r := charrnn(t, f.dir, "sample", "-checkpoint", f.ckpt, "-n", "50", "-prime", "the ", "-seed", "3")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "the ") || len(r.stdout) != len("the ")+50+1 {
		t.Fatalf("sample: code %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	again := charrnn(t, f.dir, "sample", "-checkpoint", f.ckpt, "-n", "50", "-prime", "the ", "-seed", "3")
	if again.stdout != r.stdout {
		t.Fatal("same seed gave a different sample")
	}
	r = charrnn(t, f.dir, "eval", "-checkpoint", f.ckpt, "-data", f.corpus, "-json")
	var ev struct {
		Chars       int64   `json:"chars"`
		LossNats    float64 `json:"loss_nats"`
		BitsPerChar float64 `json:"bits_per_char"`
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &ev) != nil {
		t.Fatalf("eval -json: code %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if ev.Chars != 45*40-1 || !(ev.LossNats > 0) || ev.BitsPerChar < ev.LossNats {
		t.Fatalf("eval -json: %+v", ev)
	}
	// Resume continues the step counter up to the new total.
	r = charrnn(t, f.dir, "train", "-data", f.corpus, "-checkpoint", "m.ckpt", "-resume", "-steps", "40", "-sample-every", "0")
	if r.code != 0 || !strings.Contains(r.stderr, "resuming") || !strings.Contains(r.stderr, "trained 40 steps") {
		t.Fatalf("resume: code %d, stderr %s", r.code, r.stderr)
	}
}

func TestBadInput(t *testing.T) {
	f := newFixture(t)
	short := filepath.Join(f.dir, "short.txt")
	os.WriteFile(short, []byte("abc"), 0o644)
	empty := filepath.Join(f.dir, "empty.txt")
	os.WriteFile(empty, nil, 0o644)
	emptyDir := filepath.Join(f.dir, "nothing")
	os.Mkdir(emptyDir, 0o755)
	ckData, _ := os.ReadFile(f.ckpt)
	truncated := filepath.Join(f.dir, "truncated.ckpt")
	os.WriteFile(truncated, ckData[:len(ckData)/2], 0o644)
	corrupted := filepath.Join(f.dir, "corrupted.ckpt")
	bad := bytes.Clone(ckData)
	bad[len(bad)/2] ^= 0x10
	os.WriteFile(corrupted, bad, 0o644)
	foreign := filepath.Join(f.dir, "foreign.ckpt")
	os.WriteFile(foreign, []byte("#!/bin/sh\necho not a checkpoint\n"), 0o644)

	train := func(extra ...string) []string {
		return append([]string{"train", "-data", f.corpus, "-checkpoint", "new.ckpt", "-steps", "1"}, extra...)
	}
	cases := []struct {
		name string
		args []string
		want string // a fragment of the one error line
	}{
		{"no command", []string{}, "usage"},
		{"unknown command", []string{"fly"}, "unknown command"},
		{"unknown flag", train("-wings"), "flag provided but not defined"},
		{"missing data", []string{"train", "-data", filepath.Join(f.dir, "missing.txt"), "-checkpoint", "new.ckpt"}, "missing.txt"},
		{"empty corpus", []string{"train", "-data", empty, "-checkpoint", "new.ckpt"}, "empty"},
		{"directory without files", []string{"train", "-data", emptyDir, "-checkpoint", "new.ckpt"}, "nothing"},
		{"corpus shorter than seq+1", []string{"train", "-data", short, "-checkpoint", "new.ckpt", "-seq", "8"}, "needs at least 9"},
		{"zero hidden", train("-hidden", "0"), "-hidden"},
		{"unknown cell", train("-cell", "transformer"), "-cell must be one of"},
		{"zero layers", train("-layers", "0"), "-layers"},
		{"absurd layers", train("-layers", "1000"), "-layers must be between 1 and"},
		{"dropout 1", train("-dropout", "1"), "-dropout"},
		{"negative dropout", train("-dropout", "-0.1"), "-dropout"},
		{"NaN decay", train("-decay", "NaN"), "-decay"},
		{"infinite clip, unused", train("-clip", "Inf", "-clip-mode", "none"), "-clip"},
		{"unwritable plot", train("-plot", "/proc/charrnn-test.png"), "-plot"},
		{"unwritable log", train("-log", "/proc/charrnn-test.jsonl"), "-log"},
		{"unwritable cpuprofile", train("-cpuprofile", "/proc/charrnn-test.prof"), "-cpuprofile"},
		{"unwritable memprofile", train("-memprofile", "/proc/charrnn-test.prof"), "-memprofile"},
		{"bench zero hidden", []string{"bench", "-hidden", "0"}, "-hidden"},
		{"unknown precision", train("-precision", "fp16"), "-precision must be fp32, bf16 or auto"},
		{"bf16 without bfloat16 products", train("-precision", "bf16", "-backend", "generic"), "has none"},
		{"sample bf16 without bfloat16 products", []string{"sample", "-checkpoint", f.ckpt, "-precision", "bf16", "-backend", "generic"}, "AVX512_BF16"},
		{"eval unknown precision", []string{"eval", "-checkpoint", f.ckpt, "-data", f.corpus, "-precision", "half"}, "-precision"},
		{"bench unknown precision", []string{"bench", "-workload", "tiny", "-precision", "fp8"}, "-precision"},
		{"bench unknown precision in a list", []string{"bench", "-workload", "tiny", "-precision", "fp32,fp9"}, "-precision must be fp32, bf16, auto or both"},
		{"bench bf16 on a backend without it", []string{"bench", "-workload", "tiny", "-precision", "both", "-backend", "generic"}, "has none"},
		{"bench unknown workload", []string{"bench", "-workload", "h9"}, "no standard workload"},
		{"negative seq", train("-seq", "-3"), "-seq"},
		{"zero batch", train("-batch", "0"), "-batch"},
		{"zero lr", train("-lr", "0"), "-lr"},
		{"negative lr", train("-lr", "-1"), "-lr"},
		{"unknown optimizer", train("-optimizer", "rmsprop9"), "-optimizer must be one of"},
		{"unknown backend", train("-backend", "quantum"), "unknown backend"},
		{"val-frac 1", train("-val-frac", "1"), "-val-frac"},
		{"negative val-frac", train("-val-frac", "-0.1"), "-val-frac"},
		{"val-frac leaves too little to train", train("-val-frac", "0.999"), "(lower -val-frac)"},
		{"eval-every without val-frac", train("-eval-every", "5"), "-eval-every needs -val-frac"},
		{"negative eval-every", train("-val-frac", "0.1", "-eval-every", "-5"), "-eval-every"},
		{"val-max-chars 1", train("-val-frac", "0.1", "-val-max-chars", "1"), "-val-max-chars"},
		{"patience without val-frac", train("-patience", "3"), "-patience needs -val-frac"},
		{"negative patience", train("-val-frac", "0.1", "-patience", "-1"), "-patience"},
		{"momentum 1", train("-optimizer", "sgd", "-momentum", "1"), "-momentum"},
		{"momentum with adam", train("-optimizer", "adam", "-momentum", "0.9"), "-momentum applies to -optimizer sgd"},
		{"rho 1", train("-optimizer", "rmsprop", "-rho", "1"), "-rho"},
		{"rho 0", train("-optimizer", "rmsprop", "-rho", "0"), "-rho"},
		{"rho with adam", train("-rho", "0.9"), "-rho applies to -optimizer rmsprop"},
		{"negative weight decay", train("-optimizer", "adamw", "-weight-decay", "-0.1"), "-weight-decay"},
		{"weight decay with adam", train("-weight-decay", "0.1"), "-weight-decay applies to -optimizer adamw"},
		{"unknown schedule", train("-schedule", "exponential"), "-schedule must be"},
		{"cosine without steps", []string{"train", "-data", f.corpus, "-checkpoint", "new.ckpt", "-schedule", "cosine"}, "-steps must be positive"},
		{"zero decay", train("-schedule", "step", "-decay", "0"), "-decay"},
		{"negative decay-after", train("-schedule", "step", "-decay-after", "-1"), "-decay-after"},
		{"negative warmup", train("-warmup", "-1"), "-warmup"},
		{"plateau without val-frac", train("-schedule", "plateau"), "needs -val-frac"},
		{"zero plateau patience", train("-schedule", "plateau", "-val-frac", "0.1", "-plateau-patience", "0"), "-plateau-patience"},
		{"negative snapshot-every", train("-snapshot-every", "-1"), "-snapshot-every"},
		{"zero nan-lr-factor", train("-nan-lr-factor", "0"), "-nan-lr-factor"},
		{"negative nan-retries", train("-nan-retries", "-1"), "-nan-retries"},
		{"existing checkpoint without -resume", []string{"train", "-data", f.corpus, "-checkpoint", f.ckpt}, "-resume"},
		{"resume truncated", []string{"train", "-data", f.corpus, "-checkpoint", truncated, "-resume"}, "truncated"},
		{"prime outside vocabulary", []string{"sample", "-checkpoint", f.ckpt, "-prime", "the Zebra"}, `"Z"`},
		{"zero temperature", []string{"sample", "-checkpoint", f.ckpt, "-temperature", "0"}, "temperature"},
		{"missing checkpoint", []string{"sample", "-checkpoint", filepath.Join(f.dir, "none.ckpt")}, "none.ckpt"},
		{"truncated checkpoint", []string{"sample", "-checkpoint", truncated}, "truncated"},
		{"corrupted checkpoint", []string{"eval", "-checkpoint", corrupted, "-data", f.corpus}, "checksum"},
		{"foreign checkpoint", []string{"sample", "-checkpoint", foreign}, "not a charrnn checkpoint"},
		{"eval text with unknown characters", []string{"eval", "-checkpoint", f.ckpt, "-data", foreign}, "vocabulary"},
	}
	before := hashFiles(t, f.dir)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := charrnn(t, f.dir, c.args...)
			if r.code != 2 {
				t.Fatalf("exit status %d, want 2; stderr: %s", r.code, r.stderr)
			}
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if c.name != "no command" && len(lines) != 1 {
				t.Fatalf("want one line on stderr, got %d:\n%s", len(lines), r.stderr)
			}
			if strings.Contains(r.stderr, "goroutine") || strings.Contains(r.stderr, "panic") {
				t.Fatalf("panic trace on stderr:\n%s", r.stderr)
			}
			if !strings.Contains(r.stderr, c.want) {
				t.Fatalf("stderr %q does not mention %q", r.stderr, c.want)
			}
		})
	}
	if after := hashFiles(t, f.dir); !maps.Equal(before, after) {
		t.Fatalf("bad input changed files:\nbefore %v\nafter  %v", before, after)
	}
}

func hashFiles(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = sha256.Sum256(b)
	}
	return out
}

// An interrupt, a termination or a hang-up (a dropped ssh session) saves
// the checkpoint and stops with status 130.
func TestSignalsSaveCheckpoint(t *testing.T) {
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			f := newFixture(t)
			cmd := exec.Command(binary, "train", "-data", f.corpus, "-hidden", "16", "-seq", "8", "-checkpoint", "run.ckpt",
				"-report-every", "1", "-sample-every", "0", "-save-every", "0")
			cmd.Dir = f.dir
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Wait until training is under way, then signal it.
			buf := make([]byte, 4096)
			var seen strings.Builder
			for !strings.Contains(seen.String(), "step 3 ") {
				n, err := stderr.Read(buf)
				if err != nil {
					t.Fatalf("training ended before it was signalled: %v\n%s", err, seen.String())
				}
				seen.Write(buf[:n])
			}
			cmd.Process.Signal(sig)
			go func() {
				for {
					if _, err := stderr.Read(buf); err != nil {
						return
					}
				}
			}()
			err = cmd.Wait()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
				t.Fatalf("exit after %v: %v, want status 130", sig, err)
			}
			r := charrnn(t, f.dir, "sample", "-checkpoint", "run.ckpt", "-n", "10", "-seed", "1")
			if r.code != 0 {
				t.Fatalf("checkpoint saved on %v does not load: %s", sig, r.stderr)
			}
		})
	}
}

// A reader that goes away (train ... | head -n 3) does not stop training:
// the run goes on to its end and saves.
func TestClosedStdoutDoesNotStopTraining(t *testing.T) {
	f := newFixture(t)
	cmd := exec.Command(binary, "train", "-data", f.corpus, "-hidden", "16", "-seq", "8", "-checkpoint", "run.ckpt",
		"-steps", "200", "-report-every", "1", "-sample-every", "2", "-save-every", "0")
	cmd.Dir = f.dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	if _, err := io.ReadFull(stdout, buf); err != nil {
		t.Fatal(err)
	}
	stdout.Close() // as head does after its lines
	if err := cmd.Wait(); err != nil {
		t.Fatalf("training with its stdout closed: %v", err)
	}
	ck, err := engine.LoadCheckpoint(filepath.Join(f.dir, "run.ckpt"))
	if err != nil || ck.Header.Step != 200 {
		t.Fatalf("checkpoint after a closed stdout: %v (step %v)", err, ck)
	}
}

// A corpus file cut short under a running trainer (another process
// truncating the memory-mapped file) stops the run with one line naming the
// file, after saving the last completed step, and exit status 1.
func TestCorpusCutUnderTraining(t *testing.T) {
	dir := t.TempDir()
	corpus := filepath.Join(dir, "big.txt")
	// Large enough to be memory-mapped rather than read into memory.
	if err := os.WriteFile(corpus, []byte(strings.Repeat("the cat sat on the mat. the dog ate the log.\n", 20000)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "train", "-data", corpus, "-hidden", "16", "-seq", "8", "-checkpoint", "run.ckpt",
		"-report-every", "1", "-sample-every", "0", "-save-every", "0")
	cmd.Dir = dir
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var seen strings.Builder
	buf := make([]byte, 4096)
	for !strings.Contains(seen.String(), "step 3 ") {
		n, err := stderr.Read(buf)
		if err != nil {
			t.Fatalf("training ended before the cut: %v\n%s", err, seen.String())
		}
		seen.Write(buf[:n])
	}
	if err := os.Truncate(corpus, 4096); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(stderr)
	seen.Write(rest)
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit after the cut: %v, want status 1\n%s", err, seen.String())
	}
	lines := strings.Split(strings.TrimSpace(seen.String()), "\n")
	last := lines[len(lines)-1]
	if !strings.Contains(last, corpus) || !strings.Contains(last, "changed") || !strings.Contains(last, "checkpoint saved") {
		t.Fatalf("last line %q does not name the file and the save", last)
	}
	if _, err := engine.LoadCheckpoint(filepath.Join(dir, "run.ckpt")); err != nil {
		t.Fatal(err)
	}
}

// TestBenchBothOnEveryBackend: with every backend measured, bf16 is left
// out (and said so) only where a backend has no bfloat16 products; fp32 is
// measured on all of them. Whether a backend has them is asked of the
// binary itself (bench -precision bf16 on that backend alone), whose build
// tags may differ from this test's.
func TestBenchBothOnEveryBackend(t *testing.T) {
	bench := func(extra ...string) result {
		return charrnn(t, t.TempDir(), append([]string{"bench", "-hidden", "8", "-seq", "8", "-batch", "1", "-duration", "10ms", "-json"}, extra...)...)
	}
	r := bench("-precision", "both")
	if r.code != 0 {
		t.Fatalf("exit status %d; stderr: %s", r.code, r.stderr)
	}
	rows := map[string]bool{}
	var backends []string
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	for dec.More() {
		var row benchResult
		if err := dec.Decode(&row); err != nil {
			t.Fatalf("bench -json: %v in %q", err, r.stdout)
		}
		if !rows[row.Backend+" fp32"] && !rows[row.Backend+" bf16"] {
			backends = append(backends, row.Backend)
		}
		rows[row.Backend+" "+row.Precision] = true
	}
	if len(backends) < 2 { // generic and at least one other on every machine CI runs on
		t.Fatalf("rows for backends %v only: %q", backends, r.stdout)
	}
	for _, name := range backends {
		if !rows[name+" fp32"] {
			t.Errorf("no fp32 row for backend %s in %q", name, r.stdout)
		}
		hasBF16 := bench("-precision", "bf16", "-backend", name).code == 0
		if got := rows[name+" bf16"]; got != hasBF16 {
			t.Errorf("backend %s: bf16 row %v, but bench -precision bf16 on it alone succeeds: %v", name, got, hasBF16)
		}
		if note := "bf16 is not measured on backend " + name; strings.Contains(r.stderr, note) == hasBF16 {
			t.Errorf("backend %s: stderr %q, note %q expected %v", name, r.stderr, note, !hasBF16)
		}
	}
}
