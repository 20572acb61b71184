package main

import (
	"fmt"

	"charrnn/engine"
	"charrnn/kernels"
)

const precisionUsage = "products with the weights: fp32, bf16 (bfloat16 operands, float32 sums and master weights; needs AVX512_BF16) or auto (bf16 where the CPU has it)"

// resolvePrecision turns -precision into the engine's precision on backend
// k: auto becomes bf16 where k has bfloat16 products and fp32 elsewhere;
// bf16 where k has none is the user's error. It returns the precision and
// why it runs, for the line that says so.
func resolvePrecision(p engine.Precision, k kernels.Backend) (engine.Precision, string, error) {
	_, err := engine.BF16Products(k)
	switch {
	case p == "auto" && err == nil:
		return engine.BF16, "auto: the CPU has bfloat16 products", nil
	case p == "auto":
		return engine.FP32, fmt.Sprintf("auto: %v", err), nil
	case p == engine.BF16 && err != nil:
		return "", "", badInputf("-precision bf16: %v", err)
	case p == engine.BF16:
		return p, "bfloat16 products, float32 sums and master weights", nil
	case p == engine.FP32 || p == "":
		return engine.FP32, "float32 products", nil
	}
	return "", "", badInputf("-precision must be fp32, bf16 or auto, got %q", p)
}
