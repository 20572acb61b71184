package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"charrnn/kernels"
)

// runePieces are the characters random rune corpora are made of: ASCII, Greek,
// CJK, emoji (outside the BMP), a literal U+FFFD, and bytes that are not
// valid UTF-8 (a lone lead byte, a lone continuation byte, an overlong
// encoding, a surrogate, 0xFF).
var runePieces = []string{
	"a", "b", " ", "\n", "α", "β", "λ", "Ω", "日", "本", "語", "🙂", "🚀", "\uFFFD",
	"\xc3", "\x80", "\xc0\xaf", "\xed\xa0\x80", "\xff",
}

// randomRuneText strings n random pieces together, more of the first ones.
func randomRuneText(rng *rand.Rand, n int, pieces []string) []byte {
	var b []byte
	for range n {
		i := min(rng.IntN(len(pieces)), rng.IntN(len(pieces)))
		b = append(b, pieces[i]...)
	}
	return b
}

// splitIntoFiles writes text as files a file0000, file0001, ... cut at the
// given byte offsets (so runes are split across files), and returns the
// directory.
func splitIntoFiles(t *testing.T, text []byte, cuts []int) string {
	t.Helper()
	dir := t.TempDir()
	slices.Sort(cuts)
	prev := 0
	for i, cut := range append(cuts, len(text)) {
		name := filepath.Join(dir, fmt.Sprintf("file%04d", i))
		if err := os.WriteFile(name, text[prev:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		prev = cut
	}
	return dir
}

// refRuneTokens decodes text the plain way, one utf8.DecodeRune at a time
// from the start: the ids of v (invalid bytes and missing runes as <unk>) and
// where each token starts.
func refRuneTokens(v *Vocab, text []byte) (ids []int32, starts []int64) {
	unk, _ := v.ID(RuneUnknown)
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRune(text[i:])
		id := unk
		if r != utf8.RuneError || n > 1 {
			if x, ok := v.ID(r); ok {
				id = x
			}
		}
		ids = append(ids, id)
		starts = append(starts, int64(i))
		i += n
	}
	return ids, starts
}

// refRuneCounts counts the valid runes of text.
func refRuneCounts(text []byte) map[rune]int {
	counts := map[rune]int{}
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRune(text[i:])
		if r != utf8.RuneError || n > 1 {
			counts[r]++
		}
		i += n
	}
	return counts
}

// refRuneSymbols is the vocabulary BuildRuneVocab must make of text.
func refRuneSymbols(text []byte, size int) []int32 {
	counts := refRuneCounts(text)
	var runes []rune
	for r := range counts {
		runes = append(runes, r)
	}
	slices.SortFunc(runes, func(a, b rune) int {
		if counts[a] != counts[b] {
			return counts[b] - counts[a]
		}
		return int(a - b)
	})
	runes = runes[:min(len(runes), size-1)]
	slices.Sort(runes)
	return append([]int32{RuneUnknown}, runes...)
}

func TestBuildRuneVocabFrequencyCapAndTies(t *testing.T) {
	// Counts: a 5, 日 4, β 3 and α 3 (a tie), 🙂 2, z 1; and two invalid bytes.
	text := "aaaaa日日日日βββααα🙂🙂z\xff\xc3"
	dir := writeTree(t, t.TempDir(), map[string]string{"t": text})
	c := openCorpus(t, dir)
	cases := []struct {
		size int
		want []int32
	}{
		{2, []int32{RuneUnknown, 'a'}},
		{3, []int32{RuneUnknown, 'a', '日'}},
		{4, []int32{RuneUnknown, 'a', 'α', '日'}}, // α beats β on the tie: lower code point
		{5, []int32{RuneUnknown, 'a', 'α', 'β', '日'}},
		{7, []int32{RuneUnknown, 'a', 'z', 'α', 'β', '日', '🙂'}},
		{100, []int32{RuneUnknown, 'a', 'z', 'α', 'β', '日', '🙂'}},
	}
	for _, tc := range cases {
		v, err := BuildRuneVocab(c, tc.size)
		if err != nil {
			t.Fatal(err)
		}
		if v.Kind != VocabRunes || !slices.Equal(v.Symbols, tc.want) {
			t.Errorf("size %d: vocab %s %q, want runes %q", tc.size, v.Kind, v.Symbols, tc.want)
		}
		for id, sym := range tc.want {
			if got, ok := v.ID(sym); !ok || got != int32(id) {
				t.Errorf("size %d: ID(%q) = %d, %v; want %d", tc.size, sym, got, ok, id)
			}
		}
	}
	for _, bad := range []int{1, 0, -3} {
		if _, err := BuildRuneVocab(c, bad); err == nil {
			t.Errorf("BuildRuneVocab(size %d) accepted", bad)
		}
	}
	// Out of the cap, β and the invalid bytes read as <unk> (id 0).
	v, _ := BuildRuneVocab(c, 4)
	ids := make([]int32, utf8.RuneCountInString(text))
	n, last, err := v.NewTokenStream(c).ReadTokens(0, ids)
	if err != nil || n != len(ids) || last != int64(len(text)-1) {
		t.Fatalf("ReadTokens = %d, %d, %v; want %d, %d", n, last, err, len(ids), len(text)-1)
	}
	want := []int32{1, 1, 1, 1, 1, 3, 3, 3, 3, 0, 0, 0, 2, 2, 2, 0, 0, 0, 0, 0}
	if !slices.Equal(ids, want) {
		t.Errorf("tokens %v, want %v", ids, want)
	}
}

