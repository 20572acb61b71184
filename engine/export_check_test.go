package engine_test

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"charrnn/engine"
	"charrnn/kernels"
)

// TestExportMatchesEquations exports a trained model, reads the file back
// with a reader written here from the safetensors format alone (not the
// engine's), recomputes the loss of a text with the notebook's equations in
// float64 from a zero state,
//
//	h = tanh(W h + U x + b)    y = softmax(V h + c)    loss = mean -log y[next]
//
// and compares it with engine.Evaluate.
func TestExportMatchesEquations(t *testing.T) {
	dir := t.TempDir()
	text := strings.Repeat("to be, or not to be: that is the question.\n", 30)
	corpusPath := filepath.Join(dir, "text.txt")
	if err := os.WriteFile(corpusPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	corpus, err := engine.OpenCorpus(corpusPath)
	if err != nil {
		t.Fatal(err)
	}
	defer corpus.Close()
	vocab, err := engine.BuildByteVocab(corpus)
	if err != nil {
		t.Fatal(err)
	}
	k := kernels.Best()
	cfg := engine.TrainConfig{Model: engine.ModelConfig{Cell: "rnn", Layers: 1, Hidden: 24}, Seq: 16, Batch: 2, Optimizer: "adam", LR: 0.01, Clip: engine.Clip{Mode: "value", Limit: 5}, Seed: 4}
	tr, err := engine.NewTrainer(cfg, k, corpus, vocab)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 60; i++ {
		if _, err := tr.TrainStep(); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "m.safetensors")
	if err := engine.ExportSafetensors(path, tr.Model, vocab); err != nil {
		t.Fatal(err)
	}

	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f := readSafetensorsIndependently(t, file)
	if f.meta["vocab_kind"] != "bytes" {
		t.Fatalf("vocab_kind %q", f.meta["vocab_kind"])
	}
	var symbols []int
	if err := json.Unmarshal([]byte(f.meta["vocab"]), &symbols); err != nil {
		t.Fatalf("vocab metadata: %v", err)
	}
	id := map[byte]int{}
	for i, s := range symbols {
		id[byte(s)] = i
	}
	U, W, V, b, c := f.tensors["U"], f.tensors["W"], f.tensors["V"], f.tensors["b"], f.tensors["c"]
	H, nv := len(b.data), len(c.data)
	if nv != len(symbols) || U.shape != [2]int{H, nv} || W.shape != [2]int{H, H} || V.shape != [2]int{nv, H} {
		t.Fatalf("shapes: U %v W %v V %v b %d c %d, vocab %d", U.shape, W.shape, V.shape, H, nv, len(symbols))
	}

	h, a := make([]float64, H), make([]float64, H)
	o := make([]float64, nv)
	var total float64
	for i := 0; i+1 < len(text); i++ {
		x, next := id[text[i]], id[text[i+1]]
		for r := 0; r < H; r++ {
			s := b.data[r] + U.data[r*nv+x] // U x with x one-hot
			for j := 0; j < H; j++ {
				s += W.data[r*H+j] * h[j]
			}
			a[r] = math.Tanh(s)
		}
		h, a = a, h
		maxo := math.Inf(-1)
		for r := 0; r < nv; r++ {
			s := c.data[r]
			for j := 0; j < H; j++ {
				s += V.data[r*H+j] * h[j]
			}
			o[r] = s
			maxo = math.Max(maxo, s)
		}
		var z float64
		for _, v := range o {
			z += math.Exp(v - maxo)
		}
		total += -(o[next] - maxo - math.Log(z))
	}
	loss := total / float64(len(text)-1)
	for _, k := range kernels.Supported() {
		ev, err := engine.Evaluate(k, tr.Model, vocab, corpus)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: independent loss %.7f, engine.Evaluate %.7f (%d characters)", k.Name(), loss, ev.LossNats, ev.Chars)
		if ev.Chars != int64(len(text)-1) {
			t.Fatalf("Evaluate counted %d characters, want %d", ev.Chars, len(text)-1)
		}
		// float32 arithmetic in the engine, float64 here: agreement to a
		// few units in float32's sixth digit.
		if math.Abs(loss-ev.LossNats) > 1e-5*loss {
			t.Fatalf("%s: loss from the exported file %.7f differs from engine.Evaluate's %.7f", k.Name(), loss, ev.LossNats)
		}
	}
}

type independentTensor struct {
	shape [2]int // rank-1 tensors have shape[1] == 0
	data  []float64
}

type independentFile struct {
	tensors map[string]independentTensor
	meta    map[string]string
}

// readSafetensorsIndependently parses the safetensors layout directly:
// an 8-byte little-endian header length, a JSON header, then the data.
func readSafetensorsIndependently(t *testing.T, file []byte) independentFile {
	t.Helper()
	n := binary.LittleEndian.Uint64(file[:8])
	if (8+n)%8 != 0 {
		t.Fatalf("data starts at byte %d, not 8-aligned", 8+n)
	}
	var header map[string]json.RawMessage
	if err := json.Unmarshal(file[8:8+n], &header); err != nil {
		t.Fatalf("header: %v", err)
	}
	data := file[8+n:]
	out := independentFile{tensors: map[string]independentTensor{}}
	if err := json.Unmarshal(header["__metadata__"], &out.meta); err != nil {
		t.Fatalf("metadata: %v", err)
	}
	var covered int
	for name, raw := range header {
		if name == "__metadata__" {
			continue
		}
		var e struct {
			Dtype   string `json:"dtype"`
			Shape   []int  `json:"shape"`
			Offsets [2]int `json:"data_offsets"`
		}
		if err := json.Unmarshal(raw, &e); err != nil || e.Dtype != "F32" {
			t.Fatalf("tensor %s: %s (%v)", name, raw, err)
		}
		var tt independentTensor
		copy(tt.shape[:], e.Shape)
		for i := e.Offsets[0]; i < e.Offsets[1]; i += 4 {
			tt.data = append(tt.data, float64(math.Float32frombits(binary.LittleEndian.Uint32(data[i:]))))
		}
		out.tensors[name] = tt
		covered += e.Offsets[1] - e.Offsets[0]
	}
	if covered != len(data) || len(out.tensors) != 5 {
		t.Fatalf("%d tensors cover %d of %d data bytes", len(out.tensors), covered, len(data))
	}
	return out
}
