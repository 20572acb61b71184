package main

import (
	"bytes"
	"charrnn/engine"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The reporter in-process: the bar as written to an io.Writer, the log's
// repair on append, and the curves.

func testRecord(step int64) engine.Record {
	return engine.Record{Step: step, Chars: step * 100, Loss: 1.5, BitsPerChar: 1.5 / 0.6931471805599453,
		LR: 0.002, CharsPerSec: 52100, GradNorm: 3}
}

func TestProgressBarRendering(t *testing.T) {
	var out bytes.Buffer // the "terminal": stderr and stdout together
	rep, err := newReporter(reportConfig{stderr: &out, stdout: &out, terminal: true, width: 120, startStep: 0, steps: 1000})
	if err != nil {
		t.Fatal(err)
	}
	rep.Stepped(1)
	time.Sleep(2 * redrawEvery)
	rep.Stepped(100)
	rep.Report(testRecord(100))
	bar := out.String()
	for _, want := range []string{"\r", "step 100", "loss 1.5000", "2.164 bits/char", "52.1k chars/s", "10%", "\x1b[0K"} {
		if !strings.Contains(bar, want) {
			t.Errorf("bar %q lacks %q", bar, want)
		}
	}
	if strings.Contains(bar, "\n") {
		t.Errorf("the bar wrote a newline: %q", bar)
	}
	// ETA: [elapsed:left]
	if !regexp.MustCompile(`\[\d+s:\d+s\]`).MatchString(bar) {
		t.Errorf("bar %q shows no [elapsed:ETA]", bar)
	}

	// A sample clears the bar's line first and starts on a fresh line.
	out.Reset()
	rep.Sample(100, "the cat")
	s := out.String()
	clear := strings.Index(s, "\x1b[2K\r")
	sample := strings.Index(s, "--- sample at step 100 ---\nthe cat\n---\n")
	if clear < 0 || sample < 0 || clear > sample || strings.Contains(s[:clear], "step 100") {
		t.Errorf("sample not printed on a cleared line: %q", s)
	}

	// Closing takes the bar away and leaves the last record as a plain line.
	out.Reset()
	if err := rep.close(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.HasPrefix(got, "\x1b[2K\r") || !strings.HasSuffix(got, plainLine(testRecord(100))+"\n") {
		t.Errorf("close wrote %q", got)
	}
}

func TestProgressBarKinds(t *testing.T) {
	for _, c := range []struct {
		name     string
		steps    int64
		duration time.Duration
		want     []string
	}{
		{"steps", 50, 0, []string{"step 12 ", "5%", "|", "[0s:"}},
		{"time", 0, time.Hour, []string{"step 12 ", "0%", "|", "[0s:"}},
		{"spinner", 0, 0, []string{"step 12 ", "[0s]"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			b := newProgressBar(&out, 100, 10, c.steps, c.duration)
			b.progress(12)
			b.describe(testRecord(12), nil)
			for _, want := range c.want {
				if !strings.Contains(out.String(), want) {
					t.Errorf("%s bar %q lacks %q", c.name, out.String(), want)
				}
			}
		})
	}
}

func TestBarDescriptionFits(t *testing.T) {
	val := 1.61
	rec := testRecord(123456)
	for _, width := range []int{200, 100, 80, 60, 20} {
		b := &progressBar{width: width}
		d := b.fit(barDescriptions(rec, &val)...)
		if n := len([]rune(d)); n+barFixedWidth > max(width, barFixedWidth+10) {
			t.Errorf("width %d: description %q (%d) leaves the bar no room", width, d, n)
		}
		if width >= 100 && !strings.Contains(d, "val 1.6100") {
			t.Errorf("width %d: description %q lacks the validation loss", width, d)
		}
	}
	if d := (&progressBar{width: 200}).fit(barDescriptions(rec, nil)...); strings.Contains(d, "val") || !strings.Contains(d, "bits/char") {
		t.Errorf("wide description without validation: %q", d)
	}
}

func TestSICount(t *testing.T) {
	for x, want := range map[float64]string{0: "0", 950: "950", 999.6: "1k", 52100: "52.1k", 999999: "1M", 1.234e6: "1.23M", 2e9: "2G"} {
		if got := siCount(x); got != want {
			t.Errorf("siCount(%g) = %q, want %q", x, got, want)
		}
	}
}

func TestLogAppendDropsIncompleteLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.jsonl")
	whole := `{"step":10,"loss":2}` + "\n" + `{"step":20,"loss":1.9}` + "\n"
	if err := os.WriteFile(path, []byte(whole+`{"step":30,"lo`), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := openRunLog(path, true)
	if err != nil {
		t.Fatal(err)
	}
	if !l.repaired {
		t.Error("incomplete line not reported")
	}
	if err := l.write([]byte(`{"step":30,"loss":1.8}`)); err != nil {
		t.Fatal(err)
	}
	l.close()
	got, _ := os.ReadFile(path)
	if want := whole + `{"step":30,"loss":1.8}` + "\n"; string(got) != want {
		t.Fatalf("log after append:\n%s\nwant\n%s", got, want)
	}
	// A whole log is left as it is.
	if l, err = openRunLog(path, true); err != nil || l.repaired {
		t.Fatalf("reopen: %v, repaired %v", err, l.repaired)
	}
	l.close()
}

func TestReportWritesEachRecordAtOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.jsonl")
	var out bytes.Buffer
	rep, err := newReporter(reportConfig{stderr: &out, stdout: &out, logPath: path})
	if err != nil {
		t.Fatal(err)
	}
	defer rep.close()
	for step := int64(1); step <= 3; step++ {
		rep.Report(testRecord(step))
		// Readable before anything is closed or synced: `tail -f` works.
		got, _ := os.ReadFile(path)
		lines := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
		var rec engine.Record
		if len(lines) != int(step) || json.Unmarshal([]byte(lines[step-1]), &rec) != nil || rec != testRecord(step) {
			t.Fatalf("after report %d the log holds %q", step, got)
		}
	}
}

func TestPlotRedrawnAtSaves(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.png")
	var out bytes.Buffer
	rep, err := newReporter(reportConfig{stderr: &out, stdout: &out, plotPath: path})
	if err != nil {
		t.Fatal(err)
	}
	rep.Saved("") // a save before the first report: nothing to draw yet
	if _, err := os.Stat(path); err == nil {
		t.Fatal("plot drawn without records")
	}
	rep.Report(testRecord(10))
	rep.Report(testRecord(20))
	rep.Saved("")
	checkPNG(t, path)
	if err := rep.close(); err != nil || strings.Contains(out.String(), "charrnn:") {
		t.Fatalf("close: %v; output %q", err, out.String())
	}
}

func TestResumedPlotStartsFromTheLog(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "run.jsonl")
	os.WriteFile(logPath, []byte(`{"step":10,"loss":2}`+"\n"+`{"step":20,"loss":1.9}`+"\n"+`{"step":30,"lo`), 0o644)
	var out bytes.Buffer
	rep, err := newReporter(reportConfig{stderr: &out, stdout: &out, logPath: logPath, appendLog: true,
		plotPath: filepath.Join(dir, "run.png")})
	if err != nil {
		t.Fatal(err)
	}
	rep.Report(testRecord(30))
	if len(rep.points) != 3 || rep.points[0].Step != 10 || rep.points[2].Step != 30 {
		t.Errorf("curve after resume: %+v", rep.points)
	}
	if got := out.String(); got != "charrnn: dropped an incomplete last line of "+logPath+"\n"+plainLine(testRecord(30))+"\n" {
		t.Errorf("output %q", got)
	}
	rep.close()
}

