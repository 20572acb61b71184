package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"image/png"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/creack/pty"
)

// Progress, -log and -plot as a user sees them, through the binary. The
// tests' stderr is a pipe, so progress comes as plain lines.

func TestTrainLogAndPlot(t *testing.T) {
	f := newFixture(t)
	r := charrnn(t, f.dir, "train", "-data", f.corpus, "-hidden", "16", "-seq", "8", "-batch", "2", "-steps", "40",
		"-checkpoint", "lp.ckpt", "-report-every", "10", "-save-every", "20", "-sample-every", "20", "-sample-len", "30",
		"-log", "run.jsonl", "-plot", "run.png")
	if r.code != 0 {
		t.Fatalf("train -log -plot: exit %d: %s", r.code, r.stderr)
	}
	// Not a terminal: the plain lines, nothing that moves the cursor.
	if n := strings.Count(r.stderr, "\nstep "); n != 4 {
		t.Errorf("want 4 plain progress lines, got %d:\n%s", n, r.stderr)
	}
	if strings.ContainsAny(r.stderr, "\r\x1b") {
		t.Errorf("carriage return or escape sequence in plain output: %q", r.stderr)
	}
	if !strings.Contains(r.stderr, "step 20  loss ") || !strings.Contains(r.stdout, "--- sample at step 20 ---\n") {
		t.Errorf("progress or sample missing:\nstderr %s\nstdout %s", r.stderr, r.stdout)
	}

	recs := readRecords(t, filepath.Join(f.dir, "run.jsonl"))
	if len(recs) != 4 {
		t.Fatalf("log has %d records, want 4", len(recs))
	}
	for i, rec := range recs {
		for _, key := range []string{"step", "chars", "loss", "bits_per_char", "lr", "chars_per_sec", "grad_norm"} {
			if _, ok := rec[key]; !ok {
				t.Errorf("record %d has no %q: %v", i, key, rec)
			}
		}
		if rec["step"] != float64(10*(i+1)) || rec["chars"] != float64(10*(i+1)*8*2) {
			t.Errorf("record %d: step %v chars %v", i, rec["step"], rec["chars"])
		}
	}
	checkPNG(t, filepath.Join(f.dir, "run.png"))

	// -resume appends to the log.
	r = charrnn(t, f.dir, "train", "-data", f.corpus, "-checkpoint", "lp.ckpt", "-resume", "-steps", "60",
		"-report-every", "10", "-sample-every", "0", "-log", "run.jsonl", "-plot", "run.png")
	if r.code != 0 {
		t.Fatalf("resume -log: exit %d: %s", r.code, r.stderr)
	}
	recs = readRecords(t, filepath.Join(f.dir, "run.jsonl"))
	if len(recs) != 6 || recs[5]["step"] != float64(60) {
		t.Fatalf("after resume the log has %d records, want 6 ending at step 60", len(recs))
	}
	// A fresh run replaces it.
	r = charrnn(t, f.dir, "train", "-data", f.corpus, "-hidden", "16", "-seq", "8", "-steps", "10", "-checkpoint", "lp.ckpt",
		"-force", "-report-every", "5", "-sample-every", "0", "-log", "run.jsonl")
	if recs = readRecords(t, filepath.Join(f.dir, "run.jsonl")); r.code != 0 || len(recs) != 2 {
		t.Fatalf("fresh run: exit %d, %d records, want 2: %s", r.code, len(recs), r.stderr)
	}

	// The plot command draws the same curves afterwards.
	r = charrnn(t, f.dir, "plot", "-log", "run.jsonl", "-o", "after.png")
	if r.code != 0 || !strings.Contains(r.stderr, "after.png") {
		t.Fatalf("plot: exit %d: %s", r.code, r.stderr)
	}
	checkPNG(t, filepath.Join(f.dir, "after.png"))
	r = charrnn(t, f.dir, "plot", "-log", "run.jsonl") // -o defaults to run.png
	if r.code != 0 {
		t.Fatalf("plot without -o: exit %d: %s", r.code, r.stderr)
	}
	checkPNG(t, filepath.Join(f.dir, "run.png"))
	if entries, _ := filepath.Glob(filepath.Join(f.dir, "*.tmp*")); len(entries) > 0 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

// TestTrainProgressBarOnTerminal runs training with stderr on a
// pseudo-terminal, as a user at a terminal would, and stdout on a pipe.
func TestTrainProgressBarOnTerminal(t *testing.T) {
	f := newFixture(t)
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	const cols = 100
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 24, Cols: cols}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "train", "-data", f.corpus, "-hidden", "16", "-seq", "8", "-batch", "2", "-steps", "300",
		"-checkpoint", "tty.ckpt", "-report-every", "50", "-sample-every", "100", "-sample-len", "20", "-log", "tty.jsonl")
	cmd.Dir = f.dir
	cmd.Env = append(os.Environ(), "CHARRNN_BACKEND=", "TERM=xterm")
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	var screen bytes.Buffer
	io.Copy(&screen, ptmx) // ends with EIO once the child has exited
	if err := cmd.Wait(); err != nil {
		t.Fatalf("train on a terminal: %v\n%s", err, screen.String())
	}
	out := screen.String()
	t.Logf("terminal output: %q", out)
	for _, want := range []string{"\r", "\x1b[0K", "%", "|", "bits/char", "chars/s", "trained 300 steps"} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal output lacks %q:\n%q", want, out)
		}
	}
	// The bar replaces the plain lines; closing leaves just the last one.
	if n := strings.Count(out, "nats/char"); n != 1 || !strings.Contains(out, "step 300  loss ") {
		t.Errorf("want one plain line, the last, got %d:\n%q", n, out)
	}
	// No line drawn may be wider than the terminal: a wrapped bar cannot be
	// redrawn in place.
	ansi := regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)
	for _, seg := range strings.FieldsFunc(out, func(r rune) bool { return r == '\r' || r == '\n' }) {
		if n := len([]rune(ansi.ReplaceAllString(seg, ""))); n > cols && !strings.HasPrefix(seg, "charrnn: backend") {
			t.Errorf("a %d-column line on a %d-column terminal: %q", n, cols, seg)
		}
	}
	// Samples go to stdout whole; the bar stays on stderr.
	if n := strings.Count(stdout.String(), "--- sample at step "); n != 4 || strings.ContainsAny(stdout.String(), "\r\x1b") {
		t.Errorf("stdout: %q", stdout.String())
	}
	if recs := readRecords(t, filepath.Join(f.dir, "tty.jsonl")); len(recs) != 6 {
		t.Errorf("log has %d records, want 6", len(recs))
	}
}

