package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Parallel returns a Backend that forwards every op to b but splits large
// Gemv and Gemm calls into contiguous blocks of the output, and large
// element-wise passes over the parameter slab (SumSquares and the optimizer
// updates) into contiguous blocks of the slab, and runs them on
// `workers` cores at once: the calling goroutine computes the first block
// and a pool of workers-1 goroutines, started here once, the others (the
// caller takes back any block no helper has started by the time its own is
// done). Small calls, and calls made while another goroutine is using the
// pool, run inline on the caller. With workers <= 1 it returns b unchanged.
//
// The result has b's Name, is safe for concurrent use, and allocates
// nothing per call. It also implements io.Closer: Close stops the pool's
// goroutines at once (later calls run inline); a Parallel backend dropped
// without Close stops them when the garbage collector finds it unreachable.
func Parallel(b Backend, workers int) Backend {
	if workers <= 1 {
		return b
	}
	return newParallel(b, workers, defaultSplit)
}

// Unsplit returns the backend b runs its calls on: for a Parallel backend
// the one it wraps, whose calls run on the calling core alone; otherwise b.
// Some work (a sampler's step, whose weights one core's L2 may hold) is
// faster on one core where handing lines between the cores is slow.
func Unsplit(b Backend) Backend {
	if pb, ok := b.(*parallelBackend); ok {
		return pb.Backend
	}
	return b
}

// splitPolicy says which calls are large enough to split.
type splitPolicy struct {
	// Split a Gemv whose output has at least gemvOut elements (transposed,
	// half of gemvOut in every block), or, untransposed, whose matrix has
	// at least gemvWork;
	gemvOut, gemvWork int
	gemmWork          int // split a Gemm with at least this many multiply-adds (m*n*k);
	elemWork          int // split an element-wise pass over at least this many elements.
}

// defaultSplit keeps every split block's work many times the cost of handing
// it to a spinning helper (BenchmarkParallelDispatch measures that cost,
// BenchmarkParallelGemv what a split gains): a 512×512 GEMV; a GEMM of 2^20
// multiply-adds, even at OpenBLAS's single-core speed; an optimizer update
// over 64k elements, which streams 20-28 bytes per element from L2 or memory.
var defaultSplit = splitPolicy{gemvOut: 512, gemvWork: 256 << 10, gemmWork: 1 << 20, elemWork: 64 << 10}

// How long a goroutine spins waiting before it parks. Waking a parked
// goroutine costs about as much as a GEMV of the recurrence takes, and more
// on a virtual machine whose idle core has halted, so pool goroutines spin
// long enough to outlast a whole window's recurrence run on one core (a
// single stream whose products are too small to split): the window-wide
// products after it then find the helper awake instead of running alone.
// The caller, waiting for blocks that are already running, spins for less,
// so as not to keep the CPU from a helper whose thread the OS has
// descheduled: runtime.Gosched yields to goroutines, not to other threads.
const (
	helperSpin = 1 * time.Millisecond
	callerSpin = 100 * time.Microsecond
)

// parallelBackend is what Parallel returns. The pool lives in a separate
// object that the goroutines reference, so that this handle can become
// unreachable and have its cleanup stop them.
type parallelBackend struct {
	Backend // forwards every op; Gemv and Gemm are overridden
	pool    *pool
}

type pool struct {
	backend Backend
	policy  splitPolicy
	workers int

	// busy is held by the one call that is using the helpers; other
	// goroutines' calls run inline rather than wait.
	busy    atomic.Bool
	helpers []*helper
	pending atomic.Int32 // helper blocks of the current call not yet done
	done    gate         // the caller parks here when it stops spinning
	stop    sync.Once
}

// helper is one pool goroutine's mailbox.
type helper struct {
	// state says who owns job: the caller while jobIdle, whoever moves it
	// from jobPosted to jobTaken (the helper, or the caller taking back a
	// block the helper has not started) until it is idle again.
	state atomic.Uint32
	job   job
	gate  gate
	// panicked is what the job panicked with, for the caller to re-panic:
	// a programming error then surfaces where the call was made.
	panicked any
	// sum is the job's SumSquares result, kept after the job is cleared.
	sum float64
}

