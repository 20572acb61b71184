package kernels_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"charrnn/kernels"
	"charrnn/kernels/kerneltest"
)

// FuzzGemm runs GEMM (and GEMV, which is the same contract with one
// dimension fixed) on random shapes, transposes, strides, alpha and beta,
// and checks every supported backend against the float64 reference (the
// conformance checks: guards, padding, unchanged inputs) and against the
// generic backend.
func FuzzGemm(f *testing.F) {
	// Seeds: the engine's shapes scaled down, edges around the vector
	// widths and micro-kernel blocks, and the degenerate ones.
	for _, s := range [][6]uint8{
		{1, 1, 1, 0, 0, 0}, {0, 5, 3, 1, 0, 0}, {5, 0, 3, 2, 1, 0}, {5, 3, 0, 3, 2, 1},
		{32, 64, 64, 1, 3, 2}, {65, 17, 100, 0, 1, 1}, {7, 65, 33, 2, 2, 2}, {6, 64, 255, 0, 0, 3},
		{4, 4, 17, 1, 4, 3}, {13, 129, 15, 4, 5, 1}, {100, 65, 16, 5, 6, 0}, {3, 200, 70, 6, 7, 2},
	} {
		f.Add(uint64(s[0])*7919+uint64(s[5]), s[0], s[1], s[2], s[3], s[4])
	}
	f.Fuzz(func(t *testing.T, seed uint64, m8, n8, k8, mode, pad uint8) {
		m, n, k := int(m8)%160, int(n8)%160, int(k8)%300
		rng := rand.New(rand.NewPCG(seed, uint64(m8)<<16|uint64(n8)<<8|uint64(k8)))
		betas := [][2]float32{{1, 0}, {-0.5, 1}, {1.5, 0.25}, {0, 2}}
		ab := betas[int(pad>>4)%len(betas)]
		transA, transB := mode&1 != 0, mode&2 != 0
		gemv := mode&4 != 0
		for _, b := range kernels.Supported() {
			if gemv {
				kerneltest.CheckGemv(t, b, rng, transA, m, n, ab[0], ab[1])
			} else {
				kerneltest.CheckGemm(t, b, rng, transA, transB, m, n, k, ab[0], ab[1])
			}
		}
		if gemv {
			return
		}
		// The same inputs for every backend, with the fuzzer's strides.
		ar, ac, br, bc := m, k, k, n
		if transA {
			ar, ac = k, m
		}
		if transB {
			br, bc = n, k
		}
		lda, ldb, ldc := ac+int(pad)%3, bc+int(pad/3)%3, n+int(pad/9)%3
		a := random(rng, max(0, (ar-1)*lda+ac))
		bb := random(rng, max(0, (br-1)*ldb+bc))
		c := random(rng, max(0, (m-1)*ldc+n))
		for _, b := range kernels.Supported() {
			kerneltest.CompareGemm(t, b, kernels.Generic{}, transA, transB, m, n, k, ab[0], a, lda, bb, ldb, ab[1], c, ldc)
		}
	})
}

// FuzzOptimizer runs SumSquares and every optimizer update on random
// lengths, gradient magnitudes (2^-70 to 2^70, so that squares leave
// float32's range both ways), scales and limits, and compares every
// supported backend with the generic one: non-finite results must match in
// kind, finite ones within float32 rounding of the largest term.
func FuzzOptimizer(f *testing.F) {
	for _, s := range [][4]int8{
		{1, 0, 0, 0}, {17, 0, 3, 1}, {100, 70, 0, 2}, {33, -70, 5, 3}, {127, 40, -3, 0}, {64, 65, 0, 0}, {5, -60, 10, 1},
	} {
		f.Add(uint64(s[0])*31, uint16(s[0])*23, s[1], s[2], uint8(s[3]))
	}
	f.Fuzz(func(t *testing.T, seed uint64, n16 uint16, magExp, scaleExp int8, limitSel uint8) {
		n := int(n16) % 5000
		rng := rand.New(rand.NewPCG(seed, uint64(n16)))
		mag := math.Ldexp(1, int(magExp)%71)
		scale := float32(math.Ldexp(1, int(scaleExp)%20))
		limit := []float32{float32(math.Inf(1)), 0.3, 5, 1e30}[int(limitSel)%4]
		g := make([]float32, n)
		for i := range g {
			g[i] = float32((rng.Float64()*2 - 1) * mag)
		}
		p, m, v := random(rng, n), random(rng, n), random(rng, n)
		for i := range v {
			v[i] *= v[i] // second moments are non-negative
		}
		for _, b := range kernels.Supported() {
			kerneltest.CompareOptimizers(t, b, kernels.Generic{}, p, g, m, v, scale, limit)
		}
	})
}

// random returns n values in [-1, 1).
func random(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = rng.Float32()*2 - 1
	}
	return s
}
