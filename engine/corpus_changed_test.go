package engine

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cutCorpus writes a corpus file of size bytes (large enough to be mapped
// where mapping is available), opens it with a byte vocabulary, then cuts
// the file to cut bytes under the open corpus.
func cutCorpus(t *testing.T, size, cut int64) (path string, c *Corpus, s *TokenStream) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "big.txt")
	text := strings.Repeat("abcdefghijklmnopqrstuvwxyz\n", int(size)/27+1)[:size]
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	c = openCorpus(t, path)
	v, err := BuildByteVocab(c)
	if err != nil {
		t.Fatal(err)
	}
	s = v.NewTokenStream(c)
	if err := os.Truncate(path, cut); err != nil {
		t.Fatal(err)
	}
	return path, c, s
}

// wantChanged checks that err reports path cut from was to now bytes.
func wantChanged(t *testing.T, what string, err error, path string, now, was int64) {
	t.Helper()
	var ce *CorpusChangedError
	if !errors.As(err, &ce) {
		t.Fatalf("%s on a cut file: %v, want a *CorpusChangedError", what, err)
	}
	if ce.Path != path || ce.Size != now || ce.Was != was {
		t.Fatalf("%s: %+v, want path %s, now %d, was %d", what, *ce, path, now, was)
	}
	if msg := err.Error(); !strings.Contains(msg, path) || strings.Contains(msg, "\n") {
		t.Fatalf("%s: message %q does not name the file on one line", what, msg)
	}
}

// TestCorpusFileCutWhileOpen: a corpus file truncated under an open corpus
// (another process rewriting it) makes every kind of read return an error
// naming the file and both sizes: no SIGBUS, no panic. Mapped reads past the
// new end fault; the test passing at all shows the fault was caught.
func TestCorpusFileCutWhileOpen(t *testing.T) {
	const size, cut = 1 << 20, 4096
	withCorpusMode(t, func(t *testing.T) {
		path, c, s := cutCorpus(t, size, cut)
		dst := make([]int32, 101)

		_, _, err := s.ReadTokens(500_000, dst)
		wantChanged(t, "ReadTokens", err, path, cut, size)

		err = s.Window(size-101, dst)
		wantChanged(t, "Window", err, path, cut, size)

		_, err = c.ReadAt(make([]byte, 64), 700_000)
		wantChanged(t, "ReadAt", err, path, cut, size)

		_, err = BuildByteVocab(c) // the parallel scan
		wantChanged(t, "BuildByteVocab", err, path, cut, size)

		_, err = BuildRuneVocab(c, 100)
		wantChanged(t, "BuildRuneVocab", err, path, cut, size)

		// What is still there reads as before.
		if err := s.Window(0, dst); err != nil {
			t.Fatalf("window inside what is left of the file: %v", err)
		}
	})
}

// TestCorpusFileCutInsidePage: a file cut in the middle of a page does not
// fault (the page's tail reads as zeros), but a byte vocabulary without the
// zero byte sees it, and the error names the change, not the zeros.
func TestCorpusFileCutInsidePage(t *testing.T) {
	const size, cut = 1 << 20, 4096 + 100
	withCorpusMode(t, func(t *testing.T) {
		path, _, s := cutCorpus(t, size, cut)
		_, _, err := s.ReadTokens(4096+50, make([]int32, 101))
		wantChanged(t, "ReadTokens", err, path, cut, size)
	})
}

// TestCorpusFileRemovedAndCut: a file deleted and then cut through an
// open descriptor is reported as missing.
func TestCorpusFileCutThenRemoved(t *testing.T) {
	const size, cut = 1 << 20, 0
	withCorpusMode(t, func(t *testing.T) {
		path, _, s := cutCorpus(t, size, cut)
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		_, _, err := s.ReadTokens(300_000, make([]int32, 101))
		var ce *CorpusChangedError
		if !errors.As(err, &ce) || ce.Path != path || !strings.Contains(err.Error(), path) {
			t.Fatalf("ReadTokens on a cut, removed file: %v", err)
		}
		// Mapped: the file is gone (-1). Read with pread: the open file
		// still has its (cut) size.
		if ce.Size != -1 && ce.Size != cut {
			t.Fatalf("size now %d, want -1 or %d", ce.Size, cut)
		}
	})
}

// TestCorpusRunesFileCutWhileOpen: the rune stream and TokenStart fail the
// same way.
func TestCorpusRunesFileCutWhileOpen(t *testing.T) {
	const size, cut = 1 << 20, 4096
	withCorpusMode(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "runes.txt")
		text := strings.Repeat("héllo wörld ", size/14+1)[:size]
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		c := openCorpus(t, path)
		v, err := BuildRuneVocab(c, 100)
		if err != nil {
			t.Fatal(err)
		}
		s := v.NewTokenStream(c)
		if err := os.Truncate(path, cut); err != nil {
			t.Fatal(err)
		}
		_, _, err = s.ReadTokens(600_000, make([]int32, 101))
		wantChanged(t, "ReadTokens (runes)", err, path, cut, size)
		_, err = s.TokenStart(800_001)
		wantChanged(t, "TokenStart", err, path, cut, size)
	})
}
