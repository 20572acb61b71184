package engine

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestBuildByteVocabByteOrder(t *testing.T) {
	dir := writeTree(t, t.TempDir(), map[string]string{"a": "hello ", "b/c": "world\n", "d": ""})
	c := openCorpus(t, dir)
	v, err := BuildByteVocab(c)
	if err != nil {
		t.Fatal(err)
	}
	want := []int32{'\n', ' ', 'd', 'e', 'h', 'l', 'o', 'r', 'w'}
	if v.Kind != VocabBytes || !slices.Equal(v.Symbols, want) || v.Size() != len(want) {
		t.Fatalf("vocab %s %q (size %d), want bytes %q", v.Kind, v.Symbols, v.Size(), want)
	}
	for id, sym := range want {
		got, ok := v.ID(sym)
		if !ok || got != int32(id) {
			t.Errorf("ID(%q) = %d, %v; want %d, true", sym, got, ok, id)
		}
	}
	for _, sym := range []int32{'a', -1, 256, 1 << 20} {
		if id, ok := v.ID(sym); ok {
			t.Errorf("ID(%d) = %d, true; want not found", sym, id)
		}
	}
}

func TestVocabEncodeDecodeRoundTrip(t *testing.T) {
	text := "The quick brown fox — jumps over the lazy dog. Ünïcödé 日本語\n\t"
	dir := writeTree(t, t.TempDir(), map[string]string{"t": text})
	v, err := BuildByteVocab(openCorpus(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	ids, err := v.Encode(text)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != len(text) {
		t.Fatalf("%d ids for %d bytes", len(ids), len(text))
	}
	for i, id := range ids {
		if id < 0 || int(id) >= v.Size() || v.Symbols[id] != int32(text[i]) {
			t.Fatalf("id %d at byte %d does not map back to %q", id, i, text[i])
		}
	}
	if got := v.Decode(ids); got != text {
		t.Fatalf("Decode(Encode(x)) = %q, want %q", got, text)
	}
	if got := v.Decode([]int32{ids[0], -1, int32(v.Size())}); got != "T\uFFFD\uFFFD" {
		t.Errorf("Decode with bad ids = %q", got)
	}
}

func TestVocabEncodeNamesUnknownCharacters(t *testing.T) {
	v, err := NewByteVocab([]int32{'a', 'b', 'c', 0xC3})
	if err != nil {
		t.Fatal(err)
	}
	// é is C3 A9: only its second byte is missing, and it is named whole.
	_, err = v.Encode("abé\x00cab\x00é\xff")
	want := `characters not in the vocabulary: "é", "\x00", "\xff"`
	if err == nil || err.Error() != want {
		t.Fatalf("Encode error = %v, want %s", err, want)
	}
	var many strings.Builder
	for r := 'A'; r <= 'Z'; r++ {
		many.WriteRune(r)
	}
	_, err = v.Encode(many.String())
	if err == nil || !strings.HasSuffix(err.Error(), `"J" and 16 more`) {
		t.Errorf("Encode of 26 unknowns: %v", err)
	}
	if ids, err := v.Encode(""); err != nil || len(ids) != 0 {
		t.Errorf("Encode(\"\") = %v, %v", ids, err)
	}
}

func TestVocabAllByteValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	// Big enough to be mapped, every byte value present, in random order.
	data := make([]byte, 3*corpusSmallFile)
	for i := range data {
		data[i] = byte(rng.IntN(256))
	}
	for b := range 256 {
		data[rng.IntN(len(data))] = byte(b)
	}
	path := filepath.Join(t.TempDir(), "binary")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	withCorpusMode(t, func(t *testing.T) {
		c := openCorpus(t, path)
		v, err := BuildByteVocab(c)
		if err != nil {
			t.Fatal(err)
		}
		if v.Size() != 256 {
			t.Fatalf("vocab size %d, want 256", v.Size())
		}
		for b := range 256 {
			if id, ok := v.ID(int32(b)); !ok || id != int32(b) {
				t.Fatalf("ID(%d) = %d, %v", b, id, ok)
			}
		}
		ids, err := v.Encode(string(data))
		if err != nil {
			t.Fatal(err)
		}
		if v.Decode(ids) != string(data) {
			t.Fatal("binary round trip differs")
		}
		win := make([]int32, len(data))
		if err := tokenWindow(v.NewTokenStream(c), 0, win); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(win, ids) {
			t.Fatal("Window differs from Encode")
		}
	})
}

func TestNewByteVocabValidates(t *testing.T) {
	all := make([]int32, 256)
	for i := range all {
		all[i] = int32(i)
	}
	good := [][]int32{{0}, {255}, {'\n', 'a', 'z'}, all}
	for _, syms := range good {
		v, err := NewByteVocab(syms)
		if err != nil {
			t.Errorf("NewByteVocab(%v): %v", syms, err)
			continue
		}
		if !slices.Equal(v.Symbols, syms) {
			t.Errorf("symbols %v, want %v", v.Symbols, syms)
		}
	}
	bad := map[string][]int32{
		"empty":      {},
		"too many":   append(slices.Clone(all), 0),
		"negative":   {-1, 2},
		"not a byte": {1, 256},
		"duplicate":  {1, 2, 2},
		"descending": {3, 2},
		"code point": {'a', '日'},
	}
	for name, syms := range bad {
		if _, err := NewByteVocab(syms); err == nil {
			t.Errorf("%s: NewByteVocab(%v) accepted", name, syms)
		}
	}
	in := []int32{1, 2, 3}
	v, _ := NewByteVocab(in)
	in[0] = 9
	if v.Symbols[0] != 1 {
		t.Error("NewByteVocab keeps the caller's slice")
	}
	if _, err := NewVocab(VocabRunes, []int32{'a'}); err == nil {
		t.Error("NewVocab(runes) accepted a rune vocabulary without <unk>")
	}
	if _, err := NewVocab("words", []int32{'a'}); err == nil || !strings.Contains(err.Error(), `"words"`) {
		t.Errorf("NewVocab(words): %v", err)
	}
	if v, err := NewVocab(VocabBytes, []int32{'a'}); err != nil || v.Size() != 1 {
		t.Errorf("NewVocab(bytes): %v, %v", v, err)
	}
}

func TestVocabZeroValueRejectsEverything(t *testing.T) {
	var v Vocab
	if _, err := v.Encode("a"); err == nil {
		t.Error("zero Vocab encoded text")
	}
	v = Vocab{Kind: VocabBytes, Symbols: []int32{'a'}} // no lookup table
	if _, err := v.Encode("a"); err == nil {
		t.Error("Vocab literal without constructor encoded text as id 0")
	}
}

func TestTokenStreamWindowMatchesReference(t *testing.T) {
	withCorpusMode(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 8))
		dir, ref := randomTree(t, rng, []byte("abcdefgh \n\x00\xff"))
		c := openCorpus(t, dir)
		v, err := BuildByteVocab(c)
		if err != nil {
			t.Fatal(err)
		}
		want, err := v.Encode(string(ref))
		if err != nil {
			t.Fatal(err)
		}
		s := v.NewTokenStream(c)
		buf := make([]int32, 150_000)
		for range 3000 {
			n := rng.IntN(200) + 1
			if rng.IntN(10) == 0 {
				n = rng.IntN(len(buf) + 1)
			}
			pos := rng.Int64N(c.Size() - int64(n) + 1)
			dst := buf[:n]
			if err := tokenWindow(s, pos, dst); err != nil {
				t.Fatalf("Window(%d, len %d): %v", pos, n, err)
			}
			if !slices.Equal(dst, want[pos:pos+int64(n)]) {
				t.Fatalf("Window(%d, len %d) differs from the reference", pos, n)
			}
		}
		// The very end, and empty windows at both ends.
		if err := tokenWindow(s, c.Size()-5, buf[:5]); err != nil || !slices.Equal(buf[:5], want[len(want)-5:]) {
			t.Fatalf("last window: %v", err)
		}
		for _, pos := range []int64{0, c.Size()} {
			if err := tokenWindow(s, pos, nil); err != nil {
				t.Errorf("empty window at %d: %v", pos, err)
			}
		}
		for _, bad := range [][2]int64{{-1, 1}, {c.Size() - 4, 5}, {c.Size(), 1}} {
			if err := tokenWindow(s, bad[0], buf[:bad[1]]); err == nil {
				t.Errorf("Window(%d, len %d) past the corpus succeeded", bad[0], bad[1])
			}
		}
	})
}

