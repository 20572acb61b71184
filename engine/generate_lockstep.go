package engine

// lockSampler draws a chunk of symbols from a one-layer vanilla RNN on the
// tiles with the two cores in lockstep (lockstep.go), each on its half of
// the units for the whole chunk, as a single stream's training runs: at
// every step each core sums its rows of W·h over its own half of h first
// and over the other's once it has arrived; in between, this core computes
// the logits of h and draws the symbol, which the helper needs only to
// finish its half of the next h. The state crosses between the cores once
// a step, both ways at once, and neither core waits for a product: begun
// ahead (ahead.go), the helper's rows followed the post of each step and
// this core's rows the draw, and one-row tile products slow after such
// pauses (bench/RESULTS.md).
type lockSampler struct {
	s    *Sampler
	step *rnnStep
	bias []float32 // the step's bias, summed once a chunk
	// ids are the chunk's symbols, drawn by this core; drawn counts those
	// the helper may read, on cache lines of its own.
	ids   []int32
	drawn paddedCount
	n     int
	half  func(c, lo, hi int) // run, a func value made once
}

// samplerMid is where a sampler in lockstep splits the h units of a
// one-layer RNN over a vocabulary of v symbols: this core computes the
// logits (v rows of h, on a GEMV slower per weight than the tiles) and
// draws besides its rows of W·h, so it takes about 3v fewer of them than
// the helper, on a multiple of 32 (the tiles' step of k) between a quarter
// and a half. At 512 units and 65 symbols that is 160: sampling ran at
// 272,000-285,000 characters a second, against 269,000 at 192, 241,000-
// 256,000 at 128 and 227,000 at 256, and 228,000-247,000 at 144 and 176,
// whose k is cut off the tiles' steps (bench/RESULTS.md).
func samplerMid(h, v int) int {
	mid := ((h-3*v)/2 + 16) &^ 31
	return min(max(mid, (h/4+16)&^31), h/2&^31)
}

// lockstepSampler returns the sampler's lockSampler, or nil where its
// model does not run in lockstep: one layer of the vanilla RNN with a
// looked-up input, in mixed precision, its W on the tiles.
func (s *Sampler) lockstepSampler() *lockSampler {
	if s.lockChecked {
		return s.lock
	}
	s.lockChecked = true
	st := s.step
	step, ok := st.steps[0].(*rnnStep)
	if !ok || step.rec.mid == 0 || st.ctx.precision != BF16 {
		return nil
	}
	st.ctx.bindBF16(s.k, 1, st.bfWidth, false)
	step.rec.w.view(step.rec.p, true)
	st.v.view(st.m.Params, false)
	if !step.rec.w.tiles {
		return nil
	}
	ls := &lockSampler{s: s, step: step, ids: make([]int32, tuneChunk)}
	ls.half = ls.run
	s.lock = ls
	return ls
}

// generate draws n symbols (at most tuneChunk) as Next and Feed would, and
// then emits them, or reports false, having drawn nothing, when no helper
// core is free.
func (ls *lockSampler) generate(n int, emit func(id int32)) bool {
	s, st := ls.s, ls.s.step
	done := false
	defer func() {
		if !done { // a panic: the logits are some later state's
			st.output(s.k, s.top(), s.logits)
		}
	}()
	ls.n = n
	ls.drawn.n.Store(0)
	ls.bias = ls.step.bih
	if ls.step.bhh != nil {
		ls.bias = addBiases(ls.step.bias, ls.step.bih, ls.step.bhh)
	}
	rec := &ls.step.rec
	if !st.ctx.lock.run(s.k, st.ctx.bf, len(rec.out), rec.mid, ls.half) {
		return false
	}
	// s.next holds the last state; the logits of the state are Feed's.
	s.h, s.next = s.next, s.h
	st.output(s.k, s.top(), s.logits)
	done = true
	for _, id := range ls.ids[:n] {
		emit(id)
	}
	return true
}

// run is core c's half of the chunk: units [lo, hi).
func (ls *lockSampler) run(c, lo, hi int) {
	s, st := ls.s, ls.s.step
	l, k := st.ctx.lock, s.k
	rec := &ls.step.rec
	o0, o1 := otherHalf(lo, hi, len(rec.out))
	h, next := st.h(s.h, 0), st.h(s.next, 0)
	out := rec.out[lo:hi]
	l.putMine(c, 0, h, lo, hi)
	for t := 0; t < ls.n; t++ {
		// Its own half of h first, while the other's arrives.
		l.publish(c, t)
		rec.w.mulTPart(lo, hi, lo, hi, l.mine(c), 0, out)
		if !l.await(c, t) {
			return
		}
		x := l.take(c, t, o0, o1)
		if c == 0 {
			if t > 0 { // at the first step, s.logits are h's already
				ls.logits(x)
			}
			ls.ids[t] = s.Next()
			ls.drawn.n.Store(int32(t + 1))
		}
		rec.w.mulTPart(lo, hi, o0, o1, x, 1, out)
		if c == 1 && !ls.awaitDrawn(t) {
			return
		}
		in := ls.step.input.table[int(ls.ids[t])*len(rec.out):]
		k.AddTanh(next[lo:hi], out, in[lo:hi], ls.bias[lo:hi])
		if t+1 < ls.n {
			l.putMine(c, t+1, next, lo, hi)
		}
	}
}

// logits computes the logits of the state whose bfloat16 copy is x into
// s.logits, as stepper.output does from the state in float32.
func (ls *lockSampler) logits(x []uint16) {
	st := ls.s.step
	v := &st.v
	copy(ls.s.logits, st.c)
	st.ctx.bf.ops.GemvBF16(v.rows, v.cols, 1, v.w16, v.cols, x, 1, ls.s.logits)
}

// awaitDrawn waits, on the helper, for the symbol of step t, and reports
// false if this core has abandoned the chunk.
func (ls *lockSampler) awaitDrawn(t int) bool {
	l := ls.s.step.ctx.lock
	for i := 1; ls.drawn.n.Load() <= int32(t); i++ {
		if l.abandoned.Load() {
			return false
		}
		pause(i)
	}
	return true
}
