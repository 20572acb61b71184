package engine

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeStrict(t *testing.T) {
	type inner struct {
		Rate float64 `json:"rate"`
	}
	type outer struct {
		Name   string            `json:"name"`
		Count  int               `json:"count,omitempty"`
		Inner  *inner            `json:"inner,omitempty"`
		Items  []inner           `json:"items"`
		Meta   map[string]string `json:"meta"`
		Raw    []json.RawMessage `json:"raw"`
		Hidden int               `json:"-"`
		Plain  bool
	}
	good := `{"name":"x","count":3,"inner":{"rate":0.5},"items":[{"rate":1},{"rate":2}],"meta":{"a":"b"},"raw":[{"Any":1,"any":2}],"Plain":true}`
	var v outer
	if err := decodeStrict([]byte(good), &v); err != nil {
		t.Fatal(err)
	}
	if v.Name != "x" || v.Count != 3 || v.Inner.Rate != 0.5 || len(v.Items) != 2 || v.Items[1].Rate != 2 || v.Meta["a"] != "b" || len(v.Raw) != 1 || !v.Plain {
		t.Fatalf("decoded %+v", v)
	}
	if err := decodeStrict([]byte(`{"inner":null,"items":null}`), &v); err != nil || v.Inner != nil || v.Items != nil {
		t.Fatalf("nulls: %v, %+v", err, v)
	}
	for _, c := range []struct{ json, want string }{
		{`{"Name":"x"}`, `field "Name" must be spelled "name"`},
		{`{"plain":true}`, `field "plain" must be spelled "Plain"`},
		{`{"inner":{"RATE":1}}`, `field "inner.RATE" must be spelled "inner.rate"`},
		{`{"items":[{"rate":1},{"rAte":2}]}`, `field "items.1.rAte" must be spelled "items.1.rate"`},
		{`{"name":"x","name":"y"}`, `key "name" appears twice`},
		{`{"inner":{"rate":1,"rate":2}}`, `inner: key "rate" appears twice`},
		{`{"meta":{"a":"b","a":"c"}}`, `meta: key "a" appears twice`},
		{`{"extra":1}`, `unknown field "extra"`},
		{`{"Hidden":1}`, `unknown field "Hidden"`},
		{`{"count":"3"}`, `count: json: cannot unmarshal`},
		{`{"name":"x"} {}`, `trailing data`},
		{`[1]`, `want a JSON object`},
		{`null`, `want a JSON object`},
		{`{"name":`, `unexpected EOF`},
	} {
		var v outer
		if err := decodeStrict([]byte(c.json), &v); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.json, err, c.want)
		}
	}
}

// strictSafetensorsCases are exports whose headers encoding/json alone
// would take (a key in another case, a key twice, or one it does not know
// under a case it ignores), named for the fuzz seeds; each edits the
// fixture's header.
var strictSafetensorsCases = []struct {
	name, old, new, want string
}{
	{"key-case-shape", `"W":{"dtype":"F32","shape"`, `"W":{"dtype":"F32","sHape"`, `"sHape" must be spelled "shape"`},
	{"key-case-dtype", `"b":{"dtype"`, `"b":{"DTYPE"`, `"DTYPE" must be spelled "dtype"`},
	{"key-case-offsets", `"c":{"dtype":"F32","shape":[4],"data_offsets"`, `"c":{"dtype":"F32","shape":[4],"Data_Offsets"`, `"Data_Offsets" must be spelled "data_offsets"`},
	{"duplicate-entry-key", `"W":{"dtype":"F32",`, `"W":{"dtype":"F32","dtype":"F32",`, `key "dtype" appears twice`},
	{"duplicate-tensor", `"W":{`, `"W":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"W":{`, `key "W" appears twice`},
	{"duplicate-metadata-key", `"vocab_kind":"bytes"`, `"vocab_kind":"runes","vocab_kind":"bytes"`, `key "vocab_kind" appears twice`},
	{"duplicate-metadata", `,"__metadata__":{`, `,"__metadata__":{},"__metadata__":{`, `key "__metadata__" appears twice`},
	{"unknown-entry-key", `"U":{"dtype":"F32",`, `"U":{"dtype":"F32","Dtype2":1,`, `unknown field "Dtype2"`},
}

