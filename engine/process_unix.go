//go:build unix

package engine

import (
	"errors"

	"golang.org/x/sys/unix"
)

// processAlive reports whether a process with id pid exists (pid > 0).
// Signal 0 checks without signalling; EPERM means it exists but is not
// ours to signal.
func processAlive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}
