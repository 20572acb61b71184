package engine

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
)

const (
	// Files smaller than this are read into memory: mapping them would cost a
	// whole page and a mapping each, and a source tree has thousands of them.
	corpusSmallFile = 64 << 10
	// Small files are packed into arena blocks of at most this size.
	corpusArenaMaxBlock = 16 << 20
)

// Variables rather than constants so that tests can take the other paths.
var (
	// Past this many bytes of small files, the rest are mapped too, so that a
	// corpus of millions of small files does not have to fit in the heap.
	corpusArenaBudget int64 = 1 << 30
	// Whether large files are mapped; if not, they stay open for pread.
	corpusMapFiles = corpusCanMmap
)

var errCorpusClosed = errors.New("corpus is closed")

var _ io.ReaderAt = (*Corpus)(nil)

// Corpus is the training text: one or many files, memory-mapped, read as one
// logical byte stream (files joined in the order given; directories walked in
// lexical order).
//
// A file that changes size while the corpus is open makes reads fail with a
// *CorpusChangedError (see corpus_changed.go) rather than fault the process.
// A Corpus is safe for concurrent reads; Close must not race with them.
type Corpus struct {
	spec   string
	segs   []corpusSegment // the non-empty files, in stream order
	arenas [][]byte        // the small files' bytes, packed
	arena  int64           // bytes held in arenas
	mapped int64           // bytes held in mappings
	files  int             // files in the corpus, empty ones included
	size   int64
	closed bool
}

// corpusSegment is one non-empty file's place in the logical stream.
type corpusSegment struct {
	path   string
	start  int64    // logical offset of the file's first byte
	size   int64    // file length in bytes
	data   []byte   // the file's bytes, mapped or in an arena; nil if file is set
	mapped bool     // data is a mapping to unmap on Close
	file   *os.File // kept open for positioned reads where mapping is unavailable
}

// OpenCorpus opens a -data spec: comma-separated files, directories (walked
// recursively, every regular file, symlinked files included, symlinked
// directories not followed) and globs (filepath.Glob syntax, plus "**" as a
// path segment matching any number of directories). A file named twice, by
// two entries or by an entry and a directory walk, is read once, at its first
// place. An empty spec means the Go standard library's *.go files under GOROOT.
//
// Large files are memory-mapped, never read whole; small files are read.
func OpenCorpus(spec string) (*Corpus, error) {
	paths, err := corpusResolve(spec)
	if err != nil {
		return nil, err
	}
	c := &Corpus{spec: spec}
	for _, p := range paths {
		if err := c.add(p); err != nil {
			c.Close()
			return nil, err
		}
	}
	if c.size == 0 {
		c.Close()
		name := spec
		if strings.TrimSpace(spec) == "" {
			name = "the Go sources under GOROOT"
		}
		return nil, fmt.Errorf("corpus is empty: %s", name)
	}
	return c, nil
}

// Close releases the mappings and files. Reads after Close fail.
func (c *Corpus) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	var first error
	for i := range c.segs {
		s := &c.segs[i]
		var err error
		if s.mapped {
			if e := corpusMunmap(s.data); e != nil {
				err = fmt.Errorf("corpus: unmap %s: %w", s.path, e)
			}
		}
		if s.file != nil {
			if e := s.file.Close(); e != nil {
				err = fmt.Errorf("corpus: %w", e)
			}
		}
		if err != nil && first == nil {
			first = err
		}
		s.data, s.file = nil, nil
	}
	c.arenas = nil
	return first
}

// Size is the total number of bytes in the stream.
func (c *Corpus) Size() int64 { return c.size }

// Files is the number of files in the corpus, empty ones included.
func (c *Corpus) Files() int { return c.files }

// Spec is the -data spec the corpus was opened with.
func (c *Corpus) Spec() string { return c.spec }

// Describe says how big the corpus is, e.g. "1,234 files, 105.3 MB".
func (c *Corpus) Describe() string {
	unit := "files"
	if c.files == 1 {
		unit = "file"
	}
	return fmt.Sprintf("%s %s, %s", corpusGroupDigits(int64(c.files)), unit, corpusFormatBytes(c.size))
}

