package main

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// torchPython is the Python that has PyTorch: Debian's python3-torch
// installs for /usr/bin/python3, which need not be the first on PATH.
const torchPython = "/usr/bin/python3"

// TestExportLoadsInPyTorch exports a model of every cell, one and two
// layers, and loads it with load_state_dict into PyTorch's nn.RNN,
// nn.LSTM or nn.GRU under an nn.Linear (testdata/torch_eval.py), which fed
// the text one-hot from a zero state must give the loss charrnn eval
// measures.
func TestExportLoadsInPyTorch(t *testing.T) {
	if out, err := exec.Command(torchPython, "-c", "import torch").CombinedOutput(); err != nil {
		t.Skipf("PyTorch is not installed for %s (apt-get install python3-torch): %s", torchPython, strings.TrimSpace(string(out)))
	}
	script, err := filepath.Abs("testdata/torch_eval.py")
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	for _, m := range []struct{ cell, layers string }{
		{"rnn", "1"}, {"rnn", "2"}, {"lstm", "1"}, {"lstm", "2"}, {"gru", "1"}, {"gru", "2"},
	} {
		t.Run(m.cell+"/"+m.layers, func(t *testing.T) {
			ckpt := m.cell + m.layers + ".ckpt"
			r := charrnn(t, f.dir, "train", "-data", f.corpus, "-cell", m.cell, "-layers", m.layers, "-hidden", "12", "-seq", "8",
				"-batch", "2", "-steps", "20", "-checkpoint", ckpt, "-sample-every", "0", "-dropout", "0.1")
			if r.code != 0 {
				t.Fatalf("train: %s", r.stderr)
			}
			if r = charrnn(t, f.dir, "export", "-checkpoint", ckpt, "-o", "m.safetensors"); r.code != 0 {
				t.Fatalf("export: %s", r.stderr)
			}
			r = charrnn(t, f.dir, "eval", "-checkpoint", ckpt, "-data", f.corpus, "-json", "-backend", "generic")
			var ev struct {
				Loss float64 `json:"loss_nats"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &ev); err != nil {
				t.Fatalf("eval -json: %v: %s", err, r.stdout)
			}
			cmd := exec.Command(torchPython, script, filepath.Join(f.dir, "m.safetensors"), f.corpus)
			cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("PyTorch: %v\n%s", err, out)
			}
			torchLoss, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
			if err != nil {
				t.Fatalf("PyTorch printed %q", out)
			}
			if math.Abs(torchLoss-ev.Loss) > 1e-5*ev.Loss {
				t.Fatalf("PyTorch loss %.8f, charrnn eval %.8f", torchLoss, ev.Loss)
			}
			t.Logf("charrnn eval %.8f, PyTorch %.8f nats/char", ev.Loss, torchLoss)
		})
	}
}
