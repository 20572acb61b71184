package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"charrnn/kernels"
)

// TestPaddedWSameResults pins that reading W and V through their padded,
// aligned copies gives bit for bit what reading them in place does, on
// every backend, for B = 1 (GEMV) and B > 1 (GEMM). OpenBLAS's own AVX-512
// kernels (SkylakeX, Cooperlake: what it picks on a Zen 4 unless
// OPENBLAS_CORETYPE says otherwise) sum a small GEMV another way when its
// rows are aligned, so there the two agree to rounding.
func TestPaddedWSameResults(t *testing.T) {
	for _, H := range []int{5, 100, 120, 200} {
		for _, B := range []int{1, 3} {
			const V, T = 11, 7
			m, err := NewModel(rnnShape(H, V), uint64(H))
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(uint64(H), uint64(B)))
			for _, k := range kernels.Supported() {
				t.Run(fmt.Sprintf("H=%d/B=%d/%s", H, B, k.Name()), func(t *testing.T) {
					gp, gq := make([]float32, len(m.Params)), make([]float32, len(m.Params))
					padded, plain := NewWorkspace(m, gp, T, B), NewWorkspace(m, gq, T, B)
					pw, qw := &padded.layers[0].(*rnnLayer).w, &plain.layers[0].(*rnnLayer).w
					for _, pc := range []paddedCopy{pw.copy, padded.v.copy} {
						if pc.buf == nil || pc.ld <= H || pc.ld%16 != 0 || pc.ld%128 == 0 {
							t.Fatalf("H=%d: ld %d, padded copy %v", H, pc.ld, pc.buf != nil)
						}
					}
					qw.copy, plain.v.copy = paddedCopy{ld: H}, paddedCopy{ld: H}
					for i := range padded.Inputs {
						padded.Inputs[i], padded.Targets[i] = int32(rng.IntN(V)), int32(rng.IntN(V))
					}
					copy(plain.Inputs, padded.Inputs)
					copy(plain.Targets, padded.Targets)
					state := make([]float32, padded.StateFloats())
					for i := range state {
						state[i] = float32(rng.Float64() - 0.5)
					}
					padded.LoadState(state)
					plain.LoadState(state)
					lp, lq := padded.Forward(k), plain.Forward(k)
					padded.Backward(k)
					plain.Backward(k)
					tol := 0.0
					if k.Name() == "openblas" {
						tol = 1e-5
					}
					near := func(a, b float64) bool { return a == b || math.Abs(a-b) <= tol*math.Max(1, math.Abs(a)) }
					if !near(lp, lq) {
						t.Fatalf("loss %v padded, %v plain", lp, lq)
					}
					for i := range gp {
						if !near(float64(gp[i]), float64(gq[i])) {
							t.Fatalf("gradient %d: %v padded, %v plain", i, gp[i], gq[i])
						}
					}
				})
			}
		}
	}
}
