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
// every backend, for B = 1 (GEMV) and B > 1 (GEMM).
func TestPaddedWSameResults(t *testing.T) {
	for _, H := range []int{5, 100, 120, 200} {
		for _, B := range []int{1, 3} {
			const V, T = 11, 7
			m, err := NewModel(H, V, uint64(H))
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(uint64(H), uint64(B)))
			for _, k := range kernels.Supported() {
				t.Run(fmt.Sprintf("H=%d/B=%d/%s", H, B, k.Name()), func(t *testing.T) {
					padded, plain := NewWorkspace(H, V, T, B), NewWorkspace(H, V, T, B)
					for _, pc := range []paddedCopy{padded.w, padded.v} {
						if pc.buf == nil || pc.ld <= H || pc.ld%16 != 0 || pc.ld%128 == 0 {
							t.Fatalf("H=%d: ld %d, padded copy %v", H, pc.ld, pc.buf != nil)
						}
					}
					plain.w, plain.v = paddedCopy{ld: H}, paddedCopy{ld: H}
					for i := range padded.Inputs {
						padded.Inputs[i], padded.Targets[i] = int32(rng.IntN(V)), int32(rng.IntN(V))
					}
					copy(plain.Inputs, padded.Inputs)
					copy(plain.Targets, padded.Targets)
					for s := 0; s < B; s++ {
						for i := range padded.State(s) {
							padded.State(s)[i] = float32(rng.Float64() - 0.5)
						}
						copy(plain.State(s), padded.State(s))
					}
					gp, gq := NewTensors(H, V), NewTensors(H, V)
					lp, lq := Forward(k, m, padded), Forward(k, m, plain)
					Backward(k, m, padded, &gp)
					Backward(k, m, plain, &gq)
					if lp != lq {
						t.Fatalf("loss %v padded, %v plain", lp, lq)
					}
					for i := range gp.Slab {
						if math.Float32bits(gp.Slab[i]) != math.Float32bits(gq.Slab[i]) {
							t.Fatalf("gradient %d: %v padded, %v plain", i, gp.Slab[i], gq.Slab[i])
						}
					}
				})
			}
		}
	}
}