// TestBuildRuneVocabChunkEdges scans with chunks of a few bytes, so that runes
// are split across chunks, and with files cut inside runes, so that they are
// split across files; the result must be what one plain decode gives.
func TestBuildRuneVocabChunkEdges(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	text := randomRuneText(rng, 60_000, runePieces)
	var cuts []int
	for _, at := range []int{1, 2, 3, 5, 9, 100, 101, 1000, 1002, corpusSmallFile + 3000, corpusSmallFile + 3001} {
		cuts = append(cuts, at)
	}
	for len(cuts) < 40 {
		cuts = append(cuts, rng.IntN(len(text)))
	}
	dir := splitIntoFiles(t, text, slices.Compact(slices.Sorted(slices.Values(cuts))))
	want := refRuneSymbols(text, 12)
	withCorpusMode(t, func(t *testing.T) {
		c := openCorpus(t, dir)
		for _, chunk := range []int64{1, 2, 3, 5, 7, 4096, vocabScanChunk} {
			saveScan, saveMap := runeScanChunk, runeMapChunk
			runeScanChunk, runeMapChunk = chunk, chunk+1
			v, err := BuildRuneVocab(c, 12)
			runeScanChunk, runeMapChunk = saveScan, saveMap
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(v.Symbols, want) {
				t.Errorf("chunk %d: vocab %q, want %q", chunk, v.Symbols, want)
			}
		}
		// With every rune kept, the counts behind the choice must match too:
		// a size cap one short of everything drops exactly the rarest rune.
		all := refRuneSymbols(text, 1000)
		for _, procs := range []int{1, 3} {
			prev := runtime.GOMAXPROCS(procs)
			v, err := BuildRuneVocab(c, len(all)-1)
			runtime.GOMAXPROCS(prev)
			if err != nil {
				t.Fatal(err)
			}
			if want := refRuneSymbols(text, len(all)-1); !slices.Equal(v.Symbols, want) {
				t.Errorf("GOMAXPROCS %d: vocab %q, want %q", procs, v.Symbols, want)
			}
		}
	})
}

func TestNewRuneVocabValidates(t *testing.T) {
	good := [][]int32{{RuneUnknown}, {RuneUnknown, 'a'}, {RuneUnknown, 0, '\n', 'é', 0xFFFD, 0x1F642, utf8.MaxRune}}
	for _, syms := range good {
		v, err := NewVocab(VocabRunes, syms)
		if err != nil {
			t.Errorf("NewVocab(runes, %v): %v", syms, err)
			continue
		}
		for id, s := range syms {
			if got, ok := v.ID(s); !ok || got != int32(id) {
				t.Errorf("%v: ID(%d) = %d, %v", syms, s, got, ok)
			}
		}
	}
	bad := map[string][]int32{
		"empty":        {},
		"no unk":       {'a', 'b'},
		"unk not 0":    {'a', RuneUnknown},
		"two unks":     {RuneUnknown, RuneUnknown},
		"surrogate":    {RuneUnknown, 0xD800},
		"too big":      {RuneUnknown, utf8.MaxRune + 1},
		"duplicate":    {RuneUnknown, 'a', 'a'},
		"descending":   {RuneUnknown, 'b', 'a'},
		"negative":     {RuneUnknown, -2},
		"far not sort": {RuneUnknown, 0x1F642, 0x1F600},
	}
	for name, syms := range bad {
		if _, err := NewRuneVocab(syms); err == nil {
			t.Errorf("%s: NewRuneVocab(%v) accepted", name, syms)
		}
	}
	in := []int32{RuneUnknown, 'a'}
	v, _ := NewRuneVocab(in)
	in[1] = 'b'
	if v.Symbols[1] != 'a' {
		t.Error("NewRuneVocab keeps the caller's slice")
	}
	for _, sym := range []int32{'b', 0x1F600, -5, utf8.MaxRune + 1} {
		if id, ok := v.ID(sym); ok {
			t.Errorf("ID(%d) = %d, true; want not found", sym, id)
		}
	}
	literal := &Vocab{Kind: VocabRunes, Symbols: []int32{RuneUnknown, 'a'}} // no lookup table
	if _, err := literal.Encode("a"); err == nil {
		t.Error("rune Vocab literal without constructor encoded text")
	}
	if id, ok := literal.ID('a'); ok {
		t.Errorf("rune Vocab literal: ID('a') = %d, true", id)
	}
}

