package engine

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"charrnn/kernels"
)

// Fuzz targets. CI runs each for a few seconds (.ci/run); locally:
//
//	go test -run '^$' -fuzz '^FuzzDecodeCheckpoint$' -fuzztime 1m ./engine/
//
// The committed seeds live in testdata/fuzz/<Name>/. FuzzDecodeCheckpoint's
// include real trained checkpoints (written by TestFuzzSeedsAreCheckpoints
// with CHARRNN_WRITE_FUZZ_SEEDS=1), so the fuzzer starts deep in the format.

// withCRC replaces the last four bytes of data by the CRC-32C of the rest,
// so that mutations reach the decoder past the checksum.
func withCRC(data []byte) []byte {
	if len(data) < 4 {
		return data
	}
	out := bytes.Clone(data)
	binary.LittleEndian.PutUint32(out[len(out)-4:], crc32c(out[:len(out)-4]))
	return out
}

// fuzzCheckpoint is a small valid checkpoint with the sections a trainer
// saves.
func fuzzCheckpoint(hidden int, vocab []int32, opt string) *Checkpoint {
	h := testHeader(TrainConfig{Model: rnnModel(hidden), Seq: 4, Batch: 2, Optimizer: opt, LR: 0.01, Clip: Clip{Mode: "value", Limit: 5}, Seed: 3}, vocab)
	h.Data, h.Step, h.CharsSeen, h.Cursors, h.Loss = "fuzz", 9, 72, []int64{8, 40}, 1.25
	m, _ := NewModel(h.Config.Model, 3)
	ck := &Checkpoint{
		Header:   h,
		Sections: map[string][]float32{"params": m.Params, "hidden": make([]float32, 2*hidden)},
	}
	if opt == "adam" {
		ck.Sections["opt.0"] = make([]float32, len(m.Params))
		ck.Sections["opt.1"] = make([]float32, len(m.Params))
	}
	return ck
}

func FuzzDecodeCheckpoint(f *testing.F) {
	for _, ck := range []*Checkpoint{
		fuzzCheckpoint(1, []int32{'a'}, "sgd"),
		fuzzCheckpoint(3, []int32{'\n', 'a', 'b'}, "adam"),
	} {
		data, err := ck.encode()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, false)
		f.Add(data[:len(data)/2], true)
		newer := bytes.Clone(data)
		binary.LittleEndian.PutUint32(newer[8:], CheckpointVersion+1)
		f.Add(newer, true)
	}
	f.Add([]byte(checkpointMagic), false)
	f.Add([]byte{}, false)
	f.Fuzz(func(t *testing.T, data []byte, fixCRC bool) {
		if fixCRC {
			data = withCRC(data)
		}
		c, err := DecodeCheckpoint(data)
		if err != nil {
			if c != nil {
				t.Fatalf("error %v returned with a checkpoint", err)
			}
			return
		}
		checkDecoded(t, c, len(data))

		// What was accepted encodes, and decodes again to the same thing.
		again, err := c.encode()
		if err != nil {
			t.Fatalf("accepted checkpoint does not encode: %v", err)
		}
		c2, err := DecodeCheckpoint(again)
		if err != nil {
			t.Fatalf("re-encoded checkpoint rejected: %v", err)
		}
		if !sameCheckpoint(c, c2) {
			t.Fatalf("round trip changed the checkpoint:\n%+v\n%+v", c.Header, c2.Header)
		}
		third, err := c2.encode()
		if err != nil || !bytes.Equal(third, again) {
			t.Fatalf("encoding is not a fixed point (%v)", err)
		}
	})
}

