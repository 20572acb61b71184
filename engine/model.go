// Package engine is the char-RNN itself: models, their forward and backward
// passes, optimizers, sampling, corpus and vocabulary, checkpoints and the
// training loop.
//
// A model is a stack of recurrent layers of one cell (cell.go; the vanilla
// RNN of the notebook this project grew from is cell_rnn.go) under an
// output layer:
//
//	h_t = cell(h_{t-1}, x_t)         (layer 0's x_t is one-hot)
//	o_t = c + V h_t                  y_t = softmax(o_t)
//	loss = Σ_t -log y_t[target_t]
//
// All parameters live in one flat slab laid out by a Layout; a Workspace
// holds a window's activations and runs Forward and Backward; a Trainer
// adds the data, the optimizer and the training loop (Run).
package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Model is a model's configuration, layout and parameters, and the
// precision its products run in (not a property of the model itself: a
// float32 model runs in either).
type Model struct {
	Config    ModelConfig
	Layout    Layout
	Params    []float32 // the slab, laid out by Layout
	Precision Precision // FP32 when empty
}

// NewModel initialises a model of configuration c: each layer as its cell
// says, then the output layer as the notebook does (V uniform in ±1/√H, c
// zero).
func NewModel(c ModelConfig, seed uint64) (*Model, error) {
	m, err := newModel(c, nil)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed_c4a7_2_77))
	for l := 0; l < c.Layers; l++ {
		cells[c.Cell].Init(m, l, rng)
	}
	uniform(rng, m.Tensor(outputTensors(c)[0].Name), c.Hidden)
	return m, nil
}

// newModel lays out a model of configuration c over params (a zeroed slab
// when nil).
func newModel(c ModelConfig, params []float32) (*Model, error) {
	lay, err := NewLayout(c)
	if err != nil {
		return nil, err
	}
	if params == nil {
		params = make([]float32, lay.Floats)
	} else if len(params) != lay.Floats {
		return nil, fmt.Errorf("%d parameters given, a model of this shape has %d", len(params), lay.Floats)
	}
	return &Model{Config: c, Layout: lay, Params: params}, nil
}

// Tensor returns the parameters of the tensor called name.
func (m *Model) Tensor(name string) []float32 { return m.Layout.Tensor(name).Of(m.Params) }

// uniform fills s with draws from U(-1/√fanIn, 1/√fanIn).
func uniform(rng *rand.Rand, s []float32, fanIn int) {
	r := 1 / math.Sqrt(float64(fanIn))
	for i := range s {
		s[i] = float32((rng.Float64()*2 - 1) * r)
	}
}

// output returns the output layer's tensors, V and c.
func (m *Model) output() (v, c Tensor) {
	names := outputTensors(m.Config)
	return m.Layout.Tensor(names[0].Name), m.Layout.Tensor(names[1].Name)
}