func TestRuneVocabEncodeDecode(t *testing.T) {
	v, err := NewRuneVocab([]int32{RuneUnknown, ' ', 'a', 'α', 'β', '日', 0xFFFD, '🙂'})
	if err != nil {
		t.Fatal(err)
	}
	text := "αβ a 日🙂\uFFFD"
	ids, err := v.Encode(text)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int32{3, 4, 1, 2, 1, 5, 7, 6}; !slices.Equal(ids, want) {
		t.Fatalf("Encode(%q) = %v, want %v", text, ids, want)
	}
	if got := v.Decode(ids); got != text {
		t.Fatalf("Decode = %q, want %q", got, text)
	}
	// <unk> and bad ids decode to U+FFFD: the output stays valid UTF-8.
	if got := v.Decode([]int32{2, 0, 2, -1, 99}); got != "a\uFFFDa\uFFFD\uFFFD" {
		t.Errorf("Decode with <unk> and bad ids = %q", got)
	}
	// Unknown characters are named whole; an invalid byte is never read as
	// the literal U+FFFD that is in the vocabulary, nor as <unk>.
	_, err = v.Encode("aé日b\xffé\xc3")
	want := `characters not in the vocabulary: "é", "b", "\xff", "\xc3"`
	if err == nil || err.Error() != want {
		t.Fatalf("Encode error = %v, want %s", err, want)
	}
}

// TestRuneTokenStreamMatchesReference reads windows at random token starts,
// over files cut inside runes, in both corpus modes, and compares them with
// one plain decode of the whole text; and TokenStart with the reference's
// token starts.
func TestRuneTokenStreamMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	text := randomRuneText(rng, 80_000, runePieces)
	cuts := []int{1, 2, 4, corpusSmallFile + 1}
	for len(cuts) < 30 {
		cuts = append(cuts, rng.IntN(len(text)))
	}
	dir := splitIntoFiles(t, text, slices.Compact(slices.Sorted(slices.Values(cuts))))
	withCorpusMode(t, func(t *testing.T) {
		c := openCorpus(t, dir)
		v, err := BuildRuneVocab(c, 10) // some runes out: <unk> as well as invalid bytes
		if err != nil {
			t.Fatal(err)
		}
		want, starts := refRuneTokens(v, text)
		s := v.NewTokenStream(c)
		buf := make([]int32, 70_000)
		for range 2000 {
			n := rng.IntN(300) + 1
			if rng.IntN(20) == 0 {
				n = rng.IntN(len(buf) + 1)
			}
			i := rng.IntN(len(starts))
			got, last, err := s.ReadTokens(starts[i], buf[:n])
			if err != nil {
				t.Fatalf("ReadTokens(%d, len %d): %v", starts[i], n, err)
			}
			wantN := min(n, len(starts)-i)
			if got != wantN || !slices.Equal(buf[:got], want[i:i+wantN]) {
				t.Fatalf("ReadTokens(%d, len %d) = %d tokens, differs from the reference (%d)", starts[i], n, got, wantN)
			}
			if wantN > 0 && last != starts[i+wantN-1] {
				t.Fatalf("ReadTokens(%d, len %d): last token at %d, want %d", starts[i], n, last, starts[i+wantN-1])
			}
		}
		// Every byte offset maps to the next token start.
		k := 0
		for pos := int64(0); pos <= int64(len(text)); pos++ {
			for k < len(starts) && starts[k] < pos {
				k++
			}
			wantStart := int64(len(text))
			if k < len(starts) {
				wantStart = starts[k]
			}
			if got, err := s.TokenStart(pos); err != nil || got != wantStart {
				t.Fatalf("TokenStart(%d) = %d, %v; want %d", pos, got, err, wantStart)
			}
			if pos > 20_000 && pos < int64(len(text))-20_000 {
				pos += int64(rng.IntN(50)) // sample the middle
			}
		}
		// The end: a full window to the last token, then past it.
		tail := len(starts) - 5
		if err := tokenWindow(s, starts[tail], buf[:5]); err != nil || !slices.Equal(buf[:5], want[tail:]) {
			t.Fatalf("last window: %v", err)
		}
		if err := tokenWindow(s, starts[tail], buf[:6]); err == nil {
			t.Fatal("window past the end succeeded")
		}
		if n, last, err := s.ReadTokens(c.Size(), buf[:3]); n != 0 || last != c.Size() || err != nil {
			t.Fatalf("ReadTokens at the end = %d, %d, %v", n, last, err)
		}
	})
}

