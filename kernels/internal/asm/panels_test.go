package asm

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/cpuid/v2"
)

type panelKernel = func(k int, a []float32, lda int, panel []float32, nc int, c []float32, ldc int, alpha, beta float32, useBeta bool)

var panelKernels = []panelKernel{
	GemmPanel1AVX512, GemmPanel2AVX512, GemmPanel3AVX512, GemmPanel4AVX512,
	GemmPanel5AVX512, GemmPanel6AVX512, GemmPanel7AVX512, GemmPanel8AVX512,
	GemmPanel9AVX512, GemmPanel10AVX512, GemmPanel11AVX512, GemmPanel12AVX512,
	GemmPanel13AVX512, GemmPanel14AVX512, GemmPanel15AVX512, GemmPanel16AVX512,
}

// TestGemmPanel checks every row count of the panel kernel, odd and even k
// (its loop takes two steps at a time) and every width of a last panel,
// against the reference, with A's rows exactly as long as they are read.
func TestGemmPanel(t *testing.T) {
	if !twins && !cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512VL) {
		t.Skip("not supported by this CPU")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for rows := 1; rows <= len(panelKernels); rows++ {
		for _, k := range []int{0, 1, 2, 7, 70} {
			for _, nc := range []int{1, 5, 15, 16} {
				lda, ldc := k+3, 19
				a := random(rng, (rows-1)*lda+k)
				panel := random(rng, 16*k)
				name := fmt.Sprintf("GemmPanel%d k=%d nc=%d", rows, k, nc)
				runKernel(t, name, rng, func(c []float32, ub bool) {
					panelKernels[rows-1](k, a, lda, panel, nc, c, ldc, 0.75, -1.5, ub)
				}, func(c []float32, ub bool) {
					gemmBcastRef(rows, k, a, lda, 1, panel, 16, nc, c, ldc, 0.75, -1.5, ub)
				}, rows, nc, ldc, k)
			}
		}
	}
}
