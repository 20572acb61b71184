package engine

import (
	"fmt"
	"math"
	"math/rand/v2"

	"charrnn/kernels"
)

// Sampler generates text one symbol at a time. It owns its state and
// buffers, so drawing a symbol allocates nothing.
type Sampler struct {
	k kernels.Backend
	m *Model

	// Temperature divides the logits before the softmax: below 1 sharper,
	// above 1 flatter. Greedy takes the most likely symbol instead.
	Temperature float64
	Greedy      bool

	h, next []float32 // the hidden state and the buffer the next one is built in
	logits  []float32 // o = V·h + c for the current state
	probs   []float64
	src     *rand.PCG // rng's source, whose state RNGState saves
	rng     *rand.Rand
}

// NewSampler returns a sampler at the zero state, seeded for reproducible
// draws.
func NewSampler(k kernels.Backend, m *Model, seed uint64) *Sampler {
	s := &Sampler{
		k: k, m: m, Temperature: 1,
		h:      make([]float32, m.Hidden),
		next:   make([]float32, m.Hidden),
		logits: make([]float32, m.Vocab),
		probs:  make([]float64, m.Vocab),
		src:    rand.NewPCG(seed, 0x5a3b1e),
	}
	s.rng = rand.New(s.src)
	s.Reset()
	return s
}

// RNGState is the sampler's random state, for a checkpoint: a sampler
// given it by SetRNGState draws what this one would draw next.
func (s *Sampler) RNGState() ([]byte, error) { return s.src.MarshalBinary() }

// SetRNGState continues from a state RNGState returned.
func (s *Sampler) SetRNGState(b []byte) error {
	if err := s.src.UnmarshalBinary(b); err != nil {
		return fmt.Errorf("sampler random state: %w", err)
	}
	return nil
}

// Reset returns to the zero hidden state, where the output is softmax(c).
func (s *Sampler) Reset() {
	clear(s.h)
	copy(s.logits, s.m.P.C)
}

// Feed advances the recurrence by one input symbol:
// h = tanh(W·h + U[:, id] + b), then o = V·h + c.
func (s *Sampler) Feed(id int32) {
	H, p := s.m.Hidden, &s.m.P
	s.k.Gemv(false, H, H, 1, p.W, H, s.h, 0, s.next)
	s.k.AddTanh(s.next, s.next, p.U[int(id)*H:(int(id)+1)*H], p.B)
	s.h, s.next = s.next, s.h
	copy(s.logits, p.C)
	s.k.Gemv(false, s.m.Vocab, H, 1, p.V, H, s.h, 1, s.logits)
}

// Prime feeds a whole prompt, one symbol at a time, so the state has read
// every character in order (the notebook's multi-hot prime is a bug).
func (s *Sampler) Prime(ids []int32) {
	for _, id := range ids {
		s.Feed(id)
	}
}

// Next draws the symbol that follows the current state; it does not feed
// it back (call Feed for that).
func (s *Sampler) Next() int32 {
	if s.Greedy {
		best := 0
		for i, v := range s.logits {
			if v > s.logits[best] {
				best = i
			}
		}
		return int32(best)
	}
	// A numerically stable softmax: subtract the maximum before exp.
	maxv := math.Inf(-1)
	for _, v := range s.logits {
		maxv = math.Max(maxv, float64(v))
	}
	var sum float64
	for i, v := range s.logits {
		e := math.Exp((float64(v) - maxv) / s.Temperature)
		s.probs[i] = e
		sum += e
	}
	u := s.rng.Float64() * sum
	for i, p := range s.probs {
		u -= p
		if u < 0 {
			return int32(i)
		}
	}
	return int32(len(s.probs) - 1) // u landed on the rounding remainder
}

// Generate draws n symbols, feeding each back in, and calls emit with each.
func (s *Sampler) Generate(n int, emit func(id int32)) {
	for i := 0; i < n; i++ {
		id := s.Next()
		emit(id)
		s.Feed(id)
	}
}

// ValidateTemperature reports a clear error for an unusable temperature.
func ValidateTemperature(t float64) error {
	if !(t > 0) || math.IsInf(t, 0) {
		return fmt.Errorf("temperature must be a positive number, got %v", t)
	}
	return nil
}
