//go:build amd64 && !noasm

package kernels_test

import (
	"io"
	"testing"
	"time"

	"github.com/klauspost/cpuid/v2"

	"charrnn/kernels"
)

// bf16CPU reports whether this CPU, as cpuid now sees it, runs the avx512
// backend's BF16 ops. Written here independently of the backend's own
// check, so that a backend that wrongly hides them fails.
func bf16CPU() bool {
	return cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512VL, cpuid.AVX2, cpuid.FMA3, cpuid.AVX512BF16)
}

// TestBF16Offered pins which backends offer BF16 ops: on a CPU with
// AVX512_BF16 the avx512 and amx backends and their Parallel wrappers must, so that
// TestConformance runs the bf16 family on them instead of skipping it (a
// BF16 backend that goes untested fails here); no other backend may, and
// with AVX512_BF16 switched off none may.
func TestBF16Offered(t *testing.T) {
	check := func(t *testing.T) {
		for _, b := range kernels.Supported() {
			want := (b.Name() == "avx512" || b.Name() == "amx") && bf16CPU()
			if _, ok := kernels.BF16Of(b); ok != want {
				t.Errorf("BF16Of(%s) = %v, want %v", b.Name(), ok, want)
			}
			for _, w := range wrappers {
				wb := w.wrap(b)
				if _, ok := kernels.BF16Of(wb); ok != want {
					t.Errorf("BF16Of(%s %s) = %v, want %v", b.Name(), w.name, ok, want)
				}
				if c, ok := wb.(io.Closer); ok {
					c.Close()
				}
			}
		}
	}
	t.Run("cpu", check)
	if cpuid.CPU.Supports(cpuid.AVX512BF16) {
		t.Run("without-avx512bf16", func(t *testing.T) {
			cpuid.CPU.Disable(cpuid.AVX512BF16)
			defer cpuid.CPU.Enable(cpuid.AVX512BF16)
			check(t)
		})
	}
}

// TestBF16Peak checks that the probe runs exactly where the BF16 ops do.
func TestBF16Peak(t *testing.T) {
	got := kernels.BF16Peak(5 * time.Millisecond)
	if want := bf16CPU(); (got > 0) != want {
		t.Fatalf("BF16Peak = %v GFLOP/s; this CPU runs VDPBF16PS: %v", got, want)
	}
}
