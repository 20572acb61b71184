package engine

import (
	"fmt"
	"io"
	"math"
	"testing"

	"charrnn/kernels"
)

// Generate on one core, and its steps begun ahead on two (a helper computes
// part of each step's recurrent products while this core draws the symbol,
// see stepper.begin), draw bit for bit what Next and Feed draw: the same
// symbols, state and logits, for every cell, stacked, in both precisions,
// wherever the rows are cut between the cores; so does Generate on two
// cores, whichever way its tuner takes. Neither allocates per character,
// nor does Generate on two cores.
func TestGenerateOnTwoCores(t *testing.T) {
	sampledModels(t, func(k, two kernels.Backend, p Precision, c ModelConfig, m *Model) {
		// one feeds symbol by symbol on one core, alone generates
		// there, both on two cores.
		one, alone, both := NewSampler(k, m, 3), NewSampler(k, m, 3), NewSampler(two, m, 3)
		for _, s := range []*Sampler{one, alone, both} {
			s.Temperature = 1.5
			s.Prime([]int32{1, 2, 3})
		}
		// Every share from all rows on the helper to all on this
		// core, then wherever the adapting takes it.
		for i, share := range []int{0, 1, 40, shareUnits / 2, 100, shareUnits, -1} {
			if share >= 0 {
				both.step.ahead.share = share
			}
			var got, gotAlone []int32
			both.generateAhead(25, func(id int32) { got = append(got, id) })
			alone.Generate(25, func(id int32) { gotAlone = append(gotAlone, id) })
			// Each step with rows on the helper moves the share by
			// one: an odd number of moves cannot bring it back.
			if share == 40 && both.step.ahead.share == 40 {
				t.Fatalf("%s %v %v: no step of Generate had rows on the helper", k.Name(), c, p)
			}
			for j := range 25 {
				id := one.Next()
				one.Feed(id)
				if got[j] != id || gotAlone[j] != id {
					t.Fatalf("%s %v %v: share %d, symbol %d: Next and Feed drew %d, Generate on one core %d, on two %d", k.Name(), c, p, share, 25*i+j, id, gotAlone[j], got[j])
				}
			}
			for _, g := range []struct {
				name string
				s    *Sampler
			}{{"Generate on one core", alone}, {"Generate on two cores", both}} {
				for j := range one.h {
					if math.Float32bits(one.h[j]) != math.Float32bits(g.s.h[j]) {
						t.Fatalf("%s %v %v: share %d: state %d is %v after %s, %v after Feed", k.Name(), c, p, share, j, g.s.h[j], g.name, one.h[j])
					}
				}
				for j := range one.logits {
					if math.Float32bits(one.logits[j]) != math.Float32bits(g.s.logits[j]) {
						t.Fatalf("%s %v %v: share %d: logit %d is %v after %s, %v after Feed", k.Name(), c, p, share, j, g.s.logits[j], g.name, one.logits[j])
					}
				}
			}
		}
		// Generate on two cores times every way (ahead, in turn, in
		// turn alone) over its first chunks, and draws what Next and
		// Feed draw whichever it takes.
		one, tuned := NewSampler(k, m, 4), NewSampler(two, m, 4)
		var got []int32
		tuned.Generate(generateWays*tuneChunk+5, func(id int32) { got = append(got, id) })
		for way := range tuned.step.tuner.count() {
			if tuned.step.tuner.n[way] == 0 {
				t.Fatalf("%s %v %v: Generate never took way %d", k.Name(), c, p, way)
			}
		}
		drewAsFeed(t, fmt.Sprintf("%s %v %v: Generate on two cores", k.Name(), c, p), one, tuned, got)
		for _, g := range []func(int, func(int32)){both.generateAhead, both.Generate, alone.Generate} {
			if n := testing.AllocsPerRun(20, func() { g(tuneChunk+4, func(int32) {}) }); n != 0 {
				t.Errorf("%s %v %v: %v allocations per Generate", k.Name(), c, p, n)
			}
		}
	})
}

// sampledModels calls f with every backend this CPU runs, the same on two
// cores, every precision it runs and every cell configuration, as a model
// of 48 units over 30 symbols (rows enough to cut: 48 to 192 per product).
func sampledModels(t *testing.T, f func(k, two kernels.Backend, p Precision, c ModelConfig, m *Model)) {
	for _, k := range kernels.Supported() {
		two := kernels.Parallel(k, 2)
		defer two.(io.Closer).Close()
		precisions := []Precision{FP32}
		if _, ok := kernels.BF16Of(k); ok {
			precisions = append(precisions, BF16)
		}
		for _, p := range precisions {
			for _, c := range cellConfigs() {
				c.Hidden, c.Vocab = 48, 30
				m, err := NewModel(c, 5)
				if err != nil {
					t.Fatal(err)
				}
				m.Precision = p
				f(k, two, p, c, m)
			}
		}
	}
}

// A panic in the middle of Generate (here, from emit) leaves the backend's
// helper free and the sampler's logits those of its state.
func TestGeneratePanicLeavesHelperFree(t *testing.T) {
	k := kernels.Parallel(kernels.Supported()[0], 2)
	defer k.(io.Closer).Close()
	m, err := NewModel(ModelConfig{Cell: "rnn", Layers: 1, Hidden: 64, Vocab: 20}, 1)
	if err != nil {
		t.Fatal(err)
	}
	s := NewSampler(k, m, 1)
	func() {
		defer func() { recover() }()
		s.Generate(10, func(int32) { panic("emit failed") })
	}()
	want := make([]float32, len(s.logits))
	copy(want, s.logits)
	s.step.output(k, s.top(), s.logits)
	for j := range want {
		if want[j] != s.logits[j] {
			t.Fatalf("logit %d after the panic is %v, the state's is %v", j, want[j], s.logits[j])
		}
	}
	if !k.(kernels.Async).Go(func() {}) {
		t.Fatal("the helper is still taken after a panic in Generate")
	}
	k.(kernels.Async).Wait()
}

