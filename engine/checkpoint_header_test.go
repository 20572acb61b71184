package engine

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rangeCheckpoint is a valid checkpoint with every header field set,
// validation and plateau state included.
func rangeCheckpoint(t testing.TB) []byte {
	t.Helper()
	ck := fuzzCheckpoint(3, []int32{'\n', 'a', 'b'}, "adam")
	h := &ck.Header
	h.Config.ValFrac = 0.1
	h.Config.Schedule = Schedule{Kind: "plateau", Warmup: 2, Decay: 0.5, PlateauPatience: 2}
	h.Train = TrainState{Schedule: ScheduleState{PlateauScale: 0.5, PlateauBad: 1}, LRScale: 0.5, Rollbacks: 1, BestVal: 1.5, BestValStep: 8, BadEvals: 1}
	data, err := ck.encode()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// editHeader rebuilds a checkpoint with its JSON header edited by edit,
// under a valid checksum.
func editHeader(t testing.TB, ck []byte, edit func(h map[string]any)) []byte {
	t.Helper()
	hlen := binary.LittleEndian.Uint32(ck[12:])
	var h map[string]any
	dec := json.NewDecoder(bytes.NewReader(ck[16 : 16+hlen]))
	dec.UseNumber() // int64 counters stay exact
	if err := dec.Decode(&h); err != nil {
		t.Fatal(err)
	}
	edit(h)
	hdr, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	out := bytes.Clone(ck[:12])
	out = binary.LittleEndian.AppendUint32(out, uint32(len(hdr)))
	out = append(out, hdr...)
	out = append(out, ck[16+hlen:]...)
	return withCRC(out)
}

// set returns an edit that sets a field, "train.x" and "config.x" inside
// those objects.
func set(field string, value any) func(h map[string]any) {
	return func(h map[string]any) {
		obj, path := h, field
		for {
			head, rest, nested := strings.Cut(path, ".")
			if !nested {
				obj[head] = value
				return
			}
			obj, path = obj[head].(map[string]any), rest
		}
	}
}

// headerRangeCases are crafted headers a trainer never writes, by the field
// the refusal must name. The name is the fuzz seed's too.
var headerRangeCases = []struct {
	name, field string
	edit        func(h map[string]any)
}{
	{"chars-seen-near-2^63", "chars_seen", set("chars_seen", json.Number("9223372036854775000"))},
	{"chars-seen-negative", "chars_seen", set("chars_seen", -1)},
	{"step-near-2^63", "step", set("step", json.Number("9223372036854775807"))},
	{"step-negative", "step", set("step", -1)},
	{"seq-negative", "Seq", set("config.seq", -1)},
	{"seq-2^31", "config.seq", set("config.seq", 1<<31)},
	{"batch-negative", "Batch", set("config.batch", -2)},
	{"lr-negative", "LR", set("config.lr", -0.01)},
	{"optimizer-unknown", "Optimizer", set("config.optimizer", "lion")},
	{"clip-mode-unknown", "Clip.Mode", set("config.clip.mode", "soft")},
	{"clip-zero", "Clip.Limit", set("config.clip.limit", 0)},
	{"cursor-negative", "cursor -40", set("cursors", []any{8, -40})},
	{"loss-negative", "loss", set("loss", -1)},
	{"momentum-1", "Momentum", set("config.momentum", 1)},
	{"rho-negative", "Rho", set("config.rho", -0.5)},
	{"weight-decay-2", "WeightDecay", set("config.weight_decay", 2)},
	{"val-frac-1", "ValFrac", set("config.val_frac", 1)},
	{"lr-scale-0", "lr_scale", set("train.lr_scale", 0)},
	{"lr-scale-negative", "lr_scale", set("train.lr_scale", -0.5)},
	{"lr-scale-above-1", "lr_scale", set("train.lr_scale", 4)},
	{"rollbacks-negative", "rollbacks", set("train.rollbacks", -1)},
	{"best-val-negative", "best_val", set("train.best_val", -3)},
	{"best-val-step-negative", "best_val_step", set("train.best_val_step", -1)},
	{"bad-evals-negative", "bad_evals", set("train.bad_evals", -1)},
	{"plateau-scale-0", "plateau_scale", set("train.schedule.plateau_scale", 0)},
	{"plateau-bad-negative", "plateau_bad", set("train.schedule.plateau_bad", -1)},
	{"schedule-kind-unknown", "Schedule.Kind", set("config.schedule.kind", "exp")},
	{"schedule-decay-0", "Schedule.Decay", set("config.schedule.decay", 0)},
	{"schedule-warmup-negative", "Schedule.Warmup", set("config.schedule.warmup", -1)},
	{"schedule-patience-0", "Schedule.PlateauPatience", set("config.schedule.plateau_patience", 0)},
	{"cell-unknown", "Cell", set("config.model.cell", "transformer")},
	{"layers-0", "Layers", set("config.model.layers", 0)},
	{"dropout-1", "Dropout", set("config.model.dropout", 1)},
	{"precision-unknown", "Precision", set("config.precision", "fp16")},
}

// TestDecodeCheckpointRefusesOutOfRangeHeader: every header field out of
// the range a trainer writes is refused under a valid checksum, naming the
// field; the unedited checkpoint loads, and counters just inside their
// bounds do too.
func TestDecodeCheckpointRefusesOutOfRangeHeader(t *testing.T) {
	good := rangeCheckpoint(t)
	if _, err := DecodeCheckpoint(good); err != nil {
		t.Fatalf("the valid checkpoint: %v", err)
	}
	for _, c := range headerRangeCases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeCheckpoint(editHeader(t, good, c.edit))
			if err == nil || !strings.Contains(err.Error(), c.field) {
				t.Fatalf("got %v, want a refusal naming %s", err, c.field)
			}
		})
	}
	for _, edit := range []func(h map[string]any){
		set("chars_seen", json.Number(fmt.Sprint(int64(MaxCount)))),
		set("step", json.Number(fmt.Sprint(int64(MaxCount)))),
		set("train.lr_scale", 1),
		set("loss", 0),
	} {
		if _, err := DecodeCheckpoint(editHeader(t, good, edit)); err != nil {
			t.Errorf("in range, refused: %v", err)
		}
	}
}

