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
	if !tu.pick() {
		t.Fatal("the first chunk does not take the first way")
	}
	tu.record(true, 3*time.Microsecond)
	if tu.pick() {
		t.Fatal("the second chunk does not take the second way")
	}
	tu.record(false, 4*time.Microsecond)
	every := probeEvery
	for round := 0; round < 10; round++ {
		for i := 1; i < every; i++ {
			if !tu.pick() {
				t.Fatalf("round %d, chunk %d of %d: the slower way taken", round, i, every)
			}
			tu.record(true, 3*time.Microsecond)
		}
		if tu.pick() {
			t.Fatalf("round %d: the slower way not timed again after %d chunks", round, every)
		}
		tu.record(false, 4*time.Microsecond)
		every = min(2*every, maxProbeEvery)
	}
	if every != maxProbeEvery {
		t.Fatalf("the probes never reached %d chunks apart", maxProbeEvery)
	}
	// At the next probe the second way has become the faster: the tuner
	// keeps to it, and times the first again after probeEvery chunks.
	for i := 1; i < every; i++ {
		tu.pick()
		tu.record(true, 3*time.Microsecond)
	}
	if tu.pick() {
		t.Fatal("no probe of the second way")
	}
	tu.record(false, 2*time.Microsecond)
	for i := 1; i < probeEvery; i++ {
		if tu.pick() {
			t.Fatalf("chunk %d after the change: the slower way taken", i)
		}
		tu.record(false, 2*time.Microsecond)
	}
	if !tu.pick() {
		t.Fatalf("the first way not timed again %d chunks after the change", probeEvery)
	}
}

// One chunk lengthened by an interruption does not switch the tuner to the
// slower way, and a way that has become slower for good is left within
// tuneWindow chunks.
func TestTunerOutliers(t *testing.T) {
	var tu tuner
	tu.pick()
	tu.record(true, 3*time.Microsecond)
	tu.pick()
	tu.record(false, 4*time.Microsecond)
	if !tu.pick() {
		t.Fatal("the first way, the faster, not taken")
	}
	tu.record(true, 100*time.Microsecond) // interrupted
	if !tu.pick() {
		t.Fatal("one interrupted chunk switched the tuner to the slower way")
	}
	tu.record(true, 3*time.Microsecond)
	switched := -1
	for i := range tuneWindow + 1 {
		if !tu.pick() {
			switched = i
			break
		}
		tu.record(true, 5*time.Microsecond) // the first way has become slower
	}
	if switched < 0 {
		t.Fatalf("still the first way after %d chunks slower than the second", tuneWindow+1)
	}
}
