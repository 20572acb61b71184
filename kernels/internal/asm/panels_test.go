package asm

import (
	"fmt"
	"math"
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

var quadPanelKernels = []func(k int, a []float32, lda int, panels []float32, c []float32, ldc int, alpha, beta float32, useBeta bool){
	GemmQuadPanel1AVX512, GemmQuadPanel2AVX512, GemmQuadPanel3AVX512,
	GemmQuadPanel4AVX512, GemmQuadPanel5AVX512, GemmQuadPanel6AVX512,
}

// TestGemmQuadPanel checks every row count of the four-panel kernel, odd
// and even k, against the reference, and to the bit against the one-panel
// kernels, which GemmPanels runs on the panels left over: an output must
// not depend on which of the two computed it.
func TestGemmQuadPanel(t *testing.T) {
	if !twins && !cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512VL) {
		t.Skip("not supported by this CPU")
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for rows := 1; rows <= len(quadPanelKernels); rows++ {
		for _, k := range []int{0, 1, 2, 7, 70} {
			lda, ldc := k+3, 67
			a := random(rng, (rows-1)*lda+k)
			panels := random(rng, 4*16*k)
			name := fmt.Sprintf("GemmQuadPanel%d k=%d", rows, k)
			runKernel(t, name, rng, func(c []float32, ub bool) {
				quadPanelKernels[rows-1](k, a, lda, panels, c, ldc, 0.75, -1.5, ub)
			}, func(c []float32, ub bool) {
				gemmQuadPanelRef(rows, k, a, lda, panels, c, ldc, 0.75, -1.5, ub)
			}, rows, 64, ldc, k)
			for _, ub := range []bool{false, true} {
				c0 := random(rng, rows*ldc)
				c1 := append([]float32(nil), c0...)
				quadPanelKernels[rows-1](k, a, lda, panels, c0, ldc, 0.75, -1.5, ub)
				for p := 0; p < 4; p++ {
					panelKernels[rows-1](k, a, lda, panels[p*16*k:], 16, c1[16*p:], ldc, 0.75, -1.5, ub)
				}
				for i := range c0 {
					if math.Float32bits(c0[i]) != math.Float32bits(c1[i]) {
						t.Fatalf("%s useBeta=%v: C[%d] = %v, one-panel kernels %v", name, ub, i, c0[i], c1[i])
					}
				}
			}
		}
	}
}
