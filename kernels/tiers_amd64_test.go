//go:build amd64 && !noasm

package kernels

import (
	"flag"
	"testing"

	"github.com/klauspost/cpuid/v2"
)

// -noavx512 switches AVX-512 off through cpuid for the whole test run, the
// way a CPU without it would look: the avx512 backend drops out and avx2
// becomes Best.
var noAVX512 = flag.Bool("noavx512", false, "run the tests as if the CPU had no AVX-512")

func TestMain(m *testing.M) {
	flag.Parse()
	if *noAVX512 {
		cpuid.CPU.Disable(cpuid.AVX512F)
	}
	m.Run()
}

// TestConformanceWithoutAVX512 hides AVX-512 from the registry and runs the
// conformance suite on what is left, so that the AVX2 tier is the one chosen
// and is exercised on a machine that has AVX-512.
func TestConformanceWithoutAVX512(t *testing.T) {
	if !cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3) {
		t.Skip("no AVX2 on this CPU")
	}
	if cpuid.CPU.Supports(cpuid.AVX512F) {
		cpuid.CPU.Disable(cpuid.AVX512F)
		defer cpuid.CPU.Enable(cpuid.AVX512F)
	}
	if _, err := Lookup("avx512"); err == nil {
		t.Fatal("avx512 still supported with AVX512F disabled")
	}
	if got := Best().Name(); got != "avx2" {
		t.Fatalf("Best() = %s with AVX-512 disabled, want avx2", got)
	}
	if testing.Short() || raceEnabled {
		return // the full suite already ran avx2 as one of Supported()
	}
	for name, f := range map[string]func(*testing.T){
		"Gemv": TestGemv, "Gemm": TestGemm, "AxpyDot": TestAxpyDot, "AddTanh": TestAddTanh,
		"TanhGrad": TestTanhGrad, "SoftmaxXent": TestSoftmaxXent, "SumSquares": TestSumSquares, "SumSquaresRange": TestSumSquaresRange,
		"OptimizerUpdates": TestOptimizerUpdates, "MomentumRMSpropAdamW": TestMomentumRMSpropAdamWUpdates,
	} {
		t.Run(name, f)
	}
}

// TestTiersSupported pins what this machine is expected to run: every
// assembly backend its CPU can, in rank order.
func TestTiersSupported(t *testing.T) {
	var want []string
	if cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512VL, cpuid.AVX2, cpuid.FMA3) {
		want = append(want, "avx512")
	}
	if cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3) {
		want = append(want, "avx2")
	}
	want = append(want, "generic")
	got := supportedNames()
	// Backends from other build tags (openblas) may sit among them; check
	// the relative order of these three only.
	i := 0
	for _, n := range got {
		if i < len(want) && n == want[i] {
			i++
		}
	}
	if i != len(want) {
		t.Fatalf("supported backends %v, want %v among them in this order", got, want)
	}
}
