//go:build unix

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"charrnn/engine"
)

// waitFor polls cond until it holds, failing the test after limit (a
// liveness bound, far above what the wait takes).
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v waiting for %s", limit, what)
		}
	}
}

// TestReliabilityTwoTrainersOneCheckpoint: while one trainer runs on a
// checkpoint, a second one on it (resuming, forcing a fresh start, or
// through a symbolic link) is refused in one line naming the first one's
// pid, exit status 2; the first runs on unharmed and saves on interrupt.
func TestReliabilityTwoTrainersOneCheckpoint(t *testing.T) {
	f := newFixture(t)
	first := exec.Command(binary, "train", "-data", f.corpus, "-checkpoint", f.ckpt, "-resume", "-steps", "100000000",
		"-save-every", "1", "-sample-every", "0", "-report-every", "1000000")
	first.Dir = f.dir
	first.Env = append(os.Environ(), "CHARRNN_BACKEND=")
	var firstErr bytes.Buffer
	first.Stderr = &firstErr
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	defer first.Process.Kill()
	pid := strconv.Itoa(first.Process.Pid)
	waitFor(t, 30*time.Second, "the first trainer's first save", func() bool {
		ck, err := engine.LoadCheckpoint(f.ckpt)
		return err == nil && ck.Header.Step > 30 // the fixture's is 30
	})
	if err := os.Symlink("m.ckpt", filepath.Join(f.dir, "latest.ckpt")); err != nil {
		t.Fatal(err)
	}
	second := map[string][]string{
		"resume":      {"train", "-data", f.corpus, "-checkpoint", f.ckpt, "-resume", "-steps", "1", "-sample-every", "0"},
		"force":       {"train", "-data", f.corpus, "-checkpoint", f.ckpt, "-force", "-steps", "1", "-hidden", "8", "-seq", "8", "-sample-every", "0"},
		"via a link":  {"train", "-data", f.corpus, "-checkpoint", "latest.ckpt", "-resume", "-steps", "1", "-sample-every", "0"},
		"by relative": {"train", "-data", f.corpus, "-checkpoint", "./m.ckpt", "-resume", "-steps", "1", "-sample-every", "0"},
	}
	for name, args := range second {
		t.Run(name, func(t *testing.T) {
			r := charrnn(t, f.dir, args...)
			checkOneLineFailure(t, r, exitBadInput, "pid "+pid)
			if !strings.Contains(r.stderr, "in use") {
				t.Fatalf("refusal does not say the checkpoint is in use: %s", r.stderr)
			}
		})
	}

	if err := first.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	if code := first.ProcessState.ExitCode(); code != exitInterrupted {
		t.Fatalf("first trainer: exit status %d, want %d:\n%s", code, exitInterrupted, firstErr.String())
	}
	if _, err := engine.LoadCheckpoint(f.ckpt); err != nil {
		t.Fatalf("the first trainer's checkpoint: %v", err)
	}
	if left, _ := filepath.Glob(f.ckpt + ".*"); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
	// And the checkpoint is free again.
	r := charrnn(t, f.dir, "train", "-data", f.corpus, "-checkpoint", "latest.ckpt", "-resume", "-steps", "1", "-sample-every", "0")
	if r.code != 0 {
		t.Fatalf("training after the first trainer stopped: exit %d: %s", r.code, r.stderr)
	}
}

// TestReliabilitySaveSparesLiveWritersTemps: the clean-up after a save
// removes a temporary file of the checkpoint left by a process that has
// exited, and leaves one whose writer still runs.
func TestReliabilitySaveSparesLiveWritersTemps(t *testing.T) {
	f := newFixture(t)
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Skipf("no 'true' to run: %v", err)
	}
	live := filepath.Join(f.dir, fmt.Sprintf("m.ckpt.tmp%d-1", os.Getpid())) // this test: alive
	dead := filepath.Join(f.dir, fmt.Sprintf("m.ckpt.tmp%d-2", gone.ProcessState.Pid()))
	old := time.Now().Add(-time.Hour)
	for _, p := range []string{live, dead} {
		writeFile(t, p, []byte("partial"))
		os.Chtimes(p, old, old)
	}
	r := charrnn(t, f.dir, "train", "-data", f.corpus, "-checkpoint", f.ckpt, "-resume", "-steps", "35", "-sample-every", "0")
	if r.code != 0 {
		t.Fatalf("train: exit %d: %s", r.code, r.stderr)
	}
	if _, err := os.Stat(live); err != nil {
		t.Fatalf("a live writer's temporary file was removed: %v", err)
	}
	if _, err := os.Stat(dead); err == nil {
		t.Fatal("an exited writer's temporary file was left")
	}
}