// checkDecoded checks what DecodeCheckpoint promises of an accepted
// checkpoint, and that it holds no more floats than the input had bytes for.
func checkDecoded(t *testing.T, c *Checkpoint, inputLen int) {
	t.Helper()
	h := c.Header
	params := c.Sections["params"]
	if lay, err := NewLayout(h.Config.Model); err != nil || len(params) != lay.Floats {
		t.Fatalf("params %d floats for model %+v (%v)", len(params), h.Config.Model, err)
	}
	floats := 0
	for name, s := range c.Sections {
		floats += len(s)
		for _, v := range s {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("non-finite value in section %q accepted", name)
			}
		}
	}
	if 4*floats > inputLen || len(h.Vocab) > inputLen || len(h.Cursors) > inputLen {
		t.Fatalf("decoded %d floats, %d symbols, %d cursors from %d bytes", floats, len(h.Vocab), len(h.Cursors), inputLen)
	}
	if len(c.Sections) != len(h.Sections) {
		t.Fatalf("%d sections decoded, header names %d", len(c.Sections), len(h.Sections))
	}
	_ = c.Model() // the tensors fit the slab
}

// sameCheckpoint compares two checkpoints bit for bit (so -0 and 0 differ),
// ignoring the order sections were stored in.
func sameCheckpoint(a, b *Checkpoint) bool {
	ha, hb := a.Header, b.Header
	ha.Sections, hb.Sections = nil, nil
	if !reflect.DeepEqual(ha, hb) || len(a.Sections) != len(b.Sections) {
		return false
	}
	for name, s := range a.Sections {
		t, ok := b.Sections[name]
		if !ok || len(s) != len(t) {
			return false
		}
		for i := range s {
			if math.Float32bits(s[i]) != math.Float32bits(t[i]) {
				return false
			}
		}
	}
	return true
}

// TestDecodeCheckpointHostileLengths: lengths in the header that claim far
// more than the file holds are refused without allocating for them.
func TestDecodeCheckpointHostileLengths(t *testing.T) {
	build := func(header string, payload int) []byte {
		buf := []byte(checkpointMagic)
		buf = binary.LittleEndian.AppendUint32(buf, CheckpointVersion)
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(header)))
		buf = append(buf, header...)
		buf = append(buf, make([]byte, payload)...)
		return binary.LittleEndian.AppendUint32(buf, crc32c(buf))
	}
	vocab := "[" + strings.TrimSuffix(strings.Repeat("1,", 256), ",") + "]"
	hdr := func(hidden int, sections string) string {
		return fmt.Sprintf(`{"hidden":%d,"vocab_kind":"bytes","vocab":%s,"sections":[%s]}`, hidden, vocab, sections)
	}
	cases := map[string][]byte{
		"header length 4 GiB": func() []byte {
			b := build(hdr(4, `{"name":"params","floats":4}`), 16)
			binary.LittleEndian.PutUint32(b[12:], math.MaxUint32)
			return withCRC(b)
		}(),
		"section of 2^40 floats":     build(hdr(4, `{"name":"params","floats":1099511627776}`), 64),
		"section of MaxInt64 floats": build(hdr(4, `{"name":"params","floats":9223372036854775807}`), 64),
		"negative section":           build(hdr(4, `{"name":"params","floats":-1}`), 64),
		"largest hidden, tiny file":  build(hdr(MaxHidden, `{"name":"params","floats":16}`), 64),
		"hidden past the limit":      build(hdr(MaxHidden+1, `{"name":"params","floats":16}`), 64),
		"second section too long":    build(hdr(1, `{"name":"params","floats":1},{"name":"opt.0","floats":4611686018427387904}`), 64),
		"many empty sections":        build(hdr(1, manySections(1000)), 0),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			c, err := DecodeCheckpoint(data)
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatalf("accepted: %+v", c.Header)
			}
			// The JSON decoder's own buffers aside, nothing in proportion to
			// the claimed sizes.
			if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(64*len(data)+1<<20); got > limit {
				t.Fatalf("allocated %d bytes decoding %d bytes (limit %d): %v", got, len(data), limit, err)
			}
			t.Logf("refused (%v)", err)
		})
	}
}

