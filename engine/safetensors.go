package engine

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// A safetensors file is
//
//	header length N (uint64, little-endian) | header (N bytes of JSON, padded
//	with spaces) | data (raw little-endian tensors)
//
// The header maps each tensor's name to its dtype, shape and [begin, end)
// byte offsets into the data, and "__metadata__" to a map of strings. charrnn
// writes the tensors U (H×Vocab, the notebook's orientation), W (H×H),
// V (Vocab×H), b (H) and c (Vocab), all F32, in that order, and the
// metadata vocab_kind and vocab (a JSON array of the symbols, as a string).

// maxSafetensorsHeader bounds the JSON header a reader accepts, so a hostile
// length cannot make it allocate without limit. charrnn's own headers are a
// few hundred bytes plus about 8 bytes per vocabulary symbol.
const maxSafetensorsHeader = 16 << 20

// safetensorsOrder is the order of the tensors in the data.
var safetensorsOrder = []string{"U", "W", "V", "b", "c"}

type safetensorsEntry struct {
	Dtype       string   `json:"dtype"`
	Shape       []int64  `json:"shape"`
	DataOffsets []uint64 `json:"data_offsets"`
}

// EncodeSafetensors returns the model and its vocabulary as a safetensors
// file.
func EncodeSafetensors(m *Model, vocab *Vocab) ([]byte, error) {
	if vocab.Size() != m.Vocab {
		return nil, fmt.Errorf("vocabulary has %d symbols, the model %d", vocab.Size(), m.Vocab)
	}
	H, V := m.Hidden, m.Vocab
	// U is stored Vocab×H (row x is the column U[:, x]); the file has the
	// notebook's H×Vocab.
	u := make([]float32, H*V)
	for x := 0; x < V; x++ {
		for i := 0; i < H; i++ {
			u[i*V+x] = m.P.U[x*H+i]
		}
	}
	tensors := map[string]struct {
		data  []float32
		shape []int64
	}{
		"U": {u, []int64{int64(H), int64(V)}},
		"W": {m.P.W, []int64{int64(H), int64(H)}},
		"V": {m.P.V, []int64{int64(V), int64(H)}},
		"b": {m.P.B, []int64{int64(H)}},
		"c": {m.P.C, []int64{int64(V)}},
	}
	symbols, err := json.Marshal(vocab.Symbols)
	if err != nil {
		return nil, err
	}
	// The header is written by hand so the tensors appear in data order.
	var hdr bytes.Buffer
	hdr.WriteByte('{')
	var off uint64
	for _, name := range safetensorsOrder {
		t := tensors[name]
		e, err := json.Marshal(safetensorsEntry{"F32", t.shape, []uint64{off, off + 4*uint64(len(t.data))}})
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&hdr, "%q:%s,", name, e)
		off += 4 * uint64(len(t.data))
	}
	meta, err := json.Marshal(map[string]string{"vocab_kind": vocab.Kind, "vocab": string(symbols)})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(&hdr, "%q:%s}", "__metadata__", meta)
	for (8+hdr.Len())%8 != 0 {
		hdr.WriteByte(' ')
	}
	buf := make([]byte, 0, 8+hdr.Len()+int(off))
	buf = binary.LittleEndian.AppendUint64(buf, uint64(hdr.Len()))
	buf = append(buf, hdr.Bytes()...)
	for _, name := range safetensorsOrder {
		for _, v := range tensors[name].data {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		}
	}
	return buf, nil
}

// ExportSafetensors writes the model and its vocabulary to path as
// safetensors, atomically (as Checkpoint.Save does).
func ExportSafetensors(path string, m *Model, vocab *Vocab) error {
	data, err := EncodeSafetensors(m, vocab)
	if err == nil {
		err = WriteFileAtomic(path, data)
	}
	if err != nil {
		return fmt.Errorf("export %s: %w", path, err)
	}
	return nil
}

