//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package engine

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// corpusCanMmap reports whether corpus files are memory-mapped on this platform.
const corpusCanMmap = true

// corpusMmap maps size bytes of f read-only and shared, so the pages are the
// page cache's own: no copy, and the kernel can drop them under pressure.
func corpusMmap(f *os.File, size int64) ([]byte, error) {
	if int64(int(size)) != size {
		return nil, unix.EFBIG
	}
	return unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
}

func corpusMunmap(b []byte) error {
	return unix.Munmap(b)
}

// corpusReleasePages tells the kernel this process is done with the pages
// wholly inside b, so a one-pass scan of a huge file does not leave them all
// counted in the process's resident set. The data stays valid: later reads
// fault the pages back in from the page cache (or the file).
func corpusReleasePages(b []byte) {
	if len(b) == 0 {
		return
	}
	page := uintptr(os.Getpagesize())
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	start := (addr+page-1)&^(page-1) - addr // first whole page
	end := (addr+uintptr(len(b)))&^(page-1) - addr
	if end <= start {
		return
	}
	// Advice only: a failure costs memory, never correctness.
	_ = unix.Madvise(b[start:end], unix.MADV_DONTNEED)
}
