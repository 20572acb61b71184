package engine

import "time"

// tuner picks, chunk by chunk, the faster of two ways of doing the same
// work on this machine as it is now, where which is faster depends on more
// than the model: how fast the two cores hand each other a cache line, and
// how fast one core alone reads its L2, vary with the CPU and with where
// the host has put the cores. Both ways must give the same bits. Sampling
// uses it to choose between a step begun ahead on two cores and one in turn
// (Sampler.Generate), training a single stream between the helper core
// beside the pass and both cores sharing each product (singleWays).
//
// Each chunk is timed and the faster way taken, and the other is timed
// again after a while: probeEvery chunks, twice as many each time it is
// still the slower (up to maxProbeEvery), so that a way that never wins
// costs a fraction of a percent. A way's time is the least of its last
// tuneWindow chunks: an interruption only ever lengthens a chunk, and
// taken alone it would switch to the slower way. A probe starts its way's
// window afresh, so that old figures do not speak for it. The first way is
// timed first.
type tuner struct {
	last    [2][tuneWindow]time.Duration // each way's last chunks, per unit of work: the second way, the first
	n       [2]int                       // chunks in last, up to tuneWindow
	chunks  int                          // since the other way was last timed
	every   int                          // chunks between timings of the other way
	probing bool                         // the chunk picked last times the other way
}

// tuneWindow is how many of a way's last chunks its time is the least of.
const tuneWindow = 8

// The chunks between two timings of the slower way: at first, and at most.
const (
	probeEvery    = 16
	maxProbeEvery = 1024
)

// per is way i's time per unit of work (1 is the first way), 0 before it
// has been timed.
func (t *tuner) per(i int) time.Duration {
	least := time.Duration(0)
	for _, d := range t.last[i][:t.n[i]] {
		if least == 0 || d < least {
			least = d
		}
	}
	return least
}

// firstFaster reports whether the first way is the faster so far.
func (t *tuner) firstFaster() bool { return t.per(1) < t.per(0) }

// pick reports whether the next chunk should take the first way.
func (t *tuner) pick() bool {
	switch {
	case t.n[1] == 0:
		return true
	case t.n[0] == 0:
		return false
	}
	faster := t.firstFaster()
	t.every = max(t.every, probeEvery)
	if t.chunks++; t.chunks >= t.every {
		t.chunks, t.probing = 0, true
		return !faster
	}
	return faster
}

// record notes the time per unit of work of a chunk that took the first
// way or the second.
func (t *tuner) record(first bool, per time.Duration) {
	i := 0
	if first {
		i = 1
	}
	per = max(per, 1)
	if !t.probing {
		copy(t.last[i][1:], t.last[i][:tuneWindow-1])
		t.last[i][0], t.n[i] = per, min(t.n[i]+1, tuneWindow)
		return
	}
	t.probing = false
	wasFaster := t.firstFaster()
	t.last[i][0], t.n[i] = per, 1
	if wasFaster == t.firstFaster() {
		t.every = min(2*t.every, maxProbeEvery) // still the slower
	} else {
		t.every = probeEvery
	}
}