// A run of steps that keeps the weights in L2 from one step to the next
// (stepper.stepRun: half of each layer's recurrent rows before its Finish,
// the same half of the next step's after it) draws bit for bit what Next
// and Feed draw, for every cell, stacked, in both precisions, on one core
// and on two, and allocates nothing per character. The test's models are
// small, so runs are forced (their weights would fit in L2).
func TestGenerateInRuns(t *testing.T) {
	sampledModels(t, func(k, two kernels.Backend, p Precision, c ModelConfig, m *Model) {
		for _, kk := range []kernels.Backend{k, two} {
			one, runs := NewSampler(k, m, 3), NewSampler(kk, m, 3)
			if runs.step.inRuns(kk) {
				t.Fatalf("%s %v %v: a model of %d bytes of weights in runs", kk.Name(), c, p, runs.step.weightBytes)
			}
			runs.step.weightBytes = math.MaxInt
			for _, s := range []*Sampler{one, runs} {
				s.Temperature = 1.5
				s.Prime([]int32{1, 2, 3})
			}
			var got []int32
			runs.generateInTurn(kk, 70, func(id int32) { got = append(got, id) })
			drewAsFeed(t, fmt.Sprintf("%s %v %v: a run", kk.Name(), c, p), one, runs, got)
			if n := testing.AllocsPerRun(10, func() { runs.generateInTurn(kk, 20, func(int32) {}) }); n != 0 {
				t.Errorf("%s %v %v: %v allocations per run", kk.Name(), c, p, n)
			}
		}
	})
}

// drewAsFeed checks that s drew got where one, drawing and feeding symbol
// by symbol from the same state, draws the same, and that both end in the
// same state and logits, bit for bit.
func drewAsFeed(t *testing.T, what string, one, s *Sampler, got []int32) {
	t.Helper()
	for j, g := range got {
		id := one.Next()
		one.Feed(id)
		if g != id {
			t.Fatalf("%s: symbol %d: Next and Feed drew %d, this %d", what, j, id, g)
		}
	}
	for j := range one.h {
		if math.Float32bits(one.h[j]) != math.Float32bits(s.h[j]) {
			t.Fatalf("%s: state %d is %v, %v after Feed", what, j, s.h[j], one.h[j])
		}
	}
	for j := range one.logits {
		if math.Float32bits(one.logits[j]) != math.Float32bits(s.logits[j]) {
			t.Fatalf("%s: logit %d is %v, %v after Feed", what, j, s.logits[j], one.logits[j])
		}
	}
}

// A one-layer vanilla RNN on the tiles samples with the two cores in
// lockstep (lockSampler), drawing bit for bit what Next and Feed draw, for
// chunks of every length and between chunks of the other ways, with the
// rows of W·h summed by halves in every way (unequal ones at 272 units).
// It allocates nothing.
func TestGenerateInLockstep(t *testing.T) {
	ran := false
	for _, k := range kernels.Supported() {
		if _, ok := kernels.BF16Of(k); !ok || !kernels.GemvOnTiles(k, 256, 256) {
			continue
		}
		ran = true
		two := kernels.Parallel(k, 2)
		defer two.(io.Closer).Close()
		for _, c := range []ModelConfig{
			{Cell: "rnn", Layers: 1, Hidden: 256, Vocab: 30},
			{Cell: "rnn", Layers: 1, Hidden: 272, Vocab: 40},
		} {
			m, err := NewModel(c, 3)
			if err != nil {
				t.Fatal(err)
			}
			m.Precision = BF16
			what := fmt.Sprintf("%s %+v", k.Name(), c)
			one, s := NewSampler(k, m, 8), NewSampler(two, m, 8)
			lock := s.lockstepSampler()
			if lock == nil {
				t.Fatalf("%s: no lockstep", what)
			}
			var got []int32
			keep := func(id int32) { got = append(got, id) }
			for _, n := range []int{1, 2, 17, tuneChunk} {
				if !lock.generate(n, keep) {
					t.Fatalf("%s: no helper for the lockstep", what)
				}
				s.generateAhead(3, keep)
				s.generateInTurn(two, 2, keep)
			}
			drewAsFeed(t, what+": in lockstep", one, s, got)
			// Tuned, every way is timed, the lockstep too.
			got = got[:0]
			s.Generate(generateWays*tuneChunk+5, keep)
			if s.step.tuner.count() != generateWays || s.step.tuner.n[wayLockstep] == 0 {
				t.Fatalf("%s: Generate never took the lockstep (%d ways)", what, s.step.tuner.count())
			}
			drewAsFeed(t, what+": tuned", one, s, got)
			if n := testing.AllocsPerRun(20, func() { lock.generate(tuneChunk, func(int32) {}) }); n != 0 {
				t.Errorf("%s: %v allocations per chunk in lockstep", what, n)
			}
		}
	}
	if !ran {
		t.Skip("no backend here runs a single stream's products on the tiles")
	}
}
