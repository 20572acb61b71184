package engine

import (
	"math"
	"slices"
	"testing"

	"charrnn/kernels"
)

// randomSamplerModel is a model whose outputs vary a lot from state to state,
// so the tests see many different distributions.
func randomSamplerModel(t *testing.T, hidden, vocab int) *Model {
	t.Helper()
	m, err := NewModel(rnnShape(hidden, vocab), 7)
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Tensor("V") {
		m.Tensor("V")[i] *= 6
	}
	for i := range m.Tensor("U") {
		m.Tensor("U")[i] *= 3
	}
	return m
}

// softmaxAt is softmax(logits/temp) in float64.
func softmaxAt(logits []float32, temp float64) []float64 {
	p := make([]float64, len(logits))
	maxv := math.Inf(-1)
	for _, v := range logits {
		maxv = math.Max(maxv, float64(v))
	}
	var sum float64
	for i, v := range logits {
		p[i] = math.Exp((float64(v) - maxv) / temp)
		sum += p[i]
	}
	for i := range p {
		p[i] /= sum
	}
	return p
}

// ranked is the ids by descending probability.
func ranked(p []float64) []int32 {
	ids := make([]int32, len(p))
	for i := range ids {
		ids[i] = int32(i)
	}
	slices.SortStableFunc(ids, func(a, b int32) int {
		switch {
		case p[a] > p[b]:
			return -1
		case p[a] < p[b]:
			return 1
		}
		return 0
	})
	return ids
}

// drawMany draws n symbols from the sampler's current state without
// feeding them, and counts them.
func drawMany(s *Sampler, n int) []int {
	counts := make([]int, len(s.logits))
	for i := 0; i < n; i++ {
		counts[s.Next()]++
	}
	return counts
}

// checkProportions compares counts with the distribution p restricted to
// the set keep and renormalised: nothing outside keep, and each kept
// symbol's frequency within 5 standard errors (plus a little) of its
// renormalised probability.
func checkProportions(t *testing.T, what string, counts []int, p []float64, keep []int32) {
	t.Helper()
	var mass float64
	in := make([]bool, len(p))
	for _, id := range keep {
		in[id] = true
		mass += p[id]
	}
	total := 0
	for _, c := range counts {
		total += c
	}
	for id, c := range counts {
		if !in[id] {
			if c != 0 {
				t.Fatalf("%s: symbol %d drawn %d times, but it is not among the kept %v", what, id, c, keep)
			}
			continue
		}
		want := p[id] / mass
		got := float64(c) / float64(total)
		se := math.Sqrt(want * (1 - want) / float64(total))
		if math.Abs(got-want) > 5*se+0.002 {
			t.Fatalf("%s: symbol %d frequency %.4f, want %.4f (renormalised over %d kept)", what, id, got, want, len(keep))
		}
	}
}

func TestTopKStaysInTopK(t *testing.T) {
	k := kernels.Best()
	m := randomSamplerModel(t, 12, 20)
	s := NewSampler(k, m, 11)
	walk := NewSampler(k, m, 12) // moves through states
	for _, topK := range []int{1, 2, 3, 7, 19, 20, 50} {
		for state := 0; state < 5; state++ {
			walk.Feed(walk.Next())
			copy(s.logits, walk.logits)
			for _, temp := range []float64{1, 0.7, 1.8} {
				s.TopK, s.TopP, s.Temperature = topK, 0, temp
				p := softmaxAt(s.logits, temp)
				keep := ranked(p)[:min(topK, len(p))]
				checkProportions(t, "top-k", drawMany(s, 20000), p, keep)
			}
		}
	}
}

func TestTopPRespectsNucleus(t *testing.T) {
	k := kernels.Best()
	m := randomSamplerModel(t, 12, 20)
	s := NewSampler(k, m, 21)
	walk := NewSampler(k, m, 22)
	for _, topP := range []float64{0.05, 0.3, 0.5, 0.9, 0.99, 1} {
		for state := 0; state < 5; state++ {
			walk.Feed(walk.Next())
			copy(s.logits, walk.logits)
			for _, temp := range []float64{1, 0.6} {
				s.TopK, s.TopP, s.Temperature = 0, topP, temp
				p := softmaxAt(s.logits, temp)
				// The nucleus: the most likely symbols, until their sum
				// reaches topP (with a hair of slack for rounding).
				order := ranked(p)
				var cum float64
				n := 0
				for n < len(order) && cum < topP-1e-12 {
					cum += p[order[n]]
					n++
				}
				checkProportions(t, "top-p", drawMany(s, 20000), p, order[:n])
			}
		}
	}
}