// job is one block of a Gemv or Gemm call (Gemv uses a, b, c for A, x, y),
// or of an element-wise pass.
type job struct {
	op             jobOp
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int

	// An element-wise op's slabs (p, g and up to two of optimizer state),
	// its scalar arguments in the op's order, and SumSquares' result.
	p, g, s1, s2 []float32
	// fn is an Async task.
	fn  func()
	arg [8]float32
	sum float64

	// bf16 is a BF16 op's part (parallel_bf16.go).
	bf16 bf16Job
}

const (
	jobIdle uint32 = iota
	jobPosted
	jobTaken
)

type jobOp uint8

const (
	opGemv jobOp = iota + 1
	opGemm
	opGemmPanels
	opSumSquares
	opSGD
	opAdagrad
	opAdam
	opMomentum
	opRMSprop
	opAdamW
	opFunc
	opBF16
	opStop
)

func newParallel(b Backend, workers int, policy splitPolicy) *parallelBackend {
	pb := newIdleParallel(b, workers, policy)
	for _, h := range pb.pool.helpers {
		go pb.pool.serve(h)
	}
	return pb
}

// newIdleParallel is newParallel without starting the helper goroutines:
// the caller then runs every block itself (tests use it to exercise that
// path deterministically).
func newIdleParallel(b Backend, workers int, policy splitPolicy) *parallelBackend {
	p := &pool{backend: b, policy: policy, workers: workers}
	p.done.init()
	for range workers - 1 {
		h := &helper{}
		h.gate.init()
		p.helpers = append(p.helpers, h)
	}
	pb := &parallelBackend{Backend: b, pool: p}
	runtime.AddCleanup(pb, func(p *pool) { p.close() }, p)
	return pb
}

// Close stops the pool's goroutines; calls made afterwards run inline.
func (pb *parallelBackend) Close() error {
	pb.pool.close()
	return nil
}

func (p *pool) close() {
	p.stop.Do(func() {
		// Take the pool for good: once any in-flight call has released
		// it, nothing will use the helpers again.
		for !p.busy.CompareAndSwap(false, true) {
			runtime.Gosched()
		}
		for _, h := range p.helpers {
			h.job = job{op: opStop}
			h.state.Store(jobPosted)
			h.gate.signal()
		}
	})
}

// serve is the loop of one pool goroutine.
func (p *pool) serve(h *helper) {
	for {
		h.gate.wait(helperSpin, func() bool { return h.state.Load() == jobPosted })
		if !h.state.CompareAndSwap(jobPosted, jobTaken) {
			continue // the caller took the block back
		}
		if h.job.op == opStop {
			return
		}
		p.runTaken(h)
	}
}

// runTaken runs h's job, which the current goroutine has taken, and
// reports it done.
func (p *pool) runTaken(h *helper) {
	h.panicked = h.job.runRecover(p.backend)
	h.sum = h.job.sum
	h.job = job{} // hold no reference to the caller's buffers
	h.state.Store(jobIdle)
	if p.pending.Add(-1) == 0 {
		p.done.signal()
	}
}

func (j *job) runRecover(b Backend) (panicked any) {
	defer func() { panicked = recover() }()
	j.run(b)
	return nil
}

func (j *job) run(b Backend) {
	switch j.op {
	case opGemv:
		b.Gemv(j.transA, j.m, j.n, j.alpha, j.a, j.lda, j.b, j.beta, j.c)
	case opGemm:
		b.Gemm(j.transA, j.transB, j.m, j.n, j.k, j.alpha, j.a, j.lda, j.b, j.ldb, j.beta, j.c, j.ldc)
	case opGemmPanels:
		b.GemmPanels(j.m, j.n, j.k, j.alpha, j.a, j.lda, j.b, j.beta, j.c, j.ldc)
	case opSumSquares:
		j.sum = b.SumSquares(j.p)
	case opSGD:
		b.SGDUpdate(j.p, j.g, j.arg[0], j.arg[1], j.arg[2])
	case opAdagrad:
		b.AdagradUpdate(j.p, j.g, j.s1, j.arg[0], j.arg[1], j.arg[2])
	case opAdam:
		b.AdamUpdate(j.p, j.g, j.s1, j.s2, j.arg[0], j.arg[1], j.arg[2], j.arg[3], j.arg[4], j.arg[5])
	case opMomentum:
		b.MomentumUpdate(j.p, j.g, j.s1, j.arg[0], j.arg[1], j.arg[2], j.arg[3])
	case opRMSprop:
		b.RMSpropUpdate(j.p, j.g, j.s1, j.arg[0], j.arg[1], j.arg[2], j.arg[3], j.arg[4])
	case opAdamW:
		b.AdamWUpdate(j.p, j.g, j.s1, j.s2, j.arg[0], j.arg[1], j.arg[2], j.arg[3], j.arg[4], j.arg[5], j.arg[6])
	case opFunc:
		j.fn()
	case opBF16:
		j.runBF16()
	}
}

