package main

import (
	"fmt"
	"strings"
	"testing"

	"charrnn/engine"
	"charrnn/kernels"
)

// TestAutoPrecision: where the backend has bfloat16 products, auto runs
// bf16 for one stream from H=256 (singleStreamMinHidden), and for
// a batched run only where the backend's bfloat16 GEMM is faster than its
// float32 one on this CPU, saying so with both rates; fp32 elsewhere.
func TestAutoPrecision(t *testing.T) {
	small := engine.ModelConfig{Cell: "lstm", Layers: 2, Hidden: 128, Vocab: 65}
	large := engine.ModelConfig{Cell: "rnn", Layers: 1, Hidden: 256, Vocab: 65}
	for _, k := range kernels.Supported() {
		ops, noBF16 := engine.BF16Products(k)
		for _, c := range []struct {
			model   engine.ModelConfig
			batched bool
		}{{small, false}, {large, false}, {small, true}, {large, true}} {
			t.Run(fmt.Sprintf("%s/H=%d/batched=%v", k.Name(), c.model.Hidden, c.batched), func(t *testing.T) {
				got, why, err := resolvePrecision("auto", k, c.model, c.batched)
				if err != nil {
					t.Fatal(err)
				}
				want := engine.BF16
				switch {
				case noBF16 != nil:
					want = engine.FP32
				case !c.batched && c.model == small:
					want = engine.FP32
				case c.batched:
					fp, bf := productRates(k, ops)
					if !(bf > fp) {
						want = engine.FP32
					}
					for _, rate := range []float64{fp, bf} {
						if !strings.Contains(why, fmt.Sprintf("%.0f GFLOP/s", rate)) && !strings.Contains(why, fmt.Sprintf("%.0f for", rate)) {
							t.Errorf("why %q does not give the rate %.0f", why, rate)
						}
					}
				}
				if got != want {
					t.Fatalf("auto ran %s (%s), want %s", got, why, want)
				}
				if !strings.HasPrefix(why, "auto: ") {
					t.Fatalf("why = %q, want it to begin with \"auto: \"", why)
				}
			})
		}
	}
}
