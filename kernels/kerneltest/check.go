package kerneltest

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The helpers every family's tests share: guarded slices, the tolerances,
// and the memory-safety and allocation checks.

// sizes are the vector and matrix dimensions every op is tried at: empty,
// tiny, around the 8- and 16-lane register widths, and the model's sizes.
var sizes = []int{0, 1, 7, 15, 16, 17, 33, 65, 100, 512, 513}

const guardValue = -7777.25

// guarded is a slice placed at an unaligned offset inside a larger buffer,
// with guard values before and after it that no op may touch.
type guarded struct {
	buf  []float32
	off  int
	data []float32
}

// newGuarded returns a guarded slice of n random values in [-1, 1).
func newGuarded(rng *rand.Rand, n int) *guarded {
	off := 1 + rng.IntN(3) // never 64-byte aligned
	buf := make([]float32, off+n+17)
	for i := range buf {
		buf[i] = guardValue
	}
	g := &guarded{buf: buf, off: off, data: buf[off : off+n]}
	for i := range g.data {
		g.data[i] = rng.Float32()*2 - 1
	}
	return g
}

// check fails the test if a guard value around the data changed.
func (g *guarded) check(t *testing.T, what string) {
	t.Helper()
	for i := 0; i < g.off; i++ {
		if g.buf[i] != guardValue {
			t.Fatalf("%s: guard before the output overwritten at -%d: %v", what, g.off-i, g.buf[i])
		}
	}
	for i := g.off + len(g.data); i < len(g.buf); i++ {
		if g.buf[i] != guardValue {
			t.Fatalf("%s: guard after the output overwritten at +%d: %v", what, i-g.off-len(g.data), g.buf[i])
		}
	}
}

// unchanged fails the test if an input was modified, or its guards.
func unchanged(t *testing.T, what string, want []float32, g *guarded) {
	t.Helper()
	for i := range want {
		if g.data[i] != want[i] && !(math.IsNaN(float64(want[i])) && math.IsNaN(float64(g.data[i]))) {
			t.Fatalf("%s: input modified at %d: %v, was %v", what, i, g.data[i], want[i])
		}
	}
	g.check(t, what)
}

func clone(s []float32) []float32 { return append([]float32(nil), s...) }

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = rng.Float32()*2 - 1
	}
	return s
}

// tolerance bounds float32 rounding for a sum of k products whose absolute
// values add up to absSum.
func tolerance(k int, absSum float64) float64 {
	return float64(k+2)*1.2e-7*absSum + 1e-30
}

// within reports whether got is want up to rel·(1+mag), mag being the
// largest magnitude among want and terms: rounding relative to the largest
// term that went into want, since a parameter minus a step of similar size
// cancels. A want that is not finite must be matched in kind.
func within(got, want, rel float64, terms ...float64) bool {
	if math.IsNaN(want) || math.IsInf(want, 0) {
		return got == want || math.IsNaN(got) && math.IsNaN(want)
	}
	if math.IsNaN(got) || math.IsInf(got, 0) {
		return false
	}
	mag := math.Abs(want)
	for _, x := range terms {
		mag = max(mag, math.Abs(x))
	}
	return math.Abs(got-want) <= rel*(1+mag)
}

// checkShortSlicesPanic pins memory safety: each call passes one slice one
// element too short for its shape and must panic (as the generic backend's
// bounds checks do), never be read or written past its end by assembly.
func checkShortSlicesPanic(t *testing.T, calls map[string]func()) {
	t.Helper()
	for name, f := range calls {
		if !panics(f) {
			t.Errorf("%s: a slice one element short did not panic", name)
		}
	}
}

func panics(f func()) (panicked bool) {
	defer func() {
		if recover() != nil {
			panicked = true
		}
	}()
	f()
	return false
}

// checkNoAllocs pins that no op allocates: the engine calls them millions of
// times per training run and a training step must not allocate.
func checkNoAllocs(t *testing.T, ops map[string]func()) {
	t.Helper()
	for name, op := range ops {
		// AllocsPerRun counts every goroutine's allocations and truncates
		// the average: over 50 runs, a one-off allocation by the runtime
		// (a new thread when a long cgo call gives up its P on a loaded
		// machine) is not mistaken for one per call.
		if got := testing.AllocsPerRun(50, op); got != 0 {
			t.Errorf("%s allocates %v times per call", name, got)
		}
	}
}

// short and full make the slices of the memory-safety checks.
func full(r, c int) []float32  { return make([]float32, r*c) }
func short(r, c int) []float32 { return make([]float32, r*c-1) }

var (
	sinkF32 float32
	sinkF64 float64
)
