package engine

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"math"
	"slices"
	"strings"
)

// A checkpoint file is
//
//	magic "CHARRNN\x00" | version uint32 | header length uint32 | header (JSON)
//	| sections (float32, little-endian, in the header's order) | CRC-32C uint32
//
// all integers little-endian, the CRC over every byte before it. The JSON
// header makes the format easy to extend; the version says when a reader
// must refuse it.
const (
	checkpointMagic = "CHARRNN\x00"
	// CheckpointVersion is the format this build writes and the newest it
	// reads. Version 1 held a one-layer vanilla RNN and a header of loose
	// settings; version 2 holds the whole TrainConfig and the tensor table.
	CheckpointVersion = 2
	maxHeaderBytes    = 64 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Checkpoint is everything needed to sample from a model or to resume
// training it exactly.
type Checkpoint struct {
	Header Header
	// Sections holds the float slabs named in Header.Sections, in order:
	// "params" always, then the optimizer's state ("opt.0", ...) and the
	// carried states ("hidden") when saved by the trainer.
	Sections map[string][]float32
}

// Header is the checkpoint's JSON part.
type Header struct {
	// Config is the run's configuration, the model's with it.
	Config TrainConfig `json:"config"`
	// Ranks is the number of ranks of the data-parallel job that saved
	// it, each training Config.Batch streams (0: one process); Cursors
	// and the carried states are every rank's streams, in global order.
	Ranks     int     `json:"ranks,omitempty"`
	VocabKind string  `json:"vocab_kind"`
	Vocab     []int32 `json:"vocab"` // byte values or code points, in id order
	Data      string  `json:"data"`  // what the corpus was

	Step      int64      `json:"step"`
	CharsSeen int64      `json:"chars_seen"`
	Cursors   []int64    `json:"cursors"`
	Loss      float64    `json:"loss"` // the smoothed training loss (nats/char) when saved
	Train     TrainState `json:"train"`
	// SampleRNG is the training run's sampler's random state
	// (math/rand/v2 PCG, binary), so samples after a resume are the ones
	// an uninterrupted run would have drawn.
	SampleRNG []byte `json:"sample_rng,omitempty"`
	// History is the run's progress records so far, oldest first (bounded
	// by the trainer).
	History []json.RawMessage `json:"history,omitempty"`

	// Tensors is the parameters' layout, as Config.Model lays them out:
	// a reader checks the two agree.
	Tensors  []Tensor  `json:"tensors"`
	Sections []Section `json:"sections"`
}

// Section names one float slab and its length.
type Section struct {
	Name   string `json:"name"`
	Floats int    `json:"floats"`
}

// Model returns the model the checkpoint holds, sharing its parameter slab.
func (c *Checkpoint) Model() *Model {
	m, err := newModel(c.Header.Config.Model, c.Sections["params"])
	if err != nil { // DecodeCheckpoint checked the section against the layout
		panic(err)
	}
	return m
}

// Save writes the checkpoint to path atomically: to a temporary file in the
// same directory, synced, then renamed over path. A failure at any point
// leaves whatever was at path untouched.
//
// A process killed in the middle of a save leaves its temporary file
// (path + ".tmp" + its pid + "-" + digits) behind; the next successful save
// removes such files older than itself whose writer has exited (see
// WriteFileAtomic). A path that is a symbolic link has its target replaced.
func (c *Checkpoint) Save(path string) error {
	data, err := c.encode()
	if err == nil {
		err = WriteFileAtomic(path, data)
	}
	if err != nil {
		return fmt.Errorf("save checkpoint %s: %w", path, err)
	}
	return nil
}

func (c *Checkpoint) encode() ([]byte, error) {
	h := c.Header
	h.Sections = h.Sections[:0:0]
	names := []string{"params"}
	for _, n := range slices.Sorted(maps.Keys(c.Sections)) {
		if n != "params" {
			names = append(names, n)
		}
	}
	for _, n := range names {
		s, ok := c.Sections[n]
		if !ok {
			return nil, fmt.Errorf("no %s section", n)
		}
		h.Sections = append(h.Sections, Section{Name: n, Floats: len(s)})
	}
	hdr, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	size := len(checkpointMagic) + 8 + len(hdr) + 4
	for _, s := range h.Sections {
		size += 4 * s.Floats
	}
	buf := make([]byte, 0, size)
	buf = append(buf, checkpointMagic...)
	buf = binary.LittleEndian.AppendUint32(buf, CheckpointVersion)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(hdr)))
	buf = append(buf, hdr...)
	for _, n := range names {
		for _, v := range c.Sections[n] {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		}
	}
	return binary.LittleEndian.AppendUint32(buf, crc32c(buf)), nil
}

// ErrNotCheckpoint is wrapped by LoadCheckpoint when the file is not a
// charrnn checkpoint at all.
var ErrNotCheckpoint = errors.New("not a charrnn checkpoint")

// LoadCheckpoint reads and verifies a checkpoint: magic, version, checksum,
// header and section sizes, and that every value is finite. Nothing is
// returned unless all of it holds.
func LoadCheckpoint(path string) (*Checkpoint, error) {
	data, err := ReadRegularFile(path) // a named pipe is refused, not waited on
	if err != nil {
		return nil, fmt.Errorf("load checkpoint: %w", err)
	}
	c, err := DecodeCheckpoint(data)
	if err != nil {
		return nil, fmt.Errorf("load checkpoint %s: %w", path, err)
	}
	return c, nil
}

