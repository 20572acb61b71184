package engine

import "charrnn/kernels"

// Workspace holds every activation buffer of a training step over B streams
// and windows of T characters. It is allocated once and reused, so a step
// allocates nothing. Rows are time-major: row t*B+s is stream s at time t.
type Workspace struct {
	T, B, H, Vocab int

	// Inputs and Targets are the window's ids: Targets[i] is the character
	// that follows Inputs[i].
	Inputs, Targets []int32

	// hs holds (T+1)·B rows of H: block 0 is the state carried in from the
	// previous window, block t+1 is h_t.
	hs []float32
	// logits holds T·B rows of Vocab: o_t, turned in place into dO = y - onehot.
	logits []float32
	// dh holds T·B rows of H: ∂loss/∂h_t, turned in place into
	// dr_t = (1 - h_t²) ∘ dh_t.
	dh []float32

	// w and v are W and V as the recurrence and the output layer read
	// them: with rows padded to a multiple of 16 floats and 64-byte
	// aligned when H is not a multiple of 16 (see paddedCopy).
	w, v paddedCopy

	// recur is what the recurrence of the current pass reads, and split
	// how it shares the streams between two cores (streams.go).
	recur recurrence
	split streamSplit
}

// NewWorkspace allocates the buffers for a model of hidden size h over a
// vocabulary of vocab symbols, for b streams and windows of t characters.
func NewWorkspace(h, vocab, t, b int) *Workspace {
	ws := &Workspace{
		T: t, B: b, H: h, Vocab: vocab,
		Inputs:  make([]int32, t*b),
		Targets: make([]int32, t*b),
		hs:      make([]float32, (t+1)*b*h),
		logits:  make([]float32, t*b*vocab),
		dh:      make([]float32, t*b*h),
		w:       newPaddedCopy(h, h),
		v:       newPaddedCopy(vocab, h),
	}
	ws.split = streamSplit{forward: ws.forwardStreams, backward: ws.backwardStreams, second: ws.secondHalf}
	return ws
}

// State returns stream s's hidden state carried into the next window.
func (ws *Workspace) State(s int) []float32 { return ws.hs[s*ws.H : (s+1)*ws.H] }

// block returns the B rows of hs at time t (t = -1 is the carried state).
func (ws *Workspace) block(t int) []float32 {
	n := ws.B * ws.H
	return ws.hs[(t+1)*n : (t+2)*n]
}

// paddedCopy is the copy of a rows×cols matrix that the kernels read in its
// place when cols is not a multiple of 16. Unaligned rows make most vector
// loads straddle two cache lines: at H=100 the per-step GEMVs run 1.4×
// faster on the aligned copy, which costs one pass over the matrix per
// window. Results are bit-identical, as no kernel's sums depend on the
// leading dimension.
type paddedCopy struct {
	buf []float32 // nil when the matrix is used as it is
	ld  int
}

func newPaddedCopy(rows, cols int) paddedCopy {
	if cols%16 == 0 {
		return paddedCopy{ld: cols}
	}
	ld := (cols + 15) / 16 * 16
	if ld%128 == 0 {
		ld += 16 // rows 512 bytes apart would share their L1 sets
	}
	return paddedCopy{buf: kernels.AlignedFloats(rows * ld), ld: ld}
}

// refresh copies m (rows of cols floats) in and returns the matrix to read
// with its leading dimension.
func (pc *paddedCopy) refresh(m []float32, cols int) ([]float32, int) {
	if pc.buf == nil {
		return m, cols
	}
	for i := range len(m) / cols {
		copy(pc.buf[i*pc.ld:i*pc.ld+cols], m[i*cols:(i+1)*cols])
	}
	return pc.buf, pc.ld
}

// current is what the last refresh returned, for Backward, which runs on
// the same parameters as the Forward before it.
func (pc *paddedCopy) current(m []float32, cols int) ([]float32, int) {
	if pc.buf == nil {
		return m, cols
	}
	return pc.buf, pc.ld
}

// Forward runs the window through the model and returns the summed
// cross-entropy loss in nats. It leaves dO (the loss's gradient with respect
// to the logits) in place for Backward.
func Forward(k kernels.Backend, m *Model, ws *Workspace) float64 {
	H, B, T, V := ws.H, ws.B, ws.T, ws.Vocab
	p := &m.P
	w, ldw := ws.w.refresh(p.W, H)
	v, ldv := ws.v.refresh(p.V, H)
	// The recurrence, h_t = tanh(W·h_{t-1} + U[:, x_t] + b), for every
	// stream (on two cores, half the streams each: streams.go).
	ws.recur = recurrence{k: k, p: p, w: w, ldw: ldw}
	ws.byStreams(k, ws.split.forward)
	// The output projection for the whole window is one GEMM: O = Hs·Vᵀ.
	k.Gemm(false, true, T*B, V, H, 1, ws.hs[B*H:], H, v, ldv, 0, ws.logits, V)
	var loss float64
	for i, target := range ws.Targets {
		row := ws.logits[i*V : (i+1)*V]
		loss += float64(k.SoftmaxXent(row, row, p.C, int(target)))
	}
	return loss
}

