package engine

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTree creates files (slash-separated names relative to dir) and
// returns dir.
func writeTree(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func openCorpus(t *testing.T, spec string) *Corpus {
	t.Helper()
	c, err := OpenCorpus(spec)
	if err != nil {
		t.Fatalf("OpenCorpus(%q): %v", spec, err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

// corpusBytes reads the whole logical stream through ReadAt.
func corpusBytes(t *testing.T, c *Corpus) []byte {
	t.Helper()
	buf := make([]byte, c.Size())
	n, err := c.ReadAt(buf, 0)
	if n != len(buf) || (err != nil && err != io.EOF) {
		t.Fatalf("ReadAt whole corpus: n=%d of %d, err=%v", n, len(buf), err)
	}
	return buf
}

// withCorpusMode runs f once with large files mapped and once with them read
// by pread (the portable fallback), where this platform can map.
func withCorpusMode(t *testing.T, f func(t *testing.T)) {
	modes := []bool{corpusCanMmap}
	if corpusCanMmap {
		modes = append(modes, false)
	}
	for _, mapped := range modes {
		name := "pread"
		if mapped {
			name = "mmap"
		}
		t.Run(name, func(t *testing.T) {
			saved := corpusMapFiles
			corpusMapFiles = mapped
			defer func() { corpusMapFiles = saved }()
			f(t)
		})
	}
}

func TestCorpusSingleFile(t *testing.T) {
	dir := writeTree(t, t.TempDir(), map[string]string{"a.txt": "hello, world\n"})
	c := openCorpus(t, filepath.Join(dir, "a.txt"))
	if c.Size() != 13 || c.Files() != 1 {
		t.Fatalf("Size, Files = %d, %d; want 13, 1", c.Size(), c.Files())
	}
	if got := string(corpusBytes(t, c)); got != "hello, world\n" {
		t.Fatalf("content %q", got)
	}
	if got, want := c.Describe(), "1 file, 13 B"; got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}
}

func TestCorpusDirectoryRecursiveLexical(t *testing.T) {
	dir := writeTree(t, t.TempDir(), map[string]string{
		"b.txt":     "B",
		"a/z.txt":   "Z",
		"a/b/c.txt": "C",
		"A.txt":     "1",
		"a/b/d.md":  "D",
		"a/empty":   "",
	})
	c := openCorpus(t, dir)
	// Lexical: "A.txt" < "a" < "b.txt"; inside a: "b" < "empty" < "z.txt".
	if got, want := string(corpusBytes(t, c)), "1CDZB"; got != want {
		t.Errorf("stream %q, want %q", got, want)
	}
	if c.Files() != 6 {
		t.Errorf("Files = %d, want 6 (empty files count)", c.Files())
	}
}

func TestCorpusGlobs(t *testing.T) {
	dir := writeTree(t, t.TempDir(), map[string]string{
		"x2.txt":          "2",
		"x1.txt":          "1",
		"y.md":            "y",
		"sub/x3.txt":      "3",
		"sub/deep/x4.txt": "4",
		"sub/deep/n.md":   "n",
	})
	cases := []struct{ pattern, want string }{
		{"*.txt", "12"},
		{"x?.txt", "12"},
		{"[y]*", "y"},
		{"sub/*", "n43"},        // a matched directory is walked
		{"**/*.txt", "4312"},    // "**" matches zero or more directories
		{"sub/**/x*.txt", "43"}, // walk order: deep/ before x3.txt
		{"**/deep/*", "n4"},     // lexical inside deep: n.md < x4.txt
	}
	for _, tc := range cases {
		t.Run(tc.pattern, func(t *testing.T) {
			c := openCorpus(t, filepath.Join(dir, filepath.FromSlash(tc.pattern)))
			if got := string(corpusBytes(t, c)); got != tc.want {
				t.Errorf("stream %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCorpusCommaListAndMixes(t *testing.T) {
	dir := writeTree(t, t.TempDir(), map[string]string{
		"d/1.txt": "one ",
		"d/2.txt": "two ",
		"f.txt":   "file ",
		"g1.log":  "g1 ",
		"g2.log":  "g2 ",
	})
	j := func(s string) string { return filepath.Join(dir, filepath.FromSlash(s)) }
	spec := j("f.txt") + ", " + j("*.log") + ",," + j("d") + "," + j("d/2.txt")
	c := openCorpus(t, spec)
	// d/2.txt is already in through d: read once, at its first place.
	if got, want := string(corpusBytes(t, c)), "file g1 g2 one two "; got != want {
		t.Errorf("stream %q, want %q", got, want)
	}
	if c.Files() != 5 {
		t.Errorf("Files = %d, want 5", c.Files())
	}
	if c.Spec() != spec {
		t.Errorf("Spec = %q", c.Spec())
	}
}

func TestCorpusLiteralPathWithGlobCharacters(t *testing.T) {
	dir := writeTree(t, t.TempDir(), map[string]string{"we[ir]d.txt": "literal", "wei.txt": "glob"})
	c := openCorpus(t, filepath.Join(dir, "we[ir]d.txt"))
	if got := string(corpusBytes(t, c)); got != "literal" {
		t.Errorf("stream %q, want the literal file", got)
	}
}

func TestCorpusDefaultIsGoroot(t *testing.T) {
	c := openCorpus(t, "")
	t.Logf("default corpus: %s", c.Describe())
	if c.Files() <= 1000 {
		t.Errorf("Files = %d, want > 1000", c.Files())
	}
	if c.Size() <= 50e6 {
		t.Errorf("Size = %d, want > 50 MB", c.Size())
	}
	head := make([]byte, 64<<10)
	if _, err := c.ReadAt(head, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(head, []byte("package ")) {
		t.Errorf("first 64 KiB of the default corpus has no Go package clause")
	}
}

func TestCorpusErrorsNamePaths(t *testing.T) {
	dir := writeTree(t, t.TempDir(), map[string]string{
		"empty1.txt":     "",
		"empties/e1":     "",
		"empties/sub/e2": "",
		"ok.txt":         "ok",
	})
	if err := os.MkdirAll(filepath.Join(dir, "nofiles", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	j := func(s string) string { return filepath.Join(dir, filepath.FromSlash(s)) }
	cases := []struct {
		name, spec string
		want       []string // substrings of the error
	}{
		{"missing file", j("nope.txt"), []string{j("nope.txt"), "no such file"}},
		{"missing in list", j("ok.txt") + "," + j("gone"), []string{j("gone"), "no such file"}},
		{"directory without files", j("nofiles"), []string{j("nofiles"), "has no files"}},
		{"glob without match", j("*.csv"), []string{j("*.csv"), "no files match"}},
		{"bad pattern", j("[*.txt"), []string{j("[*.txt"), "pattern"}},
		{"bad pattern with **", j("**/[x"), []string{j("**/[x"), "pattern"}},
		{"empty file", j("empty1.txt"), []string{"corpus is empty: " + j("empty1.txt")}},
		{"empty files only", j("empties"), []string{"corpus is empty: " + j("empties")}},
		{"only commas", " , ,", []string{"corpus is empty: "}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := OpenCorpus(tc.spec)
			if err == nil {
				c.Close()
				t.Fatalf("OpenCorpus(%q) succeeded", tc.spec)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	_, err := OpenCorpus(j("nope.txt"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing path: error %v is not fs.ErrNotExist", err)
	}
}

func TestCorpusUnreadableFile(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root: chmod 000 does not stop root from reading")
	}
	dir := writeTree(t, t.TempDir(), map[string]string{"a.txt": "a", "secret.txt": "s"})
	secret := filepath.Join(dir, "secret.txt")
	if err := os.Chmod(secret, 0); err != nil {
		t.Fatal(err)
	}
	for _, spec := range []string{secret, dir} {
		c, err := OpenCorpus(spec)
		if err == nil {
			c.Close()
			t.Fatalf("OpenCorpus(%q) read an unreadable file", spec)
		}
		if !strings.Contains(err.Error(), secret) || !errors.Is(err, fs.ErrPermission) {
			t.Errorf("OpenCorpus(%q): error %q should name %s and be a permission error", spec, err, secret)
		}
	}
}

// randomTree writes files of assorted sizes (empty, tiny, just under and over
// the small-file limit, a few pages) and returns the directory and the plain
// concatenation of the files in lexical order.
func randomTree(t *testing.T, rng *rand.Rand, alphabet []byte) (string, []byte) {
	t.Helper()
	dir := t.TempDir()
	sizes := []int{0, 1, 7, 4096, corpusSmallFile - 1, corpusSmallFile, corpusSmallFile + 1, 3, 0, 200_003, 5000, 1}
	var all []byte
	for i, n := range sizes {
		b := make([]byte, n)
		for k := range b {
			b[k] = alphabet[rng.IntN(len(alphabet))]
		}
		name := filepath.Join(dir, string(rune('a'+i))+".bin")
		if err := os.WriteFile(name, b, 0o644); err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return dir, all
}

func TestCorpusReadAtMatchesConcatenation(t *testing.T) {
	withCorpusMode(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		alphabet := make([]byte, 256)
		for i := range alphabet {
			alphabet[i] = byte(i)
		}
		dir, want := randomTree(t, rng, alphabet)
		c := openCorpus(t, dir)
		if c.Size() != int64(len(want)) {
			t.Fatalf("Size = %d, want %d", c.Size(), len(want))
		}
		if got := corpusBytes(t, c); !bytes.Equal(got, want) {
			t.Fatal("whole stream differs from the concatenation")
		}
		buf := make([]byte, 300_000)
		for range 2000 {
			off := rng.Int64N(c.Size() + 10)
			n := rng.IntN(len(buf))
			if rng.IntN(4) == 0 {
				n = rng.IntN(9) // many tiny reads, across the small files
			}
			p := buf[:n]
			got, err := c.ReadAt(p, off)
			wantN := max(0, min(int64(n), c.Size()-off))
			if int64(got) != wantN {
				t.Fatalf("ReadAt(len %d, off %d) = %d bytes, want %d (err %v)", n, off, got, wantN, err)
			}
			if wantN < int64(n) && err != io.EOF {
				t.Fatalf("ReadAt(len %d, off %d) short without io.EOF: %v", n, off, err)
			}
			if wantN == int64(n) && err != nil {
				t.Fatalf("ReadAt(len %d, off %d): %v", n, off, err)
			}
			if wantN > 0 && !bytes.Equal(p[:got], want[off:off+wantN]) {
				t.Fatalf("ReadAt(len %d, off %d): wrong bytes", n, off)
			}
		}
		if _, err := c.ReadAt(buf[:1], -1); err == nil {
			t.Error("ReadAt at a negative offset succeeded")
		}
	})
}

func TestCorpusArenaBudgetSpillsToMaps(t *testing.T) {
	saved := corpusArenaBudget
	corpusArenaBudget = 10
	defer func() { corpusArenaBudget = saved }()
	dir := writeTree(t, t.TempDir(), map[string]string{"1": "12345678", "2": "abcdefgh", "3": "XYZ"})
	c := openCorpus(t, dir)
	if got := string(corpusBytes(t, c)); got != "12345678abcdefghXYZ" {
		t.Fatalf("stream %q", got)
	}
	if c.arena != 8 {
		t.Errorf("arena holds %d bytes, want 8 (the budget of 10 takes only the first file)", c.arena)
	}
}

func TestCorpusClose(t *testing.T) {
	dir, _ := randomTree(t, rand.New(rand.NewPCG(3, 4)), []byte("ab"))
	c, err := OpenCorpus(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := c.ReadAt(make([]byte, 4), 0); err == nil {
		t.Error("ReadAt after Close succeeded")
	}
}

func TestCorpusFormat(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 12: "12", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4321: "-4,321"} {
		if got := corpusGroupDigits(n); got != want {
			t.Errorf("corpusGroupDigits(%d) = %q, want %q", n, got, want)
		}
	}
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1000: "1.0 kB", 105_300_000: "105.3 MB", 999_960_000: "1.0 GB", 3 << 30: "3.2 GB"} {
		if got := corpusFormatBytes(n); got != want {
			t.Errorf("corpusFormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestCorpusSymlinks(t *testing.T) {
	base := t.TempDir()
	real := writeTree(t, filepath.Join(base, "real"), map[string]string{"a.txt": "A", "sub/b.txt": "B"})
	other := writeTree(t, filepath.Join(base, "other"), map[string]string{"c.txt": "C"})
	links := []struct{ target, name string }{
		{filepath.Join(other, "c.txt"), filepath.Join(real, "c-link.txt")}, // a file: included
		{other, filepath.Join(real, "dir-link")},                           // a directory: not followed
		{real, filepath.Join(base, "root-link")},                           // the root itself: followed
	}
	for _, l := range links {
		if err := os.Symlink(l.target, l.name); err != nil {
			t.Skipf("symlinks unavailable: %v", err)
		}
	}
	c := openCorpus(t, filepath.Join(base, "root-link"))
	if got, want := string(corpusBytes(t, c)), "ACB"; got != want {
		t.Errorf("stream %q, want %q", got, want)
	}
}