func TestRuneTokenStreamAllocatesNothing(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	text := randomRuneText(rng, 100_000, runePieces)
	dir := splitIntoFiles(t, text, []int{3, 1001, corpusSmallFile / 2})
	withCorpusMode(t, func(t *testing.T) {
		c := openCorpus(t, dir)
		v, err := BuildRuneVocab(c, 8)
		if err != nil {
			t.Fatal(err)
		}
		_, starts := refRuneTokens(v, text)
		s := v.NewTokenStream(c)
		dst := make([]int32, 101)
		positions := []int64{0, starts[2], starts[len(starts)/2], starts[len(starts)-101]}
		s.ReadTokens(positions[2], dst) // sizes the pread buffer, if any
		k := 0
		allocs := testing.AllocsPerRun(200, func() {
			if err := tokenWindow(s, positions[k%len(positions)], dst); err != nil {
				t.Fatal(err)
			}
			if _, err := s.TokenStart(positions[k%len(positions)] + 1); err != nil {
				t.Fatal(err)
			}
			k++
		})
		if allocs != 0 {
			t.Errorf("rune Window allocates %v times per call, want 0", allocs)
		}
	})
}

// writeRuneCorpus writes text to a file and builds its rune vocabulary.
func writeRuneCorpus(t *testing.T, text string, size int) (*Corpus, *Vocab) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "corpus.txt")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	c := openCorpus(t, path)
	v, err := BuildRuneVocab(c, size)
	if err != nil {
		t.Fatal(err)
	}
	return c, v
}

// polyglot is a text in Greek, Japanese and emoji, with some invalid bytes.
func polyglot(n int, seed uint64) string {
	words := []string{"καλημέρα ", "κόσμε ", "日本語の", "文章", "です。", "🙂 ", "🚀🚀 ", "\n", "ok ", "\xff", "\xe6\x97"}
	rng := rand.New(rand.NewPCG(seed, 2))
	var sb strings.Builder
	for sb.Len() < n {
		sb.WriteString(words[rng.IntN(len(words))])
	}
	return sb.String()
}

// TestRuneTrainingCursorsAndSamples trains on a rune corpus with invalid
// bytes, checks each cursor moves to the start of its window's last token
// (wrapping at the end), and that samples are valid UTF-8.
func TestRuneTrainingCursorsAndSamples(t *testing.T) {
	text := polyglot(3000, 1)
	corpus, vocab := writeRuneCorpus(t, text, 24)
	_, starts := refRuneTokens(vocab, []byte(text))
	index := map[int64]int{}
	for i, s := range starts {
		index[s] = i
	}
	k := kernels.Best()
	const T, B = 12, 3
	cfg := TrainConfig{Model: rnnModel(16), Seq: T, Batch: B, Optimizer: "adam", LR: 0.01, Clip: Clip{Mode: "norm", Limit: 5}, Seed: 4}
	tr, err := NewTrainer(cfg, k, corpus, vocab)
	if err != nil {
		t.Fatal(err)
	}
	wraps := 0
	for step := 0; step < 300; step++ {
		before := slices.Clone(tr.Cursors)
		res, err := tr.TrainStep()
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		if math.IsNaN(res.Loss) {
			t.Fatal("loss is NaN")
		}
		for s, cur := range tr.Cursors {
			i, ok := index[before[s]]
			if !ok {
				t.Fatalf("step %d: cursor %d at byte %d, not a token start", step, s, before[s])
			}
			if i+T >= len(starts) { // too few tokens left: wrapped to 0, then read T
				i = 0
				wraps++
			}
			if cur != starts[i+T] {
				t.Fatalf("step %d: stream %d moved from token %d to byte %d, want %d (token %d)", step, s, i, cur, starts[i+T], i+T)
			}
		}
	}
	if wraps == 0 {
		t.Error("no stream wrapped around in 300 steps")
	}
	s := NewSampler(k, tr.Model, 7)
	ids := make([]int32, 0, 2000)
	s.Generate(2000, func(id int32) { ids = append(ids, id) })
	out := vocab.Decode(ids)
	if !utf8.ValidString(out) || utf8.RuneCountInString(out) != 2000 {
		t.Fatalf("sample of 2000 runes is not 2000 valid runes: %q", out)
	}
	t.Logf("sample: %.200s", out)
}

