package kernels_test

import (
	"io"
	"slices"
	"testing"

	"charrnn/kernels"
	"charrnn/kernels/kerneltest"
)

// wrappers turn a backend into others that must pass the same suite:
// Parallel over two workers, and a three-worker pool that splits every call
// it can, so that the block arithmetic meets the suite's odd and tiny shapes
// (17 = 16 + 1, 7 = 0 + 7, empty middle blocks, transposes) and not only its
// large ones.
var wrappers = []struct {
	name string
	wrap func(kernels.Backend) kernels.Backend
}{
	{"parallel=2", func(b kernels.Backend) kernels.Backend { return kernels.Parallel(b, 2) }},
	{"parallel=3-split-all", func(b kernels.Backend) kernels.Backend { return kernels.ParallelSplittingAll(b, 3) }},
}

// TestConformance runs the kerneltest suite on every backend compiled into
// this binary that this CPU supports, and on each one's wrappers. A SIMD
// tier runs with the tiers above it switched off, the way a CPU without them
// looks, and must then be the best tier the registry offers. A registered
// backend that reports itself unsupported although the CPU has what it needs
// fails the test instead of being skipped, and so does a tier the CPU runs
// that is not registered.
func TestConformance(t *testing.T) {
	registered := map[string]bool{}
	for _, name := range kernels.Names() {
		registered[name] = true
		t.Run(name, func(t *testing.T) {
			useTier(t, name)
			b, err := kernels.Lookup(name)
			if err != nil {
				if cpuRuns(name) {
					t.Fatalf("%v, but this CPU has what %s needs", err, name)
				}
				t.Skip(err)
			}
			if slices.Contains(tierNames(), name) && bestTier() != name {
				t.Fatalf("best tier %s with the tiers above %s switched off", bestTier(), name)
			}
			kerneltest.TestBackend(t, b)
			for _, w := range wrappers {
				t.Run(w.name, func(t *testing.T) {
					wb := w.wrap(b)
					if c, ok := wb.(io.Closer); ok {
						defer c.Close()
					}
					kerneltest.TestBackend(t, wb)
				})
			}
		})
	}
	for _, name := range tierNames() {
		if cpuRuns(name) && !registered[name] {
			t.Errorf("this CPU runs the %s tier, but no %s backend is registered", name, name)
		}
	}
}
