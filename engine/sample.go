package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"charrnn/kernels"
)

// Sampler generates text one symbol at a time. It owns its state and
// buffers, so drawing a symbol allocates nothing, whatever the settings.
type Sampler struct {
	k    kernels.Backend
	m    *Model
	step *stepper

	// Temperature divides the logits before the softmax: below 1 sharper,
	// above 1 flatter. Greedy takes the most likely symbol instead.
	Temperature float64
	Greedy      bool
	// TopK, when positive, keeps only the K most likely symbols (all of
	// them when K is at least the vocabulary size).
	TopK int
	// TopP, when below 1, keeps only the nucleus: the smallest set of the
	// most likely symbols whose probabilities (after the temperature) sum
	// to at least TopP. 0 or 1 keeps everything. With TopK too, the nucleus
	// is cut to at most K symbols.
	TopP float64

	h, next []float32 // the state (every layer's) and the buffer the next one is built in
	logits  []float32 // o = V·h + c for the current state
	exps    []float32 // the softmax's numerators, as the backend computes them
	probs   []float64
	order   []int32   // symbol ids, heap-ordered by probs while truncating
	src     *rand.PCG // rng's source, whose state RNGState saves
	rng     *rand.Rand

	// lock draws in lockstep where the model allows (lockstepSampler),
	// once lockChecked.
	lock        *lockSampler
	lockChecked bool
}

// NewSampler returns a sampler at the zero state, seeded for reproducible
// draws. A model in BF16 precision needs k's bfloat16 products (see
// BF16Products); its weights are converted at the first character, as a
// model being sampled does not change.
func NewSampler(k kernels.Backend, m *Model, seed uint64) *Sampler {
	V, st := m.Config.Vocab, newStepper(m)
	s := &Sampler{
		k: k, m: m, step: st, Temperature: 1,
		h:      make([]float32, st.stateFloats()),
		next:   make([]float32, st.stateFloats()),
		logits: make([]float32, V),
		exps:   make([]float32, V),
		probs:  make([]float64, V),
		order:  make([]int32, V),
		src:    rand.NewPCG(seed, 0x5a3b1e),
	}
	s.rng = rand.New(s.src)
	s.step.tuner.ways = wayLockstep // and the lockstep where it runs (Generate)
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

// Reset returns to the zero state, where the output is softmax(c).
func (s *Sampler) Reset() {
	clear(s.h)
	copy(s.logits, s.step.c)
}

// Feed advances the model by one input symbol, then computes o = V·h + c.
func (s *Sampler) Feed(id int32) {
	s.step.step(s.k, id, s.h, s.next, s.logits)
	s.h, s.next = s.next, s.h
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
		return int32(argmax(s.logits))
	}
	sum := s.weigh()
	n := len(s.probs)
	k := n
	if s.TopK > 0 && s.TopK < n {
		k = s.TopK
	}
	if k == n && !(s.TopP > 0 && s.TopP < 1) {
		return s.draw(sum)
	}
	return s.drawTruncated(sum, k)
}

// weigh sets probs to the softmax of logits/Temperature before
// normalising, and returns their sum. The backend's vector exp does it,
// its maximum shifted to 0 so nothing overflows. An overflowed model
// (logits of ±Inf or NaN) gets no finite sum there, and is weighed in
// float64 instead, where it still draws sensibly: the maximum gets weight 1
// even when it is +Inf, and NaN gets none.
func (s *Sampler) weigh() float64 {
	if sum := s.k.SoftmaxExp(s.exps, s.logits, float32(1/s.Temperature)); sum > 0 && sum <= math.MaxFloat32 {
		var total float64
		for i, e := range s.exps {
			s.probs[i] = float64(e)
			total += float64(e)
		}
		return total
	}
	maxv := float64(s.logits[argmax(s.logits)])
	var sum float64
	for i, v := range s.logits {
		var e float64
		switch x := float64(v); {
		case x == maxv:
			e = 1
		case x == x: // not NaN
			e = math.Exp((x - maxv) / s.Temperature)
		}
		s.probs[i] = e
		sum += e
	}
	return sum
}

// draw picks symbol i with probability probs[i]/sum.
func (s *Sampler) draw(sum float64) int32 {
	u := s.rng.Float64() * sum
	for i, p := range s.probs {
		u -= p
		if u < 0 {
			return int32(i)
		}
	}
	return int32(len(s.probs) - 1) // u landed on the rounding remainder
}

// drawTruncated keeps the k most likely symbols, fewer if the nucleus TopP
// is reached first, and draws among them in proportion to their
// probabilities. It pops symbols off a max-heap of the ids, so it costs
// O(Vocab + kept·log Vocab) and no allocation; the popped ids collect at
// the end of order, most likely last.
func (s *Sampler) drawTruncated(sum float64, k int) int32 {
	order, probs := s.order, s.probs
	for i := range order {
		order[i] = int32(i)
	}
	n := len(order)
	for i := n/2 - 1; i >= 0; i-- {
		siftDown(order, probs, i, n)
	}
	nucleus := math.Inf(1)
	if s.TopP > 0 && s.TopP < 1 {
		nucleus = s.TopP * sum
	}
	var kept float64
	for kept < nucleus && n > len(order)-k {
		n--
		order[0], order[n] = order[n], order[0]
		kept += probs[order[n]]
		siftDown(order, probs, 0, n)
	}
	u := s.rng.Float64() * kept
	for i := len(order) - 1; i > n; i-- {
		u -= probs[order[i]]
		if u < 0 {
			return order[i]
		}
	}
	return order[n] // the least likely kept symbol, or the rounding remainder
}

