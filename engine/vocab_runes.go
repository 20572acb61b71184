package engine

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"unicode/utf8"
)

// A rune vocabulary reads the corpus as UTF-8: one token per code point. Its
// id 0 is always the unknown token <unk>, stored in checkpoints and exports as
// the symbol RuneUnknown (-1); ids 1.. are code points in ascending order.
//
// <unk> stands for every rune left out by the size cap and for every byte
// that is not part of a valid UTF-8 sequence (each such byte is one <unk>
// token), so any text can be trained on and evaluated. A literal U+FFFD in
// the text is an ordinary rune. Decode writes <unk> as U+FFFD, so that sampled
// text is always valid UTF-8; Encode (used for -prime) rejects characters the
// vocabulary lacks instead of mapping them to <unk>.
const (
	// RuneUnknown is the symbol of the <unk> token.
	RuneUnknown int32 = -1
	// DefaultRuneVocabSize is the default size cap: as wide as the widest
	// byte vocabulary, so switching to runes costs no more per character
	// unless asked. Text in a large script (CJK) wants more.
	DefaultRuneVocabSize = 256
)

// runeTable maps code points to the ids of a rune vocabulary.
type runeTable struct {
	unk   int32          // id+1 of <unk>; 0 in a Vocab not made by a constructor
	dense []int32        // id+1 per code point below len(dense), 0 if absent
	far   map[rune]int32 // ids of the code points past dense
}

// runeDenseMax bounds the dense part of the table: the Basic Multilingual
// Plane, 256 KiB at most; rarer planes (emoji) go to the map.
const runeDenseMax = 1 << 16

func (t *runeTable) built() bool { return t.unk != 0 }

// id is the token id of a symbol, RuneUnknown naming <unk>.
func (t *runeTable) id(sym int32) (int32, bool) {
	switch {
	case !t.built():
		return -1, false
	case sym == RuneUnknown:
		return t.unk - 1, true
	case sym >= 0 && int(sym) < len(t.dense):
		slot := t.dense[sym]
		return slot - 1, slot != 0
	}
	id, ok := t.far[sym]
	if !ok {
		return -1, false
	}
	return id, true
}

// token is the id of one decoded sequence: r and its length in bytes as
// utf8.DecodeRune returns them. Invalid bytes and runes not in the
// vocabulary are <unk>.
func (t *runeTable) token(r rune, size int) int32 {
	if r == utf8.RuneError && size == 1 {
		return t.unk - 1 // an invalid byte, not a literal U+FFFD
	}
	if uint(r) < uint(len(t.dense)) {
		if slot := t.dense[r]; slot != 0 {
			return slot - 1
		}
		return t.unk - 1
	}
	if id, ok := t.far[r]; ok {
		return id
	}
	return t.unk - 1
}

// NewRuneVocab rebuilds a rune vocabulary from its symbols, as read from a
// checkpoint: RuneUnknown first, then valid code points (no surrogates) in
// strictly ascending order.
func NewRuneVocab(symbols []int32) (*Vocab, error) {
	if len(symbols) == 0 || symbols[0] != RuneUnknown {
		return nil, fmt.Errorf("rune vocab: id 0 must be <unk> (%d)", RuneUnknown)
	}
	for i, s := range symbols[1:] {
		if !utf8.ValidRune(s) {
			return nil, fmt.Errorf("rune vocab: symbol %d (id %d) is not a Unicode code point", s, i+1)
		}
		if i > 0 && s <= symbols[i] {
			return nil, fmt.Errorf("rune vocab: symbols not strictly ascending at id %d (%d after %d)", i+1, s, symbols[i])
		}
	}
	return newRuneVocab(slices.Clone(symbols)), nil
}

func newRuneVocab(symbols []int32) *Vocab {
	v := &Vocab{Kind: VocabRunes, Symbols: symbols}
	t := &v.runes
	t.unk = 1 // symbols[0] is <unk>
	top := symbols[len(symbols)-1]
	t.dense = make([]int32, min(max(int(top)+1, utf8.RuneSelf), runeDenseMax))
	for id, s := range symbols[1:] {
		if int(s) < len(t.dense) {
			t.dense[s] = int32(id) + 2
			continue
		}
		if t.far == nil {
			t.far = make(map[rune]int32)
		}
		t.far[s] = int32(id) + 1
	}
	return v
}