func TestTopKWithTopP(t *testing.T) {
	m := randomSamplerModel(t, 4, 6)
	s := NewSampler(kernels.Best(), m, 3)
	copy(s.logits, []float32{3, 2.9, 2.8, 2.7, 0, -1})
	p := softmaxAt(s.logits, 1)
	// The nucleus at 0.95 is the first four; top-k 2 cuts it to two.
	s.TopK, s.TopP = 2, 0.95
	checkProportions(t, "top-k with top-p", drawMany(s, 20000), p, []int32{0, 1})
	// A nucleus smaller than K wins.
	s.TopK, s.TopP = 5, 0.2
	checkProportions(t, "top-p within top-k", drawMany(s, 20000), p, []int32{0})
}

func TestSamplingSettingsAllocateNothing(t *testing.T) {
	m := randomSamplerModel(t, 16, 30)
	for _, k := range kernels.Supported() {
		s := NewSampler(k, m, 1)
		for _, set := range []struct {
			topK int
			topP float64
		}{{0, 0}, {5, 0}, {0, 0.9}, {3, 0.5}} {
			s.TopK, s.TopP = set.topK, set.topP
			if n := testing.AllocsPerRun(200, func() { s.Feed(s.Next()) }); n != 0 {
				t.Errorf("%s top-k %d top-p %v: %v allocations per sampled character, want 0", k.Name(), set.topK, set.topP, n)
			}
		}
	}
}

// sequenceLogProb is log p(ids | prime) under the model, computed by
// feeding one symbol at a time.
func sequenceLogProb(k kernels.Backend, m *Model, prime, ids []int32) float64 {
	s := NewSampler(k, m, 0)
	s.Prime(prime)
	var lp float64
	for _, id := range ids {
		lp += float64(s.logits[id]) - logSumExp(s.logits)
		s.Feed(id)
	}
	return lp
}

func TestBeamWidthOneIsGreedy(t *testing.T) {
	for _, k := range kernels.Supported() {
		m := randomSamplerModel(t, 16, 12)
		prime := []int32{3, 1, 4}
		s := NewSampler(k, m, 0)
		s.Greedy = true
		s.Prime(prime)
		var greedy []int32
		s.Generate(60, func(id int32) { greedy = append(greedy, id) })
		beam, lp, err := BeamSearch(k, m, prime, 60, 1)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(beam, greedy) {
			t.Fatalf("%s: beam width 1 gave %v, greedy %v", k.Name(), beam, greedy)
		}
		if want := sequenceLogProb(k, m, prime, beam); math.Abs(lp-want) > 1e-9*math.Abs(want)+1e-9 {
			t.Fatalf("%s: beam log-prob %v, recomputed %v", k.Name(), lp, want)
		}
	}
}

// trapModel is a model where greedy decoding is beaten: from the zero state
// symbol 0 is the likeliest (0.4) but is followed by the flat [0.4, 0.35,
// 0.25] again, while symbol 1 (0.35) makes the next symbol almost certain.
func trapModel(t *testing.T) *Model {
	m, err := NewModel(rnnShape(3, 3), 1)
	if err != nil {
		t.Fatal(err)
	}
	clear(m.Params)
	for x := 0; x < 3; x++ {
		m.Tensor("U")[x*3+x] = 8 // h ≈ onehot(x) after reading x
	}
	copy(m.Tensor("c"), []float32{float32(math.Log(0.4)), float32(math.Log(0.35)), float32(math.Log(0.25))})
	m.Tensor("V")[2*3+1] = 12 // after 1, symbol 2 is nearly certain
	return m
}

