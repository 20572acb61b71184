//go:build unix

package engine

import "syscall"

// openNonblock makes opening a named pipe return at once instead of
// waiting for its other end. Reads of regular files ignore it.
const openNonblock = syscall.O_NONBLOCK