// siftDown restores the max-heap property of order[:n] (keyed by score,
// ties broken towards the lower id) below position i.
func siftDown(order []int32, score []float64, i, n int) {
	for {
		c := 2*i + 1
		if c >= n {
			return
		}
		if c+1 < n && heapBefore(score, order[c+1], order[c]) {
			c++
		}
		if !heapBefore(score, order[c], order[i]) {
			return
		}
		order[i], order[c] = order[c], order[i]
		i = c
	}
}

// heapBefore orders by descending score, then ascending id.
func heapBefore(score []float64, a, b int32) bool {
	return score[a] > score[b] || (score[a] == score[b] && a < b)
}

// argmax is the index of the largest value, NaNs ignored (0 if all are).
func argmax(v []float32) int {
	best := -1
	for i, x := range v {
		if x == x && (best < 0 || x > v[best]) {
			best = i
		}
	}
	return max(best, 0)
}

// tuneChunk is the characters of a chunk Generate times as one: about
// 0.25 ms for the 512-unit RNN, long enough to time, short enough to react.
const tuneChunk = 64

// Generate draws n symbols, feeding each back in, and calls emit with each
// (emit must not use the sampler). It draws what Next and Feed would, and
// where k has a helper core, faster: each step's recurrent products need
// the state alone, so the helper computes them while this core computes
// the logits and draws the symbol (generateAhead). A tuner keeps to
// whichever of three ways is fastest on the machine as it is now: that,
// steps in turn with each product split between the cores, and steps in
// turn on this core alone. For the 512-unit RNN in bfloat16 on a Zen 4, in
// one process (throwaway timers), ahead took 3.4-3.9 µs per character
// while the hand-overs between the cores took 0.2-0.45 µs, and 4.6 when
// they took 0.6-0.9, against 4.0-4.8 in turn; on a Zen 5 whose cores took
// 0.45 µs to see each other's writes, alone took 4.1-5.5 µs (medians of
// three runs; 3.9 at best), ahead 4.7-5.4, in turn 5.3-5.7, its 512 KB of
// weights staying in the one core's L2. For a 2×512 LSTM, whose 6-12 MB
// of weights no core's L2 holds, ahead was 16% slower than in turn, and
// for the 100-unit RNN twice as slow. A one-layer RNN whose W the tiles
// multiply has a fourth way, the two cores in lockstep (lockSampler): on
// an Intel Xeon with AMX, 512 units sampled at 272,000-285,000 characters
// a second so, against 174,000-180,000 begun ahead on the tiles and
// 203,000-210,000 with W on VDPBF16PS before the tiles took it.
func (s *Sampler) Generate(n int, emit func(id int32)) {
	_, two := s.k.(kernels.Async)
	for n > 0 {
		c := min(n, tuneChunk)
		n -= c
		if !two {
			s.generateInTurn(s.k, c, emit)
			continue
		}
		lock := s.lockstepSampler()
		if lock != nil {
			s.step.tuner.ways = generateWays
		}
		way := s.step.tuner.pick()
		start := time.Now()
		switch way {
		case wayAhead:
			s.generateAhead(c, emit)
		case wayInTurn:
			s.generateInTurn(s.k, c, emit)
		case wayAlone:
			s.generateInTurn(kernels.Unsplit(s.k), c, emit)
		case wayLockstep:
			if !lock.generate(c, emit) {
				s.generateAhead(c, emit)
			}
		}
		s.step.tuner.record(way, time.Since(start)/time.Duration(c))
	}
}

// The ways Generate times, in the tuner's order.
const (
	wayAhead = iota
	wayInTurn
	wayAlone
	wayLockstep  // only where the model allows (lockstepSampler)
	generateWays // how many
)

// generateInTurn draws n symbols as Next and Feed do, its steps on k, as
// one run (stepper.stepRun) where the weights overflow the cores' L2.
func (s *Sampler) generateInTurn(k kernels.Backend, n int, emit func(id int32)) {
	ahead, runs := -1, s.step.inRuns(k)
	for i := 0; i < n; i++ {
		id := s.Next()
		emit(id)
		ahead = s.step.stepRun(k, id, s.h, s.next, s.logits, ahead, i == n-1 || !runs)
		s.h, s.next = s.next, s.h
	}
}

// generateAhead draws n symbols, each step begun before its symbol is
// drawn (stepper.begin).
func (s *Sampler) generateAhead(n int, emit func(id int32)) {
	stale := false // logits not yet computed for h
	defer func() {
		s.step.stop()
		if stale {
			s.step.output(s.k, s.top(), s.logits)
		}
	}()
	for i := 0; i < n; i++ {
		s.step.begin(s.k, s.h)
		if stale {
			s.step.output(s.k, s.top(), s.logits)
			stale = false
		}
		id := s.Next()
		s.step.end(id, s.next)
		s.h, s.next = s.next, s.h
		stale = true
		emit(id)
	}
}

// top is the top layer's h.
func (s *Sampler) top() []float32 { return s.step.h(s.h, len(s.step.steps)-1) }

// ValidateTemperature reports a clear error for an unusable temperature.
func ValidateTemperature(t float64) error {
	if !(t > 0) || math.IsInf(t, 0) {
		return fmt.Errorf("temperature must be a positive number, got %v", t)
	}
	return nil
}

// ValidateTopK reports a clear error for an unusable top-k. A K larger than
// the vocabulary is not an error: it keeps every symbol.
func ValidateTopK(k int) error {
	if k < 1 {
		return fmt.Errorf("top-k must be at least 1, got %d", k)
	}
	return nil
}

// ValidateTopP reports a clear error for an unusable top-p.
func ValidateTopP(p float64) error {
	if !(p > 0 && p <= 1) {
		return fmt.Errorf("top-p must be in (0, 1], got %v", p)
	}
	return nil
}
