package engine

import (
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Vocabulary kinds, as written in checkpoints and exports.
const (
	VocabBytes = "bytes" // one symbol per byte value
	VocabRunes = "runes" // one symbol per Unicode code point, plus <unk> (see vocab_runes.go)
)

// Vocab maps the symbols of the text to token ids 0..Size()-1.
//
// Build one with BuildByteVocab, BuildRuneVocab or NewVocab; Kind and Symbols
// are read-only after that (the lookup tables are derived from them once).
type Vocab struct {
	Kind    string  // VocabBytes or VocabRunes
	Symbols []int32 // byte values or code points (RuneUnknown for <unk>), in id order

	// byteSlot holds id+1 for each byte value and 0 for bytes not in the
	// vocabulary, so that a Vocab not made by a constructor rejects every
	// byte instead of silently mapping them all to id 0.
	byteSlot [256]int32

	runes runeTable // the lookup of a rune vocabulary
}

// NewVocab rebuilds a vocabulary of the given kind from its symbols, as read
// from a checkpoint.
func NewVocab(kind string, symbols []int32) (*Vocab, error) {
	switch kind {
	case VocabBytes:
		return NewByteVocab(symbols)
	case VocabRunes:
		return NewRuneVocab(symbols)
	default:
		return nil, fmt.Errorf("unknown vocab kind %q", kind)
	}
}

// NewByteVocab rebuilds a byte vocabulary from its symbols: 1 to 256 byte
// values in strictly ascending order.
func NewByteVocab(symbols []int32) (*Vocab, error) {
	if len(symbols) == 0 || len(symbols) > 256 {
		return nil, fmt.Errorf("byte vocab: %d symbols, want 1 to 256", len(symbols))
	}
	for i, s := range symbols {
		if s < 0 || s > 255 {
			return nil, fmt.Errorf("byte vocab: symbol %d (id %d) is not a byte value", s, i)
		}
		if i > 0 && s <= symbols[i-1] {
			return nil, fmt.Errorf("byte vocab: symbols not strictly ascending at id %d (%d after %d)", i, s, symbols[i-1])
		}
	}
	return newByteVocab(append([]int32(nil), symbols...)), nil
}

func newByteVocab(symbols []int32) *Vocab {
	v := &Vocab{Kind: VocabBytes, Symbols: symbols}
	for id, s := range symbols {
		v.byteSlot[s] = int32(id) + 1
	}
	return v
}

// Size is the number of symbols (the model's input and output width).
func (v *Vocab) Size() int { return len(v.Symbols) }

// ID is the token id of a symbol (a byte value or a code point); RuneUnknown
// names the <unk> token of a rune vocabulary.
func (v *Vocab) ID(sym int32) (int32, bool) {
	if v.Kind == VocabRunes {
		return v.runes.id(sym)
	}
	if v.Kind != VocabBytes || sym < 0 || sym > 255 {
		return -1, false
	}
	slot := v.byteSlot[sym]
	return slot - 1, slot != 0
}

// Encode maps text to token ids. Symbols not in the vocabulary are an error
// that names them, quoted, e.g. `characters not in the vocabulary: "é", "\x00"`;
// a character is named whole even when only some of its bytes are missing.
// A rune vocabulary never encodes a character as <unk>: text typed by a user
// is either representable or an error.
func (v *Vocab) Encode(text string) ([]int32, error) {
	if v.Kind == VocabRunes {
		return v.encodeRunes(text)
	}
	if v.Kind != VocabBytes {
		return nil, fmt.Errorf("encode: vocab kind %q not supported", v.Kind)
	}
	ids := make([]int32, len(text))
	var unknown unknownChars
	for i := 0; i < len(text); {
		_, n := utf8.DecodeRuneInString(text[i:])
		ok := true
		for j := i; j < i+n; j++ {
			slot := v.byteSlot[text[j]]
			ok = ok && slot != 0
			ids[j] = slot - 1
		}
		if !ok {
			unknown.add(text[i : i+n])
		}
		i += n
	}
	if unknown.list != nil {
		return nil, vocabUnknownError(unknown.list)
	}
	return ids, nil
}

// unknownChars collects the distinct characters Encode could not map, in
// the order they first appear.
type unknownChars struct {
	list []string
	seen map[string]bool
}

func (u *unknownChars) add(ch string) {
	if u.seen == nil {
		u.seen = make(map[string]bool)
	}
	if !u.seen[ch] {
		u.seen[ch] = true
		u.list = append(u.list, ch)
	}
}

func vocabUnknownError(unknown []string) error {
	const show = 10
	var b strings.Builder
	b.WriteString("characters not in the vocabulary: ")
	for i, ch := range unknown[:min(len(unknown), show)] {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(ch))
	}
	if len(unknown) > show {
		fmt.Fprintf(&b, " and %d more", len(unknown)-show)
	}
	return errors.New(b.String())
}

