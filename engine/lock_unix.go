//go:build unix

package engine

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// lockHeldError is lockFile's error when another process holds the lock.
type lockHeldError struct{ pid int }

func (e *lockHeldError) Error() string { return "lock is held" }

func heldBy(err error) (pid int, held bool) {
	var h *lockHeldError
	if errors.As(err, &h) {
		return h.pid, true
	}
	return 0, false
}

// lockFile opens (creating it if need be) and locks the file at path
// without waiting.
func lockFile(path string) (*os.File, error) {
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, err
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			pid := readLockPID(f)
			f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				return nil, &lockHeldError{pid}
			}
			return nil, &os.PathError{Op: "flock", Path: path, Err: err}
		}
		// The previous holder removes the file before releasing it: if
		// that happened between our open and our lock, we hold a file no
		// one else will open. Start again with the one at path.
		held, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		if now, err := os.Stat(path); err == nil && os.SameFile(held, now) {
			return f, nil
		}
		f.Close()
	}
}
