package kernels

import (
	"strings"

	"github.com/klauspost/cpuid/v2"
)

// CPUFeatures names this CPU and the vector features of it that the
// backends use, for messages about what it cannot do.
func CPUFeatures() string {
	var have []string
	for _, f := range []struct {
		name string
		id   cpuid.FeatureID
	}{
		{"AVX2", cpuid.AVX2}, {"FMA", cpuid.FMA3}, {"AVX512F", cpuid.AVX512F}, {"AVX512BW", cpuid.AVX512BW},
		{"AVX512VL", cpuid.AVX512VL}, {"AVX512_BF16", cpuid.AVX512BF16},
	} {
		if cpuid.CPU.Supports(f.id) {
			have = append(have, f.name)
		}
	}
	if len(have) == 0 {
		have = []string{"none of AVX2, FMA, AVX-512"}
	}
	name := cpuid.CPU.BrandName
	if name == "" {
		name = "this CPU"
	}
	return name + " with " + strings.Join(have, ", ")
}

// L2Bytes is one core's L2 cache in bytes, as cpuid reports it, or 1 MiB
// where it reports none.
func L2Bytes() int {
	if l2 := cpuid.CPU.Cache.L2; l2 > 0 {
		return l2
	}
	return 1 << 20
}
