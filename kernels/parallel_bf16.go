package kernels

// The BF16 capability of a Parallel backend: the wrapped backend's BF16 ops,
// with large calls split over the pool into contiguous blocks of the output
// like Gemm and Gemv (and conversions like the element-wise passes).

// bf16Op says which BF16 op a job runs.
type bf16Op uint8

const (
	bf16Gemm bf16Op = iota + 1
	bf16Gemv
	bf16Convert
	bf16ConvertT
	bf16Pack
	bf16PackT
)

// bf16Job is what a job of a BF16 op holds besides job's other fields: the
// op, the ops that run it, and its bfloat16 slices (A and B, A and x, or the
// destination of a conversion or a packing in a).
type bf16Job struct {
	op   bf16Op
	ops  BF16
	a, b []uint16
}

func (j *job) runBF16() {
	o := &j.bf16
	switch o.op {
	case bf16Gemm:
		o.ops.GemmBF16(j.m, j.n, j.k, j.alpha, o.a, j.lda, o.b, j.ldb, j.beta, j.c, j.ldc)
	case bf16Gemv:
		o.ops.GemvBF16(j.m, j.n, j.alpha, o.a, j.lda, o.b, j.beta, j.c)
	case bf16Convert:
		o.ops.ToBF16(o.a, j.p)
	case bf16ConvertT: // src p is m×n with leading dimension ldb, dst a has lda
		o.ops.ToBF16T(o.a, j.lda, j.p, j.m, j.n, j.ldb)
	case bf16Pack: // as bf16ConvertT
		o.ops.ToBF16Pairs(o.a, j.lda, j.p, j.m, j.n, j.ldb)
	case bf16PackT:
		o.ops.ToBF16PairsT(o.a, j.lda, j.p, j.m, j.n, j.ldb)
	}
}

// parallelBF16 is what a Parallel backend's BF16 returns.
type parallelBF16 struct {
	pb  *parallelBackend // kept reachable: its cleanup stops the pool
	ops BF16
}

// BF16 implements BF16Provider: the wrapped backend's BF16 ops, split.
func (pb *parallelBackend) BF16() (BF16, bool) {
	ops, ok := BF16Of(pb.pool.backend)
	if !ok {
		return nil, false
	}
	return &parallelBF16{pb: pb, ops: ops}, true
}

