//go:build amd64 && !noasm

package kernels_test

import (
	"flag"
	"os"
	"testing"

	"github.com/klauspost/cpuid/v2"

	"charrnn/kernels"
)

// -noavx512 switches AVX-512 off through cpuid for the whole test run, the
// way a CPU without it would look: the avx512 backend drops out and avx2
// becomes the best tier.
var noAVX512 = flag.Bool("noavx512", false, "run the tests as if the CPU had no AVX-512")

func TestMain(m *testing.M) {
	flag.Parse()
	if *noAVX512 {
		cpuid.CPU.Disable(cpuid.AVX512F)
	}
	os.Exit(m.Run())
}

// tier is one SIMD tier of backends.
type tier struct {
	name  string
	needs []cpuid.FeatureID // what the CPU must have to run it
	off   cpuid.FeatureID   // disabling this hides the tier from the registry
}

// tiers run from the highest down. What each needs is written here
// independently of the backends' registration, so that a backend that wrongly
// reports itself unsupported fails the tests instead of being skipped.
var tiers = []tier{
	{"amx", []cpuid.FeatureID{cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512VL, cpuid.AVX2, cpuid.FMA3, cpuid.AVX512BF16, cpuid.AMXBF16, cpuid.AMXTILE}, cpuid.AMXTILE},
	{"avx512", []cpuid.FeatureID{cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512VL, cpuid.AVX2, cpuid.FMA3}, cpuid.AVX512F},
	{"avx2", []cpuid.FeatureID{cpuid.AVX2, cpuid.FMA3}, cpuid.AVX2},
	{"generic", nil, cpuid.UNKNOWN},
}

func tierIndex(name string) int {
	for i, tr := range tiers {
		if tr.name == name {
			return i
		}
	}
	return -1
}

func tierNames() []string {
	var names []string
	for _, tr := range tiers {
		names = append(names, tr.name)
	}
	return names
}

// cpuRuns reports whether this CPU, as cpuid now sees it, has what the named
// tier needs (for amx, also the operating system's leave to use the tiles);
// false for a backend that is not a tier.
func cpuRuns(name string) bool {
	i := tierIndex(name)
	return i >= 0 && cpuid.CPU.Supports(tiers[i].needs...) && (name != "amx" || kernels.AMXReady())
}

// useTier switches off, until the test ends, every tier above the named one,
// and checks that they left the registry. A backend that is not a tier runs
// with every tier on.
func useTier(t *testing.T, name string) {
	t.Helper()
	i := tierIndex(name)
	if i < 0 {
		return
	}
	for _, above := range tiers[:i] {
		if cpuid.CPU.Supports(above.off) {
			cpuid.CPU.Disable(above.off)
			t.Cleanup(func() { cpuid.CPU.Enable(above.off) })
		}
		if _, err := kernels.Lookup(above.name); err == nil {
			t.Fatalf("%s still supported with %v switched off", above.name, above.off)
		}
	}
}

// bestTier is the name of the best tier the registry offers.
func bestTier() string {
	for _, b := range kernels.Supported() {
		if tierIndex(b.Name()) >= 0 {
			return b.Name()
		}
	}
	return ""
}

// TestTiersSupported pins what this machine is expected to run: every SIMD
// tier its CPU can, in rank order.
func TestTiersSupported(t *testing.T) {
	var want []string
	for _, tr := range tiers {
		if cpuRuns(tr.name) {
			want = append(want, tr.name)
		}
	}
	var got []string
	for _, b := range kernels.Supported() {
		got = append(got, b.Name())
	}
	// Backends from other build tags (openblas) may sit among them; check
	// the relative order of the tiers only.
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