func manySections(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"name":"x%d","floats":0},`, i)
	}
	return strings.TrimSuffix(b.String(), ",")
}

// TestDecodeCheckpointRejectsNonFiniteState: NaN or ±Inf anywhere, not only
// in the parameters, is refused even under a valid checksum.
func TestDecodeCheckpointRejectsNonFiniteState(t *testing.T) {
	for _, section := range []string{"params", "hidden", "opt.0", "opt.1"} {
		for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
			ck := fuzzCheckpoint(3, []int32{'a', 'b'}, "adam")
			ck.Sections[section][len(ck.Sections[section])-1] = bad
			data, err := ck.encode()
			if err != nil {
				t.Fatal(err)
			}
			_, err = DecodeCheckpoint(data)
			if err == nil || !strings.Contains(err.Error(), section) || !strings.Contains(err.Error(), "not finite") {
				t.Errorf("%v in section %s: %v", bad, section, err)
			}
		}
	}
}

const fuzzSeedEnv = "CHARRNN_WRITE_FUZZ_SEEDS"

// TestFuzzSeedsAreCheckpoints checks that the committed seed corpus of
// FuzzDecodeCheckpoint still holds valid checkpoints in this build's format
// (a seed that no longer decodes would keep the fuzzer at the surface). With
// CHARRNN_WRITE_FUZZ_SEEDS=1 it writes them afresh from short training runs.
func TestFuzzSeedsAreCheckpoints(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeCheckpoint")
	names := []string{"trained-adam", "trained-adagrad", "trained-sgd"}
	if os.Getenv(fuzzSeedEnv) != "" {
		corpus, vocab := writeCorpus(t, pairsText(2000, 11)+"\x00\xff é")
		for i, opt := range []string{"adam", "adagrad", "sgd"} {
			cfg := TrainConfig{Model: rnnModel(5), Seq: 6, Batch: 2, Optimizer: opt, LR: DefaultLR(opt), Clip: Clip{Mode: "value", Limit: 5}, Seed: 4}
			tr, err := NewTrainer(cfg, kernels.Best(), corpus, vocab)
			if err != nil {
				t.Fatal(err)
			}
			for range 5 {
				if _, err := tr.TrainStep(); err != nil {
					t.Fatal(err)
				}
			}
			tr.Data, tr.smoothed = "seed", 2.5
			ck, err := tr.Checkpoint()
			if err != nil {
				t.Fatal(err)
			}
			data, err := ck.encode()
			if err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			seed := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nbool(false)\n", data)
			if err := os.WriteFile(filepath.Join(dir, names[i]), []byte(seed), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, name := range names {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("seed %s: %v (write the seeds with %s=1)", name, err, fuzzSeedEnv)
		}
		data, err := parseBytesSeed(string(raw))
		if err != nil {
			t.Fatalf("seed %s: %v", name, err)
		}
		if _, err := DecodeCheckpoint(data); err != nil {
			t.Fatalf("seed %s is no longer a valid checkpoint (rewrite with %s=1): %v", name, fuzzSeedEnv, err)
		}
	}
}

// parseBytesSeed reads the []byte argument of a seed file written above.
func parseBytesSeed(s string) ([]byte, error) {
	lines := strings.Split(s, "\n")
	if len(lines) < 2 || lines[0] != "go test fuzz v1" || !strings.HasPrefix(lines[1], "[]byte(") || !strings.HasSuffix(lines[1], ")") {
		return nil, fmt.Errorf("not a go fuzz seed with a []byte first")
	}
	var out string
	if _, err := fmt.Sscanf(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"), "%q", &out); err != nil {
		return nil, err
	}
	return []byte(out), nil
}

// FuzzSamplerParams: for any finite model (weights as large as float32
// allows, so logits can overflow to ±Inf or become NaN), any positive finite
// temperature and any prime, the sampler never panics and always returns an
// id in range; with finite logits it only draws ids of non-zero probability,
// and greedy draws a most likely one.
//
// Non-finite parameters never reach a sampler: LoadCheckpoint refuses them,
// and -temperature must be positive and finite (ValidateTemperature, checked
// here too). Which id is drawn when the logits themselves are not finite is
// not specified: today Next returns the last id whenever a logit is +Inf or
// NaN, rather than one of the +Inf ones. Only weights near float32's limit
// get there, which training never produces.
func FuzzSamplerParams(f *testing.F) {
	f.Add(uint64(1), 1.0, false, uint8(7), uint16(10), []byte{1, 2, 3, 4}, []byte("ab"))
	f.Add(uint64(2), 1e-300, false, uint8(3), uint16(255), []byte{0xff, 0xff, 0x7f, 0x7f}, []byte{0, 1})
	f.Add(uint64(3), 1e300, false, uint8(0), uint16(0), []byte{}, []byte{})
	f.Add(uint64(4), 5e-324, true, uint8(15), uint16(2), []byte{0, 0, 0x80, 0xff, 0, 0, 0x80, 0x7f}, []byte{9})
	f.Add(uint64(5), math.MaxFloat64, false, uint8(1), uint16(299), []byte{0xff, 0xff, 0x7f, 0xff}, []byte{1, 1, 1})
	k := kernels.Best()
	f.Fuzz(func(t *testing.T, seed uint64, temperature float64, greedy bool, hidden uint8, vocab uint16, weights, prime []byte) {
		if err := ValidateTemperature(temperature); (err == nil) != (temperature > 0 && !math.IsInf(temperature, 0) && !math.IsNaN(temperature)) {
			t.Fatalf("ValidateTemperature(%v) = %v", temperature, err)
		} else if err != nil {
			return // the CLI refuses it
		}
		H, V := 1+int(hidden%16), 1+int(vocab%300)
		m, err := NewModel(rnnShape(H, V), seed)
		if err != nil {
			t.Fatal(err)
		}
		// Weights from the input, cycled over the slab; a non-finite one
		// becomes the largest finite float of its sign (LoadCheckpoint refuses
		// non-finite parameters, so no model holds one).
		if n := len(weights) / 4; n > 0 {
			for i := range m.Params {
				v := math.Float32frombits(binary.LittleEndian.Uint32(weights[4*(i%n):]))
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					v = float32(math.Copysign(math.MaxFloat32, float64(v)))
				}
				m.Params[i] = v
			}
		}
		s := NewSampler(k, m, seed)
		s.Temperature, s.Greedy = temperature, greedy
		ids := make([]int32, len(prime))
		for i, b := range prime {
			ids[i] = int32(int(b) % V)
		}
		s.Prime(ids)
		for range 8 {
			logits := append([]float32(nil), s.logits...)
			id := s.Next()
			if id < 0 || int(id) >= V {
				t.Fatalf("Next() = %d, vocabulary %d", id, V)
			}
			finite, maxv := true, math.Inf(-1)
			for _, l := range logits {
				finite = finite && !math.IsNaN(float64(l)) && !math.IsInf(float64(l), 0)
				maxv = math.Max(maxv, float64(l))
			}
			if finite && greedy && float64(logits[id]) != maxv {
				t.Fatalf("greedy drew id %d (logit %v), the maximum is %v", id, logits[id], maxv)
			}
			if finite && !greedy && math.Exp((float64(logits[id])-maxv)/temperature) == 0 {
				t.Fatalf("drew id %d of zero probability (logit %v, max %v, temperature %v)", id, logits[id], maxv, temperature)
			}
			s.Feed(id)
		}
	})
}

// FuzzTokenWindow: the corpus is the input cut into up to three files; any
// window either lies inside the corpus and maps back to exactly its bytes,
// fails naming the byte a vocabulary without it lacks, or lies outside and
// fails.
func FuzzTokenWindow(f *testing.F) {
	f.Add([]byte("hello, world"), uint16(3), uint16(7), int64(2), uint16(5), byte('o'), false)
	f.Add([]byte("\x00\xff\x00"), uint16(1), uint16(2), int64(0), uint16(3), byte(0), true)
	f.Add([]byte("abc"), uint16(0), uint16(0), int64(-1), uint16(1), byte('a'), false)
	f.Add([]byte("abcdef"), uint16(6), uint16(6), int64(5), uint16(2), byte('z'), true)
	// One directory for every input: a fuzzing process runs them one at a
	// time, and making a directory per input would be most of the work.
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, cut1, cut2 uint16, pos int64, n uint16, drop byte, dropIt bool) {
		if len(data) == 0 {
			return
		}
		a, b := int(cut1)%(len(data)+1), int(cut2)%(len(data)+1)
		a, b = min(a, b), max(a, b)
		for i, part := range [][]byte{data[:a], data[a:b], data[b:]} {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprint(i)), part, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		c, err := OpenCorpus(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if c.Size() != int64(len(data)) {
			t.Fatalf("corpus of %d bytes from %d", c.Size(), len(data))
		}
		full, err := BuildByteVocab(c)
		if err != nil {
			t.Fatal(err)
		}
		v := full
		if dropIt && full.Size() > 1 {
			var syms []int32
			for _, s := range full.Symbols {
				if s != int32(drop) {
					syms = append(syms, s)
				}
			}
			if v, err = NewByteVocab(syms); err != nil {
				t.Fatal(err)
			}
		}
		dst := make([]int32, int(n)%(len(data)+2))
		err = tokenWindow(v.NewTokenStream(c), pos, dst)
		if pos < 0 || pos+int64(len(dst)) > int64(len(data)) {
			if err == nil {
				t.Fatalf("window [%d, %d) of a %d-byte corpus accepted", pos, pos+int64(len(dst)), len(data))
			}
			return
		}
		win := data[pos : pos+int64(len(dst))]
		missing := -1
		for i, ch := range win {
			if _, ok := v.ID(int32(ch)); !ok {
				missing = i
				break
			}
		}
		if missing >= 0 {
			if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("at offset %d ", pos+int64(missing))) {
				t.Fatalf("window over missing byte %#x at %d: %v", win[missing], pos+int64(missing), err)
			}
			return
		}
		if err != nil {
			t.Fatalf("window [%d, %d): %v", pos, pos+int64(len(dst)), err)
		}
		if got := v.Decode(dst); got != string(win) {
			t.Fatalf("window [%d, %d) = %q, want %q", pos, pos+int64(len(dst)), got, win)
		}
	})
}

// FuzzDecodeSafetensors feeds hostile exports to the importer: it must
// never panic, never accept a file whose tensors do not fit the header, and
// anything it accepts must export back to a file that imports to the same
// model.
func FuzzDecodeSafetensors(f *testing.F) {
	for _, vocab := range []*Vocab{mustByteVocab([]int32{'a', 'b', 'c'}), mustRuneVocab([]int32{RuneUnknown, 'x', 'é'})} {
		m, _ := NewModel(rnnShape(4, vocab.Size()), 1)
		data, err := EncodeSafetensors(m, vocab)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte{})
	f.Add([]byte{8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, vocab, err := DecodeSafetensors(data)
		if err != nil {
			return
		}
		if len(m.Params)*4 > len(data) {
			t.Fatalf("accepted %d parameters from %d bytes", len(m.Params), len(data))
		}
		again, err := EncodeSafetensors(m, vocab)
		if err != nil {
			t.Fatalf("accepted model does not export: %v", err)
		}
		m2, vocab2, err := DecodeSafetensors(again)
		if err != nil {
			t.Fatalf("re-export does not import: %v", err)
		}
		if !reflect.DeepEqual(m.Params, m2.Params) || !reflect.DeepEqual(vocab.Symbols, vocab2.Symbols) || vocab.Kind != vocab2.Kind {
			t.Fatal("re-export imports to a different model")
		}
	})
}

func mustByteVocab(symbols []int32) *Vocab {
	v, err := NewByteVocab(symbols)
	if err != nil {
		panic(err)
	}
	return v
}

func mustRuneVocab(symbols []int32) *Vocab {
	v, err := NewVocab(VocabRunes, symbols)
	if err != nil {
		panic(err)
	}
	return v
}
