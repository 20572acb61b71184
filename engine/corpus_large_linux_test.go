package engine

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	largeCorpusSize  int64 = 3 << 30
	largeCorpusEnv         = "CHARRNN_TEST_LARGE_CORPUS" // set in the child: the file to open
	largeCorpusRSSOK       = 512 << 20
)

// The few non-zero bytes of the sparse file, at far offsets.
var largeCorpusMarks = map[int64]string{
	1<<30 + 12345:       "hello",
	2<<30 + 7:           "x",
	largeCorpusSize - 1: "\xff",
}

// TestCorpusLargeSparse opens a 3 GiB sparse file, builds its vocabulary by
// streaming and reads windows at far offsets, in a child process whose peak
// resident set is measured by the kernel: it must stay far below the file size.
func TestCorpusLargeSparse(t *testing.T) {
	if path := os.Getenv(largeCorpusEnv); path != "" {
		largeCorpusChild(t, path)
		return
	}
	if testing.Short() {
		t.Skip("streams a 3 GiB sparse file; skipped with -short")
	}
	if strconv.IntSize < 64 {
		t.Skip("a 3 GiB mapping does not fit a 32-bit address space")
	}
	if largeCorpusRaceBuild() {
		t.Skip("race instrumentation of every byte load makes a 3 GiB scan take minutes; " +
			"the scan's concurrency is checked under -race by the smaller vocab tests")
	}
	path := filepath.Join(t.TempDir(), "sparse.txt")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(largeCorpusSize); err != nil {
		f.Close()
		t.Skipf("cannot make a %d-byte sparse file here: %v", largeCorpusSize, err)
	}
	for off, s := range largeCorpusMarks {
		if _, err := f.WriteAt([]byte(s), off); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestCorpusLargeSparse$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), largeCorpusEnv+"="+path)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err = cmd.Run()
	t.Logf("child (%v):\n%s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatalf("child failed: %v", err)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		t.Fatal("no rusage for the child")
	}
	maxRSS := ru.Maxrss << 10 // KiB on Linux
	t.Logf("child max RSS %.1f MiB for a %d MiB corpus", float64(maxRSS)/(1<<20), largeCorpusSize>>20)
	if maxRSS >= largeCorpusRSSOK {
		t.Errorf("child max RSS %d MiB, want < %d MiB", maxRSS>>20, largeCorpusRSSOK>>20)
	}
}

func largeCorpusChild(t *testing.T, path string) {
	t.Logf("VmHWM before: %s", procStatus(t, "VmHWM"))
	c := openCorpus(t, path)
	if c.Size() != largeCorpusSize || len(c.segs) != 1 || !c.segs[0].mapped {
		t.Fatalf("size %d, %d segments (mapped %v): want one mapped %d-byte file", c.Size(), len(c.segs), len(c.segs) > 0 && c.segs[0].mapped, largeCorpusSize)
	}
	start := time.Now()
	v, err := BuildByteVocab(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("vocab built in %v (%.0f MB/s); VmHWM now %s", time.Since(start).Round(time.Millisecond),
		float64(c.Size())/time.Since(start).Seconds()/1e6, procStatus(t, "VmHWM"))
	want := []int32{0, 'e', 'h', 'l', 'o', 'x', 0xff}
	if !slices.Equal(v.Symbols, want) {
		t.Fatalf("vocab %q, want %q", v.Symbols, want)
	}
	s := v.NewTokenStream(c)
	for off, text := range largeCorpusMarks {
		pos := max(0, min(off-3, c.Size()-8))
		dst := make([]int32, 8)
		if err := tokenWindow(s, pos, dst); err != nil {
			t.Fatal(err)
		}
		got := v.Decode(dst)
		wantText := string(make([]byte, off-pos)) + text
		wantText += string(make([]byte, 8-len(wantText)))
		if got != wantText {
			t.Errorf("window at %d = %q, want %q", pos, got, wantText)
		}
		buf := make([]byte, len(text))
		if _, err := c.ReadAt(buf, off); err != nil || string(buf) != text {
			t.Errorf("ReadAt(%d) = %q, %v; want %q", off, buf, err, text)
		}
	}
	t.Logf("VmHWM after: %s", procStatus(t, "VmHWM"))
}

func largeCorpusRaceBuild() bool {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range info.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// procStatus returns one field of /proc/self/status, e.g. "VmHWM" -> "12345 kB".
func procStatus(t *testing.T, field string) string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return fmt.Sprint(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			v = strings.TrimSpace(v)
			if kb, err := strconv.Atoi(strings.TrimSuffix(v, " kB")); err == nil {
				return fmt.Sprintf("%.1f MiB", float64(kb)/1024)
			}
			return v
		}
	}
	return "unknown"
}
