package engine

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// mountSmallTmpfs mounts a tmpfs of the given size at a new directory,
// unmounted when the test ends. It skips the test where mounting is not
// permitted (not root, or no CAP_SYS_ADMIN).
func mountSmallTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Skipf("cannot mount a size-limited tmpfs here (%v); the full-disk case needs root", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// fillDisk writes a file in dir until the file system is full.
func fillDisk(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "filler"))
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

// TestCheckpointSaveOnFullDisk: a save that runs out of space fails with an
// error naming the file and the cause, leaves the old checkpoint as it was and
// no temporary file behind.
func TestCheckpointSaveOnFullDisk(t *testing.T) {
	dir := mountSmallTmpfs(t, "64k")
	path := filepath.Join(dir, "m.ckpt")
	old, _ := sampleCheckpoint(t)
	if err := old.Save(path); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fillDisk(t, dir)

	err = crashCheckpoint(1).Save(path) // 480 kB: cannot fit
	if err == nil {
		t.Fatal("saving 480 kB to a full 64 kB file system succeeded")
	}
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "no space left on device") {
		t.Fatalf("error %q does not say which file and that the disk is full", err)
	}
	t.Logf("refused: %v", err)
	after, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(before, after) {
		t.Fatalf("the old checkpoint changed after a failed save (%v)", err)
	}
	if _, err := LoadCheckpoint(path); err != nil {
		t.Fatal(err)
	}
	if n := strayTemps(t, dir); n != 0 {
		t.Fatalf("%d temporary files left after a failed save", n)
	}
}