// encodeRunes is Encode for a rune vocabulary.
func (v *Vocab) encodeRunes(text string) ([]int32, error) {
	ids := make([]int32, 0, len(text))
	var unknown unknownChars
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRuneInString(text[i:])
		id, ok := int32(-1), false
		if r != utf8.RuneError || n > 1 {
			id, ok = v.runes.id(r)
		}
		if !ok {
			unknown.add(text[i : i+n])
		}
		ids = append(ids, id)
		i += n
	}
	if unknown.list != nil {
		return nil, vocabUnknownError(unknown.list)
	}
	return ids, nil
}

// runeScratch holds the bytes around one token: three before, four from it.
type runeScratch [2*utf8.UTFMax - 1]byte

// utf8Cont reports whether b is a UTF-8 continuation byte (10xxxxxx).
func utf8Cont(b byte) bool { return b&0xC0 == 0x80 }

// tokenStart returns the first token start at or after byte offset pos,
// reading the corpus as UTF-8 from its beginning, where tokens are valid
// sequences and single invalid bytes. It needs only the three bytes before
// pos: a byte that is not a continuation byte always starts a token, and a
// continuation byte is inside a token only when the nearest such byte before
// it begins a valid sequence that reaches it. b is scratch space, passed in
// because a local array escapes to the heap in -race builds (pread's race
// annotations leak it).
func (c *Corpus) tokenStart(pos int64, b *runeScratch) (int64, error) {
	if pos <= 0 || pos >= c.size {
		return pos, nil
	}
	lo := max(0, pos-(utf8.UTFMax-1))
	m, err := c.ReadAt(b[:min(int64(len(b)), c.size-lo)], lo)
	if err != nil && err != io.EOF {
		return 0, err
	}
	at := int(pos - lo)
	if !utf8Cont(b[at]) {
		return pos, nil
	}
	for q := at - 1; q >= 0; q-- {
		if utf8Cont(b[q]) {
			continue
		}
		if r, n := utf8.DecodeRune(b[q:m]); (r != utf8.RuneError || n > 1) && q+n > at {
			return lo + int64(q+n), nil
		}
		break
	}
	return pos, nil
}

// TokenStart returns the first token start at or after byte offset pos: pos
// itself for bytes, the end of the rune that pos falls inside for runes.
func (s *TokenStream) TokenStart(pos int64) (int64, error) {
	if s.runes == nil {
		return pos, nil
	}
	if s.c.closed {
		return 0, errCorpusClosed
	}
	return s.c.tokenStart(pos, &s.scratch)
}

// readRunes is ReadTokens for a rune vocabulary.
func (s *TokenStream) readRunes(pos int64, dst []int32) (n int, last int64, err error) {
	c, t := s.c, s.runes
	last = pos
	for n < len(dst) && pos < s.end {
		seg := &c.segs[c.segmentAt(pos)]
		rel := pos - seg.start
		src := seg.data
		if src != nil {
			src = src[rel:]
		} else {
			// At most 4 bytes per token, and at least 4 bytes unless the file
			// ends first, so that every read holds a whole rune.
			m := min(seg.size-rel, int64(utf8.UTFMax*(len(dst)-n)))
			if int64(cap(s.buf)) < m {
				s.buf = make([]byte, utf8.UTFMax*len(dst))
			}
			src = s.buf[:m]
			if _, err := seg.readAt(src, rel); err != nil {
				return n, last, err
			}
		}
		fileEnd := rel+int64(len(src)) == seg.size
		dense, unk := t.dense[:utf8.RuneSelf], t.unk-1 // locals: dst writes cannot alias them
		k := 0
		for n < len(dst) && k < len(src) && pos+int64(k) < s.end {
			if b := src[k]; b < utf8.RuneSelf {
				id := dense[b] - 1
				if id < 0 {
					id = unk
				}
				dst[n] = id
				last = pos + int64(k)
				n++
				k++
				continue
			}
			if !utf8.FullRune(src[k:]) {
				if !fileEnd {
					break // read on from here
				}
				// The sequence may go on in the next file: decode it from the
				// logical stream.
				tail := s.scratch[:utf8.UTFMax]
				m, err := c.ReadAt(tail, pos+int64(k))
				if err != nil && err != io.EOF {
					return n, last, err
				}
				r, size := utf8.DecodeRune(tail[:m])
				dst[n] = t.token(r, size)
				last = pos + int64(k)
				n++
				k += size // may pass the end of this file
				break
			}
			r, size := utf8.DecodeRune(src[k:])
			dst[n] = t.token(r, size)
			last = pos + int64(k)
			n++
			k += size
		}
		pos += int64(k)
	}
	return n, last, nil
}

