// Package engine is the char-RNN itself: model, forward and backward passes,
// optimizers, sampling, corpus and vocabulary, checkpoints and the trainer.
//
// The model is the vanilla RNN of the notebook this project grew from:
//
//	a_t = b + W h_{t-1} + U x_t     h_t = tanh(a_t)
//	o_t = c + V h_t                 y_t = softmax(o_t)
//	loss = Σ_t -log y_t[target_t]
package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Tensors is the model's five tensors as views into one flat slab. The same
// layout serves for parameters, gradients and optimizer state, so optimizers
// and clipping are plain loops over Slab.
//
// U is stored transposed (Vocab×H, row x is the column U[:, x]) so the
// one-hot input is a contiguous row lookup. W is H×H and V is Vocab×H,
// row-major; B (the notebook's b) is H and C (c) is Vocab.
type Tensors struct {
	Slab          []float32
	U, W, V, B, C []float32
}

// NewTensors allocates a zeroed slab for a model of the given shape.
func NewTensors(hidden, vocab int) Tensors {
	return TensorsOver(make([]float32, ParamCount(hidden, vocab)), hidden, vocab)
}

// TensorsOver lays the views over an existing slab of ParamCount elements.
func TensorsOver(slab []float32, hidden, vocab int) Tensors {
	h, v := hidden, vocab
	t := Tensors{Slab: slab}
	off := 0
	take := func(n int) []float32 {
		s := slab[off : off+n : off+n]
		off += n
		return s
	}
	t.U = take(v * h)
	t.W = take(h * h)
	t.V = take(v * h)
	t.B = take(h)
	t.C = take(v)
	return t
}

// ParamCount is the number of parameters of a model of the given shape.
func ParamCount(hidden, vocab int) int {
	return 2*vocab*hidden + hidden*hidden + hidden + vocab
}

// Model is a vanilla RNN's shape and parameters.
type Model struct {
	Hidden int // H, the size of the hidden state
	Vocab  int // the number of symbols
	P      Tensors
}

// NewModel initialises a model as the notebook does: U, V and W uniform in
// ±1/√fan_in (fan_in is Vocab for U, H for V and W), b and c zero.
func NewModel(hidden, vocab int, seed uint64) (*Model, error) {
	if hidden <= 0 {
		return nil, fmt.Errorf("hidden size must be positive, got %d", hidden)
	}
	if vocab <= 0 {
		return nil, fmt.Errorf("vocabulary size must be positive, got %d", vocab)
	}
	m := &Model{Hidden: hidden, Vocab: vocab, P: NewTensors(hidden, vocab)}
	rng := rand.New(rand.NewPCG(seed, 0x5eed_c4a7_2_77))
	uniform := func(s []float32, fanIn int) {
		r := 1 / math.Sqrt(float64(fanIn))
		for i := range s {
			s[i] = float32((rng.Float64()*2 - 1) * r)
		}
	}
	uniform(m.P.U, vocab)
	uniform(m.P.W, hidden)
	uniform(m.P.V, hidden)
	return m, nil
}