func TestTokenStreamNamesByteNotInVocab(t *testing.T) {
	withCorpusMode(t, func(t *testing.T) {
		big := strings.Repeat("abc", corpusSmallFile) // mapped
		dir := writeTree(t, t.TempDir(), map[string]string{"1.txt": "abc", "2.txt": big[:1000] + "é" + big})
		c := openCorpus(t, dir)
		v, err := NewByteVocab([]int32{'a', 'b', 'c'}) // as from a checkpoint trained elsewhere
		if err != nil {
			t.Fatal(err)
		}
		s := v.NewTokenStream(c)
		dst := make([]int32, 2000)
		if err := tokenWindow(s, 0, dst[:1003]); err != nil {
			t.Fatalf("window before the bad byte: %v", err)
		}
		err = tokenWindow(s, 500, dst)
		want := fmt.Sprintf(`corpus byte "\xc3" at offset 1003 (%s, offset 1000) is not in the vocabulary`, filepath.Join(dir, "2.txt"))
		if err == nil || err.Error() != want {
			t.Fatalf("Window over a foreign byte: %v\nwant %s", err, want)
		}
	})
}

func TestTokenStreamAfterCloseAndBadKind(t *testing.T) {
	dir := writeTree(t, t.TempDir(), map[string]string{"a": "abab"})
	c, err := OpenCorpus(dir)
	if err != nil {
		t.Fatal(err)
	}
	v, err := BuildByteVocab(c)
	if err != nil {
		t.Fatal(err)
	}
	s := v.NewTokenStream(c)
	c.Close()
	if err := tokenWindow(s, 0, make([]int32, 2)); err == nil {
		t.Error("Window after Close succeeded")
	}
	if _, err := BuildByteVocab(c); err == nil {
		t.Error("BuildByteVocab after Close succeeded")
	}
	runes := &Vocab{Kind: VocabRunes, Symbols: []int32{RuneUnknown, 'a'}} // no lookup table
	if err := tokenWindow(runes.NewTokenStream(openCorpus(t, dir)), 0, make([]int32, 1)); err == nil {
		t.Error("rune Vocab literal without constructor streamed the corpus")
	}
	words := &Vocab{Kind: "words", Symbols: []int32{'a'}}
	if err := tokenWindow(words.NewTokenStream(openCorpus(t, dir)), 0, make([]int32, 1)); err == nil {
		t.Error("vocab of unknown kind streamed the corpus")
	}
}