// strictSafetensors returns the fixture export with c's edit.
func strictSafetensors(t *testing.T, old, new string) []byte {
	t.Helper()
	_, _, data := exportFixture(t)
	n := binary.LittleEndian.Uint64(data)
	hdr, body := string(data[8:8+n]), data[8+n:]
	if !strings.Contains(hdr, old) {
		t.Fatalf("fixture header lacks %s", old)
	}
	return rebuild(strings.Replace(hdr, old, new, 1), body)
}

// TestSafetensorsHeaderIsStrict: keys must be spelled exactly and appear
// once, in the tensor entries, at the top and in the metadata.
func TestSafetensorsHeaderIsStrict(t *testing.T) {
	for _, c := range strictSafetensorsCases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := DecodeSafetensors(strictSafetensors(t, c.old, c.new))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error saying %q", err, c.want)
			}
		})
	}
}

// TestCheckpointHeaderIsStrict: the same for a checkpoint's header, nested
// objects included.
func TestCheckpointHeaderIsStrict(t *testing.T) {
	good := rangeCheckpoint(t)
	hlen := binary.LittleEndian.Uint32(good[12:])
	hdr := string(good[16 : 16+hlen])
	for _, c := range []struct{ old, new, want string }{
		{`"hidden":`, `"Hidden":`, `"config.model.Hidden" must be spelled "config.model.hidden"`},
		{`"step":9`, `"step":9,"step":10`, `key "step" appears twice`},
		{`"lr_scale":`, `"LR_scale":`, `"train.LR_scale" must be spelled "train.lr_scale"`},
		{`"plateau_scale":`, `"Plateau_Scale":`, `"train.schedule.Plateau_Scale" must be spelled`},
		{`{"name":"params"`, `{"NAME":"params"`, `"sections.0.NAME" must be spelled "sections.0.name"`},
		{`"kind":"plateau"`, `"kind":"plateau","kind":"step"`, `config.schedule: key "kind" appears twice`},
	} {
		if !strings.Contains(hdr, c.old) {
			t.Fatalf("header lacks %s: %s", c.old, hdr)
		}
		edited := strings.Replace(hdr, c.old, c.new, 1)
		out := bytes.Clone(good[:12])
		out = binary.LittleEndian.AppendUint32(out, uint32(len(edited)))
		out = append(append(out, edited...), good[16+hlen:]...)
		if _, err := DecodeCheckpoint(withCRC(out)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s -> %s: got %v, want %q", c.old, c.new, err, c.want)
		}
	}
}

// TestStrictSafetensorsFuzzSeeds keeps FuzzDecodeSafetensors's strict-key
// seeds (testdata/fuzz/FuzzDecodeSafetensors/strict-*) refused for their
// reason; with CHARRNN_WRITE_FUZZ_SEEDS=1 it writes them.
func TestStrictSafetensorsFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeSafetensors")
	for _, c := range strictSafetensorsCases {
		data := committedSeed(t, filepath.Join(dir, "strict-"+c.name), func() []byte { return strictSafetensors(t, c.old, c.new) }, "")
		if _, _, err := DecodeSafetensors(data); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("seed strict-%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// FuzzDecodeStrictHeader: the strict decoder accepts a subset of what
// encoding/json (with unknown fields disallowed) accepts, decodes it to the
// same header, and accepts its own output again.
func FuzzDecodeStrictHeader(f *testing.F) {
	good := rangeCheckpoint(f)
	hdr := good[16 : 16+binary.LittleEndian.Uint32(good[12:])]
	f.Add(bytes.Clone(hdr))
	f.Add([]byte(`{"hidden":1,"Hidden":2}`))
	f.Add([]byte(`{"train":{"lr_scale":1,"lr_scale":0.5},"sections":[{"name":"a","NAME":"b"}]}`))
	f.Add([]byte(`{"schedule":null,"history":[{"x":1,"X":2}],"cursors":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var strict Header
		if decodeStrict(data, &strict) != nil {
			return
		}
		var loose Header
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&loose); err != nil {
			t.Fatalf("strict accepted what encoding/json refuses (%v): %q", err, data)
		}
		if !reflect.DeepEqual(strict, loose) {
			t.Fatalf("strict and encoding/json differ:\n%+v\n%+v", strict, loose)
		}
		again, err := json.Marshal(strict)
		if err != nil {
			return // a value JSON cannot hold; not the decoder's concern
		}
		var back Header
		if err := decodeStrict(again, &back); err != nil {
			t.Fatalf("strict refuses encoding/json's own output %s: %v", again, err)
		}
	})
}
