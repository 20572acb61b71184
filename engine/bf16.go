package engine

import (
	"fmt"

	"charrnn/kernels"
)

// Precision is how the products with a model's weights are computed.
type Precision string

const (
	// FP32: float32 operands and sums.
	FP32 Precision = "fp32"
	// BF16 is mixed precision: the weights (kept as float32 masters, which
	// the optimizer updates) are rounded to bfloat16 once per window, the
	// other operand of each product as it is used, and the sums are
	// float32. Gradients, optimizer state, carried states and the
	// element-wise steps stay float32. bfloat16 has float32's exponent
	// range, so no loss scaling is needed.
	BF16 Precision = "bf16"
)

// Precisions lists the precisions a model runs in.
var Precisions = []Precision{FP32, BF16}

// weightBytes is the size of a weight as products in precision p read it.
func (p Precision) weightBytes() int {
	if p == BF16 {
		return 2
	}
	return 4
}

// validate reports an unknown precision; "" is FP32.
func (p Precision) validate() error {
	if p != "" && p != FP32 && p != BF16 {
		return fieldErrorf("Precision", "must be fp32 or bf16, got %q", p)
	}
	return nil
}

// BF16Products returns k's bfloat16 products, or an error saying why there
// are none: a precision of BF16 needs them.
func BF16Products(k kernels.Backend) (kernels.BF16, error) {
	if ops, ok := kernels.BF16Of(k); ok {
		return ops, nil
	}
	return nil, fmt.Errorf("bf16 needs bfloat16 products (AVX512_BF16, on the avx512 or amx backend); backend %s on this CPU (%s) has none", k.Name(), kernels.CPUFeatures())
}

// bf16Products is a workspace's bfloat16 products: the backend's ops and
// the scratch the other operands are converted into.
type bf16Products struct {
	ops kernels.BF16
	k   kernels.Backend // the backend ops came from
	// a holds a product's converted operand: the rows of x, laid out by
	// their row in the pass so that the two halves of a stream split use
	// their own parts; a and b hold a weight gradient's two operands, one
	// transposed, one pair-packed (an odd count of rows padded to a pair).
	a, b []uint16
	// sideA and sideB are a and b for the output layer's weight gradient,
	// which the helper core sums beside a single stream's backward pass
	// (Workspace.Backward) while this core's products use a and b.
	sideA, sideB []uint16
	// states are the layers' hidden states as the weight gradients read
	// them, during a backward pass over an even number of streams without
	// dropout (Workspace.Backward); nil otherwise, and so always for the
	// helper core's gradients, which run for a single stream.
	states []pairedStates
}

// pairedStates is a layer's hidden states over a window, (T+1)·B rows of
// H (hs: the carried h, then the layer's output), pair-packed in bfloat16
// at most once per backward pass. They are the x of two weight gradients:
// the layer's own dW_hh reads rows 0 to T·B, the output layer's dV or the
// next layer's dW_ih rows B to (T+1)·B. With B even both start on a pair,
// and one conversion serves both: converted for each, they cost bf16
// h512b32 about 5% of its training time.
type pairedStates struct {
	hs    []float32
	words []uint16
	made  bool
}

// pairedRows returns the pair-packed bfloat16 rows of x (n rows of cols)
// when x is a run of some layer's states beginning on a pair, converting
// those states first if this backward pass has not yet.
func (bf *bf16Products) pairedRows(x []float32, n, cols int) ([]uint16, bool) {
	if len(x) == 0 {
		return nil, false
	}
	for i := range bf.states {
		s := &bf.states[i]
		off := cap(s.hs) - cap(x) // x's offset in hs, if it lies in it
		if off < 0 || off >= len(s.hs) || &s.hs[off] != &x[0] || off%(2*cols) != 0 || off+n*cols > len(s.hs) {
			continue
		}
		ld := kernels.PairsLD(cols)
		if !s.made {
			bf.ops.ToBF16Pairs(s.words, ld, s.hs, len(s.hs)/cols, cols, cols)
			s.made = true
		}
		start := off / cols * ld
		return s.words[start : start+kernels.PairsWords(n, ld)], true
	}
	return nil, false
}

// times computes out = alpha·x·Mᵀ + beta·out for the n rows of x, rows lo
// to lo+n of the pass, with M (outW × inW) in bfloat16: x is rounded into
// its rows of the scratch first. With vec (a single stream) it is one GEMV
// reading m16, M row-major; otherwise one GEMM reading mt16, Mᵀ
// pair-packed with leading dimension ldt.
func (bf *bf16Products) times(vec bool, lo, n, outW, inW int, alpha float32, x []float32, m16, mt16 []uint16, ldt int, beta float32, out []float32) {
	x16 := bf.a[lo*inW : (lo+n)*inW]
	bf.ops.ToBF16(x16, x[:n*inW])
	if vec {
		bf.ops.GemvBF16(outW, inW, alpha, m16, inW, x16, beta, out)
		return
	}
	bf.ops.GemmBF16(n, outW, inW, alpha, x16, inW, mt16, ldt, beta, out, outW)
}

// bindBF16 makes ctx's bfloat16 products those of k, when the pass runs in
// mixed precision, with scratch for rows×width operands, or rows (one
// more if odd) pair-packed with their leading dimension; and with sides,
// the same again for the helper core's weight gradients.
func (ctx *passContext) bindBF16(k kernels.Backend, rows, width int, sides bool) {
	if ctx.precision != BF16 || (ctx.bf != nil && ctx.bf.k == k) {
		return
	}
	ops, err := BF16Products(k)
	if err != nil { // the trainer and the commands check before they start
		panic(err)
	}
	if ctx.bf == nil {
		n := (rows + 1) * kernels.PairsLD(width)
		ctx.bf = &bf16Products{a: make([]uint16, n), b: make([]uint16, n)}
		if sides {
			ctx.bf.sideA, ctx.bf.sideB = make([]uint16, n), make([]uint16, n)
		}
	}
	ctx.bf.ops, ctx.bf.k = ops, k
}

// bf16Width is the widest side of the model's weight matrices read by
// products, for the size of the bfloat16 scratch.
func bf16Width(lay Layout) int {
	w := 0
	for _, t := range lay.Tensors {
		if len(t.Shape) == 2 && !t.Lookup {
			w = max(w, t.Shape[0], t.Shape[1])
		}
	}
	return w
}
