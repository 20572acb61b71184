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

		err = tokenWindow(s, size-101, dst)
		wantChanged(t, "Window", err, path, cut, size)

		_, err = c.ReadAt(make([]byte, 64), 700_000)
		wantChanged(t, "ReadAt", err, path, cut, size)

		_, err = BuildByteVocab(c) // the parallel scan
		wantChanged(t, "BuildByteVocab", err, path, cut, size)

		_, err = BuildRuneVocab(c, 100)
		wantChanged(t, "BuildRuneVocab", err, path, cut, size)

		// What is still there reads as before.
		if err := tokenWindow(s, 0, dst); err != nil {
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

// BenchmarkReadTokensFaultGuard measures what catching faults costs a read:
// windows of T+1 = 101 ids at B = 32 cursors over one mapped 8 MB file,
// through ReadTokens ("guarded") and through its unguarded inner read
// ("bare"), side by side in one run, for both vocabulary kinds.
func BenchmarkReadTokensFaultGuard(b *testing.B) {
	path := filepath.Join(b.TempDir(), "big.txt")
	const size = 8 << 20
	const line = "the quick brown fox jumps over the lazy dog, déjà vu\n"
	text := strings.Repeat(line, size/len(line)+1)[:size]
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		b.Fatal(err)
	}
	c, err := OpenCorpus(path)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	bytesVocab, err := BuildByteVocab(c)
	if err != nil {
		b.Fatal(err)
	}
	runesVocab, err := BuildRuneVocab(c, DefaultRuneVocabSize)
	if err != nil {
		b.Fatal(err)
	}
	const T, B = 101, 32
	dst := make([]int32, T)
	for _, kind := range []struct {
		name string
		v    *Vocab
		bare func(s *TokenStream, pos int64) error
	}{
		{"bytes", bytesVocab, func(s *TokenStream, pos int64) error { return s.readBytes(pos, dst) }},
		{"runes", runesVocab, func(s *TokenStream, pos int64) error { _, _, err := s.readRunes(pos, dst); return err }},
	} {
		s := kind.v.NewTokenStream(c)
		var cursors [B]int64
		for i := range cursors {
			if cursors[i], err = s.TokenStart(int64(i) * (c.Size() / B)); err != nil {
				b.Fatal(err)
			}
		}
		read := map[string]func(pos int64) error{
			"guarded": func(pos int64) error { _, _, err := s.ReadTokens(pos, dst); return err },
			"bare":    func(pos int64) error { return kind.bare(s, pos) },
		}
		for _, name := range []string{"bare", "guarded"} {
			b.Run(kind.name+"/"+name, func(b *testing.B) {
				n := 0
				for b.Loop() {
					k := n % B
					if err := read[name](cursors[k]); err != nil {
						b.Fatal(err)
					}
					n++
				}
				b.ReportMetric(float64(n)*T/b.Elapsed().Seconds(), "chars/s")
			})
		}
	}
}
