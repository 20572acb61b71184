//go:build unix

package engine

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func wantInUse(t *testing.T, err error, pid int) {
	t.Helper()
	var inUse *CheckpointInUseError
	if !errors.As(err, &inUse) {
		t.Fatalf("second lock: %v, want a *CheckpointInUseError", err)
	}
	if inUse.PID != pid {
		t.Fatalf("second lock names pid %d, want %d", inUse.PID, pid)
	}
	if msg := err.Error(); !strings.Contains(msg, "in use") || strings.Contains(msg, "\n") {
		t.Fatalf("message %q", msg)
	}
}

// TestLockCheckpoint: a checkpoint's lock is held once; the second taker
// is refused with the holder's pid; after unlock the lock file is gone and
// the lock can be taken again.
func TestLockCheckpoint(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.ckpt")
	unlock, err := LockCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path + ".lock"); err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Fatalf("lock file holds %q (%v), want this pid", b, err)
	}
	_, err = LockCheckpoint(path)
	wantInUse(t, err, os.Getpid())

	// Through a link to it: the same lock.
	link := filepath.Join(dir, "latest.ckpt")
	if err := os.Symlink("m.ckpt", link); err != nil {
		t.Fatal(err)
	}
	_, err = LockCheckpoint(link)
	wantInUse(t, err, os.Getpid())

	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".lock"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("lock file after unlock: %v", err)
	}
	unlock, err = LockCheckpoint(link)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	unlock()

	if _, err := LockCheckpoint(filepath.Join(dir, "missing", "m.ckpt")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("lock in a missing directory: %v", err)
	}
	if _, err := LockCheckpoint(""); err == nil {
		t.Fatal("locked an empty path")
	}
}

// TestLockCheckpointExclusiveUnderChurn: takers that lock, hold and unlock
// in a loop (each unlock removes the file another may have just opened)
// never hold the lock two at a time.
func TestLockCheckpointExclusiveUnderChurn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.ckpt")
	var holders, taken atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 300 {
				unlock, err := LockCheckpoint(path)
				if err != nil {
					var inUse *CheckpointInUseError
					if !errors.As(err, &inUse) {
						t.Error(err)
						return
					}
					continue
				}
				if n := holders.Add(1); n != 1 {
					t.Errorf("%d holders at once", n)
				}
				taken.Add(1)
				holders.Add(-1)
				if err := unlock(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if taken.Load() == 0 {
		t.Fatal("no taker ever got the lock")
	}
	t.Logf("lock taken %d times", taken.Load())
}

const lockChildEnv = "CHARRNN_TEST_LOCK_CHILD"

// TestLockCheckpointReleasedByKill: a lock held by another process refuses
// with that process's pid; once it is killed (SIGKILL: no unlock ran), the
// lock file it left is taken over.
func TestLockCheckpointReleasedByKill(t *testing.T) {
	if path := os.Getenv(lockChildEnv); path != "" {
		if _, err := LockCheckpoint(path); err != nil {
			t.Fatal(err)
		}
		os.Stdout.WriteString("locked\n")
		select {} // held until killed
	}
	path := filepath.Join(t.TempDir(), "m.ckpt")
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockCheckpointReleasedByKill$", "-test.count=1")
	cmd.Env = append(os.Environ(), lockChildEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "locked\n" {
		t.Fatalf("child: %q, %v", line, err)
	}
	_, err = LockCheckpoint(path)
	wantInUse(t, err, cmd.Process.Pid)

	cmd.Process.Kill()
	cmd.Wait()
	if _, err := os.Stat(path + ".lock"); err != nil {
		t.Fatalf("the killed holder's lock file: %v", err)
	}
	unlock, err := LockCheckpoint(path)
	if err != nil {
		t.Fatalf("lock after the holder was killed: %v", err)
	}
	unlock()
}
