package engine

import (
	"fmt"
	"math"

	"charrnn/kernels"
)

// MaxBeam bounds the beam width: the search holds width × (state + Vocab)
// floats and width × Vocab candidates per step.
const MaxBeam = 10000

// maxBeamSteps bounds length × width, the back-pointers the search keeps
// (8 bytes each) to recover the best sequence at the end.
const maxBeamSteps = 1 << 26

// ValidateBeam reports a clear error for an unusable beam search of n
// symbols with the given width.
func ValidateBeam(n, width int) error {
	switch {
	case width < 1 || width > MaxBeam:
		return fmt.Errorf("beam width must be between 1 and %d, got %d", MaxBeam, width)
	case n < 0:
		return fmt.Errorf("beam search: negative length %d", n)
	case int64(n)*int64(width) > maxBeamSteps:
		return fmt.Errorf("beam search of %d characters with width %d would keep %d back-pointers, more than %d; shorten it or narrow the beam", n, width, int64(n)*int64(width), maxBeamSteps)
	}
	return nil
}

// BeamSearch looks for the most likely continuation of n symbols after the
// prime: it keeps the width best partial sequences (by the sum of their
// log-probabilities, at temperature 1) with their hidden states, extends
// each by every symbol at each step, and keeps the width best of those. It
// returns the best sequence found and its log-probability in nats.
//
// This is deterministic and mode-seeking: it finds a likely text, not a
// sample of the model's distribution. Width 1 is greedy decoding; a wider
// beam usually (not always) finds a likelier sequence, and the search is
// exhaustive, so exact, once width ≥ Vocab^(n-1).
func BeamSearch(k kernels.Backend, m *Model, prime []int32, n, width int) ([]int32, float64, error) {
	if err := ValidateBeam(n, width); err != nil {
		return nil, 0, err
	}
	if n == 0 {
		return []int32{}, 0, nil
	}
	V := m.Config.Vocab

	// Beam 0 starts from the primed state.
	s := NewSampler(k, m, 0)
	s.Prime(prime)
	S := s.step.stateFloats() // one beam's state
	states := make([]float32, width*S)
	newStates := make([]float32, width*S)
	logits := make([]float32, width*V)
	copy(states, s.h)
	copy(logits, s.logits)
	scores := make([]float64, width)
	newScores := make([]float64, width)
	cand := make([]float64, width*V)
	order := make([]int32, width*V)
	// syms[t*width+i] is the symbol beam i took at step t; parents[...] the
	// beam it extended.
	syms := make([]int32, n*width)
	parents := make([]int32, n*width)

	live := 1
	for t := 0; t < n; t++ {
		for b := 0; b < live; b++ {
			row := logits[b*V : (b+1)*V]
			lse := logSumExp(row)
			for j, o := range row {
				cand[b*V+j] = scores[b] + float64(o) - lse
			}
		}
		// Pop the best candidates off a max-heap of all live×V of them;
		// ties go to the lower index (earlier beam, then lower symbol), as
		// greedy's argmax does.
		nc := live * V
		ord := order[:nc]
		for i := range ord {
			ord[i] = int32(i)
		}
		for i := nc/2 - 1; i >= 0; i-- {
			siftDown(ord, cand, i, nc)
		}
		keep := min(width, nc)
		for i := 0; i < keep; i++ {
			c := ord[0]
			nc--
			ord[0] = ord[nc]
			siftDown(ord, cand, 0, nc)
			syms[t*width+i] = c % int32(V)
			parents[t*width+i] = c / int32(V)
			newScores[i] = cand[c]
		}
		live = keep
		scores, newScores = newScores, scores
		if t == n-1 {
			break
		}
		// Advance each kept beam from its parent's state by its symbol,
		// as Sampler.Feed does.
		for i := 0; i < live; i++ {
			par, sym := int(parents[t*width+i]), syms[t*width+i]
			s.step.step(k, sym, states[par*S:(par+1)*S], newStates[i*S:(i+1)*S], logits[i*V:(i+1)*V])
		}
		states, newStates = newStates, states
	}
	// The first candidate popped at the last step is the best; follow its
	// parents back.
	out := make([]int32, n)
	i := 0
	for t := n - 1; t >= 0; t-- {
		out[t] = syms[t*width+i]
		i = int(parents[t*width+i])
	}
	return out, scores[0], nil
}

// logSumExp is log Σ exp(v), computed stably in float64.
func logSumExp(v []float32) float64 {
	maxv := float64(v[argmax(v)])
	var sum float64
	for _, x := range v {
		sum += math.Exp(float64(x) - maxv)
	}
	return maxv + math.Log(sum)
}