// Backward writes the gradients of the window's loss into g (overwriting
// what was there), by back-propagation through time over the activations
// Forward left. The loss is summed over time and averaged over streams, so
// B = 1 is exactly the notebook's gradient.
func Backward(k kernels.Backend, m *Model, ws *Workspace, g *Tensors) {
	H, B, T, V := ws.H, ws.B, ws.T, ws.Vocab
	p := &m.P
	n := T * B
	scale := 1 / float32(B)
	dO, hsOut := ws.logits, ws.hs[B*H:]

	// dV and dW are each one GEMM that overwrites them (beta 0); the row
	// sums into dU, db and dc accumulate, so only those small parts are
	// cleared, not the whole slab.
	clear(g.U)
	clear(g.B)
	clear(g.C)

	// Output layer, window-wide: dV = dOᵀ·Hs, dc = Σ dO, dh = dO·V.
	k.Gemm(true, false, V, H, n, scale, dO, V, hsOut, H, 0, g.V, H)
	for i := 0; i < n; i++ {
		k.Axpy(scale, dO[i*V:(i+1)*V], g.C)
	}
	v, ldv := ws.v.current(p.V, H)
	k.Gemm(false, false, n, H, V, scale, dO, V, v, ldv, 0, ws.dh, H)

	// Through time: only the recurrence is per step, dh_{t-1} += Wᵀ·dr_t.
	w, ldw := ws.w.current(p.W, H)
	ws.recur = recurrence{k: k, p: p, w: w, ldw: ldw}
	ws.byStreams(k, ws.split.backward)

	// dW = dRᵀ·H_prev as one GEMM; db and dU are row adds of dr.
	k.Gemm(true, false, H, H, n, 1, ws.dh, H, ws.hs[:n*H], H, 0, g.W, H)
	for i, x := range ws.Inputs {
		dr := ws.dh[i*H : (i+1)*H]
		k.Axpy(1, dr, g.B)
		k.Axpy(1, dr, g.U[int(x)*H:(int(x)+1)*H])
	}
}

// forwardStreams runs the recurrence forward through the window for streams
// [lo, hi): a_t = W·h_{t-1}, then h_t = tanh(a_t + U[:, x_t] + b).
func (ws *Workspace) forwardStreams(lo, hi int) {
	H, B := ws.H, ws.B
	r := &ws.recur
	k, p := r.k, r.p
	for t := 0; t < ws.T; t++ {
		prev, cur := ws.block(t - 1)[lo*H:hi*H], ws.block(t)[lo*H:hi*H]
		if B == 1 {
			k.Gemv(false, H, H, 1, r.w, r.ldw, prev, 0, cur)
		} else {
			k.Gemm(false, true, hi-lo, H, H, 1, prev, H, r.w, r.ldw, 0, cur, H)
		}
		// The input is a row lookup.
		for s := lo; s < hi; s++ {
			x := int(ws.Inputs[t*B+s])
			h := cur[(s-lo)*H : (s-lo+1)*H]
			k.AddTanh(h, h, p.U[x*H:(x+1)*H], p.B)
		}
	}
}

// backwardStreams runs the recurrence back through the window for streams
// [lo, hi): dr_t = (1 - h_t²) ∘ dh_t, then dh_{t-1} += Wᵀ·dr_t.
func (ws *Workspace) backwardStreams(lo, hi int) {
	H, B := ws.H, ws.B
	r := &ws.recur
	k := r.k
	for t := ws.T - 1; t >= 0; t-- {
		dr := ws.dh[(t*B+lo)*H : (t*B+hi)*H]
		k.TanhGrad(dr, ws.block(t)[lo*H:hi*H], dr)
		if t == 0 {
			break // truncated BPTT: nothing flows into the carried state
		}
		prev := ws.dh[((t-1)*B+lo)*H : ((t-1)*B+hi)*H]
		if B == 1 {
			k.Gemv(true, H, H, 1, r.w, r.ldw, dr, 1, prev)
		} else {
			k.Gemm(false, false, hi-lo, H, H, 1, dr, H, r.w, r.ldw, 1, prev, H)
		}
	}
}

// Carry moves the last hidden states into the slot the next window starts
// from, so state flows across windows.
func (ws *Workspace) Carry() { copy(ws.block(-1), ws.block(ws.T-1)) }

// ResetState zeroes stream s's carried state (a stream that wrapped around
// the corpus starts afresh).
func (ws *Workspace) ResetState(s int) { clear(ws.State(s)) }