// blockStart is where block i of `workers` blocks over total elements
// starts: i*total/workers rounded to the nearest multiple of 16, so every
// block but the last has a size that is a multiple of 16 (whole 64-byte
// lines of output) and sizes stay balanced.
func blockStart(i, total, workers int) int {
	if i >= workers {
		return total
	}
	return min(total, (i*total+8*workers)/(16*workers)*16)
}

// acquire reports whether the caller may split a call over total output
// elements: the first block must be non-empty and no other call may be
// using the pool. On true the caller must call dispatch and finish.
func (p *pool) acquire(total int) bool {
	return blockStart(1, total, p.workers) > 0 && p.busy.CompareAndSwap(false, true)
}

// dispatch hands blocks 1..workers-1 of a call to the helpers; mk fills in
// the job for the block [lo, hi). Empty blocks are not handed out. Each
// caller then runs block 0 from a job in its own frame: run through a
// shared helper taking mk, that job would escape to the heap, an
// allocation per call (TestParallelAllocs).
func (p *pool) dispatch(total int, mk func(j *job, lo, hi int)) {
	n := 0
	for i, h := range p.helpers {
		if lo, hi := blockStart(i+1, total, p.workers), blockStart(i+2, total, p.workers); lo < hi {
			mk(&h.job, lo, hi)
			n++
		}
	}
	p.pending.Store(int32(n))
	for i, h := range p.helpers {
		if blockStart(i+1, total, p.workers) < blockStart(i+2, total, p.workers) {
			h.state.Store(jobPosted)
			h.gate.signal()
		}
	}
}

// finish waits for the helpers' blocks, running those no helper has
// started yet, and releases the pool; sum, if not nil, first gets the
// helpers' SumSquares results added to it. Callers
// defer it before dispatching, so that a panic (a programming error such as
// a short slice) still leaves the pool usable, Close able to stop it, and
// the caller's buffers no longer written to once the panic propagates.
func (p *pool) finish(sum *float64) {
	// A block still waiting to be taken once the caller's own is done
	// belongs to a helper that is parked or whose thread the OS has
	// descheduled (a spinning one takes it within a microsecond): waiting
	// for it would cost more than running it here.
	for _, h := range p.helpers {
		if h.state.CompareAndSwap(jobPosted, jobTaken) {
			p.runTaken(h)
		}
	}
	p.done.wait(callerSpin, func() bool { return p.pending.Load() == 0 })
	var panicked any
	for _, h := range p.helpers {
		if h.panicked != nil && panicked == nil {
			panicked = h.panicked
		}
		if sum != nil {
			*sum += h.sum // in helper order, so the result is deterministic
		}
		h.panicked, h.sum = nil, 0
	}
	p.busy.Store(false)
	if panicked != nil {
		panic(panicked)
	}
}