func TestTokenStreamWindowAllocatesNothing(t *testing.T) {
	withCorpusMode(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(9, 10))
		dir, _ := randomTree(t, rng, []byte("xyz"))
		c := openCorpus(t, dir)
		v, err := BuildByteVocab(c)
		if err != nil {
			t.Fatal(err)
		}
		s := v.NewTokenStream(c)
		dst := make([]int32, 101)
		// Spans many small files (arena), a boundary, and a large file.
		positions := []int64{0, corpusSmallFile + 4096 - 50, c.Size() - 101, 300_000}
		if err := tokenWindow(s, positions[3], dst); err != nil { // sizes the pread buffer, if any
			t.Fatal(err)
		}
		k := 0
		allocs := testing.AllocsPerRun(200, func() {
			if err := tokenWindow(s, positions[k%len(positions)], dst); err != nil {
				t.Fatal(err)
			}
			k++
		})
		if allocs != 0 {
			t.Errorf("Window allocates %v times per call, want 0", allocs)
		}
	})
}

// BenchmarkTokenStreamWindow measures the trainer's data path: windows of
// T+1 = 101 ids at B = 32 cursors spread over the default (GOROOT) corpus.
func BenchmarkTokenStreamWindow(b *testing.B) {
	c, err := OpenCorpus("")
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	v, err := BuildByteVocab(c)
	if err != nil {
		b.Fatal(err)
	}
	s := v.NewTokenStream(c)
	const T, B = 101, 32
	dst := make([]int32, T)
	stride := (c.Size() - T) / B
	n := 0
	for b.Loop() {
		pos := int64(n%B)*stride + int64(n/B)*(T-1)%stride
		if err := tokenWindow(s, pos, dst); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)*T/b.Elapsed().Seconds(), "chars/s")
}

