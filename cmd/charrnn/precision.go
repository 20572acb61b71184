package main

import (
	"fmt"
	"sync"
	"time"

	"charrnn/bench"
	"charrnn/engine"
	"charrnn/kernels"
)

const precisionUsage = "products with the weights: fp32, bf16 (bfloat16 operands, float32 sums and master weights; needs AVX512_BF16) or auto (bf16 where the CPU has it and it is the faster for this run)"

// resolvePrecision turns -precision into the engine's precision on backend
// k for a run of model c whose products are batched (several streams: bound
// by the multiply-add rate) or not (one stream: bound by reading the
// weights, once they are large). auto becomes bf16 where k has bfloat16
// products and they are the faster for such a run, fp32 elsewhere; bf16
// where k has none is the user's error. It returns the precision and why
// it runs, for the line that says so.
func resolvePrecision(p engine.Precision, k kernels.Backend, c engine.ModelConfig, batched bool) (engine.Precision, string, error) {
	_, err := engine.BF16Products(k)
	switch {
	case p == "auto" && err == nil && !batched:
		c.Vocab = max(c.Vocab, 1) // a training run's vocabulary is not known yet: its share is small
		mb := 4 * bench.ProductWeights(c) / (1 << 20)
		if mb >= singleStreamMiB {
			return engine.BF16, fmt.Sprintf("auto: bf16, as one stream's products are bound by reading its %.1f MiB of float32 weights, and bfloat16 halves those bytes", mb), nil
		}
		return engine.FP32, fmt.Sprintf("auto: fp32, as one stream's %.2f MiB of weights stay in cache, where bfloat16's conversions cost more than its bytes save", mb), nil
	case p == "auto" && err == nil:
		fp, bf := productPeaks()
		if bf > fp {
			return engine.BF16, fmt.Sprintf("auto: bf16, as batched products are bound by the multiply-adds, and this CPU's bfloat16 dot products run at %.0f GFLOP/s per core against %.0f for float32 FMAs", bf, fp), nil
		}
		return engine.FP32, fmt.Sprintf("auto: fp32, as batched products are bound by the multiply-adds, and this CPU's bfloat16 dot products run at only %.0f GFLOP/s per core against %.0f for float32 FMAs", bf, fp), nil
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

// singleStreamMiB is the size of the float32 weights from which one
// stream's products ran faster in bf16 on an Intel Xeon: a 2×128 LSTM
// (0.8 MiB) ran at 0.9× fp32, the notebook's H=100 model at 0.64×, a 1×512
// RNN (1.1 MiB) at 1.0-1.3× and a 2×512 LSTM at 2.1-2.5×; an RNN of H=256
// (0.3 MiB) gained 1.17×, left to fp32 by this rule (bench/RESULTS.md).
const singleStreamMiB = 1

// productPeaks measures, once per process, one core's float32 FMA and
// bfloat16 dot-product rates in GFLOP/s. Neither rate follows from the
// CPU's features: Zen 4 and Zen 5 run VDPBF16PS at about twice their fp32
// FMA rate, an Intel Xeon with AMX at half of it (bench/RESULTS.md).
var productPeaks = sync.OnceValues(func() (fp32, bf16 float64) {
	const probe = 50 * time.Millisecond
	fp32, _ = kernels.FMAPeak(probe)
	return fp32, kernels.BF16Peak(probe)
})