// GemmBF16 implements BF16; a large call is split over the rows of C, or
// over its columns when C has few rows, as Gemm is.
func (p *parallelBF16) GemmBF16(m, n, k int, alpha float32, a []uint16, lda int, b []uint16, ldb int, beta float32, c []float32, ldc int) {
	pool := p.pb.pool
	byRows := m >= n || m >= 32*pool.workers
	out := n
	if byRows {
		out = m
	}
	if m == 0 || n == 0 || k == 0 || m*n*k < pool.policy.gemmWork || !pool.acquire(out) {
		p.ops.GemmBF16(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	block := func(j *job, lo, hi int) {
		*j = job{op: opBF16, m: m, n: n, k: k, alpha: alpha, lda: lda, ldb: ldb, beta: beta, c: c, ldc: ldc,
			bf16: bf16Job{op: bf16Gemm, ops: p.ops, a: a, b: b}}
		if byRows {
			j.m, j.bf16.a, j.c = hi-lo, a[lo*lda:], c[lo*ldc:]
		} else { // B's columns are pairs
			j.n, j.bf16.b, j.c = hi-lo, b[2*lo:], c[lo:]
		}
	}
	defer pool.finish(nil)
	pool.dispatch(out, block)
	var j job
	block(&j, 0, blockStart(1, out, pool.workers))
	j.run(pool.backend)
}

// GemvBF16 implements BF16; a large call is split over the rows of A, as
// Gemv is.
func (p *parallelBF16) GemvBF16(m, n int, alpha float32, a []uint16, lda int, x []uint16, beta float32, y []float32) {
	pool := p.pb.pool
	// Split from as many elements as a float32 Gemv is (gemvWork, 512 KB
	// of bfloat16): on a Zen 4 one core reads 512 KB from its L2 at 88 GB/s
	// (5.9 µs for 512×512), two cores their halves and the hand-over in
	// 3.6-3.9 µs; on a Zen 5 one core took 3.4 µs, split 3.5-3.7
	// (bench/RESULTS.md). Where one core is faster the engine keeps the
	// helper busy beside a single stream's pass (passContext.forward), and
	// a busy pool runs calls whole.
	if m*n < pool.policy.gemvWork || n == 0 || !pool.acquire(m) {
		p.ops.GemvBF16(m, n, alpha, a, lda, x, beta, y)
		return
	}
	block := func(j *job, lo, hi int) {
		*j = job{op: opBF16, m: hi - lo, n: n, alpha: alpha, lda: lda, beta: beta, c: y[lo:hi],
			bf16: bf16Job{op: bf16Gemv, ops: p.ops, a: a[lo*lda:], b: x}}
	}
	defer pool.finish(nil)
	pool.dispatch(m, block)
	var j job
	block(&j, 0, blockStart(1, m, pool.workers))
	j.run(pool.backend)
}

// ToBF16 implements BF16; a long conversion is split into blocks.
func (p *parallelBF16) ToBF16(dst []uint16, src []float32) {
	pool := p.pb.pool
	n := len(src)
	if n < pool.policy.elemWork || !pool.acquire(n) {
		p.ops.ToBF16(dst, src)
		return
	}
	block := func(j *job, lo, hi int) {
		*j = job{op: opBF16, p: src[lo:hi], bf16: bf16Job{op: bf16Convert, ops: p.ops, a: dst[lo:hi]}}
	}
	defer pool.finish(nil)
	pool.dispatch(n, block)
	var j job
	block(&j, 0, blockStart(1, n, pool.workers))
	j.run(pool.backend)
}

// ToBF16T implements BF16; a large one is split over the columns of src
// (the rows of dst).
func (p *parallelBF16) ToBF16T(dst []uint16, ldd int, src []float32, rows, cols, lds int) {
	pool := p.pb.pool
	if rows == 0 || rows*cols < pool.policy.elemWork || !pool.acquire(cols) {
		p.ops.ToBF16T(dst, ldd, src, rows, cols, lds)
		return
	}
	block := func(j *job, lo, hi int) {
		*j = job{op: opBF16, m: rows, n: hi - lo, lda: ldd, ldb: lds, p: src[lo:],
			bf16: bf16Job{op: bf16ConvertT, ops: p.ops, a: dst[lo*ldd:]}}
	}
	defer pool.finish(nil)
	pool.dispatch(cols, block)
	var j job
	block(&j, 0, blockStart(1, cols, pool.workers))
	j.run(pool.backend)
}

// ToBF16Pairs implements BF16; a large one is split over the pairs of rows
// of src (the rows of dst).
func (p *parallelBF16) ToBF16Pairs(dst []uint16, ldd int, src []float32, rows, cols, lds int) {
	pool := p.pb.pool
	pairs := (rows + 1) / 2
	if cols == 0 || rows*cols < pool.policy.elemWork || !pool.acquire(pairs) {
		p.ops.ToBF16Pairs(dst, ldd, src, rows, cols, lds)
		return
	}
	block := func(j *job, lo, hi int) {
		*j = job{op: opBF16, m: min(rows, 2*hi) - 2*lo, n: cols, lda: ldd, ldb: lds, p: src[2*lo*lds:],
			bf16: bf16Job{op: bf16Pack, ops: p.ops, a: dst[2*lo*ldd:]}}
	}
	defer pool.finish(nil)
	pool.dispatch(pairs, block)
	var j job
	block(&j, 0, blockStart(1, pairs, pool.workers))
	j.run(pool.backend)
}

// ToBF16PairsT implements BF16; a large one is split over the rows of src
// (the columns of dst).
func (p *parallelBF16) ToBF16PairsT(dst []uint16, ldd int, src []float32, rows, cols, lds int) {
	pool := p.pb.pool
	if cols == 0 || rows*cols < pool.policy.elemWork || !pool.acquire(rows) {
		p.ops.ToBF16PairsT(dst, ldd, src, rows, cols, lds)
		return
	}
	block := func(j *job, lo, hi int) {
		*j = job{op: opBF16, m: hi - lo, n: cols, lda: ldd, ldb: lds, p: src[lo*lds:],
			bf16: bf16Job{op: bf16PackT, ops: p.ops, a: dst[2*lo:]}}
	}
	defer pool.finish(nil)
	pool.dispatch(rows, block)
	var j job
	block(&j, 0, blockStart(1, rows, pool.workers))
	j.run(pool.backend)
}
