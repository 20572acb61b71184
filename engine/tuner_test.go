package engine

import (
	"testing"
	"time"
)

// The tuner starts with the first way, then times the second, keeps to the
// faster way, and times the other again after probeEvery chunks, twice as
// many each time it is still the slower, up to maxProbeEvery; when it has
// become the faster, the tuner takes it and probes often again.
func TestTunerPicksTheFaster(t *testing.T) {
	var tu tuner
	if tu.pick() != 0 {
		t.Fatal("the first chunk does not take the first way")
	}
	tu.record(0, 3*time.Microsecond)
	if tu.pick() != 1 {
		t.Fatal("the second chunk does not take the second way")
	}
	tu.record(1, 4*time.Microsecond)
	every := probeEvery
	for round := 0; round < 10; round++ {
		for i := 1; i < every; i++ {
			if tu.pick() != 0 {
				t.Fatalf("round %d, chunk %d of %d: the slower way taken", round, i, every)
			}
			tu.record(0, 3*time.Microsecond)
		}
		if tu.pick() != 1 {
			t.Fatalf("round %d: the slower way not timed again after %d chunks", round, every)
		}
		tu.record(1, 4*time.Microsecond)
		every = min(2*every, maxProbeEvery)
	}
	if every != maxProbeEvery {
		t.Fatalf("the probes never reached %d chunks apart", maxProbeEvery)
	}
	// At the next probe the second way has become the faster: the tuner
	// keeps to it, and times the first again after probeEvery chunks.
	for i := 1; i < every; i++ {
		tu.pick()
		tu.record(0, 3*time.Microsecond)
	}
	if tu.pick() != 1 {
		t.Fatal("no probe of the second way")
	}
	tu.record(1, 2*time.Microsecond)
	for i := 1; i < probeEvery; i++ {
		if tu.pick() != 1 {
			t.Fatalf("chunk %d after the change: the slower way taken", i)
		}
		tu.record(1, 2*time.Microsecond)
	}
	if tu.pick() != 0 {
		t.Fatalf("the first way not timed again %d chunks after the change", probeEvery)
	}
}

// One chunk lengthened by an interruption does not switch the tuner to the
// slower way, and a way that has become slower for good is left within
// tuneWindow chunks.
func TestTunerOutliers(t *testing.T) {
	var tu tuner
	tu.pick()
	tu.record(0, 3*time.Microsecond)
	tu.pick()
	tu.record(1, 4*time.Microsecond)
	if tu.pick() != 0 {
		t.Fatal("the first way, the faster, not taken")
	}
	tu.record(0, 100*time.Microsecond) // interrupted
	if tu.pick() != 0 {
		t.Fatal("one interrupted chunk switched the tuner to the slower way")
	}
	tu.record(0, 3*time.Microsecond)
	switched := -1
	for i := range tuneWindow + 1 {
		if tu.pick() != 0 {
			switched = i
			break
		}
		tu.record(0, 5*time.Microsecond) // the first way has become slower
	}
	if switched < 0 {
		t.Fatalf("still the first way after %d chunks slower than the second", tuneWindow+1)
	}
}

// With three ways the tuner times each in order, keeps to the fastest, and
// times the two slower ones in turn; when the way last timed has become
// the fastest it keeps to that.
func TestTunerThreeWays(t *testing.T) {
	tu := tuner{ways: 3}
	times := []time.Duration{5 * time.Microsecond, 3 * time.Microsecond, 4 * time.Microsecond}
	for want := range 3 {
		if got := tu.pick(); got != want {
			t.Fatalf("chunk %d took way %d, not way %d", want, got, want)
		}
		tu.record(want, times[want])
	}
	var probed []int
	for range 2 * (probeEvery + 2*probeEvery) {
		way := tu.pick()
		if way != 1 {
			probed = append(probed, way)
		}
		tu.record(way, times[way])
	}
	if len(probed) < 2 || probed[0] != 2 || probed[1] != 0 {
		t.Fatalf("the slower ways timed %v, want 2 then 0", probed)
	}
	// Way 2 becomes the fastest: once timed again it is kept.
	times[2] = 2 * time.Microsecond
	for range 4 * maxProbeEvery {
		way := tu.pick()
		tu.record(way, times[way])
		if way == 2 {
			break
		}
	}
	for i := range probeEvery - 1 {
		if way := tu.pick(); way != 2 {
			t.Fatalf("chunk %d after way 2 became the fastest took way %d", i, way)
		}
		tu.record(2, times[2])
	}
}