// ReadAt copies bytes [off, off+len(p)) of the logical stream into p, across
// file boundaries, with io.ReaderAt semantics: fewer than len(p) bytes only at
// the end of the stream (io.EOF) or on an error.
func (c *Corpus) ReadAt(p []byte, off int64) (n int, err error) {
	defer c.endRead(debug.SetPanicOnFault(true), &err)
	if c.closed {
		return 0, errCorpusClosed
	}
	if off < 0 {
		return 0, fmt.Errorf("corpus: read at negative offset %d", off)
	}
	if off >= c.size {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	for i := c.segmentAt(off); n < len(p) && i < len(c.segs); i++ {
		m, err := c.segs[i].readAt(p[n:], off-c.segs[i].start)
		n += m
		off += int64(m)
		if err != nil {
			return n, err
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// segmentAt is the index of the segment holding logical offset off, which
// must be in [0, Size()). A hand-written search: sort.Search's closure would
// cost an allocation on the trainer's per-window path.
func (c *Corpus) segmentAt(off int64) int {
	lo, hi := 0, len(c.segs)-1
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if c.segs[mid].start+c.segs[mid].size > off {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// readAt copies from the segment's bytes starting at rel (inside the file)
// into p, as many as fit, and returns how many it copied.
func (s *corpusSegment) readAt(p []byte, rel int64) (int, error) {
	if int64(len(p)) > s.size-rel {
		p = p[:s.size-rel]
	}
	if s.data != nil {
		return copy(p, s.data[rel:]), nil
	}
	n, err := s.file.ReadAt(p, rel)
	if n == len(p) {
		return n, nil
	}
	if err == nil || err == io.EOF {
		return n, s.changedError() // the file shrank since it was opened
	}
	return n, fmt.Errorf("corpus: read %s: %w", s.path, err)
}

// add appends one file to the stream.
func (c *Corpus) add(path string) error {
	f, err := OpenRegular(path) // a named pipe is refused, not waited on
	if err != nil {
		return fmt.Errorf("corpus: %w", err)
	}
	keep := false
	defer func() {
		if !keep {
			f.Close()
		}
	}()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("corpus: %w", err)
	}
	c.files++
	size := info.Size()
	if size == 0 {
		return nil
	}
	seg := corpusSegment{path: path, start: c.size, size: size}
	switch {
	case size < corpusSmallFile && c.arena+size <= corpusArenaBudget:
		buf := c.arenaAlloc(int(size))
		if _, err := io.ReadFull(f, buf); err != nil {
			return fmt.Errorf("corpus: read %s: %w", path, err)
		}
		seg.data = buf
	case corpusMapFiles:
		data, err := corpusMmap(f, size)
		if err != nil {
			return fmt.Errorf("corpus: map %s: %w", path, err)
		}
		seg.data, seg.mapped = data, true
		c.mapped += size
	default:
		seg.file, keep = f, true
	}
	c.segs = append(c.segs, seg)
	c.size += size
	return nil
}

// arenaAlloc returns n bytes of arena space. Blocks grow geometrically so a
// corpus of one small file does not pay for a 16 MB block.
func (c *Corpus) arenaAlloc(n int) []byte {
	k := len(c.arenas) - 1
	if k < 0 || cap(c.arenas[k])-len(c.arenas[k]) < n {
		size := corpusSmallFile
		if k >= 0 {
			size = min(2*cap(c.arenas[k]), corpusArenaMaxBlock)
		}
		c.arenas = append(c.arenas, make([]byte, 0, max(size, n)))
		k++
	}
	a := c.arenas[k]
	c.arenas[k] = a[:len(a)+n]
	c.arena += int64(n)
	return a[len(a) : len(a)+n : len(a)+n]
}

// corpusResolve turns a -data spec into the list of files, in stream order.
func corpusResolve(spec string) ([]string, error) {
	if strings.TrimSpace(spec) == "" {
		root, err := corpusGoroot()
		if err != nil {
			return nil, err
		}
		files, err := corpusWalk(root, func(name string) bool { return strings.HasSuffix(name, ".go") })
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("corpus: no *.go files under GOROOT %s", root)
		}
		return files, nil
	}
	var files []string
	seen := make(map[string]bool)
	for _, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		matched, err := corpusExpand(entry)
		if err != nil {
			return nil, err
		}
		for _, p := range matched {
			key, err := filepath.Abs(p)
			if err != nil {
				key = filepath.Clean(p)
			}
			if !seen[key] {
				seen[key] = true
				files = append(files, p)
			}
		}
	}
	return files, nil
}

// corpusExpand resolves one entry of a spec: a file, a directory or a glob.
// An existing path is taken literally even if it contains glob characters.
func corpusExpand(entry string) ([]string, error) {
	info, err := os.Stat(entry)
	switch {
	case err == nil && info.IsDir():
		files, err := corpusWalk(entry, nil)
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("corpus: directory %s has no files", entry)
		}
		return files, nil
	case err == nil && info.Mode().IsRegular():
		return []string{entry}, nil
	case err == nil:
		return nil, fmt.Errorf("corpus: %s is not a regular file or directory", entry)
	case !corpusIsGlob(entry):
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is named below, once
		}
		return nil, fmt.Errorf("corpus: %s: %w", entry, err)
	}

	var matches []string
	if strings.Contains(entry, "**") {
		matches, err = corpusGlobStar(entry)
	} else {
		matches, err = filepath.Glob(entry)
	}
	if err != nil {
		return nil, fmt.Errorf("corpus: pattern %s: %w", entry, err)
	}
	var files []string
	for _, m := range matches {
		info, err := os.Stat(m)
		if err != nil {
			continue // a dangling symlink, or a file removed meanwhile
		}
		switch {
		case info.IsDir():
			sub, err := corpusWalk(m, nil)
			if err != nil {
				return nil, err
			}
			files = append(files, sub...)
		case info.Mode().IsRegular():
			files = append(files, m)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("corpus: no files match %s", entry)
	}
	return files, nil
}

func corpusIsGlob(s string) bool {
	return strings.ContainsAny(s, "*?[")
}

// corpusWalk lists the regular files under root (and symlinks to regular
// files) whose names pass keep (nil keeps all), in lexical order.
func corpusWalk(root string, keep func(name string) bool) ([]string, error) {
	// A trailing separator makes WalkDir follow root itself if it is a
	// symlink (Debian's /usr/lib/go is one); links below root are not followed.
	start := root
	if !os.IsPathSeparator(start[len(start)-1]) {
		start += string(filepath.Separator)
	}
	var files []string
	err := filepath.WalkDir(start, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if keep != nil && !d.IsDir() && !keep(d.Name()) {
			return nil
		}
		switch t := d.Type(); {
		case t.IsRegular():
			files = append(files, path)
		case t&fs.ModeSymlink != 0:
			if info, err := os.Stat(path); err == nil && info.Mode().IsRegular() {
				files = append(files, path)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("corpus: walk %s: %w", root, err)
	}
	return files, nil
}

// corpusGlobStar expands a pattern in which a "**" path segment matches any
// number (zero included) of directories: walk from the longest literal
// prefix and match each file's path segment by segment.
func corpusGlobStar(pattern string) ([]string, error) {
	segs := strings.Split(filepath.ToSlash(pattern), "/")
	lit := 0
	for lit < len(segs) && !corpusIsGlob(segs[lit]) {
		lit++
	}
	for _, s := range segs[lit:] {
		if _, err := filepath.Match(s, ""); err != nil {
			return nil, err // report a bad pattern even when nothing is walked
		}
	}
	root := filepath.FromSlash(strings.Join(segs[:lit], "/"))
	switch {
	case lit == 1 && segs[0] == "":
		root = string(filepath.Separator) // the pattern is absolute: "/**/x"
	case root == "":
		root = "."
	}
	if info, err := os.Stat(root); err != nil || !info.IsDir() {
		return nil, nil
	}
	all, err := corpusWalk(root, nil)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range all {
		rel, err := filepath.Rel(root, p)
		if err != nil {
			continue
		}
		if corpusMatchSegments(segs[lit:], strings.Split(filepath.ToSlash(rel), "/")) {
			out = append(out, p)
		}
	}
	return out, nil
}

func corpusMatchSegments(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for k := 0; k <= len(name); k++ {
				if corpusMatchSegments(pat[1:], name[k:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := filepath.Match(pat[0], name[0]); !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}

// corpusGoroot is the Go installation whose sources make the default corpus.
func corpusGoroot() (string, error) {
	//lint:ignore SA1019 the build-time root is the right first guess; `go env` covers a moved binary.
	if root := runtime.GOROOT(); root != "" {
		if info, err := os.Stat(root); err == nil && info.IsDir() {
			return root, nil
		}
	}
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return "", fmt.Errorf("corpus: no -data given and GOROOT not found (go env GOROOT: %w)", err)
	}
	root := strings.TrimSpace(string(out))
	if root == "" {
		return "", errors.New("corpus: no -data given and `go env GOROOT` is empty")
	}
	return root, nil
}

// corpusGroupDigits writes n with thousands separators: 1234567 -> "1,234,567".
func corpusGroupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// corpusFormatBytes writes a size in decimal units: "512 B", "105.3 MB".
func corpusFormatBytes(n int64) string {
	if n < 1000 {
		return fmt.Sprintf("%d B", n)
	}
	f := float64(n)
	for _, unit := range []string{"kB", "MB", "GB", "TB"} {
		f /= 1000
		if f < 999.95 || unit == "TB" {
			return fmt.Sprintf("%.1f %s", f, unit)
		}
	}
	panic("unreachable")
}

// NewCorpus is a corpus of text held in memory, called name in messages and
// checkpoints.
func NewCorpus(name string, text []byte) (*Corpus, error) {
	if len(text) == 0 {
		return nil, fmt.Errorf("corpus is empty: %s", name)
	}
	n := int64(len(text))
	return &Corpus{spec: name, segs: []corpusSegment{{path: name, size: n, data: text}}, files: 1, size: n}, nil
}