// Decode maps token ids back to text. The <unk> token of a rune vocabulary
// comes out as U+FFFD, so that decoded runes are always valid UTF-8. Ids
// outside the vocabulary (a caller bug) come out as U+FFFD too, rather than a
// panic, since Decode sits on the path that prints samples.
func (v *Vocab) Decode(ids []int32) string {
	buf := make([]byte, 0, len(ids))
	for _, id := range ids {
		if id < 0 || int(id) >= len(v.Symbols) {
			buf = utf8.AppendRune(buf, utf8.RuneError)
			continue
		}
		switch v.Kind {
		case VocabBytes:
			buf = append(buf, byte(v.Symbols[id]))
		default: // AppendRune writes U+FFFD for RuneUnknown
			buf = utf8.AppendRune(buf, rune(v.Symbols[id]))
		}
	}
	return string(buf)
}

const (
	// vocabScanChunk is the unit of work of the vocabulary scan over bytes in
	// memory or read: big enough that handing it out costs nothing, small
	// enough to spread a few files over the cores.
	vocabScanChunk = 4 << 20
	// vocabMapChunk is the unit over mapped files. Releasing a chunk's pages
	// flushes the TLBs of every core running the process; per 32 MiB rather
	// than per 4 MiB, a 3 GiB scan on 2 cores measured 2-2.5x faster, and the
	// pages resident at once stay bounded by workers × 32 MiB.
	vocabMapChunk = 32 << 20
)

// Past this many mapped bytes the scan releases each chunk's pages once done.
// Below it, keeping them saves the trainer faulting them back in and the scan
// the cost of madvise. (A variable so that tests can take both paths.)
var vocabReleaseAbove int64 = 1 << 30

// BuildByteVocab streams the corpus once and returns the byte values that
// occur in it, in byte order. Mapped files are scanned in place in chunks, in
// parallel; in a large corpus each chunk's pages are released once scanned,
// so the resident set stays small however big the corpus is.
func BuildByteVocab(c *Corpus) (*Vocab, error) {
	// Each worker marks its own set, padded to whole cache lines so the
	// workers' writes never share one.
	type byteSet struct {
		seen [256]bool
		_    [64]byte
	}
	sets := make([]byteSet, scanWorkers())
	err := c.scan(vocabScanChunk, vocabMapChunk, func(w int, _ int64, data []byte) (bool, error) {
		vocabMarkBytes(&sets[w].seen, data)
		return vocabAllSeen(&sets[w].seen), nil // all 256 seen: nothing left to learn
	})
	if err != nil {
		return nil, err
	}

	var all [256]bool
	for w := range sets {
		for b, ok := range sets[w].seen {
			all[b] = all[b] || ok
		}
	}
	var symbols []int32
	for b, ok := range all {
		if ok {
			symbols = append(symbols, int32(b))
		}
	}
	if len(symbols) == 0 {
		return nil, fmt.Errorf("corpus is empty: %s", c.spec)
	}
	return newByteVocab(symbols), nil
}

func vocabMarkBytes(set *[256]bool, data []byte) {
	for _, b := range data {
		set[b] = true
	}
}

func vocabAllSeen(set *[256]bool) bool {
	for _, ok := range set {
		if !ok {
			return false
		}
	}
	return true
}

