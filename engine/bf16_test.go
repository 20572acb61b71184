package engine

import (
	"io"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"charrnn/kernels"
)

// bf16Backends are the backends (and their two-core wrappers) with
// bfloat16 products here; the test is skipped, saying why, without any.
func bf16Backends(t *testing.T) []kernels.Backend {
	t.Helper()
	var out []kernels.Backend
	for _, k := range kernels.Supported() {
		if _, ok := kernels.BF16Of(k); ok {
			two := kernels.Parallel(k, 2)
			t.Cleanup(func() { two.(io.Closer).Close() })
			out = append(out, k, two)
		}
	}
	if len(out) == 0 {
		t.Skipf("no backend has bfloat16 products on %s", kernels.CPUFeatures())
	}
	return out
}

// In mixed precision the loss is the float32 one to bfloat16's accuracy,
// and the gradient points the same way: every cell, stacked, with dropout.
func TestBF16GradientsFollowFP32(t *testing.T) {
	for _, k := range bf16Backends(t) {
		for _, c := range cellConfigs() {
			c.Vocab = 7
			m, err := NewModel(c, 4)
			if err != nil {
				t.Fatal(err)
			}
			l32, g32, _ := passGradients(k, m, FP32, 3, true)
			l16, g16, _ := passGradients(k, m, BF16, 3, true)
			checkFollowsFP32(t, k.Name()+" "+c.String(), l32, l16, g32, g16)
		}
	}
}

// passGradients runs one forward and backward pass of m in precision p on
// k over streams streams of 9 steps of a fixed input (with dropout, its
// masks drawn as at a training step), and returns the loss, the gradients
// and the workspace.
func passGradients(k kernels.Backend, m *Model, p Precision, streams int, dropout bool) (float64, []float32, *Workspace) {
	m.Precision = p
	g := make([]float32, len(m.Params))
	ws := NewWorkspace(m, g, 9, streams)
	if dropout {
		ws.trainDropout(4, 0)
		ws.dropStep = 2
	}
	for i := range ws.Inputs {
		ws.Inputs[i], ws.Targets[i] = int32(i*5%7), int32(i*3%7)
	}
	loss := ws.Forward(k)
	ws.Backward(k)
	return loss, g, ws
}

// checkFollowsFP32 fails t unless the bf16 loss l16 is within 1% of the
// fp32 one, l32, and the gradients point the same way (cosine > 0.999).
func checkFollowsFP32(t *testing.T, what string, l32, l16 float64, g32, g16 []float32) {
	t.Helper()
	var dot, n32, n16 float64
	for i := range g32 {
		dot += float64(g32[i]) * float64(g16[i])
		n32 += float64(g32[i]) * float64(g32[i])
		n16 += float64(g16[i]) * float64(g16[i])
	}
	cos := dot / math.Sqrt(n32*n16)
	if math.Abs(l16-l32) > 1e-2*l32 || !(cos > 0.999) {
		t.Errorf("%s: loss %v in bf16, %v in fp32; gradients' cosine %v", what, l16, l32, cos)
	}
}

// Mixed-precision training learns, resumes bit for bit, shares streams
// between cores bit for bit and allocates nothing per step, for every cell.
func TestBF16Training(t *testing.T) {
	corpus, vocab := writeCorpus(t, pairsText(20000, 3))
	for _, k := range bf16Backends(t) {
		for _, m := range cellConfigs() {
			t.Run(k.Name()+"/"+m.String(), func(t *testing.T) {
				cfg := cellTrainConfig(m, 4)
				cfg.Precision = BF16
				run := func(k kernels.Backend) *Trainer {
					tr, err := NewTrainer(cfg, k, corpus, vocab)
					if err != nil {
						t.Fatal(err)
					}
					return tr
				}
				tr := run(k)
				var last float64
				for i := 0; i < 300; i++ {
					r, err := tr.TrainStep()
					if err != nil {
						t.Fatal(err)
					}
					if i >= 280 {
						last += r.Loss / 20
					}
				}
				if floor := math.Ln2 / 2; last > floor+0.15 {
					t.Fatalf("training loss %.3f after 300 steps in bf16; the floor is %.3f", last, floor)
				}
				if n := testing.AllocsPerRun(10, func() { tr.TrainStep() }); n != 0 {
					t.Errorf("%v allocations per step in bf16", n)
				}

				straight := run(k)
				trainTo(t, straight, 12, 5)
				first := run(k)
				trainTo(t, first, 6, 5)
				path := filepath.Join(t.TempDir(), "m.ckpt")
				if err := mustCheckpoint(t, first).Save(path); err != nil {
					t.Fatal(err)
				}
				ck, err := LoadCheckpoint(path)
				if err != nil {
					t.Fatal(err)
				}
				if ck.Header.Config.Precision != BF16 {
					t.Fatalf("checkpoint's precision %q", ck.Header.Config.Precision)
				}
				resumed := run(k)
				if err := resumed.Restore(ck); err != nil {
					t.Fatal(err)
				}
				trainTo(t, resumed, 12, 5)
				if !slices.Equal(straight.Model.Params, resumed.Model.Params) {
					t.Fatal("bf16 parameters after resume differ from the uninterrupted run's")
				}
			})
		}
	}
}

