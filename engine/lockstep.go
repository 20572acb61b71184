package engine

import (
	"runtime"
	"sync/atomic"

	"charrnn/kernels"
)

// lockstep runs a single stream's recurrence on the two cores at once, each
// on its own half of the units for the whole window: its rows of the
// recurrent weights stay in its L2, and at every step the cores exchange
// only the step's vector (the state forward, the gradient back), each
// publishing its half (in bfloat16 in mixed precision, as the GEMVs read
// it) and waiting for the other's. Splitting each step's GEMV through the
// pool instead hands both halves of x and y between the cores and wakes
// the helper at every call: on a Zen 4, a 512×512 bfloat16 GEMV split that
// way took 3.9-4.2 µs where its half alone took 2.5 (bench/RESULTS.md).
// Every value is computed by the same calls on the same operands as the
// pooled split, so both give the same bits. A sampler of a one-layer RNN
// runs its chunks of steps in lockstep too (lockSampler).
type lockstep struct {
	// ready[c] counts the vectors core c has published; each has cache
	// lines of its own, as the cores write them at every step.
	ready [2]paddedCount
	// abandoned says that one core's half ended early (it panicked), so
	// that the other stops waiting for it.
	abandoned atomic.Bool
	_         [64]byte
	// vecs are the exchanged vectors in mixed precision, converted by ops,
	// double-buffered: vector j is in vecs[j%2]. A core writes vector j+2
	// only after the other has published j+1, and so has read vector j. In
	// float32 the vectors are the pass's own.
	vecs [2][]uint16
	// own[c] is core c's private copy of the vector its products read:
	// its own half converted there first, the other's copied in once
	// published. Reading its half from vecs instead, the first product of
	// a step waited for the stores to lines the other core had read,
	// 80-200 ns (bench/RESULTS.md).
	own [2][]uint16
	ops kernels.BF16
	// half runs core c's units [lo, hi); second runs the helper's half: a
	// func value made once.
	half   func(c, lo, hi int)
	mid, n int
	second func()
}

type paddedCount struct {
	_ [64]byte
	n atomic.Int32
}

func newLockstep() *lockstep {
	l := new(lockstep)
	l.second = func() { l.guarded(1, l.mid, l.n) }
	return l
}

// run runs half over units [0, n) split at mid between this core and the
// helper offered by k, in mixed precision when bf is not nil, and reports
// false, having run nothing, when there is no helper free. The halves'
// boundary must be a multiple of 16 units, a cache line of float32s
// (lockstepMid is an even split).
func (l *lockstep) run(k kernels.Backend, bf *bf16Products, n, mid int, half func(c, lo, hi int)) bool {
	a, ok := k.(kernels.Async)
	if !ok || n < 32 {
		return false
	}
	l.ops = nil
	if bf != nil {
		l.ops = bf.ops
	}
	if l.ops != nil && len(l.vecs[0]) < n {
		l.vecs = [2][]uint16{make([]uint16, n), make([]uint16, n)}
		// Apart, so that the cores' private writes share no cache line.
		l.own = [2][]uint16{make([]uint16, n+32), make([]uint16, n+32)}
	}
	l.half, l.mid, l.n = half, mid, n
	l.ready[0].n.Store(0)
	l.ready[1].n.Store(0)
	l.abandoned.Store(false)
	if !a.Go(l.second) {
		return false
	}
	defer a.Wait()
	l.guarded(0, 0, l.mid)
	return true
}

// lockstepMid is where a lockstep splits n units: a multiple of 16.
func lockstepMid(n int) int { return (n/2 + 15) &^ 15 }

// guarded runs core c's half, marking the lockstep abandoned if it panics.
func (l *lockstep) guarded(c, lo, hi int) {
	finished := false
	defer func() {
		if !finished {
			l.abandoned.Store(true)
		}
	}()
	l.half(c, lo, hi)
	finished = true
}

// vec is the buffer of vector j, in mixed precision.
func (l *lockstep) vec(j int) []uint16 { return l.vecs[j%2] }

// put makes units [lo, hi) of v this core's half of vector j: in mixed
// precision it converts them into vec(j); in float32 v is the vector.
func (l *lockstep) put(j int, v []float32, lo, hi int) {
	if l.ops != nil {
		l.ops.ToBF16(l.vec(j)[lo:hi], v[lo:hi])
	}
}

// putMine is put in mixed precision for core c whose products read its
// private copy (mine, take): the half is converted there first.
func (l *lockstep) putMine(c, j int, v []float32, lo, hi int) {
	mine := l.own[c][lo:hi]
	l.ops.ToBF16(mine, v[lo:hi])
	copy(l.vec(j)[lo:hi], mine)
}

// mine is core c's private copy of the vector it last put: its own half.
func (l *lockstep) mine(c int) []uint16 { return l.own[c][:l.n] }

// take copies the other core's half of vector j, units [lo, hi), into
// core c's private copy, once it has awaited it, and returns the copy.
func (l *lockstep) take(c, j, lo, hi int) []uint16 {
	copy(l.own[c][lo:hi], l.vec(j)[lo:hi])
	return l.own[c][:l.n]
}

// share publishes core c's half of vector j, written into vec(j), and
// waits for the other core's. It reports false when the other core has
// abandoned the pass: the half must then return.
func (l *lockstep) share(c, j int) bool {
	l.publish(c, j)
	return l.await(c, j)
}

// publish makes core c's half of vector j, written into vec(j), the other
// core's to read. Until it has awaited the other's half of vector j, core
// c may still read its own half, but write neither.
func (l *lockstep) publish(c, j int) { l.ready[c].n.Store(int32(j + 1)) }

// await waits for the other core's half of vector j, once core c has
// published its own. It reports false when the other core has abandoned
// the pass: the half must then return.
func (l *lockstep) await(c, j int) bool {
	other := &l.ready[1-c].n
	for i := 1; other.Load() <= int32(j); i++ {
		if l.abandoned.Load() {
			return false
		}
		pause(i)
	}
	return true
}

// otherHalf is the units of the half of [0, n) that [lo, hi) is not.
func otherHalf(lo, hi, n int) (int, int) {
	if lo == 0 {
		return hi, n
	}
	return 0, lo
}

// pause is turn i of a core's wait for the other: it spins, and now and
// then lets other goroutines have its P, as the pool's helpers do
// (kernels.yieldEvery).
func pause(i int) {
	if i%(1<<14) == 0 {
		runtime.Gosched()
	}
}
