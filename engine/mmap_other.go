//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package engine

import (
	"errors"
	"os"
)

// corpusCanMmap is false here: large corpus files stay open and are read
// with positioned reads (os.File.ReadAt) instead of being mapped.
const corpusCanMmap = false

var errCorpusNoMmap = errors.New("memory mapping not supported on this platform")

func corpusMmap(f *os.File, size int64) ([]byte, error) { return nil, errCorpusNoMmap }

func corpusMunmap(b []byte) error { return nil }

func corpusReleasePages(b []byte) {}