func TestReportBadInput(t *testing.T) {
	f := newFixture(t)
	write := func(name, content string) string {
		p := filepath.Join(f.dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	empty := write("empty.jsonl", "")
	blank := write("blank.jsonl", "\n\n")
	malformed := write("malformed.jsonl", `{"step":10,"loss":2.5}`+"\n"+`{"step":20,"loss":2.1}`+"\n"+`{"step":30,"loss":`+"\n")
	noLoss := write("noloss.jsonl", `{"step":10,"loss":2.5}`+"\n"+`{"step":20}`+"\n")
	good := write("good.jsonl", `{"step":10,"loss":2.5}`+"\n")
	if err := os.Mkdir(filepath.Join(f.dir, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}
	train := func(extra ...string) []string {
		return append([]string{"train", "-data", f.corpus, "-checkpoint", "new.ckpt", "-steps", "1"}, extra...)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"log in a missing directory", train("-log", filepath.Join(f.dir, "no", "run.jsonl")), "-log"},
		{"log is a directory", train("-log", "adir"), "adir is a directory"},
		{"plot in a missing directory", train("-plot", filepath.Join(f.dir, "no", "run.png")), "-plot"},
		{"plot of an unknown format", train("-plot", "run.gif"), ".png"},
		{"plot without -log", []string{"plot", "-o", "x.png"}, "-log is required"},
		{"plot of a missing log", []string{"plot", "-log", "missing.jsonl", "-o", "x.png"}, "missing.jsonl"},
		{"plot of an empty log", []string{"plot", "-log", empty, "-o", "x.png"}, "no records"},
		{"plot of a blank log", []string{"plot", "-log", blank, "-o", "x.png"}, "no records"},
		{"plot of a malformed line", []string{"plot", "-log", malformed, "-o", "x.png"}, "malformed.jsonl:3:"},
		{"plot of a record without loss", []string{"plot", "-log", noLoss, "-o", "x.png"}, `noloss.jsonl:2: record has no "loss"`},
		{"plot to an unknown format", []string{"plot", "-log", good, "-o", "x.bmp"}, ".png"},
		{"plot into a missing directory", []string{"plot", "-log", good, "-o", filepath.Join("no", "x.png")}, "does not exist"},
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
			if !strings.Contains(r.stderr, c.want) {
				t.Fatalf("stderr %q does not mention %q", r.stderr, c.want)
			}
		})
	}
	if after := hashFiles(t, f.dir); !maps.Equal(before, after) {
		t.Fatalf("bad input changed files:\nbefore %v\nafter  %v", before, after)
	}
}

func readRecords(t *testing.T, path string) []map[string]any {
	t.Helper()
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	var recs []map[string]any
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("%s: line %d is not a JSON object: %v: %q", path, len(recs)+1, err, sc.Text())
		}
		recs = append(recs, rec)
	}
	return recs
}

func checkPNG(t *testing.T, path string) {
	t.Helper()
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	img, err := png.Decode(file)
	if err != nil {
		t.Fatalf("%s is not a PNG: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() < 400 || b.Dy() < 200 {
		t.Fatalf("%s is only %dx%d", path, b.Dx(), b.Dy())
	}
}