// TestRuneEvaluateMatchesSampler computes the sequential likelihood of a
// rune text one token at a time with the sampler, and compares it with
// Evaluate, whose windows share a token at each edge.
func TestRuneEvaluateMatchesSampler(t *testing.T) {
	text := polyglot(2500, 3) // well over one evaluation window of tokens
	corpus, vocab := writeRuneCorpus(t, text, 30)
	ids, _ := refRuneTokens(vocab, []byte(text))
	m, _ := NewModel(rnnShape(10, vocab.Size()), 5)
	for i := range m.Params {
		m.Params[i] *= 20 // a model far from uniform, so that order matters
	}
	k, err := kernels.Lookup("generic")
	if err != nil {
		t.Fatal(err)
	}
	ev, err := Evaluate(k, m, vocab, corpus)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Chars != int64(len(ids)-1) {
		t.Fatalf("evaluated %d characters, want %d", ev.Chars, len(ids)-1)
	}
	s := NewSampler(k, m, 1)
	var total float64
	for i := 0; i+1 < len(ids); i++ {
		s.Feed(ids[i])
		maxv := math.Inf(-1)
		for _, v := range s.logits {
			maxv = math.Max(maxv, float64(v))
		}
		var sum float64
		for _, v := range s.logits {
			sum += math.Exp(float64(v) - maxv)
		}
		total += -(float64(s.logits[ids[i+1]]) - maxv - math.Log(sum))
	}
	want := total / float64(len(ids)-1)
	if math.Abs(ev.LossNats-want) > 1e-4*math.Max(1, want) {
		t.Fatalf("Evaluate loss %.6f, token-by-token %.6f", ev.LossNats, want)
	}
}

func TestRuneTrainerRejectsShortCorpus(t *testing.T) {
	corpus, vocab := writeRuneCorpus(t, "日本語です", 10) // 15 bytes, 5 runes
	cfg := TrainConfig{Model: rnnModel(4), Seq: 8, Batch: 1, Optimizer: "sgd", LR: 0.1, Clip: Clip{Mode: "none"}}
	if _, err := NewTrainer(cfg, kernels.Best(), corpus, vocab); err == nil || !strings.Contains(err.Error(), "has 5 characters") || !strings.Contains(err.Error(), "needs at least 9") {
		t.Fatalf("want an error about the corpus being too short, got %v", err)
	}
	m, _ := NewModel(rnnShape(4, vocab.Size()), 1)
	if _, err := Evaluate(kernels.Best(), m, vocab, openCorpus(t, writeTree(t, t.TempDir(), map[string]string{"x": "日"}))); err == nil {
		t.Fatal("evaluated a one-character text")
	}
}

func TestRuneCheckpointRoundTrip(t *testing.T) {
	corpus, vocab := writeRuneCorpus(t, polyglot(4000, 5), 20)
	k := kernels.Best()
	cfg := TrainConfig{Model: rnnModel(12), Seq: 9, Batch: 3, Optimizer: "adam", LR: 0.005, Clip: Clip{Mode: "value", Limit: 5}, Seed: 3}
	a, err := NewTrainer(cfg, k, corpus, vocab)
	if err != nil {
		t.Fatal(err)
	}
	for range 7 {
		if _, err := a.TrainStep(); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "m.ckpt")
	if err := mustCheckpoint(t, a).Save(path); err != nil {
		t.Fatal(err)
	}
	ck, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Header.VocabKind != VocabRunes || !slices.Equal(ck.Header.Vocab, vocab.Symbols) || ck.Header.Vocab[0] != RuneUnknown {
		t.Fatalf("checkpoint vocab %s %v, want runes %v", ck.Header.VocabKind, ck.Header.Vocab, vocab.Symbols)
	}
	loaded, err := NewVocab(ck.Header.VocabKind, ck.Header.Vocab)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewTrainer(cfg, k, corpus, loaded)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Restore(ck); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		ra, _ := a.TrainStep()
		rb, _ := b.TrainStep()
		if ra.Loss != rb.Loss || !slices.Equal(a.Cursors, b.Cursors) {
			t.Fatalf("step %d after restore: loss %v cursors %v, uninterrupted run %v %v", a.Step, rb.Loss, b.Cursors, ra.Loss, a.Cursors)
		}
	}
	// A byte vocabulary of the same corpus does not restore a rune checkpoint.
	bytesVocab, err := BuildByteVocab(corpus)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewTrainer(cfg, k, corpus, bytesVocab)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Restore(ck); err == nil {
		t.Fatal("a rune checkpoint restored into a byte-vocabulary trainer")
	}
}

