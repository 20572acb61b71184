package main

import (
	"fmt"
	"sync"
	"time"

	"charrnn/engine"
	"charrnn/kernels"
)

const precisionUsage = "products with the weights: fp32, bf16 (bfloat16 operands, float32 sums and master weights; needs AVX512_BF16) or auto (bf16 where the CPU has it and it is the faster for this run)"

// resolvePrecision turns -precision into the engine's precision on backend
// k for a run of model c whose products are batched (several streams: bound
// by the multiply-add rate) or not (one stream: bound by reading the
// weights, from H=256 on). auto becomes bf16 where k has bfloat16
// products and they are the faster for such a run, fp32 elsewhere; bf16
// where k has none is the user's error. It returns the precision and why
// it runs, for the line that says so.
func resolvePrecision(p engine.Precision, k kernels.Backend, c engine.ModelConfig, batched bool) (engine.Precision, string, error) {
	ops, err := engine.BF16Products(k)
	switch {
	case p == "auto" && err == nil && !batched:
		if c.Hidden >= singleStreamMinHidden {
			return engine.BF16, fmt.Sprintf("auto: bf16, as one stream's products are bound by reading the weights (H=%d), and bfloat16 halves their bytes", c.Hidden), nil
		}
		return engine.FP32, fmt.Sprintf("auto: fp32, as one stream's products of H=%d are too short for bfloat16's dot products to pay", c.Hidden), nil
	case p == "auto" && err == nil:
		fp, bf := productRates(k, ops)
		if bf > fp {
			return engine.BF16, fmt.Sprintf("auto: bf16, as batched products are bound by the multiply-adds, and backend %s multiplies bfloat16 at %.0f GFLOP/s per core against %.0f for float32", k.Name(), bf, fp), nil
		}
		return engine.FP32, fmt.Sprintf("auto: fp32, as batched products are bound by the multiply-adds, and backend %s multiplies bfloat16 at only %.0f GFLOP/s per core against %.0f for float32", k.Name(), bf, fp), nil
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

// singleStreamMinHidden is the hidden size from which one stream's
// products ran faster in bf16 on an Intel Xeon (bench/RESULTS.md): at
// H=100 0.64× fp32, a 1-layer RNN at H=128 0.80×, H=256 1.17×, H=384 1.36×,
// H=512 1.0-1.3×, a 2-layer LSTM at H=128 0.90×, H=256 1.05×, H=512
// 2.1-2.5×. The size of the weights alone does not tell: the LSTM at H=128
// holds more of them (0.8 MiB) than the RNN at H=384 (0.7 MiB).
const singleStreamMinHidden = 256

// productRates measures, once per backend, one core's float32 and bfloat16
// GEMM rates in GFLOP/s, on a product that stays in cache (64×256×256)
// run by the backend itself. Neither rate follows from the CPU's features:
// Zen 4 and Zen 5 run VDPBF16PS at about twice their fp32 FMA rate, an
// Intel Xeon at half of it, and its AMX tiles (the amx backend) at many
// times (bench/RESULTS.md).
func productRates(k kernels.Backend, ops kernels.BF16) (fp32, bf16 float64) {
	rates.Lock()
	defer rates.Unlock()
	if r, ok := rates.m[k.Name()]; ok {
		return r[0], r[1]
	}
	const m, n, kk = 64, 256, 256
	const probe = 50 * time.Millisecond
	one := kernels.Unsplit(k)
	a, b, c := make([]float32, m*kk), make([]float32, kk*n), make([]float32, m*n)
	for i := range a {
		a[i] = 0.5
	}
	for i := range b {
		b[i] = 0.25
	}
	a16, b16 := make([]uint16, m*kk), make([]uint16, kernels.PairsWords(kk, n))
	ops.ToBF16(a16, a)
	ops.ToBF16Pairs(b16, n, b, kk, n, n)
	rate := func(f func()) float64 {
		calls := 0
		start := time.Now()
		for time.Since(start) < probe {
			f()
			calls++
		}
		return float64(calls) * 2 * m * n * kk / time.Since(start).Seconds() / 1e9
	}
	fp32 = rate(func() { one.Gemm(false, false, m, n, kk, 1, a, kk, b, n, 0, c, n) })
	bf16 = rate(func() { ops.GemmBF16(m, n, kk, 1, a16, kk, b16, n, 0, c, n) })
	rates.m[k.Name()] = [2]float64{fp32, bf16}
	return fp32, bf16
}

var rates = struct {
	sync.Mutex
	m map[string][2]float64
}{m: map[string][2]float64{}}
