package engine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// testHeader is a checkpoint header for a run of configuration c over a
// byte vocabulary, with its tensor table.
func testHeader(c TrainConfig, vocab []int32) Header {
	c.Model.Vocab = len(vocab)
	lay, err := NewLayout(c.Model)
	if err != nil {
		panic(err)
	}
	return Header{Config: c, VocabKind: VocabBytes, Vocab: vocab, Tensors: lay.Tensors, Train: NewTrainState()}
}

func sampleCheckpoint(t *testing.T) (*Checkpoint, []byte) {
	t.Helper()
	cfg := TrainConfig{Model: rnnModel(6), Seq: 5, Batch: 1, Optimizer: "sgd", LR: 0.1, Clip: Clip{Mode: "none"}}
	h := testHeader(cfg, []int32{'a', 'b', 'c', 'd'})
	h.Cursors = []int64{0}
	m, _ := NewModel(h.Config.Model, 1)
	ck := &Checkpoint{
		Header:   h,
		Sections: map[string][]float32{"params": m.Params, "hidden": make([]float32, 6)},
	}
	data, err := ck.encode()
	if err != nil {
		t.Fatal(err)
	}
	return ck, data
}

func TestCheckpointDecodeRejectsDamage(t *testing.T) {
	_, data := sampleCheckpoint(t)
	if _, err := DecodeCheckpoint(data); err != nil {
		t.Fatalf("intact checkpoint rejected: %v", err)
	}
	for i := 0; i < 16; i++ {
		cut := len(data) * i / 16
		if _, err := DecodeCheckpoint(data[:cut]); err == nil {
			t.Fatalf("checkpoint truncated to %d of %d bytes accepted", cut, len(data))
		}
	}
	for off := 0; off < len(data); off += 7 {
		bad := bytes.Clone(data)
		bad[off] ^= 1 << (off % 8)
		if _, err := DecodeCheckpoint(bad); err == nil {
			t.Fatalf("checkpoint with a bit flipped at byte %d accepted", off)
		}
	}
	foreign := bytes.Clone(data)
	copy(foreign, "PK\x03\x04")
	if _, err := DecodeCheckpoint(foreign); !errors.Is(err, ErrNotCheckpoint) {
		t.Fatalf("foreign file: got %v, want ErrNotCheckpoint", err)
	}
	newer := bytes.Clone(data[:len(data)-4])
	binary.LittleEndian.PutUint32(newer[8:], CheckpointVersion+1)
	newer = binary.LittleEndian.AppendUint32(newer, crc32c(newer))
	if _, err := DecodeCheckpoint(newer); err == nil || !bytes.Contains([]byte(err.Error()), []byte("newer")) {
		t.Fatalf("newer format version: got %v", err)
	}
}

func TestCheckpointSaveIsAtomic(t *testing.T) {
	ck, _ := sampleCheckpoint(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "m.ckpt")
	if err := ck.Save(path); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)

	// A save that cannot be encoded leaves the old file as it was and no
	// temporary file behind.
	broken := &Checkpoint{Header: ck.Header, Sections: map[string][]float32{}}
	if err := broken.Save(path); err == nil {
		t.Fatal("saving a checkpoint without parameters succeeded")
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("failed save modified the existing checkpoint")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries after a failed save, want 1", len(entries))
	}
	if err := ck.Save(filepath.Join(dir, "missing", "m.ckpt")); err == nil {
		t.Fatal("saving into a missing directory succeeded")
	}
}

// mustCheckpoint is tr's checkpoint.
func mustCheckpoint(t testing.TB, tr *Trainer) *Checkpoint {
	t.Helper()
	ck, err := tr.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	return ck
}