func TestBeamBeatsGreedyOnTrap(t *testing.T) {
	k := kernels.Best()
	m := trapModel(t)
	greedy, greedyLP, err := BeamSearch(k, m, nil, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(greedy, []int32{0, 0}) {
		t.Fatalf("greedy took %v, want [0 0]: the trap is not set", greedy)
	}
	for _, width := range []int{2, 3, 9} {
		beam, lp, err := BeamSearch(k, m, nil, 2, width)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(beam, []int32{1, 2}) || !(lp > greedyLP) {
			t.Fatalf("width %d: %v (log-prob %.4f), want [1 2] beating greedy's %.4f", width, beam, lp, greedyLP)
		}
		if want := sequenceLogProb(k, m, nil, beam); math.Abs(lp-want) > 1e-9 {
			t.Fatalf("width %d: log-prob %v, recomputed %v", width, lp, want)
		}
	}
}

// With a beam as wide as every sequence, the search is exhaustive: it must
// find exactly the best sequence.
func TestWideBeamIsExact(t *testing.T) {
	k := kernels.Best()
	const V, n = 4, 4
	m := randomSamplerModel(t, 6, V)
	prime := []int32{2}
	best, bestLP := []int32(nil), math.Inf(-1)
	seq := make([]int32, n)
	for code := 0; code < V*V*V*V; code++ {
		c := code
		for i := range seq {
			seq[i] = int32(c % V)
			c /= V
		}
		if lp := sequenceLogProb(k, m, prime, seq); lp > bestLP {
			best, bestLP = slices.Clone(seq), lp
		}
	}
	beam, lp, err := BeamSearch(k, m, prime, n, V*V*V)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(beam, best) || math.Abs(lp-bestLP) > 1e-9 {
		t.Fatalf("exhaustive beam found %v (%.6f), enumeration %v (%.6f)", beam, lp, best, bestLP)
	}
	// Every narrower beam's result is a real sequence no likelier than that.
	for width := 1; width < V*V*V; width *= 2 {
		b, lp, _ := BeamSearch(k, m, prime, n, width)
		if len(b) != n || lp > bestLP+1e-9 {
			t.Fatalf("width %d: %v with log-prob %.6f above the optimum %.6f", width, b, lp, bestLP)
		}
	}
}

func TestBeamEdgeCases(t *testing.T) {
	k := kernels.Best()
	m := trapModel(t)
	if b, lp, err := BeamSearch(k, m, nil, 0, 3); err != nil || len(b) != 0 || lp != 0 {
		t.Fatalf("n = 0: %v %v %v", b, lp, err)
	}
	for _, w := range []int{0, -1, MaxBeam + 1} {
		if _, _, err := BeamSearch(k, m, nil, 3, w); err == nil {
			t.Fatalf("width %d accepted", w)
		}
	}
	if _, _, err := BeamSearch(k, m, nil, -1, 3); err == nil {
		t.Fatal("negative length accepted")
	}
	if _, _, err := BeamSearch(k, m, nil, maxBeamSteps, 2); err == nil {
		t.Fatal("a search too long to keep its back-pointers was accepted")
	}
}

func TestTrainerInitFrom(t *testing.T) {
	corpus, vocab := writeCorpus(t, pairsText(2000, 1))
	cfg := TrainConfig{Model: rnnModel(8), Seq: 8, Batch: 1, Optimizer: "sgd", LR: 0.1, Clip: Clip{Mode: "none"}, Seed: 1}
	tr, err := NewTrainer(cfg, kernels.Best(), corpus, vocab)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := NewModel(rnnShape(8, vocab.Size()), 99)
	if err := tr.InitFrom(m); err != nil || !slices.Equal(tr.Model.Params, m.Params) {
		t.Fatalf("InitFrom: %v", err)
	}
	other, _ := NewModel(rnnShape(9, vocab.Size()), 99)
	if err := tr.InitFrom(other); err == nil {
		t.Fatal("InitFrom accepted a model of another shape")
	}
}

// BenchmarkSample measures generation speed per sampling mode on the
// sample512 workload's shape (H=512, vocabulary 65).
func BenchmarkSample(b *testing.B) {
	m, _ := NewModel(rnnShape(512, 65), 1)
	for _, k := range kernels.Supported() {
		for _, mode := range []struct {
			name   string
			greedy bool
			topK   int
			topP   float64
		}{{"plain", false, 0, 0}, {"greedy", true, 0, 0}, {"topk5", false, 5, 0}, {"topp0.9", false, 0, 0.9}} {
			b.Run("backend="+k.Name()+"/mode="+mode.name+"/H=512", func(b *testing.B) {
				s := NewSampler(k, m, 1)
				s.Greedy, s.TopK, s.TopP = mode.greedy, mode.topK, mode.topP
				b.ReportAllocs()
				for b.Loop() {
					s.Feed(s.Next())
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "chars/s")
			})
		}
	}
}
