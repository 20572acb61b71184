package engine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func exportFixture(t *testing.T) (*Model, *Vocab, []byte) {
	t.Helper()
	m, err := NewModel(rnnShape(5, 4), 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Tensor("b") {
		m.Tensor("b")[i] = float32(i) / 10
	}
	for i := range m.Tensor("c") {
		m.Tensor("c")[i] = -float32(i) / 7
	}
	v, err := NewByteVocab([]int32{'\n', 'a', 'b', 0xe9})
	if err != nil {
		t.Fatal(err)
	}
	data, err := EncodeSafetensors(m, v)
	if err != nil {
		t.Fatal(err)
	}
	return m, v, data
}

func TestSafetensorsRoundTrip(t *testing.T) {
	m, v, data := exportFixture(t)
	n := binary.LittleEndian.Uint64(data)
	if (8+n)%8 != 0 {
		t.Fatalf("header length %d leaves the data unaligned", n)
	}
	hdr := string(data[8 : 8+n])
	for _, want := range []string{`"U":{"dtype":"F32","shape":[5,4],"data_offsets":[0,80]}`, `"vocab":"[10,97,98,233]"`, `"vocab_kind":"bytes"`} {
		if !strings.Contains(hdr, want) {
			t.Fatalf("header %s lacks %s", hdr, want)
		}
	}
	// U is H×Vocab in the file: element (i, x) is the slab's U[x*H+i].
	u0 := data[8+n:]
	if got := binary.LittleEndian.Uint32(u0[4*(2*4+3):]); got != mathBits(m.Tensor("U")[3*5+2]) {
		t.Fatal("U is not transposed to H×Vocab in the file")
	}
	m2, v2, err := DecodeSafetensors(data)
	if err != nil {
		t.Fatal(err)
	}
	if m2.Config.Hidden != 5 || m2.Config.Vocab != 4 || !slices.Equal(m2.Params, m.Params) {
		t.Fatal("decoded parameters differ")
	}
	if v2.Kind != v.Kind || !slices.Equal(v2.Symbols, v.Symbols) {
		t.Fatalf("decoded vocabulary %v %v", v2.Kind, v2.Symbols)
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	if err := ExportSafetensors(path, m, v); err != nil {
		t.Fatal(err)
	}
	if m3, _, err := LoadSafetensors(path); err != nil || !slices.Equal(m3.Params, m.Params) {
		t.Fatalf("load after export: %v", err)
	}
	if err := ExportSafetensors(filepath.Join(dir, "missing", "m.safetensors"), m, v); err == nil {
		t.Fatal("export into a missing directory succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("export left %d entries, want 1", len(entries))
	}
}

func mathBits(f float32) uint32 { return math.Float32bits(f) }

// rebuild makes a file from a header and data.
func rebuild(header string, body []byte) []byte {
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(out, header...), body...)
}

func TestSafetensorsRejectsMalformed(t *testing.T) {
	_, _, data := exportFixture(t)
	n := binary.LittleEndian.Uint64(data)
	hdr, body := string(data[8:8+n]), data[8+n:]
	edit := func(old, new string) []byte {
		if !strings.Contains(hdr, old) {
			t.Fatalf("fixture header lacks %s", old)
		}
		return rebuild(strings.Replace(hdr, old, new, 1), body)
	}
	huge := bytes.Clone(data)
	binary.LittleEndian.PutUint64(huge, 1<<62)
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not a safetensors"},
		{"huge header length", huge, "header length"},
		{"not JSON", rebuild("{nope", body), "header"},
		{"not an object", rebuild("[1,2]   ", body), "not a safetensors"},
		{"trailing JSON", rebuild(hdr+"{}", body), "trailing"},
		{"wrong dtype", edit(`"W":{"dtype":"F32"`, `"W":{"dtype":"F16"`), "dtype"},
		{"unknown tensor", edit(`"W":`, `"X":`), "unexpected tensor"},
		{"unknown field", edit(`"dtype":"F32"`, `"dtype":"F32","extra":1`), "unknown field"},
		{"wrong shape", edit(`"shape":[5,4]`, `"shape":[4,5]`), "shape"},
		{"negative dimension", edit(`"shape":[5,4]`, `"shape":[-5,4]`), "out of range"},
		{"offset past the data", edit(`"data_offsets":[0,80]`, `"data_offsets":[0,800000]`), "do not fit"},
		{"reversed offsets", edit(`"data_offsets":[0,80]`, `"data_offsets":[80,0]`), "do not fit"},
		{"one offset", edit(`"data_offsets":[0,80]`, `"data_offsets":[0]`), "do not fit"},
		{"no metadata", edit(`,"__metadata__"`, `,"__other__"`), "no __metadata__"},
		{"metadata not strings", edit(`"vocab_kind":"bytes"`, `"vocab_kind":7`), "strings"},
		{"vocab not a list", edit(`"vocab":"[10,97,98,233]"`, `"vocab":"ab"`), "JSON array"},
		{"vocab too short", edit(`"vocab":"[10,97,98,233]"`, `"vocab":"[10,97,98]"`), "3 symbols"},
		{"vocab not ascending", edit(`"vocab":"[10,97,98,233]"`, `"vocab":"[10,98,97,233]"`), "ascending"},
		{"unknown vocab kind", edit(`"vocab_kind":"bytes"`, `"vocab_kind":"words"`), "words"},
		{"truncated data", data[:len(data)-4], "do not fit"},
		{"extra data", append(bytes.Clone(data), 0, 0, 0, 0), "after the last tensor"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := DecodeSafetensors(c.data)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error mentioning %q", err, c.want)
			}
		})
	}
	if _, _, err := DecodeSafetensors([]byte(checkpointMagic + "\x01\x00\x00\x00")); !errors.Is(err, ErrNotSafetensors) || !strings.Contains(err.Error(), "checkpoint") {
		t.Fatalf("checkpoint given as safetensors: %v", err)
	}
	if _, _, err := DecodeSafetensors([]byte("PK\x03\x04 not this")); !errors.Is(err, ErrNotSafetensors) {
		t.Fatalf("foreign file: %v", err)
	}
}

