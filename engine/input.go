package engine

import "charrnn/kernels"

// layerInput is a layer's input weights W_ih (G·H rows, one block per gate)
// and what they make of the window's input: for layer 0, whose input is
// one-hot, a row lookup into the weights (stored one row per symbol); for
// the layers above, one GEMM over the whole window.
type layerInput struct {
	w      Tensor  // Vocab×GH (Lookup) or GH×in
	mat    weights // w as the products read it, when not a lookup
	gh, in int     // the output and input widths
	// table is w's parameters when it is a lookup, bound once per pass
	// (per stepper for single steps): a row is then a slice of it.
	table []float32
	proj  []float32
	ids   []int32   // layer 0's input, kept for the backward pass
	x     []float32 // the input of a layer above the first (T·B rows of in)
}

// transposedInputRows is the fewest rows of a window (T·B) for which a
// layer's input projection runs over a transposed copy of W_ih: the
// broadcast GEMM then saves more than the copy costs (about 0.85 ns per
// weight, against some 30% of a dot-product GEMM's 2·T·B flops per weight).
const transposedInputRows = 256

// newLayerInput makes the input side of a layer of gh pre-activations over
// windows of n = T·B rows. The projection of a layer above the first goes
// into proj, n·gh floats of the cell's own, or into a buffer of its own
// when proj is nil.
func newLayerInput(w Tensor, gh, n int, ctx *passContext, proj []float32) layerInput {
	li := layerInput{w: w, gh: gh, in: w.Shape[1]}
	if !w.Lookup {
		if n >= transposedInputRows {
			li.mat = newTransposedWeights(w, ctx)
		} else {
			li.mat = newWeights(w, ctx)
		}
		li.proj = proj
		if proj == nil {
			li.proj = make([]float32, n*gh)
		}
	}
	return li
}

// newStepInput is the input side of a layer of gh pre-activations for
// single steps of one stream, bound to the parameters p.
func newStepInput(w Tensor, gh int, p []float32, ctx *passContext) layerInput {
	li := layerInput{w: w, gh: gh, in: w.Shape[1]}
	if w.Lookup {
		li.table = w.Of(p)
	} else {
		li.mat = newStepWeights(w, p, ctx)
	}
	return li
}

// inputFloats is what newLayerInput allocates for layer l, with a
// projection buffer of its own when ownProj.
func inputFloats(l, gh, in, n int, p Precision, ownProj bool) int {
	if l == 0 {
		return 0
	}
	f := weightsFloats(gh, in, p)
	if n >= transposedInputRows {
		f = transposedWeightsFloats(gh, in, p)
	}
	if ownProj {
		f += n * gh
	}
	return f
}

// forward takes the window's input: ids for layer 0, or x; for the layers
// above the first it computes the projection W_ih·x_t of every row at once.
func (li *layerInput) forward(k kernels.Backend, p []float32, ids []int32, x []float32) {
	li.ids, li.x = ids, x
	if li.w.Lookup {
		li.table = li.w.Of(p)
	} else {
		li.mat.refresh(k, p)
		li.mat.mulT(k, false, 0, len(x)/li.in, 1, x, 0, li.proj)
	}
}

// row is W_ih·x of row i (t·B+s) of the window.
func (li *layerInput) row(i int) []float32 {
	if li.w.Lookup {
		x := int(li.ids[i])
		return li.table[x*li.gh : (x+1)*li.gh]
	}
	return li.proj[i*li.gh : (i+1)*li.gh]
}

// backward writes the weights' gradient into g from dpre, the gradient with
// respect to the projections (T·B rows of gh): row adds for a lookup, one
// GEMM otherwise. When dx is not nil it also writes the gradient with
// respect to the input, dpre·W_ih.
func (li *layerInput) backward(k kernels.Backend, p, g, dpre, dx []float32) {
	n := len(dpre) / li.gh
	if !li.w.Lookup {
		li.mat.gradient(k, n, 1, dpre, li.x, g, false)
		if dx != nil {
			li.mat.mul(k, false, 0, n, 1, dpre, 0, dx)
		}
		return
	}
	dw := li.w.Of(g)
	clear(dw)
	for i, x := range li.ids {
		k.Axpy(1, dpre[i*li.gh:(i+1)*li.gh], dw[int(x)*li.gh:(int(x)+1)*li.gh])
	}
}

// step is W_ih·x for one step of one stream (newStepInput): a row of the
// lookup table for id (layer 0), or a GEMV of x into buf.
func (li *layerInput) step(k kernels.Backend, p []float32, id int32, x, buf []float32) []float32 {
	if li.w.Lookup {
		return li.table[int(id)*li.gh : (int(id)+1)*li.gh]
	}
	li.mat.view(p, false)
	li.mat.mulT(k, true, 0, 1, 1, x, 0, buf)
	return buf
}

// sumRows adds the rows of rows, each len(dst) wide, into dst (overwriting
// it): a bias's gradient. It runs as the GEMV dst = rowsᵀ·1 (s.ones), which
// sums each column in row order, as adding the rows one at a time does, but
// on both cores where the backend has two (a row at a time it was 1% of
// lstm512b32's training, the other core idle).
func (s *passContext) sumRows(k kernels.Backend, dst, rows []float32) {
	w := len(dst)
	n := len(rows) / w
	k.Gemv(true, n, w, 1, rows, w, s.ones[:n], 0, dst)
}

// biasSum is b_ih + b_hh, which the gates of LSTM and nn.RNN layers add
// together, into buf.
func biasSum(p []float32, bih, bhh Tensor, buf []float32) []float32 {
	return addBiases(buf, bih.Of(p), bhh.Of(p))
}

// addBiases is biasSum of the tensors' parameters, bih and bhh.
func addBiases(buf, bih, bhh []float32) []float32 {
	copy(buf, bih)
	for i, v := range bhh {
		buf[i] += v
	}
	return buf
}
