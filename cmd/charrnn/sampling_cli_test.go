package main

import (
	"bytes"
	"encoding/json"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSampleModes(t *testing.T) {
	f := newFixture(t)
	sample := func(args ...string) string {
		t.Helper()
		r := charrnn(t, f.dir, append([]string{"sample", "-checkpoint", f.ckpt, "-prime", "the ", "-n", "80"}, args...)...)
		if r.code != 0 {
			t.Fatalf("sample %v: code %d, stderr %s", args, r.code, r.stderr)
		}
		if !strings.HasPrefix(r.stdout, "the ") || len(r.stdout) != len("the ")+80+1 {
			t.Fatalf("sample %v: stdout %q", args, r.stdout)
		}
		return r.stdout
	}
	greedy := sample("-greedy")
	if got := sample("-beam", "1"); got != greedy {
		t.Fatalf("-beam 1 differs from -greedy:\n%q\n%q", got, greedy)
	}
	// Keeping one symbol, by count or by a tiny nucleus, is greedy too.
	if got := sample("-top-k", "1", "-seed", "5"); got != greedy {
		t.Fatalf("-top-k 1 differs from -greedy:\n%q\n%q", got, greedy)
	}
	if got := sample("-top-p", "1e-9", "-seed", "5"); got != greedy {
		t.Fatalf("-top-p 1e-9 differs from -greedy:\n%q\n%q", got, greedy)
	}
	sample("-beam", "5")
	// A K beyond the vocabulary keeps everything: the same draws as no limit.
	if a, b := sample("-top-k", "100000", "-seed", "9"), sample("-seed", "9"); a != b {
		t.Fatalf("-top-k above the vocabulary changed the sample:\n%q\n%q", a, b)
	}
	if a, b := sample("-top-k", "3", "-top-p", "0.9", "-temperature", "0.8", "-seed", "2"), sample("-top-k", "3", "-top-p", "0.9", "-temperature", "0.8", "-seed", "2"); a != b {
		t.Fatal("same seed gave a different sample")
	}
	r := charrnn(t, f.dir, "sample", "-checkpoint", f.ckpt, "-prime", "the", "-n", "0")
	if r.code != 0 || r.stdout != "the\n" {
		t.Fatalf("-n 0: code %d, stdout %q", r.code, r.stdout)
	}
}

// Sampled text appears while it is being generated, not only when the
// buffer fills or the run ends.
func TestSampleStreams(t *testing.T) {
	dir := t.TempDir()
	corpus := filepath.Join(dir, "text.txt")
	os.WriteFile(corpus, []byte(strings.Repeat("abcdefgh ", 20)), 0o644)
	// A wide model on the generic backend samples slowly enough that a
	// 4 KiB buffer would take seconds to fill.
	r := charrnn(t, dir, "train", "-data", corpus, "-hidden", "512", "-seq", "8", "-batch", "1", "-steps", "1", "-checkpoint", "w.ckpt", "-sample-every", "0", "-sample-len", "1")
	if r.code != 0 {
		t.Fatalf("train: %s", r.stderr)
	}
	cmd := exec.Command(binary, "sample", "-checkpoint", "w.ckpt", "-n", "100000000", "-seed", "1", "-backend", "generic")
	cmd.Dir = dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	got := make(chan int, 1)
	go func() {
		buf := make([]byte, 1<<16)
		n, _ := stdout.Read(buf)
		got <- n
	}()
	select {
	case n := <-got:
		if n == 0 || n >= 4096 {
			t.Fatalf("first output was %d bytes; want a small streamed piece", n)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no output within 20s: sampling is not streamed")
	}
}

func TestInspectExportInitFrom(t *testing.T) {
	f := newFixture(t)
	r := charrnn(t, f.dir, "inspect", "-checkpoint", f.ckpt)
	if r.code != 0 {
		t.Fatalf("inspect: code %d, stderr %s", r.code, r.stderr)
	}
	for _, want := range []string{"hidden 16", "seq 8", "batch 2", "optimizer adam", "clip value 5", "seed 1",
		f.corpus, `vocabulary  15 bytes: "\n .acdeghlmnost"`, "parameters  767", "U  16×15", "V  15×16", "step 30", "chars seen 480"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("inspect output lacks %q:\n%s", want, r.stdout)
		}
	}

	r = charrnn(t, f.dir, "export", "-checkpoint", f.ckpt, "-o", "m.safetensors")
	if r.code != 0 {
		t.Fatalf("export: code %d, stderr %s", r.code, r.stderr)
	}
	data, err := os.ReadFile(filepath.Join(f.dir, "m.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	n := int(data[0]) | int(data[1])<<8 | int(data[2])<<16
	var header map[string]json.RawMessage
	if err := json.Unmarshal(data[8:8+n], &header); err != nil || len(header) != 6 {
		t.Fatalf("export header: %v, %d entries", err, len(header))
	}
	// Without -o the export is named after the checkpoint.
	if r := charrnn(t, f.dir, "export", "-checkpoint", "m.ckpt"); r.code != 0 {
		t.Fatalf("export without -o: %s", r.stderr)
	}
	if again, _ := os.ReadFile(filepath.Join(f.dir, "m.safetensors")); !bytes.Equal(again, data) {
		t.Fatal("export is not reproducible")
	}

	// Training from the export with a learning rate too small to matter
	// gives back the same model, so the same loss.
	eval := func(ckpt string) float64 {
		r := charrnn(t, f.dir, "eval", "-checkpoint", ckpt, "-data", f.corpus, "-json")
		var ev struct {
			Loss float64 `json:"loss_nats"`
		}
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &ev) != nil {
			t.Fatalf("eval %s: %d %s", ckpt, r.code, r.stderr)
		}
		return ev.Loss
	}
	r = charrnn(t, f.dir, "train", "-data", f.corpus, "-init-from", "m.safetensors", "-checkpoint", "init.ckpt",
		"-optimizer", "sgd", "-lr", "1e-30", "-seq", "8", "-batch", "2", "-steps", "1", "-sample-every", "0")
	if r.code != 0 || !strings.Contains(r.stderr, "starting from the weights in m.safetensors") {
		t.Fatalf("train -init-from: code %d, stderr %s", r.code, r.stderr)
	}
	if a, b := eval(f.ckpt), eval("init.ckpt"); math.Abs(a-b) > 1e-6 {
		t.Fatalf("loss after -init-from %.7f, original %.7f", b, a)
	}
	// A corpus using only some of the export's characters is fine, and the
	// run keeps the export's vocabulary.
	part := filepath.Join(f.dir, "part.txt")
	os.WriteFile(part, []byte(strings.Repeat("the cat sat on the mat.\n", 5)), 0o644)
	r = charrnn(t, f.dir, "train", "-data", part, "-init-from", "m.safetensors", "-checkpoint", "part.ckpt", "-seq", "8", "-steps", "3", "-sample-every", "0")
	if r.code != 0 {
		t.Fatalf("train -init-from on a subset corpus: %s", r.stderr)
	}
	if r := charrnn(t, f.dir, "inspect", "-checkpoint", "part.ckpt"); !strings.Contains(r.stdout, "vocabulary  15 bytes") {
		t.Fatalf("the run did not keep the export's vocabulary:\n%s", r.stdout)
	}
}

func TestSamplingBadInput(t *testing.T) {
	f := newFixture(t)
	if r := charrnn(t, f.dir, "export", "-checkpoint", f.ckpt, "-o", "good.safetensors"); r.code != 0 {
		t.Fatalf("export: %s", r.stderr)
	}
	good, _ := os.ReadFile(filepath.Join(f.dir, "good.safetensors"))
	os.WriteFile(filepath.Join(f.dir, "truncated.safetensors"), good[:len(good)-10], 0o644)
	os.WriteFile(filepath.Join(f.dir, "foreign.safetensors"), []byte("#!/bin/sh\necho hello\n"), 0o644)
	ckData, _ := os.ReadFile(f.ckpt)
	os.WriteFile(filepath.Join(f.dir, "truncated.ckpt"), ckData[:len(ckData)/2], 0o644)
	other := filepath.Join(f.dir, "other.txt")
	os.WriteFile(other, []byte(strings.Repeat("THE CAT SAT ON THE MAT\n", 10)), 0o644)

	sample := func(extra ...string) []string { return append([]string{"sample", "-checkpoint", f.ckpt}, extra...) }
	initFrom := func(file string, extra ...string) []string {
		return append([]string{"train", "-data", f.corpus, "-checkpoint", "new.ckpt", "-steps", "1", "-init-from", file}, extra...)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"beam with temperature", sample("-beam", "3", "-temperature", "0.5"), "-beam chooses deterministically, so it cannot be combined with -temperature"},
		{"beam with top-p and seed", sample("-beam", "3", "-top-p", "0.5", "-seed", "1"), "-top-p, -seed"},
		{"beam with greedy", sample("-beam", "3", "-greedy"), "cannot be combined with -greedy"},
		{"greedy with top-k", sample("-greedy", "-top-k", "3"), "-greedy chooses deterministically, so it cannot be combined with -top-k"},
		{"greedy with seed", sample("-greedy", "-seed", "3"), "-seed"},
		{"zero top-k", sample("-top-k", "0"), "-top-k"},
		{"negative top-k", sample("-top-k", "-2"), "-top-k"},
		{"zero top-p", sample("-top-p", "0"), "-top-p"},
		{"top-p above one", sample("-top-p", "1.5"), "-top-p"},
		{"top-p NaN", sample("-top-p", "NaN"), "-top-p"},
		{"zero beam", sample("-beam", "0"), "-beam"},
		{"huge beam", sample("-beam", "10001"), "-beam"},
		{"negative n", sample("-n", "-1"), "-n"},
		{"negative n with beam", sample("-n", "-1", "-beam", "2"), "-n"},
		{"beam search too long", sample("-n", "100000000", "-beam", "10"), "back-pointers"},
		{"inspect missing", []string{"inspect", "-checkpoint", "none.ckpt"}, "none.ckpt"},
		{"inspect truncated", []string{"inspect", "-checkpoint", "truncated.ckpt"}, "truncated"},
		{"inspect foreign", []string{"inspect", "-checkpoint", "foreign.safetensors"}, "not a charrnn checkpoint"},
		{"inspect extra argument", []string{"inspect", "-checkpoint", f.ckpt, "more"}, "unexpected argument"},
		{"export missing", []string{"export", "-checkpoint", "none.ckpt", "-o", "x.safetensors"}, "none.ckpt"},
		{"export truncated", []string{"export", "-checkpoint", "truncated.ckpt", "-o", "x.safetensors"}, "truncated"},
		{"export into missing directory", []string{"export", "-checkpoint", f.ckpt, "-o", "nowhere/x.safetensors"}, "does not exist"},
		{"export over the checkpoint", []string{"export", "-checkpoint", f.ckpt, "-o", "m.ckpt"}, "is the checkpoint itself"},
		{"init-from missing", initFrom("none.safetensors"), "none.safetensors"},
		{"init-from truncated", initFrom("truncated.safetensors"), "do not fit"},
		{"init-from foreign", initFrom("foreign.safetensors"), "not a safetensors file"},
		{"init-from a checkpoint", initFrom("m.ckpt"), "it is a charrnn checkpoint"},
		{"init-from with other hidden", initFrom("good.safetensors", "-hidden", "8"), "-hidden 16, but -hidden is 8"},
		{"init-from with resume", []string{"train", "-data", f.corpus, "-checkpoint", "m.ckpt", "-resume", "-init-from", "good.safetensors"}, "-resume"},
		{"init-from vocabulary mismatch", []string{"train", "-data", other, "-checkpoint", "new.ckpt", "-steps", "1", "-init-from", "good.safetensors"}, "vocabulary lacks"},
	}
	before := hashFiles(t, f.dir)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := charrnn(t, f.dir, c.args...)
			if r.code != 2 {
				t.Fatalf("exit status %d, want 2; stderr: %s", r.code, r.stderr)
			}
			if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); len(lines) != 1 {
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

func TestHistoryLines(t *testing.T) {
	if got := historyLines(nil); got != nil {
		t.Fatalf("no history: %q", got)
	}
	if got := historyLines(json.RawMessage("null")); got != nil {
		t.Fatalf("null history: %q", got)
	}
	got := historyLines(json.RawMessage(`[{"step":100,"loss":2.5},{"step":200,"loss":2.1}]`))
	want := []string{"history     2 records", `  {"step":100,"loss":2.5}`, `  {"step":200,"loss":2.1}`}
	if !slices.Equal(got, want) {
		t.Fatalf("history lines %q, want %q", got, want)
	}
	if got := historyLines(json.RawMessage(`{"runs":3}`)); len(got) != 1 || !strings.Contains(got[0], `{"runs":3}`) {
		t.Fatalf("non-list history: %q", got)
	}
}