func TestCurves(t *testing.T) {
	lines := []string{
		`{"step":100,"loss":3,"val_loss":3.1}`,
		`{"step":200,"loss":2}`,
		`{"step":300,"loss":1.5,"val_loss":1.7,"val_bits_per_char":2.45}`,
		`{"step":400,"loss":1.4}`,
		// Resumed from the checkpoint of step 200: its records replace 300 and 400.
		`{"step":300,"loss":1.6}`,
		`{"step":400,"loss":1.3,"val_loss":1.45}`,
	}
	var points []point
	for i, l := range lines {
		p, err := parseLogLine([]byte(l))
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		points = append(points, p)
	}
	train, val := curves(points)
	wantTrain := [][2]float64{{100, 3}, {200, 2}, {300, 1.6}, {400, 1.3}}
	wantVal := [][2]float64{{100, 3.1}, {400, 1.45}}
	if len(train) != len(wantTrain) || len(val) != len(wantVal) {
		t.Fatalf("curves: train %v, val %v", train, val)
	}
	for i, w := range wantTrain {
		if train[i].X != w[0] || train[i].Y != w[1] {
			t.Errorf("train[%d] = %v, want %v", i, train[i], w)
		}
	}
	for i, w := range wantVal {
		if val[i].X != w[0] || val[i].Y != w[1] {
			t.Errorf("val[%d] = %v, want %v", i, val[i], w)
		}
	}
	out := filepath.Join(t.TempDir(), "curves.png")
	if err := drawPlotFile(out, points); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, out)
}