// BenchmarkBuildByteVocab measures the one streaming pass over the default corpus.
func BenchmarkBuildByteVocab(b *testing.B) {
	c, err := OpenCorpus("")
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	n := 0
	for b.Loop() {
		if _, err := BuildByteVocab(c); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(c.Size())*float64(n)/b.Elapsed().Seconds()/1e6, "MB/s")
}

func TestBuildByteVocabChunkEdges(t *testing.T) {
	// Several scan chunks in one file, bytes only at chunk edges, and a small
	// file beside it; with the pages of mapped chunks kept and released.
	data := make([]byte, 2*vocabMapChunk+100)
	for i := range data {
		data[i] = 'a'
	}
	data[vocabScanChunk-1] = 'Q'
	data[vocabScanChunk] = 'R'
	data[vocabMapChunk-1] = 'S'
	data[vocabMapChunk] = 'T'
	data[len(data)-1] = 'Z'
	dir := writeTree(t, t.TempDir(), map[string]string{"big": string(data), "small": "\n"})
	want := []int32{'\n', 'Q', 'R', 'S', 'T', 'Z', 'a'}
	withCorpusMode(t, func(t *testing.T) {
		for _, release := range []bool{false, true} {
			saved := vocabReleaseAbove
			if release {
				vocabReleaseAbove = 0
			}
			c := openCorpus(t, dir)
			v, err := BuildByteVocab(c)
			vocabReleaseAbove = saved
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(v.Symbols, want) {
				t.Errorf("release %v: vocab %q, want %q", release, v.Symbols, want)
			}
			// Released pages read back intact.
			ids := make([]int32, 2)
			if err := tokenWindow(v.NewTokenStream(c), int64(vocabMapChunk-1), ids); err != nil || v.Decode(ids) != "ST" {
				t.Errorf("release %v: window after the scan = %q, %v", release, v.Decode(ids), err)
			}
		}
	})
}

// FuzzVocabEncode checks, for any text, that a vocabulary of its own bytes
// round-trips it, and that one missing byte is named in Encode's error.
func FuzzVocabEncode(f *testing.F) {
	for _, s := range []string{"hello", "é\x00\xff", "日本語", "\xc3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if text == "" {
			return
		}
		var present [256]bool
		for i := 0; i < len(text); i++ {
			present[text[i]] = true
		}
		var syms []int32
		for b, ok := range present {
			if ok {
				syms = append(syms, int32(b))
			}
		}
		v, err := NewByteVocab(syms)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := v.Encode(text)
		if err != nil {
			t.Fatal(err)
		}
		if got := v.Decode(ids); got != text {
			t.Fatalf("round trip %q -> %q", text, got)
		}
		if len(syms) < 2 {
			return
		}
		missing := byte(syms[len(syms)/2])
		v, err = NewByteVocab(slices.DeleteFunc(slices.Clone(syms), func(s int32) bool { return s == int32(missing) }))
		if err != nil {
			t.Fatal(err)
		}
		_, err = v.Encode(text)
		if err == nil {
			t.Fatalf("Encode accepted %q without byte %#x", text, missing)
		}
		// The first character named is the one holding the byte's first
		// occurrence, characters being decoded from the start of the text.
		i, n := 0, 0
		for first := strings.IndexByte(text, missing); ; i += n {
			_, n = utf8.DecodeRuneInString(text[i:])
			if i+n > first {
				break
			}
		}
		if want := strconv.Quote(text[i : i+n]); !strings.Contains(err.Error(), want) {
			t.Fatalf("Encode(%q) without %#x: error %q does not name %s", text, missing, err, want)
		}
	})
}

// tokenWindow fills dst with the ids of the len(dst) tokens starting at byte
// offset pos, which must be the start of a token; the window must end inside
// the corpus.
func tokenWindow(s *TokenStream, pos int64, dst []int32) error {
	n, _, err := s.ReadTokens(pos, dst)
	if err == nil && n < len(dst) {
		err = fmt.Errorf("token window of %d at offset %d runs past the end of the text (%d bytes)", len(dst), pos, s.end)
	}
	return err
}
