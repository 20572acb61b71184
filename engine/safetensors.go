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
// byte offsets into the data, and "__metadata__" to a map of strings.
// charrnn writes every tensor of the model's layout, F32, in slab order,
// under its layout name and in the orientation of the equations (a Lookup
// tensor transposed back): for the notebook's model U (H×Vocab), W, V, b
// and c; for any other, the names of a PyTorch state dict of a module with
// an nn.RNN/nn.LSTM/nn.GRU called rnn and an nn.Linear called decoder
// (rnn.weight_ih_l0, ..., decoder.weight, decoder.bias). The metadata holds
// vocab_kind and vocab (a JSON array of the symbols, as a string), and for
// models other than the notebook's, cell and layers.

// maxSafetensorsHeader bounds the JSON header a reader accepts, so a hostile
// length cannot make it allocate without limit. charrnn's own headers are a
// few hundred bytes plus about 8 bytes per vocabulary symbol.
const maxSafetensorsHeader = 16 << 20

type safetensorsEntry struct {
	Dtype       string   `json:"dtype"`
	Shape       []int64  `json:"shape"`
	DataOffsets []uint64 `json:"data_offsets"`
}

// fileShape is the tensor's shape in a safetensors header.
func (t Tensor) fileShape() []int64 {
	var shape []int64
	for _, d := range t.ExportShape() {
		shape = append(shape, int64(d))
	}
	return shape
}