// LoadSafetensors reads a model and its vocabulary from a safetensors file
// written by ExportSafetensors (or by anything else that follows the same
// names, shapes and metadata).
func LoadSafetensors(path string) (*Model, *Vocab, error) {
	data, err := ReadRegularFile(path) // a named pipe is refused, not waited on
	if err != nil {
		return nil, nil, fmt.Errorf("load safetensors: %w", err)
	}
	m, v, err := DecodeSafetensors(data)
	if err != nil {
		return nil, nil, fmt.Errorf("load safetensors %s: %w", path, err)
	}
	return m, v, nil
}

// ErrNotSafetensors is wrapped by DecodeSafetensors when the data cannot be
// a safetensors file at all.
var ErrNotSafetensors = errors.New("not a safetensors file")

// DecodeSafetensors checks and decodes a charrnn model held in memory as
// safetensors. Every malformed input is an error, never a panic; nothing is
// allocated beyond a bounded header and tensors that fit in data.
func DecodeSafetensors(data []byte) (*Model, *Vocab, error) {
	if len(data) < 8 {
		return nil, nil, fmt.Errorf("%w: %d bytes, shorter than the header length", ErrNotSafetensors, len(data))
	}
	if bytes.HasPrefix(data, []byte(checkpointMagic)) {
		return nil, nil, fmt.Errorf("%w: it is a charrnn checkpoint (write one with 'charrnn export')", ErrNotSafetensors)
	}
	n := binary.LittleEndian.Uint64(data)
	if n < 2 || n > maxSafetensorsHeader || n > uint64(len(data)-8) {
		return nil, nil, fmt.Errorf("%w: header length %d does not fit the file (%d bytes)", ErrNotSafetensors, n, len(data))
	}
	header, body := data[8:8+n], data[8+n:]
	if header[0] != '{' {
		return nil, nil, fmt.Errorf("%w: header does not start with '{'", ErrNotSafetensors)
	}
	raw, err := decodeObject(header) // strictly: see strictjson.go
	if err != nil {
		return nil, nil, fmt.Errorf("header: %w", err)
	}

	var meta map[string]string
	if m, ok := raw["__metadata__"]; !ok {
		return nil, nil, fmt.Errorf("header: no __metadata__ (a charrnn export has vocab_kind and vocab)")
	} else if err := decodeStrict(m, &meta); err != nil {
		return nil, nil, fmt.Errorf("header: __metadata__ must map names to strings: %w", err)
	}
	delete(raw, "__metadata__")

	entries := map[string]safetensorsEntry{}
	for name, r := range raw {
		if !slices.Contains(safetensorsOrder, name) {
			return nil, nil, fmt.Errorf("unexpected tensor %s (want U, W, V, b, c)", strconv.Quote(name))
		}
		var e safetensorsEntry
		if err := decodeStrict(r, &e); err != nil {
			return nil, nil, fmt.Errorf("tensor %s: %w", name, err)
		}
		if e.Dtype != "F32" {
			return nil, nil, fmt.Errorf("tensor %s: dtype %s, want F32", name, strconv.Quote(e.Dtype))
		}
		if len(e.DataOffsets) != 2 || e.DataOffsets[0] > e.DataOffsets[1] || e.DataOffsets[1] > uint64(len(body)) {
			return nil, nil, fmt.Errorf("tensor %s: data offsets %v do not fit the %d bytes of data", name, e.DataOffsets, len(body))
		}
		entries[name] = e
	}
	for _, name := range safetensorsOrder {
		if _, ok := entries[name]; !ok {
			return nil, nil, fmt.Errorf("no tensor %s", name)
		}
	}

	// The shapes must agree with one hidden size H and one vocabulary size.
	shapeOf := func(name string, rank int) ([]int64, error) {
		s := entries[name].Shape
		if len(s) != rank {
			return nil, fmt.Errorf("tensor %s has rank %d, want %d", name, len(s), rank)
		}
		for _, d := range s {
			if d <= 0 || d > 1<<24 {
				return nil, fmt.Errorf("tensor %s: dimension %d out of range", name, d)
			}
		}
		return s, nil
	}
	b, err := shapeOf("b", 1)
	if err != nil {
		return nil, nil, err
	}
	c, err := shapeOf("c", 1)
	if err != nil {
		return nil, nil, err
	}
	H, V := b[0], c[0]
	if H > 1<<16 {
		return nil, nil, fmt.Errorf("hidden size %d out of range", H)
	}
	want := map[string][]int64{"U": {H, V}, "W": {H, H}, "V": {V, H}}
	for _, name := range []string{"U", "W", "V"} {
		s, err := shapeOf(name, 2)
		if err != nil {
			return nil, nil, err
		}
		if !slices.Equal(s, want[name]) {
			return nil, nil, fmt.Errorf("tensor %s has shape %v, want %v (b says H = %d, c says vocabulary %d)", name, s, want[name], H, V)
		}
	}
	// Each tensor's byte range holds exactly its elements, and the ranges
	// tile the data with no gap or overlap.
	type span struct {
		name       string
		begin, end uint64
	}
	var spans []span
	for _, name := range safetensorsOrder {
		e := entries[name]
		elems := uint64(1)
		for _, d := range e.Shape {
			elems *= uint64(d) // each ≤ 2^24, rank ≤ 2: no overflow
		}
		if e.DataOffsets[1]-e.DataOffsets[0] != 4*elems {
			return nil, nil, fmt.Errorf("tensor %s: %d bytes of data for %d floats", name, e.DataOffsets[1]-e.DataOffsets[0], elems)
		}
		spans = append(spans, span{name, e.DataOffsets[0], e.DataOffsets[1]})
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.begin, b.begin) })
	var end uint64
	for _, s := range spans {
		if s.begin != end {
			return nil, nil, fmt.Errorf("tensor %s starts at byte %d of the data, want %d (tensors must tile the data)", s.name, s.begin, end)
		}
		end = s.end
	}
	if end != uint64(len(body)) {
		return nil, nil, fmt.Errorf("%d bytes of data after the last tensor", uint64(len(body))-end)
	}

	vocab, err := safetensorsVocab(meta, int(V))
	if err != nil {
		return nil, nil, err
	}
	m := &Model{Hidden: int(H), Vocab: int(V), P: NewTensors(int(H), int(V))}
	floats := func(name string, dst []float32) {
		raw := body[entries[name].DataOffsets[0]:]
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	}
	// U is read in the file's H×Vocab order, then transposed into the
	// slab's Vocab×H.
	u := make([]float32, H*V)
	floats("U", u)
	for i := 0; i < int(H); i++ {
		for x := 0; x < int(V); x++ {
			m.P.U[x*int(H)+i] = u[i*int(V)+x]
		}
	}
	floats("W", m.P.W)
	floats("V", m.P.V)
	floats("b", m.P.B)
	floats("c", m.P.C)
	for i, v := range m.P.Slab {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, nil, fmt.Errorf("parameter %d is not finite (%v)", i, v)
		}
	}
	return m, vocab, nil
}

// safetensorsVocab rebuilds the vocabulary from the metadata.
func safetensorsVocab(meta map[string]string, size int) (*Vocab, error) {
	kind, ok := meta["vocab_kind"]
	if !ok {
		return nil, fmt.Errorf("metadata: no vocab_kind")
	}
	list, ok := meta["vocab"]
	if !ok {
		return nil, fmt.Errorf("metadata: no vocab")
	}
	var symbols []int32
	if err := json.Unmarshal([]byte(list), &symbols); err != nil {
		return nil, fmt.Errorf("metadata: vocab must be a JSON array of integers: %w", err)
	}
	if len(symbols) != size {
		return nil, fmt.Errorf("metadata: vocab has %d symbols, tensor c has %d", len(symbols), size)
	}
	v, err := NewVocab(kind, symbols)
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	return v, nil
}