// Sampling in bfloat16 steps through the same products as the window
// passes: predicting a text character by character gives Evaluate's loss.
func TestBF16SamplesWhatItEvaluates(t *testing.T) {
	text := pairsText(700, 8) + "the quick brown fox"
	corpus, vocab := writeCorpus(t, text)
	ids, _ := vocab.Encode(text)
	for _, k := range bf16Backends(t) {
		for _, c := range cellConfigs() {
			c.Vocab = vocab.Size()
			m, err := NewModel(c, 3)
			if err != nil {
				t.Fatal(err)
			}
			m.Precision = BF16
			ev, err := Evaluate(k, m, vocab, corpus)
			if err != nil {
				t.Fatal(err)
			}
			s := NewSampler(k, m, 1)
			var total float64
			for i := 0; i+1 < len(ids); i++ {
				s.Feed(ids[i])
				total += logSumExp(s.logits) - float64(s.logits[ids[i+1]])
			}
			if want := total / float64(len(ids)-1); math.Abs(ev.LossNats-want) > 1e-4*math.Max(1, want) {
				t.Errorf("%s %v: Evaluate in bf16 %.6f, character by character %.6f", k.Name(), c, ev.LossNats, want)
			}
		}
	}
}

// A single stream in mixed precision has its bfloat16 Wᵀ made on the helper
// core while the forward pass runs here (passContext.forward), and its
// weight gradients summed there during the backward pass (backward,
// Workspace.Backward), for weights large enough to hand over: training on
// two cores gives bit for bit the parameters of training on one, for
// every cell, and allocates nothing per step.
func TestBF16SingleStreamTwoCores(t *testing.T) {
	corpus, vocab := writeCorpus(t, pairsText(20000, 3))
	// Models whose recurrent weights are made beside the passes; the small
	// ones of cellConfigs are made before them.
	configs := []ModelConfig{{Cell: "rnn", Layers: 2, Hidden: 256}, {Cell: "lstm", Layers: 1, Hidden: 128}, {Cell: "gru", Layers: 1, Hidden: 160}}
	for _, m := range configs {
		gates := map[string]int{"rnn": 1, "lstm": 4, "gru": 3}[m.Cell]
		if n := gates * m.Hidden * m.Hidden; n < besideMinElems || n*BF16.weightBytes() > streamSplitMaxW {
			t.Fatalf("%v: %d recurrent weights are not made beside the forward pass", m, n)
		}
	}
	for _, k := range kernels.Supported() {
		if _, ok := kernels.BF16Of(k); !ok {
			continue
		}
		for _, m := range append(cellConfigs(), configs...) {
			t.Run(k.Name()+"/"+m.String(), func(t *testing.T) {
				cfg := cellTrainConfig(m, 1)
				cfg.Precision = BF16
				// Clipped by value: Parallel splits the norm's sum of
				// squares over the larger models' gradients, and adds its
				// blocks in another order than one pass does.
				cfg.Clip.Mode = "value"
				run := func(k kernels.Backend) *Trainer {
					tr, err := NewTrainer(cfg, k, corpus, vocab)
					if err != nil {
						t.Fatal(err)
					}
					trainTo(t, tr, 20, 0)
					return tr
				}
				one := run(k)
				two := kernels.Parallel(k, 2)
				defer two.(io.Closer).Close()
				onTwo := run(two)
				if !slices.Equal(one.Model.Params, onTwo.Model.Params) {
					t.Fatal("bf16 parameters of a single stream differ between one core and two")
				}
				// The work handed to the helper core allocates nothing either.
				if n := testing.AllocsPerRun(5, func() { onTwo.TrainStep() }); n != 0 {
					t.Errorf("%v allocations per step on two cores", n)
				}
			})
		}
	}
}