// EncodeSafetensors returns the model and its vocabulary as a safetensors
// file.
func EncodeSafetensors(m *Model, vocab *Vocab) ([]byte, error) {
	c := m.Config
	if vocab.Size() != c.Vocab {
		return nil, fmt.Errorf("vocabulary has %d symbols, the model %d", vocab.Size(), c.Vocab)
	}
	symbols, err := json.Marshal(vocab.Symbols)
	if err != nil {
		return nil, err
	}
	// The header is written by hand so the tensors appear in data order.
	var hdr bytes.Buffer
	hdr.WriteByte('{')
	var off uint64
	for _, t := range m.Layout.Tensors {
		n := 4 * uint64(t.Size())
		e, err := json.Marshal(safetensorsEntry{"F32", t.fileShape(), []uint64{off, off + n}})
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&hdr, "%q:%s,", t.Name, e)
		off += n
	}
	meta := map[string]string{"vocab_kind": vocab.Kind, "vocab": string(symbols)}
	if !c.Notebook() {
		meta["cell"], meta["layers"] = c.Cell, strconv.Itoa(c.Layers)
	}
	mj, err := json.Marshal(meta)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(&hdr, "%q:%s}", "__metadata__", mj)
	for (8+hdr.Len())%8 != 0 {
		hdr.WriteByte(' ')
	}
	buf := make([]byte, 0, 8+hdr.Len()+int(off))
	buf = binary.LittleEndian.AppendUint64(buf, uint64(hdr.Len()))
	buf = append(buf, hdr.Bytes()...)
	var scratch []float32
	for _, t := range m.Layout.Tensors {
		data := t.Of(m.Params)
		if t.Lookup {
			scratch = slices.Grow(scratch[:0], len(data))[:len(data)]
			transpose(scratch, t.Shape[0], data, t.Shape[0], t.Shape[1])
			data = scratch
		}
		for _, v := range data {
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
		var e safetensorsEntry
		if err := decodeStrict(r, &e); err != nil {
			return nil, nil, fmt.Errorf("tensor %s: %w", strconv.Quote(name), err)
		}
		if e.Dtype != "F32" {
			return nil, nil, fmt.Errorf("tensor %s: dtype %s, want F32", strconv.Quote(name), strconv.Quote(e.Dtype))
		}
		if len(e.DataOffsets) != 2 || e.DataOffsets[0] > e.DataOffsets[1] || e.DataOffsets[1] > uint64(len(body)) {
			return nil, nil, fmt.Errorf("tensor %s: data offsets %v do not fit the %d bytes of data", strconv.Quote(name), e.DataOffsets, len(body))
		}
		for _, d := range e.Shape {
			if d <= 0 || d > 1<<24 {
				return nil, nil, fmt.Errorf("tensor %s: dimension %d out of range", strconv.Quote(name), d)
			}
		}
		entries[name] = e
	}
	cfg, err := safetensorsModel(entries, meta)
	if err != nil {
		return nil, nil, err
	}
	m, err := newModel(cfg, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("not a model charrnn can run: %w", err)
	}
	// Exactly the layout's tensors, each with its shape, and byte ranges
	// that hold exactly their elements and tile the data with no gap or
	// overlap.
	for name := range entries {
		if !slices.ContainsFunc(m.Layout.Tensors, func(t Tensor) bool { return t.Name == name }) {
			return nil, nil, fmt.Errorf("unexpected tensor %s in a %d-layer %s model", strconv.Quote(name), cfg.Layers, cfg.Cell)
		}
	}
	type span struct {
		name       string
		begin, end uint64
	}
	var spans []span
	for _, t := range m.Layout.Tensors {
		e, ok := entries[t.Name]
		if !ok {
			return nil, nil, fmt.Errorf("no tensor %s (a %d-layer %s model has it)", t.Name, cfg.Layers, cfg.Cell)
		}
		if want := t.fileShape(); !slices.Equal(e.Shape, want) {
			return nil, nil, fmt.Errorf("tensor %s has shape %v, want %v (a %d-layer %s model of width %d, vocabulary %d)", t.Name, e.Shape, want, cfg.Layers, cfg.Cell, cfg.Hidden, cfg.Vocab)
		}
		if e.DataOffsets[1]-e.DataOffsets[0] != 4*uint64(t.Size()) {
			return nil, nil, fmt.Errorf("tensor %s: %d bytes of data for %d floats", t.Name, e.DataOffsets[1]-e.DataOffsets[0], t.Size())
		}
		spans = append(spans, span{t.Name, e.DataOffsets[0], e.DataOffsets[1]})
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

	vocab, err := safetensorsVocab(meta, cfg.Vocab)
	if err != nil {
		return nil, nil, err
	}
	var scratch []float32
	for _, t := range m.Layout.Tensors {
		dst := t.Of(m.Params)
		src := dst
		if t.Lookup { // read in the file's orientation, then transposed into the slab's
			scratch = slices.Grow(scratch[:0], len(dst))[:len(dst)]
			src = scratch
		}
		raw := body[entries[t.Name].DataOffsets[0]:]
		for i := range src {
			src[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		if t.Lookup {
			transpose(dst, t.Shape[1], src, t.Shape[1], t.Shape[0])
		}
	}
	for i, v := range m.Params {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, nil, fmt.Errorf("parameter %d is not finite (%v)", i, v)
		}
	}
	return m, vocab, nil
}

// safetensorsModel works out the model's configuration from the tensors'
// names and shapes: the notebook's names, or a stack of layers whose cell
// the metadata names (or, in a file that does not say, the number of gates
// in weight_hh_l0: 1 rnn, 3 gru, 4 lstm).
func safetensorsModel(entries map[string]safetensorsEntry, meta map[string]string) (ModelConfig, error) {
	dim := func(name string, i int) (int, error) {
		e, ok := entries[name]
		if !ok {
			return 0, fmt.Errorf("no tensor %s", name)
		}
		if i >= len(e.Shape) {
			return 0, fmt.Errorf("tensor %s has rank %d, want %d", name, len(e.Shape), i+1)
		}
		return int(e.Shape[i]), nil
	}
	if _, notebook := entries["c"]; notebook {
		H, err := dim("b", 0)
		if err != nil {
			return ModelConfig{}, err
		}
		V, err := dim("c", 0)
		if err != nil {
			return ModelConfig{}, err
		}
		return ModelConfig{Cell: "rnn", Layers: 1, Hidden: H, Vocab: V}, nil
	}
	H, err := dim("rnn.weight_hh_l0", 1)
	if err != nil {
		return ModelConfig{}, fmt.Errorf("%w (want U, W, V, b, c, or the tensors of an nn.RNN/LSTM/GRU called rnn)", err)
	}
	V, err := dim("decoder.bias", 0)
	if err != nil {
		return ModelConfig{}, err
	}
	// The metadata says how many layers (and the layout then names every
	// tensor that must be there); a file without it has as many as it has
	// weight_hh tensors in a row.
	layers := 0
	for entries[fmt.Sprintf("rnn.weight_hh_l%d", layers)].Shape != nil {
		layers++
	}
	if n, ok := meta["layers"]; ok {
		var err error
		if layers, err = strconv.Atoi(n); err != nil {
			return ModelConfig{}, fmt.Errorf("metadata: layers %q is not a number", n)
		}
	}
	cell := meta["cell"]
	if cell == "" {
		rows, _ := dim("rnn.weight_hh_l0", 0)
		cell = map[int]string{1: "rnn", 3: "gru", 4: "lstm"}[rows/H]
	}
	return ModelConfig{Cell: cell, Layers: layers, Hidden: H, Vocab: V}, nil
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