// Chunk sizes of the rune scan, the byte scan's by default. Variables so that
// tests can split runes across chunk edges.
var (
	runeScanChunk int64 = vocabScanChunk
	runeMapChunk  int64 = vocabMapChunk
)

// BuildRuneVocab streams the corpus once, decoding it as UTF-8, and returns a
// vocabulary of at most size tokens: <unk> and the size-1 most frequent runes
// (equal counts broken by the lower code point, so the result depends only on
// the text), in code point order. Invalid bytes are counted as <unk>.
//
// The scan runs in parallel over chunks of each file; a rune belongs to the
// chunk where it starts, so runes split across chunks (or files) are counted
// once, whole.
func BuildRuneVocab(c *Corpus, size int) (*Vocab, error) {
	if c.closed {
		return nil, errCorpusClosed
	}
	if size < 2 {
		return nil, fmt.Errorf("rune vocab: size %d, want at least 2 (<unk> and one rune)", size)
	}
	if c.size == 0 {
		return nil, fmt.Errorf("corpus is empty: %s", c.spec)
	}
	counts := make([]runeCounts, scanWorkers())
	for w := range counts {
		counts[w].dense = make([]int64, runeDenseMax)
	}
	err := c.scan(runeScanChunk, runeMapChunk, func(w int, pos int64, data []byte) (bool, error) {
		return false, counts[w].count(c, pos, data)
	})
	if err != nil {
		return nil, err
	}
	return runeVocabFromCounts(counts, size), nil
}

// runeCounts is one scan worker's tally.
type runeCounts struct {
	dense []int64        // per code point below runeDenseMax
	far   map[rune]int64 // the rest

	scratch runeScratch
}

// count tallies the runes that start in data, the corpus's bytes from
// logical offset lo on. A rune split by the end of data is read whole from
// the stream. When data begins inside a rune that started before it, the
// rune's remaining continuation bytes decode as invalid bytes here, which
// count for nothing: each rune is counted once, where it starts.
func (rc *runeCounts) count(c *Corpus, lo int64, data []byte) error {
	for k := 0; k < len(data); {
		b := data[k]
		if b < utf8.RuneSelf {
			rc.dense[b]++
			k++
			continue
		}
		var r rune
		var size int
		if utf8.FullRune(data[k:]) {
			r, size = utf8.DecodeRune(data[k:])
		} else {
			// Split by the chunk's end: read the rest from the logical stream.
			tail := rc.scratch[:utf8.UTFMax]
			m, err := c.ReadAt(tail, lo+int64(k))
			if err != nil && err != io.EOF {
				return err
			}
			r, size = utf8.DecodeRune(tail[:m])
		}
		k += size
		switch {
		case r == utf8.RuneError && size == 1:
			// An invalid byte: <unk>, which is always in the vocabulary.
		case int(r) < len(rc.dense):
			rc.dense[r]++
		default:
			if rc.far == nil {
				rc.far = make(map[rune]int64)
			}
			rc.far[r]++
		}
	}
	return nil
}

// runeVocabFromCounts keeps the size-1 most frequent runes of the workers'
// tallies, ties to the lower code point, and adds <unk>.
func runeVocabFromCounts(counts []runeCounts, size int) *Vocab {
	type runeCount struct {
		r rune
		n int64
	}
	var all []runeCount
	total := make([]int64, runeDenseMax)
	far := make(map[rune]int64)
	for _, rc := range counts {
		for r, n := range rc.dense {
			total[r] += n
		}
		for r, n := range rc.far {
			far[r] += n
		}
	}
	for r, n := range total {
		if n > 0 {
			all = append(all, runeCount{rune(r), n})
		}
	}
	for r, n := range far {
		all = append(all, runeCount{r, n})
	}
	slices.SortFunc(all, func(a, b runeCount) int {
		if c := cmp.Compare(b.n, a.n); c != 0 {
			return c
		}
		return cmp.Compare(a.r, b.r)
	})
	all = all[:min(len(all), size-1)]
	symbols := make([]int32, 0, len(all)+1)
	symbols = append(symbols, RuneUnknown)
	for _, rc := range all {
		symbols = append(symbols, rc.r)
	}
	slices.Sort(symbols[1:])
	return newRuneVocab(symbols)
}