// TestHeaderRangesRefuseNonFinite: JSON cannot carry NaN or ±Inf, so no
// decoded header holds one; the checks refuse them all the same.
func TestHeaderRangesRefuseNonFinite(t *testing.T) {
	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		for name, edit := range map[string]func(h *Header){
			"lr":        func(h *Header) { h.Config.LR = float32(bad) },
			"clip":      func(h *Header) { h.Config.Clip.Limit = float32(bad) },
			"loss":      func(h *Header) { h.Loss = bad },
			"momentum":  func(h *Header) { h.Config.Momentum = float32(bad) },
			"val_frac":  func(h *Header) { h.Config.ValFrac = bad },
			"lr_scale":  func(h *Header) { h.Train.LRScale = bad },
			"best_val":  func(h *Header) { h.Train.BestVal = bad },
			"plateau":   func(h *Header) { h.Train.Schedule.PlateauScale = bad },
			"schedule":  func(h *Header) { h.Config.Schedule.Decay = bad },
			"weight":    func(h *Header) { h.Config.WeightDecay = float32(bad) },
			"rho value": func(h *Header) { h.Config.Rho = float32(bad) },
			"dropout":   func(h *Header) { h.Config.Model.Dropout = bad },
		} {
			c, err := DecodeCheckpoint(rangeCheckpoint(t))
			if err != nil {
				t.Fatal(err)
			}
			edit(&c.Header)
			if err := c.Header.validate(); err == nil {
				t.Errorf("%s = %v accepted", name, bad)
			}
		}
	}
}

// TestHeaderRangeFuzzSeeds keeps FuzzDecodeCheckpoint's crafted-header
// seeds (testdata/fuzz/FuzzDecodeCheckpoint/header-*) refused for the
// reason they were made for; with CHARRNN_WRITE_FUZZ_SEEDS=1 it writes them.
func TestHeaderRangeFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeCheckpoint")
	good := rangeCheckpoint(t)
	for _, c := range headerRangeCases {
		data := committedSeed(t, filepath.Join(dir, "header-"+c.name), func() []byte { return editHeader(t, good, c.edit) }, "bool(true)\n")
		if _, err := DecodeCheckpoint(withCRC(data)); err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("seed header-%s: %v, want a refusal naming %s", c.name, err, c.field)
		}
	}
}

// committedSeed returns the []byte input of the committed fuzz seed at path,
// first writing it as build() and the other arguments' lines extra say when
// CHARRNN_WRITE_FUZZ_SEEDS is set.
func committedSeed(t *testing.T, path string, build func() []byte, extra string) []byte {
	t.Helper()
	if os.Getenv(fuzzSeedEnv) != "" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		seed := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n%s", build(), extra)
		if err := os.WriteFile(path, []byte(seed), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("seed %s: %v (write the seeds with %s=1)", path, err, fuzzSeedEnv)
	}
	data, err := parseBytesSeed(string(raw))
	if err != nil {
		t.Fatalf("seed %s: %v", path, err)
	}
	return data
}
