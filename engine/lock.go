package engine

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// A trainer holds its checkpoint's lock for the whole run, so that a second
// trainer on the same checkpoint is refused instead of overwriting the
// first one's saves. The lock is an advisory lock (flock) on a file beside
// the checkpoint, PATH.lock, which holds the holder's process id for the
// refusal to name. The system releases the lock when its holder exits, even
// by SIGKILL, so a lock is never stale: a file left by a killed trainer is
// simply taken over by the next.

// CheckpointInUseError says another process holds a checkpoint's lock.
type CheckpointInUseError struct {
	Checkpoint string
	PID        int // the holder's process id; 0 if it has not written it yet
}

func (e *CheckpointInUseError) Error() string {
	holder := "another process"
	if e.PID > 0 {
		holder = fmt.Sprintf("another process (pid %d)", e.PID)
	}
	return fmt.Sprintf("checkpoint %s is in use: %s is training it", e.Checkpoint, holder)
}

// LockCheckpoint takes the lock of the checkpoint at path (a symbolic link
// is followed, so two links to one file share its lock), or returns a
// *CheckpointInUseError if another process holds it. unlock releases the
// lock and removes the lock file.
func LockCheckpoint(path string) (unlock func() error, err error) {
	if path == "" {
		return nil, fmt.Errorf("lock checkpoint: no path")
	}
	target, err := ResolveLinks(path)
	if err != nil {
		return nil, fmt.Errorf("lock checkpoint %s: %w", path, err)
	}
	lockPath := target + ".lock"
	f, err := lockFile(lockPath)
	if err != nil {
		if pid, held := heldBy(err); held {
			return nil, &CheckpointInUseError{Checkpoint: path, PID: pid}
		}
		return nil, fmt.Errorf("lock checkpoint %s: %w", path, err)
	}
	// The id is for the refusals of others: failing to write it costs only
	// the pid in their message.
	if f.Truncate(0) == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() error {
		// Removed while still held: whoever opened this file meanwhile
		// finds it is no longer the lock file once they get it, and starts
		// again with a new one (see lockFile).
		err := os.Remove(lockPath)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}, nil
}

// readLockPID reads the process id a lock file holds, 0 if none.
func readLockPID(f *os.File) int {
	buf := make([]byte, 32)
	n, _ := f.ReadAt(buf, 0)
	pid, err := strconv.Atoi(strings.TrimSpace(string(buf[:n])))
	if err != nil || pid < 0 {
		return 0
	}
	return pid
}