// Gemv implements Backend; a large call is split over its output elements
// (rows of A, or columns when transposed).
func (pb *parallelBackend) Gemv(trans bool, m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
	p := pb.pool
	inner, out := n, m
	if trans {
		inner, out = m, n
	}
	// A transposed GEMV is split only when every block of its output is
	// wide (half of gemvOut): narrow blocks of a wide output could fall to
	// a backend's short kernels, which sum another way than the whole's
	// (simdKernels.gemv), and the engine needs the same bits whether or
	// not a call is split.
	large := out >= p.policy.gemvOut || m*n >= p.policy.gemvWork
	if trans {
		large = out >= p.workers*(p.policy.gemvOut/2)
	}
	if !large || inner == 0 || !p.acquire(out) {
		p.backend.Gemv(trans, m, n, alpha, a, lda, x, beta, y)
		return
	}
	block := func(j *job, lo, hi int) {
		*j = job{op: opGemv, transA: trans, m: m, n: n, alpha: alpha, a: a, lda: lda, b: x, beta: beta, c: y[lo:hi]}
		if trans {
			j.n, j.a = hi-lo, a[lo:]
		} else {
			j.m, j.a = hi-lo, a[lo*lda:]
		}
	}
	defer p.finish(nil)
	p.dispatch(out, block)
	var j job
	block(&j, 0, blockStart(1, out, p.workers))
	j.run(p.backend)
}

// Gemm implements Backend; a large call is split over the rows of C, or
// over its columns when C has few rows.
func (pb *parallelBackend) Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	p := pb.pool
	byRows := m >= n || m >= 32*p.workers
	out := n
	if byRows {
		out = m
	}
	if m == 0 || n == 0 || k == 0 || m*n*k < p.policy.gemmWork || !p.acquire(out) {
		p.backend.Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	block := func(j *job, lo, hi int) {
		*j = job{op: opGemm, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
			a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc}
		switch {
		case byRows && transA: // A is stored k×m: block of columns
			j.m, j.a, j.c = hi-lo, a[lo:], c[lo*ldc:]
		case byRows:
			j.m, j.a, j.c = hi-lo, a[lo*lda:], c[lo*ldc:]
		case transB: // B is stored n×k: block of rows
			j.n, j.b, j.c = hi-lo, b[lo*ldb:], c[lo:]
		default:
			j.n, j.b, j.c = hi-lo, b[lo:], c[lo:]
		}
	}
	defer p.finish(nil)
	p.dispatch(out, block)
	var j job
	block(&j, 0, blockStart(1, out, p.workers))
	j.run(p.backend)
}

// GemmPanels implements Backend; a large call is split as Gemm's is, over
// the rows of C, or over its columns in whole panels when C has few rows
// (blockStart's blocks are multiples of 16 columns).
func (pb *parallelBackend) GemmPanels(m, n, k int, alpha float32, a []float32, lda int, panels []float32, beta float32, c []float32, ldc int) {
	p := pb.pool
	byRows := m >= n || m >= 32*p.workers
	out := n
	if byRows {
		out = m
	}
	if m == 0 || n == 0 || k == 0 || m*n*k < p.policy.gemmWork || !p.acquire(out) {
		p.backend.GemmPanels(m, n, k, alpha, a, lda, panels, beta, c, ldc)
		return
	}
	block := func(j *job, lo, hi int) {
		*j = job{op: opGemmPanels, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: panels, beta: beta, c: c, ldc: ldc}
		if byRows {
			j.m, j.a, j.c = hi-lo, a[lo*lda:], c[lo*ldc:]
		} else {
			j.n, j.b, j.c = hi-lo, panels[lo*k:], c[lo:]
		}
	}
	defer p.finish(nil)
	p.dispatch(out, block)
	var j job
	block(&j, 0, blockStart(1, out, p.workers))
	j.run(p.backend)
}

// elementwise runs an element-wise op over n elements, split into blocks
// when large; it returns the op's sum (SumSquares), added in block order.
func (pb *parallelBackend) elementwise(n int, proto job) (sum float64) {
	p := pb.pool
	if n < p.policy.elemWork || !p.acquire(n) {
		proto.run(p.backend)
		return proto.sum
	}
	block := func(j *job, lo, hi int) {
		*j = proto
		j.p = proto.p[lo:hi]
		if proto.g != nil {
			j.g = proto.g[lo:hi]
		}
		if proto.s1 != nil {
			j.s1 = proto.s1[lo:hi]
		}
		if proto.s2 != nil {
			j.s2 = proto.s2[lo:hi]
		}
	}
	defer p.finish(&sum)
	p.dispatch(n, block)
	var j job
	block(&j, 0, blockStart(1, n, p.workers))
	j.run(p.backend)
	return j.sum // finish adds the helpers' sums to it
}