// DecodeCheckpoint verifies and decodes a checkpoint held in memory.
func DecodeCheckpoint(data []byte) (*Checkpoint, error) {
	const fixed = len(checkpointMagic) + 4 + 4
	if len(data) < len(checkpointMagic) || string(data[:len(checkpointMagic)]) != checkpointMagic {
		return nil, ErrNotCheckpoint
	}
	if len(data) < fixed+4 {
		return nil, fmt.Errorf("file is truncated (%d bytes)", len(data))
	}
	version := binary.LittleEndian.Uint32(data[8:])
	if version > CheckpointVersion {
		return nil, fmt.Errorf("format version %d is newer than this charrnn reads (%d); upgrade charrnn", version, CheckpointVersion)
	}
	if version == 0 {
		return nil, fmt.Errorf("invalid format version 0")
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32c(body) != sum {
		return nil, fmt.Errorf("checksum mismatch: the file is truncated or corrupted")
	}
	hlen := binary.LittleEndian.Uint32(data[12:])
	if hlen > maxHeaderBytes || int(hlen) > len(body)-fixed {
		return nil, fmt.Errorf("header length %d does not fit the file", hlen)
	}
	h, err := decodeHeader(version, body[fixed:fixed+int(hlen)])
	if err != nil {
		return nil, err
	}
	rest := body[fixed+int(hlen):]
	c := &Checkpoint{Header: h, Sections: map[string][]float32{}}
	for _, s := range h.Sections {
		if s.Floats < 0 || s.Floats > len(rest)/4 {
			return nil, fmt.Errorf("section %q: %d floats do not fit the file", s.Name, s.Floats)
		}
		if _, dup := c.Sections[s.Name]; dup {
			return nil, fmt.Errorf("section %q appears twice", s.Name)
		}
		v := make([]float32, s.Floats)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(rest[4*i:]))
		}
		rest = rest[4*s.Floats:]
		c.Sections[s.Name] = v
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%d bytes after the last section", len(rest))
	}
	if err := h.checkSections(c.Sections); err != nil {
		return nil, err
	}
	// The trainer never saves a non-finite value: not in the parameters, nor
	// in the optimizer's state or the hidden states, where one would only show
	// up as a non-finite loss at the first step after resuming.
	for _, s := range h.Sections {
		for i, v := range c.Sections[s.Name] {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("section %q: value %d is not finite (%v)", s.Name, i, v)
			}
		}
	}
	return c, nil
}

// decodeHeader decodes and checks a header of the given format version.
func decodeHeader(version uint32, data []byte) (Header, error) {
	var h Header
	if version == 1 {
		var v1 headerV1
		if err := decodeStrict(data, &v1); err != nil { // exact keys, once each
			return Header{}, fmt.Errorf("header: %w", err)
		}
		h = v1.upgrade()
	} else if err := decodeStrict(data, &h); err != nil {
		return Header{}, fmt.Errorf("header: %w", err)
	}
	return h, h.validate()
}

// validate checks the header's own consistency: a configuration a trainer
// would accept, a vocabulary, and the tensor table of that configuration.
func (h *Header) validate() error {
	h.Config.Model.Vocab = len(h.Vocab)
	switch {
	case len(h.Vocab) == 0:
		return fmt.Errorf("header: empty vocabulary")
	case h.VocabKind != "bytes" && h.VocabKind != "runes":
		return fmt.Errorf("header: unknown vocabulary kind %q", h.VocabKind)
	}
	if err := h.Config.Validate(); err != nil {
		return fmt.Errorf("header: config: %w", err)
	}
	lay, err := NewLayout(h.Config.Model)
	if err != nil {
		return fmt.Errorf("header: %w", err)
	}
	if !lay.Equal(Layout{Tensors: h.Tensors, Floats: lay.Floats}) {
		return fmt.Errorf("header: the tensor table is not the layout of a %d-layer %s model of width %d", h.Config.Model.Layers, h.Config.Model.Cell, h.Config.Model.Hidden)
	}
	return h.checkRanges()
}

// ranks is the number of ranks that trained the checkpoint's streams.
func (h *Header) ranks() int { return max(h.Ranks, 1) }

// checkSections checks the sizes of the float sections against the header:
// the parameters against the layout, the carried states against the
// batch, and the optimizer's slabs against the parameters.
func (h *Header) checkSections(sections map[string][]float32) error {
	m := h.Config.Model
	lay, _ := NewLayout(m) // validate checked it
	params, ok := sections["params"]
	if !ok {
		return fmt.Errorf("no params section")
	}
	if len(params) != lay.Floats {
		return fmt.Errorf("params section has %d floats, a %d-layer %s model of width %d and vocabulary %d has %d", len(params), m.Layers, m.Cell, m.Hidden, m.Vocab, lay.Floats)
	}
	for name, s := range sections {
		switch {
		case name == "hidden":
			// Every stream of every rank: compared by division, as the
			// product of the header's counts may not fit an int.
			perStream := m.Layers * cells[m.Cell].StateVectors() * m.Hidden
			streams := int64(h.ranks()) * int64(h.Config.Batch)
			if len(s)%perStream != 0 || int64(len(s)/perStream) != streams {
				return fmt.Errorf("section %q has %d floats, want %d streams × %d", name, len(s), streams, perStream)
			}
		case strings.HasPrefix(name, "opt.") && len(s) != lay.Floats:
			return fmt.Errorf("section %q has %d floats, want %d", name, len(s), lay.Floats)
		}
	}
	return h.checkRanges()
}

func crc32c(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }
