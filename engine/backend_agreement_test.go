package engine

import (
	"math"
	"testing"

	"charrnn/kernels"
)

// Backends are not bit-identical: fused multiply-adds and other summation
// orders round differently. Each is deterministic on its own
// (TestSameSeedSameRun); across backends the same 50-step training run must
// end near the generic backend's: the final loss, and the mean loss of the
// last ten steps, within a relative 1e-3, and the parameters within a
// relative L2 distance of 1e-4. The loss alone is a weak check (a backend
// with a 1% error in every product moves it by only ~2e-4, since training
// absorbs a scale); the parameters catch that. FMA rounding moves both by
// ~1e-7 (TestBackendAgreementBound).
const (
	backendLossRelTol  = 1e-3
	backendParamRelTol = 1e-4
)

// agreeable reports whether the differences are within the bounds.
func agreeable(dLast, dMean, dParams float64) bool {
	return dLast < backendLossRelTol && dMean < backendLossRelTol && dParams < backendParamRelTol
}

// agreementRun trains the comparison model for 50 steps on k.
func agreementRun(t *testing.T, k kernels.Backend) (last, mean10 float64, params []float32) {
	t.Helper()
	corpus, vocab := writeCorpus(t, pairsText(20000, 12)+"The quick brown fox jumps over the lazy dog.\n")
	cfg := TrainConfig{Model: rnnModel(48), Seq: 20, Batch: 4, Optimizer: "adam", LR: 0.005, Clip: Clip{Mode: "norm", Limit: 5}, Seed: 21}
	tr, err := NewTrainer(cfg, k, corpus, vocab)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		r, err := tr.TrainStep()
		if err != nil {
			t.Fatal(err)
		}
		if i >= 40 {
			mean10 += r.Loss / 10
		}
		last = r.Loss
	}
	return last, mean10, tr.Model.Params
}

// agreement returns the relative differences of k's run from generic's.
func agreement(t *testing.T, k kernels.Backend) (dLast, dMean, dParams float64) {
	t.Helper()
	generic, err := kernels.Lookup("generic")
	if err != nil {
		t.Fatal(err)
	}
	wantLast, wantMean, wantParams := agreementRun(t, generic)
	last, mean, params := agreementRun(t, k)
	dLast, dMean = math.Abs(last-wantLast)/wantLast, math.Abs(mean-wantMean)/wantMean
	var diff, norm float64
	for i, p := range wantParams {
		d := float64(params[i]) - float64(p)
		diff += d * d
		norm += float64(p) * float64(p)
	}
	dParams = math.Sqrt(diff / norm)
	t.Logf("%s: final loss %.7f vs generic %.7f (relative %.2g); last-10 mean relative %.2g; parameters relative L2 %.2g",
		k.Name(), last, wantLast, dLast, dMean, dParams)
	return dLast, dMean, dParams
}

func TestBackendsAgreeWithGeneric(t *testing.T) {
	compared := 0
	for _, k := range kernels.Supported() {
		if k.Name() == "generic" {
			continue
		}
		compared++
		t.Run(k.Name(), func(t *testing.T) {
			if dLast, dMean, dParams := agreement(t, k); !agreeable(dLast, dMean, dParams) {
				t.Fatalf("after 50 steps, differs from the generic backend by %.3g (final loss), %.3g (mean of the last 10), bound %g; parameters by %.3g, bound %g",
					dLast, dMean, backendLossRelTol, dParams, backendParamRelTol)
			}
		})
	}
	if compared == 0 {
		t.Skip("only the generic backend runs here: nothing to compare it with (TestBackendAgreementBound checks the comparison itself)")
	}
}

// fmaGeneric is the generic backend with its matrix products
// accumulated by fused multiply-adds, as the assembly backends do: the
// rounding differences the bound must allow.
type fmaGeneric struct {
	kernels.Backend
	err float32 // a relative error added to every product, to test the bound itself
}

func (f fmaGeneric) Name() string { return "generic+fma" }

func (f fmaGeneric) Gemv(trans bool, m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
	if trans {
		f.Backend.Gemv(trans, m, n, alpha, a, lda, x, beta, y)
		return
	}
	for i := range m {
		var acc float32
		for j, v := range a[i*lda : i*lda+n] {
			acc = float32(math.FMA(float64(v), float64(x[j]), float64(acc)))
		}
		acc *= 1 + f.err
		if beta == 0 {
			y[i] = alpha * acc
		} else {
			y[i] = alpha*acc + beta*y[i]
		}
	}
}

func (f fmaGeneric) Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	at := func(i, p int) float32 {
		if transA {
			return a[p*lda+i]
		}
		return a[i*lda+p]
	}
	bt := func(p, j int) float32 {
		if transB {
			return b[j*ldb+p]
		}
		return b[p*ldb+j]
	}
	for i := range m {
		for j := range n {
			var acc float32
			for p := range k {
				acc = float32(math.FMA(float64(at(i, p)), float64(bt(p, j)), float64(acc)))
			}
			acc *= 1 + f.err
			if beta == 0 {
				c[i*ldc+j] = alpha * acc
			} else {
				c[i*ldc+j] = alpha*acc + beta*c[i*ldc+j]
			}
		}
	}
}

func (f fmaGeneric) Dot(x, y []float32) float32 {
	var acc float32
	for i, v := range x {
		acc = float32(math.FMA(float64(v), float64(y[i]), float64(acc)))
	}
	return acc * (1 + f.err)
}

// TestBackendAgreementBound checks the cross-backend comparison on the
// machine it runs on: FMA rounding alone stays within the bounds and is
// visible (the runs are not identical), and a 1% error in the products
// is caught.
func TestBackendAgreementBound(t *testing.T) {
	generic, err := kernels.Lookup("generic")
	if err != nil {
		t.Fatal(err)
	}
	dLast, dMean, dParams := agreement(t, fmaGeneric{Backend: generic})
	if !agreeable(dLast, dMean, dParams) {
		t.Fatalf("FMA rounding alone moved the loss by %.3g / %.3g and the parameters by %.3g, past the bounds", dLast, dMean, dParams)
	}
	if dParams == 0 {
		t.Fatal("FMA accumulation gave bit-identical parameters: the run does not go through the overridden kernels")
	}
	if dLast, dMean, dParams = agreement(t, fmaGeneric{Backend: generic, err: 0.01}); agreeable(dLast, dMean, dParams) {
		t.Fatalf("a 1%% error in every product passed the bounds (%.3g / %.3g / %.3g)", dLast, dMean, dParams)
	}
}
