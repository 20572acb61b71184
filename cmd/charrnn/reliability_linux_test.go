package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestReliabilityFullDisk: training whose checkpoint lives on a full file
// system ends with exit status 1 and one error line, and the checkpoint
// already there is unchanged. It mounts a 64 kB tmpfs, so it needs root.
func TestReliabilityFullDisk(t *testing.T) {
	f := newFixture(t)
	ck, err := os.ReadFile(f.ckpt)
	if err != nil {
		t.Fatal(err)
	}
	corpus, err := os.ReadFile(f.corpus)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
	}{
		{"resume", []string{"-resume", "-steps", "40"}},
		{"force", []string{"-force", "-hidden", "16", "-seq", "8", "-batch", "2", "-steps", "5"}},
		{"periodic save", []string{"-resume", "-steps", "60", "-save-every", "5"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64k"); err != nil {
				t.Skipf("cannot mount a size-limited tmpfs here (%v); the full-disk case needs root", err)
			}
			t.Cleanup(func() { syscall.Unmount(dir, 0) })
			writeFile(t, filepath.Join(dir, "m.ckpt"), ck)
			writeFile(t, filepath.Join(dir, "text.txt"), corpus)
			fill(t, filepath.Join(dir, "filler"))
			before := treeHashes(t, dir)

			args := append([]string{"train", "-data", "text.txt", "-checkpoint", "m.ckpt", "-sample-every", "0", "-report-every", "1000"}, c.args...)
			r := charrnn(t, dir, args...)
			if r.code != exitFailure {
				t.Fatalf("exit status %d, want %d; stderr:\n%s", r.code, exitFailure, r.stderr)
			}
			if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") {
				t.Fatalf("panic trace:\n%s", r.stderr)
			}
			// Progress lines come first; the error is the last line, and the
			// only one.
			lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
			last := lines[len(lines)-1]
			if n := strings.Count(r.stderr, "charrnn train: "); n != 1 || !strings.HasPrefix(last, "charrnn train: ") {
				t.Fatalf("want one error line, last:\n%s", r.stderr)
			}
			if !strings.Contains(last, "save checkpoint") || !strings.Contains(last, "m.ckpt") || !strings.Contains(last, "no space left on device") {
				t.Fatalf("error line does not say what failed and why: %s", last)
			}
			if d := diffHashes(before, treeHashes(t, dir)); d != "" {
				t.Fatalf("a failed save changed files: %s", d)
			}
		})
	}
}

// fill writes path until its file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 512)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return
		}
	}
}