// Damaged files are rejected or decoded, never a panic.
func TestSafetensorsDamageNeverPanics(t *testing.T) {
	_, _, data := exportFixture(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 3000; i++ {
		bad := bytes.Clone(data)
		for j := rng.IntN(4); j >= 0; j-- {
			bad[rng.IntN(len(bad))] = byte(rng.IntN(256))
		}
		if rng.IntN(4) == 0 {
			bad = bad[:rng.IntN(len(bad))]
		}
		DecodeSafetensors(bad)
	}
	for cut := 0; cut < len(data); cut++ {
		if _, _, err := DecodeSafetensors(data[:cut]); err == nil {
			t.Fatalf("file cut to %d of %d bytes accepted", cut, len(data))
		}
	}
}

// A gated model's file with a gate tensor missing, misshapen, or of another
// cell's shape is refused with a line naming the tensor.
func TestSafetensorsRejectsBadGateTensors(t *testing.T) {
	c := ModelConfig{Cell: "lstm", Layers: 2, Hidden: 4, Vocab: 3}
	m, err := NewModel(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := NewByteVocab([]int32{'a', 'b', 'c'})
	data, err := EncodeSafetensors(m, v)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(data)
	hdr, body := string(data[8:8+n]), data[8+n:]
	rebuild := func(h string) []byte {
		for (8+len(h))%8 != 0 {
			h += " "
		}
		out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
		return append(append(out, h...), body...)
	}
	for _, c := range []struct{ name, from, to, want string }{
		{"missing", `"rnn.weight_hh_l1":`, `"rnn.weight_hh_lX":`, "rnn.weight_hh_l"},
		{"misshapen", `"rnn.weight_hh_l1":{"dtype":"F32","shape":[16,4]`, `"rnn.weight_hh_l1":{"dtype":"F32","shape":[4,16]`, "rnn.weight_hh_l1 has shape"},
		{"another cell", `"cell":"lstm"`, `"cell":"gru"`, "shape"},
	} {
		if !strings.Contains(hdr, c.from) {
			t.Fatalf("%s: header lacks %s: %s", c.name, c.from, hdr)
		}
		_, _, err := DecodeSafetensors(rebuild(strings.Replace(hdr, c.from, c.to, 1)))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", c.name, err, c.want)
		}
	}
}
