// Package kernels is the numeric op set the engine needs, with several
// implementations (backends) behind one registry.
//
// All matrices are row-major float32 with a leading dimension (the distance
// between the starts of two rows) and unit strides inside a row, the same
// conventions as row-major BLAS. Callers never know which backend runs.
package kernels

// Backend is one implementation of the op set.
//
// Gemv, Gemm, Axpy and Dot follow BLAS semantics exactly, including
// "beta == 0 means the output is overwritten, never read" so that stale NaNs
// in a reused buffer do not leak into results. Slices must be at least as
// long as the shapes need; nothing beyond the shapes is read or written.
type Backend interface {
	// Name is the registry name, e.g. "generic" or "avx512".
	Name() string

	// Gemv computes y = alpha*A*x + beta*y (trans false; A is m×n, x has n
	// elements, y has m) or y = alpha*Aᵀ*x + beta*y (trans true; x has m
	// elements, y has n).
	Gemv(trans bool, m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32)

	// Gemm computes C = alpha*op(A)*op(B) + beta*C where op(A) is m×k,
	// op(B) is k×n and C is m×n.
	Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)

	// GemmPanels computes C = alpha*A*B + beta*C where A is m×k, C is m×n,
	// and B (k×n) is panel-packed (PackPanels): as Gemm(false, false, ...)
	// would, every element of C summed the same way whatever m.
	GemmPanels(m, n, k int, alpha float32, a []float32, lda int, panels []float32, beta float32, c []float32, ldc int)

	// Axpy computes y += alpha*x over len(x) elements.
	Axpy(alpha float32, x, y []float32)

	// Dot returns the sum of x[i]*y[i] over len(x) elements.
	Dot(x, y []float32) float32

	// AddTanh is the forward activation: h[i] = tanh(a[i] + col[i] + bias[i])
	// over len(h) elements, where col is the input's column of U. h may
	// alias a.
	AddTanh(h, a, col, bias []float32)

	// TanhGrad is the backward activation: dr[i] = (1 - h[i]²) * dh[i]
	// over len(dr) elements. dr may alias dh.
	TanhGrad(dr, h, dh []float32)

	// LSTMForward is an LSTM cell's element-wise step for one stream, with
	// PyTorch nn.LSTM's gates i, f, g, o, each H wide (H = len(h)). On entry
	// gates holds the recurrent product W_hh·h_{t-1} (4H); the gates'
	// pre-activations are gates + in + bias, where in is the input's
	// W_ih·x_t. It writes the activations i = σ, f = σ, g = tanh, o = σ
	// into gates, c = f∘cPrev + i∘g, tc = tanh(c) and h = o∘tanh(c).
	// c may alias cPrev.
	//
	// Every σ of the gated cells takes its argument clamped to
	// [-SigmoidLimit, SigmoidLimit].
	LSTMForward(gates, in, bias, cPrev, c, tc, h []float32)

	// LSTMBackward is the backward pass of LSTMForward for one stream:
	// from the activations (gates), cPrev, tc = tanh(c), dh (the loss's
	// gradient with respect to h) and dc (with respect to c, from the next
	// step), it writes dgates, the gradient with respect to the 4H
	// pre-activations, and overwrites dc with the gradient with respect to
	// cPrev. dgates may alias gates.
	LSTMBackward(dgates, gates, cPrev, tc, dh, dc []float32)

	// GRUForward is a GRU cell's element-wise step for one stream, with
	// PyTorch nn.GRU's gates r, z, n, each H wide (H = len(h)):
	//
	//	r = σ(in_r + bih_r + hg_r + bhh_r)
	//	z = σ(in_z + bih_z + hg_z + bhh_z)
	//	n = tanh(in_n + bih_n + r∘(hg_n + bhh_n))
	//	h = (1-z)∘n + z∘hPrev
	//
	// where in (3H) is the input's W_ih·x_t and hg (3H) holds the recurrent
	// product W_hh·hPrev on entry. It writes r, z, n to act (3H), h, and
	// hg_n + bhh_n back into hg's third part (the backward pass needs it).
	// h may alias hPrev. σ is clamped as in LSTMForward.
	GRUForward(act, hg, in, bih, bhh, hPrev, h []float32)

	// GRUBackward is the backward pass of GRUForward for one stream: from
	// the activations, hg's third part as GRUForward left it, hPrev and dh
	// (the loss's gradient with respect to h), it writes dx and dhg (3H
	// each), the gradients with respect to the input's and the recurrent
	// pre-activations (they differ in the n part only: dhg_n = r∘dx_n), and
	// adds the gradient that flows from h to hPrev directly, dh∘z, to
	// dhPrev (unless dhPrev is nil). dx may alias act.
	GRUBackward(dx, dhg, act, hg, hPrev, dh, dhPrev []float32)

	// Mul is the element-wise product dst[i] = x[i] * y[i] over len(dst)
	// elements (dropout masks). dst may alias x or y.
	Mul(dst, x, y []float32)

	// SoftmaxXent turns one row of logits into the gradient of the
	// cross-entropy loss with respect to them: with p = softmax(logits+bias)
	// it writes d = p - onehot(target) and returns -log p[target] in nats.
	// d may alias logits.
	SoftmaxXent(d, logits, bias []float32, target int) float32

	// SoftmaxExp writes the softmax of scale·logits before normalising,
	// p[i] = exp(scale·(logits[i] - m)) with m the largest logit, the
	// difference and the product in float32, and returns the sum of p (a
	// sampler's weights, scale its inverse temperature, scale > 0). The
	// maximum is subtracted before scaling, so that logits far larger than
	// their differences keep them. A NaN or +Inf logit makes the sum NaN.
	// p may alias logits.
	SoftmaxExp(p, logits []float32, scale float32) float32

	// SumSquares returns the sum of x[i]² (for the gradient's norm) with
	// the range and, up to rounding, the value of a float64 sum: finite for
	// every finite x, NaN or +Inf when x holds one.
	SumSquares(x []float32) float64

	// The optimizer updates are one fused pass over the flat parameter
	// slab p and gradient slab g (and the optimizer's state). Each first
	// conditions the gradient, g' = clamp(scale*g[i], -limit, limit) (scale
	// rescales to a norm, limit clips each element; +Inf clips nothing),
	// then applies its rule. g is read, never written. A NaN gradient
	// element passes the clamp and makes its parameter NaN on every
	// backend (the engine checks the norm is finite before updating).

	// SGDUpdate: p -= lr·g'.
	SGDUpdate(p, g []float32, lr, scale, limit float32)
	// AdagradUpdate: mem += g'², p -= lr·g'/√(mem + 1e-8).
	AdagradUpdate(p, g, mem []float32, lr, scale, limit float32)
	// AdamUpdate: m = β1·m + (1-β1)·g', v = β2·v + (1-β2)·g'²,
	// p -= alpha·m/(√v + eps); the caller folds bias correction into alpha
	// and eps.
	AdamUpdate(p, g, m, v []float32, alpha, beta1, beta2, eps, scale, limit float32)
	// MomentumUpdate is SGD with heavy-ball momentum: vel = mu·vel + g',
	// p -= lr·vel.
	MomentumUpdate(p, g, vel []float32, lr, mu, scale, limit float32)
	// RMSpropUpdate: ms = rho·ms + (1-rho)·g'², p -= lr·g'/(√ms + eps).
	RMSpropUpdate(p, g, ms []float32, lr, rho, eps, scale, limit float32)
	// AdamWUpdate is AdamUpdate with decoupled weight decay, the decay
	// taken from the parameter before this update:
	// p -= decay·p + alpha·m/(√v + eps), where decay is lr·weight decay.
	AdamWUpdate(p, g, m, v []float32, alpha, beta1, beta2, eps, decay, scale, limit float32)
}

// AdagradEpsilon is the constant under AdagradUpdate's square root.
const AdagradEpsilon = 1e-8

// SigmoidLimit bounds the argument of every σ of the gated cells: σ(30) is
// 1 in float32 anyway, and σ(-30) ≈ 9.4e-14 is within 1e-13 of σ of anything
// below, but keeps a saturated unit's factors σ and σ(1-σ) far above
// float32's subnormal range, where x86 arithmetic is slow.
const SigmoidLimit = 30