// FuzzRuneVocab checks, for any bytes, that the rune vocabulary of a corpus
// made of them streams the same tokens as a plain decode, never panics, and
// decodes to valid UTF-8; and for valid UTF-8, that Encode and Decode round
// trip with every rune kept.
func FuzzRuneVocab(f *testing.F) {
	for _, s := range []string{"hello", "日本語", "αβγ🙂", "\xff\xfe", "a\xc3", "\xe6\x97\xa5\xe6", "\uFFFD\xef\xbf", "\xed\xa0\x80x", "\xf0\x9f\x99"} {
		f.Add(s, uint8(3))
	}
	f.Fuzz(func(t *testing.T, text string, size uint8) {
		if text == "" {
			return
		}
		dir := t.TempDir()
		path := filepath.Join(dir, "t")
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := OpenCorpus(path)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		limit := int(size%16) + 2
		v, err := BuildRuneVocab(c, limit)
		if err != nil {
			t.Fatal(err)
		}
		if want := refRuneSymbols([]byte(text), limit); !slices.Equal(v.Symbols, want) {
			t.Fatalf("vocab %q, want %q", v.Symbols, want)
		}
		want, starts := refRuneTokens(v, []byte(text))
		got := make([]int32, len(want)+1)
		n, last, err := v.NewTokenStream(c).ReadTokens(0, got)
		if err != nil || n != len(want) || !slices.Equal(got[:n], want) || last != starts[len(starts)-1] {
			t.Fatalf("ReadTokens = %v (%d, last %d, %v), want %v (last %d)", got[:n], n, last, err, want, starts[len(starts)-1])
		}
		if out := v.Decode(got[:n]); !utf8.ValidString(out) {
			t.Fatalf("Decode gave invalid UTF-8 %q", out)
		}
		if !utf8.ValidString(text) {
			return
		}
		all, err := BuildRuneVocab(c, len(text)+1)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := all.Encode(text)
		if err != nil {
			t.Fatal(err)
		}
		if back := all.Decode(ids); back != text {
			t.Fatalf("round trip %q -> %q", text, back)
		}
	})
}

// BenchmarkRuneTokenStreamWindow is BenchmarkTokenStreamWindow with a rune
// vocabulary: windows of T+1 = 101 runes at B = 32 cursors over the default
// (GOROOT) corpus, each window starting where the stream's last one ended.
func BenchmarkRuneTokenStreamWindow(b *testing.B) {
	c, err := OpenCorpus("")
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	v, err := BuildRuneVocab(c, DefaultRuneVocabSize)
	if err != nil {
		b.Fatal(err)
	}
	s := v.NewTokenStream(c)
	const T, B = 101, 32
	dst := make([]int32, T)
	var cursors [B]int64
	for i := range cursors {
		if cursors[i], err = s.TokenStart(int64(i) * (c.Size() / B)); err != nil {
			b.Fatal(err)
		}
	}
	n := 0
	for b.Loop() {
		k := n % B
		got, last, err := s.ReadTokens(cursors[k], dst)
		if err != nil {
			b.Fatal(err)
		}
		cursors[k] = last
		if got < T {
			cursors[k] = 0
		}
		n++
	}
	b.ReportMetric(float64(n)*T/b.Elapsed().Seconds(), "chars/s")
}

// BenchmarkBuildRuneVocab measures the one streaming pass over the default
// corpus that counts its runes.
func BenchmarkBuildRuneVocab(b *testing.B) {
	c, err := OpenCorpus("")
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	n := 0
	for b.Loop() {
		if _, err := BuildRuneVocab(c, DefaultRuneVocabSize); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(c.Size())*float64(n)/b.Elapsed().Seconds()/1e6, "MB/s")
}