// A mixed-precision backward pass over an even number of streams converts
// each layer's hidden states to bfloat16 once, for the two weight gradients
// that read them (pairedStates): training gives bit for bit the parameters
// of converting them for each gradient, for every cell, stacked, on one
// core and two; the conversion is shared (each layer's states made once
// per step), and a step still allocates nothing.
func TestBF16PairedStatesSameBits(t *testing.T) {
	corpus, vocab := writeCorpus(t, pairsText(20000, 3))
	for _, k := range bf16Backends(t) {
		for _, cell := range CellNames() {
			for _, layers := range []int{1, 2} {
				m := ModelConfig{Cell: cell, Layers: layers, Hidden: 32}
				t.Run(k.Name()+"/"+m.String(), func(t *testing.T) {
					cfg := cellTrainConfig(m, 4)
					cfg.Precision = BF16
					run := func(paired bool) *Trainer {
						tr, err := NewTrainer(cfg, k, corpus, vocab)
						if err != nil {
							t.Fatal(err)
						}
						if len(tr.ws.paired) != layers {
							t.Fatalf("%d layers' states kept pair-packed, want %d", len(tr.ws.paired), layers)
						}
						if !paired {
							tr.ws.paired = nil
						}
						trainTo(t, tr, 12, 0)
						return tr
					}
					shared, each := run(true), run(false)
					if !slices.Equal(shared.Model.Params, each.Model.Params) {
						t.Fatal("parameters differ when the states are converted once per backward pass")
					}
					for l, s := range shared.ws.paired {
						if !s.made {
							t.Errorf("layer %d: its states were never converted for a gradient", l)
						}
					}
					if n := testing.AllocsPerRun(3, func() { shared.TrainStep() }); n != 0 {
						t.Errorf("%v allocations per step", n)
					}
				})
			}
		}
	}
}

// On AMX's tiles a single stream's products with recurrent weights that
// stay in L2 run as one-row GEMMs over the pair-packed copies
// (kernels.GemvOnTiles): the loss is still the float32 one to bfloat16's
// accuracy and the gradient points the same way, for every cell.
func TestBF16SingleStreamOnTiles(t *testing.T) {
	ran := false
	for _, k := range bf16Backends(t) {
		for _, c := range []ModelConfig{{Cell: "rnn", Layers: 1, Hidden: 256}, {Cell: "lstm", Layers: 2, Hidden: 128}, {Cell: "gru", Layers: 1, Hidden: 128}} {
			rows := map[string]int{"rnn": 1, "lstm": 4, "gru": 3}[c.Cell] * c.Hidden
			if !kernels.GemvOnTiles(k, rows, c.Hidden) {
				continue
			}
			ran = true
			c.Vocab = 7
			m, err := NewModel(c, 4)
			if err != nil {
				t.Fatal(err)
			}
			l32, g32, _ := passGradients(k, m, FP32, 1, false)
			l16, g16, ws := passGradients(k, m, BF16, 1, false)
			var w *weights
			switch l := ws.layers[0].(type) {
			case *rnnLayer:
				w = &l.w
			case *lstmLayer:
				w = &l.whh
			case *gruLayer:
				w = &l.whh
			}
			if w == nil || !w.tiles {
				t.Fatalf("%s %v: the recurrent weights' products are not on the tiles", k.Name(), c)
			}
			checkFollowsFP32(t, k.Name()+" "+c.String(), l32, l16, g32, g16)
		}
	}
	if !ran {
		t.Skip("no backend runs a single stream's products on AMX's tiles here")
	}
}
