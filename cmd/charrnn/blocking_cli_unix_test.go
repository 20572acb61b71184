//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runWithin runs the binary with stdout going to stdout (nil: a buffer) and
// fails the test if it has not exited within limit: a liveness bound for
// runs that used to block or run on, far above what they take.
func runWithin(t *testing.T, limit time.Duration, dir string, stdout *os.File, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CHARRNN_BACKEND=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdout != nil {
		cmd.Stdout = stdout
	}
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("charrnn %s: still running after %v", strings.Join(args, " "), limit)
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

// TestReliabilityNamedPipesRefused: a named pipe given as a file to read or
// write (checkpoint, -init-from, -log, -plot, plot -log and -o) is refused
// at once in one line, exit status 2, instead of waiting for its other end.
func TestReliabilityNamedPipesRefused(t *testing.T) {
	f := newFixture(t)
	// Outside f.dir, whose files the test reads (and a pipe would block).
	pipes := t.TempDir()
	fifo := filepath.Join(pipes, "pipe.ckpt")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("cannot make a named pipe here: %v", err)
	}
	fifoLog := filepath.Join(pipes, "pipe.jsonl")
	fifoPNG := filepath.Join(pipes, "pipe.png")
	for _, p := range []string{fifoLog, fifoPNG} {
		if err := syscall.Mkfifo(p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := charrnn(t, f.dir, "train", "-data", f.corpus, "-checkpoint", "logged.ckpt", "-hidden", "8", "-seq", "8", "-steps", "3",
		"-report-every", "1", "-sample-every", "0", "-log", "good.jsonl")
	if r.code != 0 {
		t.Fatalf("train with -log: %d: %s", r.code, r.stderr)
	}
	train := []string{"train", "-data", f.corpus, "-hidden", "8", "-seq", "8", "-steps", "1", "-sample-every", "0"}
	cases := []badCase{
		{"sample -checkpoint", []string{"sample", "-checkpoint", fifo, "-n", "3"}, "named pipe"},
		{"eval -checkpoint", []string{"eval", "-checkpoint", fifo, "-data", f.corpus}, "named pipe"},
		{"inspect -checkpoint", []string{"inspect", "-checkpoint", fifo}, "named pipe"},
		{"export -checkpoint", []string{"export", "-checkpoint", fifo, "-o", "x.safetensors"}, "named pipe"},
		{"train -resume -checkpoint", append(train, "-checkpoint", fifo, "-resume"), "named pipe"},
		{"train -init-from", append(train, "-checkpoint", "new.ckpt", "-init-from", fifo), "named pipe"},
		{"train -log", append(train, "-checkpoint", "new.ckpt", "-log", fifoLog), "not a regular file"},
		{"train -resume -log", []string{"train", "-data", f.corpus, "-checkpoint", "logged.ckpt", "-resume", "-steps", "5", "-log", fifoLog}, "not a regular file"},
		{"train -plot", append(train, "-checkpoint", "new.ckpt", "-plot", fifoPNG), "not a regular file"},
		{"plot -log", []string{"plot", "-log", fifoLog, "-o", "out.png"}, "named pipe"},
		{"plot -o", []string{"plot", "-log", "good.jsonl", "-o", fifoPNG}, "not a regular file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := treeHashes(t, f.dir)
			r := runWithin(t, time.Minute, f.dir, nil, c.args...)
			checkOneLineFailure(t, r, exitBadInput, c.want)
			if d := diffHashes(before, treeHashes(t, f.dir)); d != "" {
				t.Fatalf("a refused run changed files: %s", d)
			}
		})
	}
}

// TestReliabilitySampleStopsAtFailedWrite: sampling into a full device
// stops at the first failed write with one line, exit status 1, instead of
// generating all of a huge -n first.
func TestReliabilitySampleStopsAtFailedWrite(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full here: %v", err)
	}
	defer full.Close()
	f := newFixture(t)
	// 2^31-1 characters would take many minutes at the fixture's speed.
	r := runWithin(t, time.Minute, f.dir, full, "sample", "-checkpoint", f.ckpt, "-n", "2147483647", "-seed", "1")
	if r.code != exitFailure || strings.Contains(r.stderr, "goroutine ") {
		t.Fatalf("exit status %d, want %d:\n%s", r.code, exitFailure, r.stderr)
	}
	// The backend line, then the error, once.
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	if last := lines[len(lines)-1]; strings.Count(r.stderr, "charrnn sample: ") != 1 || !strings.Contains(last, "no space left on device") {
		t.Fatalf("want one error line saying the device is full:\n%s", r.stderr)
	}
}
