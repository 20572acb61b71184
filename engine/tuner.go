package engine

import "time"

// tuner picks, chunk by chunk, the fastest of a few ways of doing the same
// work on this machine as it is now, where which is fastest depends on
// more than the model: how fast the two cores hand each other a cache
// line, and how fast one core alone reads its L2, vary with the CPU and
// with where the host has put the cores. Every way must give the same
// bits. Sampling uses it to choose between a step begun ahead on two
// cores, one in turn on both, one in turn on this core alone, and, where
// the model allows, the two cores in lockstep (Sampler.Generate), training a single stream between the helper core
// beside the pass and both cores sharing each product (singleWays).
//
// Each chunk is timed and the fastest way taken, and the others are timed
// again, in turn, after a while: probeEvery chunks, twice as many each
// time the fastest stays the fastest (up to maxProbeEvery), so that a way
// that never wins costs a fraction of a percent. A way's time is the
// least of its last tuneWindow chunks: an interruption only ever
// lengthens a chunk, and taken alone it would switch to a slower way. A
// probe starts its way's window afresh, so that old figures do not speak
// for it. The ways are timed first in order, way 0 first.
type tuner struct {
	ways    int                                // how many, at most maxWays; 2 if never set
	last    [maxWays][tuneWindow]time.Duration // each way's last chunks, per unit of work
	n       [maxWays]int                       // chunks in last, up to tuneWindow
	chunks  int                                // since a slower way was last timed
	every   int                                // chunks between timings of a slower way
	probing bool                               // the chunk picked last times a slower way
	probed  int                                // the slower way timed last
}

// maxWays is the most ways a tuner chooses between.
const maxWays = 4

// tuneWindow is how many of a way's last chunks its time is the least of.
const tuneWindow = 8

// The chunks between two timings of a slower way: at first, and at most.
const (
	probeEvery    = 16
	maxProbeEvery = 1024
)

// count is how many ways the tuner chooses between.
func (t *tuner) count() int {
	if t.ways == 0 {
		return 2
	}
	return t.ways
}

// per is way i's time per unit of work, 0 before it has been timed.
func (t *tuner) per(i int) time.Duration {
	least := time.Duration(0)
	for _, d := range t.last[i][:t.n[i]] {
		if least == 0 || d < least {
			least = d
		}
	}
	return least
}

// fastest is the way with the least time so far (the first of equals).
func (t *tuner) fastest() int {
	best := 0
	for i := 1; i < t.count(); i++ {
		if t.per(i) < t.per(best) {
			best = i
		}
	}
	return best
}

// pick reports the way the next chunk should take.
func (t *tuner) pick() int {
	for i := range t.count() {
		if t.n[i] == 0 {
			return i
		}
	}
	best := t.fastest()
	t.every = max(t.every, probeEvery)
	if t.chunks++; t.chunks < t.every {
		return best
	}
	// Time the next slower way after the one timed last.
	t.chunks, t.probing = 0, true
	t.probed = (t.probed + 1) % t.count()
	if t.probed == best {
		t.probed = (t.probed + 1) % t.count()
	}
	return t.probed
}

// record notes the time per unit of work of a chunk that took way i.
func (t *tuner) record(i int, per time.Duration) {
	per = max(per, 1)
	if !t.probing {
		copy(t.last[i][1:], t.last[i][:tuneWindow-1])
		t.last[i][0], t.n[i] = per, min(t.n[i]+1, tuneWindow)
		return
	}
	t.probing = false
	was := t.fastest()
	t.last[i][0], t.n[i] = per, 1
	if t.fastest() == was {
		t.every = min(2*t.every, maxProbeEvery) // still the slower
	} else {
		t.every = probeEvery
	}
}