// TokenStream gives the trainer windows of token ids straight from the
// corpus: a table lookup per byte (or per rune), no allocation per window. A
// stream is used by one goroutine; make one per trainer.
//
// Positions are byte offsets into the corpus in both kinds. A byte token is
// one byte; a rune token is the 1 to 4 bytes of a UTF-8 sequence, or one byte
// that is not part of a valid sequence (which reads as <unk>).
type TokenStream struct {
	c       *Corpus
	end     int64      // tokens start before this offset: the corpus's size unless Limit says less
	byteIDs [256]int32 // id+1 per byte value, 0 if absent (a copy of the vocab's)
	runes   *runeTable // set for a rune vocabulary
	err     error      // set when the vocab's kind cannot stream
	buf     []byte     // staging for files read rather than mapped
	scratch runeScratch
}

// NewTokenStream makes a stream of the corpus's text as token ids of v.
func (v *Vocab) NewTokenStream(c *Corpus) *TokenStream {
	s := &TokenStream{c: c, end: c.size, byteIDs: v.byteSlot}
	switch {
	case v.Kind == VocabRunes && v.runes.built():
		s.runes = &v.runes
	case v.Kind != VocabBytes:
		s.err = fmt.Errorf("token stream: vocab kind %q not supported", v.Kind)
	}
	return s
}

// Limit ends the stream at byte offset end (at most the corpus's size):
// no token that starts at or after it is read, so a training stream stays
// out of a held-out tail.
func (s *TokenStream) Limit(end int64) { s.end = min(max(end, 0), s.c.size) }

// ReadTokens fills dst with the ids of the tokens starting at byte offset
// pos, as many as fit or as the corpus holds: n < len(dst) only at the end
// of the corpus. It returns where the last token read (dst[n-1]) starts, or
// pos if none was read, so that a window of T+1 tokens continues with the
// next window at last: consecutive windows overlap by one token.
func (s *TokenStream) ReadTokens(pos int64, dst []int32) (n int, last int64, err error) {
	if s.err != nil {
		return 0, pos, s.err
	}
	c := s.c
	if c.closed {
		return 0, pos, errCorpusClosed
	}
	defer c.endRead(debug.SetPanicOnFault(true), &err)
	if pos < 0 || pos > s.end {
		return 0, pos, fmt.Errorf("token offset %d is outside the text (%d bytes)", pos, s.end)
	}
	if s.runes != nil {
		return s.readRunes(pos, dst)
	}
	n = int(min(int64(len(dst)), s.end-pos))
	if err := s.readBytes(pos, dst[:n]); err != nil {
		return 0, pos, err
	}
	return n, pos + max(int64(n)-1, 0), nil
}

// readBytes fills dst with the ids of the len(dst) bytes at pos, all inside
// the corpus.
func (s *TokenStream) readBytes(pos int64, dst []int32) error {
	c := s.c
	for i := c.segmentAt(pos); len(dst) > 0; i++ {
		seg := &c.segs[i]
		rel := pos - seg.start
		n := min(int64(len(dst)), seg.size-rel)
		src := seg.data
		if src != nil {
			src = src[rel : rel+n]
		} else {
			if int64(cap(s.buf)) < n {
				s.buf = make([]byte, len(dst))
			}
			src = s.buf[:n]
			if _, err := seg.readAt(src, rel); err != nil {
				return err
			}
		}
		if k := s.decode(src, dst[:n]); k >= 0 {
			if err := seg.changed(); err != nil {
				return err // a file cut inside a page reads zeros past its end
			}
			return fmt.Errorf("corpus byte %s at offset %d (%s, offset %d) is not in the vocabulary",
				strconv.Quote(string(src[k:k+1])), pos+int64(k), seg.path, rel+int64(k))
		}
		dst = dst[n:]
		pos += n
	}
	return nil
}

// decode maps src to ids in dst (same length) and returns the index of the
// first byte not in the vocabulary, or -1.
func (s *TokenStream) decode(src []byte, dst []int32) int {
	dst = dst[:len(src)]
	for i, b := range src {
		slot := s.byteIDs[b]
		if slot == 0 {
			return i
		}
		dst[i] = slot - 1
	}
	return -1
}