// SumSquares implements Backend.
func (pb *parallelBackend) SumSquares(x []float32) float64 {
	return pb.elementwise(len(x), job{op: opSumSquares, p: x})
}

// SGDUpdate implements Backend.
func (pb *parallelBackend) SGDUpdate(p, g []float32, lr, scale, limit float32) {
	pb.elementwise(len(p), job{op: opSGD, p: p, g: g[:len(p)], arg: [8]float32{lr, scale, limit}})
}

// AdagradUpdate implements Backend.
func (pb *parallelBackend) AdagradUpdate(p, g, mem []float32, lr, scale, limit float32) {
	pb.elementwise(len(p), job{op: opAdagrad, p: p, g: g[:len(p)], s1: mem[:len(p)], arg: [8]float32{lr, scale, limit}})
}

// AdamUpdate implements Backend.
func (pb *parallelBackend) AdamUpdate(p, g, m, v []float32, alpha, beta1, beta2, eps, scale, limit float32) {
	pb.elementwise(len(p), job{op: opAdam, p: p, g: g[:len(p)], s1: m[:len(p)], s2: v[:len(p)],
		arg: [8]float32{alpha, beta1, beta2, eps, scale, limit}})
}

// MomentumUpdate implements Backend.
func (pb *parallelBackend) MomentumUpdate(p, g, vel []float32, lr, mu, scale, limit float32) {
	pb.elementwise(len(p), job{op: opMomentum, p: p, g: g[:len(p)], s1: vel[:len(p)], arg: [8]float32{lr, mu, scale, limit}})
}

// RMSpropUpdate implements Backend.
func (pb *parallelBackend) RMSpropUpdate(p, g, ms []float32, lr, rho, eps, scale, limit float32) {
	pb.elementwise(len(p), job{op: opRMSprop, p: p, g: g[:len(p)], s1: ms[:len(p)], arg: [8]float32{lr, rho, eps, scale, limit}})
}

// AdamWUpdate implements Backend.
func (pb *parallelBackend) AdamWUpdate(p, g, m, v []float32, alpha, beta1, beta2, eps, decay, scale, limit float32) {
	pb.elementwise(len(p), job{op: opAdamW, p: p, g: g[:len(p)], s1: m[:len(p)], s2: v[:len(p)],
		arg: [8]float32{alpha, beta1, beta2, eps, decay, scale, limit}})
}

// yieldEvery is how often a spinning goroutine lets other goroutines have
// its P (runtime.Gosched). Yielding every 64 turns of the spin, as the pool
// did before, left h512b1's float32 training 2-3% slower (a GEMV split
// between the cores at every step; alternating windows in one process,
// bench/RESULTS.md).
const yieldEvery = 50 * time.Microsecond

// gate is where one goroutine waits for a condition that another makes
// true: it spins for a while (a hand-off then costs a small fraction of a
// wake-up from parked) and then parks on a channel.
type gate struct {
	parked atomic.Bool
	wake   chan struct{}
}

func (g *gate) init() { g.wake = make(chan struct{}, 1) }

// wait returns once ready() is true. The goroutine that makes it true must
// call signal afterwards.
func (g *gate) wait(spin time.Duration, ready func() bool) {
	var start, yielded time.Time
	for i := 1; !ready(); i++ {
		if i%64 != 0 {
			continue
		}
		now := time.Now()
		if i == 64 {
			start, yielded = now, now
		}
		if now.Sub(start) < spin {
			if now.Sub(yielded) >= yieldEvery {
				runtime.Gosched() // let others run if this P is needed
				yielded = time.Now()
			}
			continue
		}
		// Park. Publishing parked before the last look at ready pairs
		// with signal, which makes ready true before looking at parked:
		// one of the two always sees the other.
		g.parked.Store(true)
		if ready() {
			if !g.parked.CompareAndSwap(true, false) {
				<-g.wake // signal won the race and is sending; take it
			}
			return
		}
		<-g.wake
	}
}

// signal wakes the waiter if it has parked.
func (g *gate) signal() {
	if g.parked.Load() && g.parked.CompareAndSwap(true, false) {
		g.wake <- struct{}{}
	}
}
