package kerneltest

import (
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"

	"charrnn/kernels"
)

// faults are backends with one bug each, the message the suite must fail
// with, and the family that finds it.
var faults = map[string]struct {
	backend kernels.Backend
	family  string
	message string
}{
	"dot-rounding":        {dotRounding{}, "blas1", "Dot n="},
	"axpy-unchecked":      {axpyUnchecked{}, "blas1", "Axpy y: a slice one element short did not panic"},
	"gemv-reads-y":        {gemvReadsY{}, "gemv", "beta=0: y[0] = NaN"},
	"gemm-writes-padding": {gemmWritesPadding{}, "gemm", "padding C["},
	"tanh-hides-nan":      {tanhHidesNaN{}, "elementwise", "tanh(NaN)"},
	"sgd-allocates":       {sgdAllocates{}, "optimizers", "SGD allocates"},
	"mul-unchecked":       {mulUnchecked{}, "elementwise", "Mul y: a slice one element short did not panic"},
	"sigmoid-unclamped":   {sigmoidUnclamped{}, "gates", "beyond alias="},
	"sigmoid-via-tanh":    {sigmoidViaTanh{}, "gates", "saturated alias="},
	"gru-drops-dhprev":    {gruDropsDhPrev{}, "gates", "dhPrev=true dhPrev["},
}

// TestSuiteFindsFaults pins that the suite can fail: each faulty backend,
// run through the family that covers its bug in a child process, must make
// the suite fail with the expected message.
func TestSuiteFindsFaults(t *testing.T) {
	if name := os.Getenv("KERNELTEST_FAULT"); name != "" {
		TestBackend(t, faults[name].backend)
		return
	}
	if testing.Short() {
		t.Skip("runs a child process per fault")
	}
	for name, f := range faults {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestSuiteFindsFaults$/^"+f.family+"$")
			cmd.Env = append(os.Environ(), "KERNELTEST_FAULT="+name)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a backend with the fault\n%s", out)
			}
			if !strings.Contains(string(out), f.message) {
				t.Fatalf("the suite failed without saying %q:\n%s", f.message, out)
			}
		})
	}
}

type dotRounding struct{ kernels.Generic }

func (dotRounding) Dot(x, y []float32) float32 { return kernels.Generic{}.Dot(x, y) * (1 + 1e-4) }

type axpyUnchecked struct{ kernels.Generic }

func (axpyUnchecked) Axpy(alpha float32, x, y []float32) {
	for i := range min(len(x), len(y)) {
		y[i] += alpha * x[i]
	}
}

type gemvReadsY struct{ kernels.Generic }

func (gemvReadsY) Gemv(trans bool, m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
	if beta == 0 {
		beta = 1e-30 // reads y, so a NaN there leaks into the result
	}
	kernels.Generic{}.Gemv(trans, m, n, alpha, a, lda, x, beta, y)
}

type gemmWritesPadding struct{ kernels.Generic }

func (gemmWritesPadding) Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	kernels.Generic{}.Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	for i := 0; i+1 < m && ldc > n; i++ {
		c[i*ldc+n] = 0
	}
}

type tanhHidesNaN struct{ kernels.Generic }

func (tanhHidesNaN) AddTanh(h, a, col, bias []float32) {
	kernels.Generic{}.AddTanh(h, a, col, bias)
	for i, v := range h {
		if math.IsNaN(float64(v)) {
			h[i] = 0
		}
	}
}

type sgdAllocates struct{ kernels.Generic }

var garbage []float32

func (sgdAllocates) SGDUpdate(p, g []float32, lr, scale, limit float32) {
	garbage = make([]float32, len(p)+1)
	kernels.Generic{}.SGDUpdate(p, g, lr, scale, limit)
}

type mulUnchecked struct{ kernels.Generic }

func (mulUnchecked) Mul(dst, x, y []float32) {
	for i := range min(len(dst), len(x), len(y)) {
		dst[i] = x[i] * y[i]
	}
}

// lstmForwardWith is the LSTM step with σ given: the faults below swap it.
func lstmForwardWith(sigmoid func(float64) float64, gates, in, bias, cPrev, c, tc, h []float32) {
	H := len(h)
	for j := range h {
		pre := func(k int) float64 { return float64(gates[k*H+j] + in[k*H+j] + bias[k*H+j]) }
		i, f, g, o := sigmoid(pre(0)), sigmoid(pre(1)), math.Tanh(pre(2)), sigmoid(pre(3))
		cj := float32(f*float64(cPrev[j]) + i*g)
		t := float32(math.Tanh(float64(cj)))
		gates[j], gates[H+j], gates[2*H+j], gates[3*H+j] = float32(i), float32(f), float32(g), float32(o)
		c[j], tc[j], h[j] = cj, t, float32(o)*t
	}
}

// sigmoidUnclamped lets σ of a pre-activation below -87 be subnormal.
type sigmoidUnclamped struct{ kernels.Generic }

func (sigmoidUnclamped) LSTMForward(gates, in, bias, cPrev, c, tc, h []float32) {
	lstmForwardWith(func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }, gates, in, bias, cPrev, c, tc, h)
}

// sigmoidViaTanh computes σ as 0.5·tanh(x/2) + 0.5 in float32: accurate to
// float32's absolute resolution, but not relative to small σ.
type sigmoidViaTanh struct{ kernels.Generic }

func (sigmoidViaTanh) LSTMForward(gates, in, bias, cPrev, c, tc, h []float32) {
	lstmForwardWith(func(x float64) float64 {
		x = min(max(x, -kernels.SigmoidLimit), kernels.SigmoidLimit)
		return float64(0.5*float32(math.Tanh(x/2)) + 0.5)
	}, gates, in, bias, cPrev, c, tc, h)
}

type gruDropsDhPrev struct{ kernels.Generic }

func (gruDropsDhPrev) GRUBackward(dx, dhg, act, hg, hPrev, dh, dhPrev []float32) {
	kernels.Generic{}.GRUBackward(dx, dhg, act, hg, hPrev, dh, nil)
}
