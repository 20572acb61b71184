//go:build amd64 && !noasm

package kernels_test

import (
	"testing"
	"time"

	"charrnn/kernels"
)

// TestAMXPeak checks that the tile probe runs exactly where the amx backend
// does, and that on it the tiles outrun the float32 FMAs, which is the whole
// case for the backend.
func TestAMXPeak(t *testing.T) {
	got := kernels.AMXPeak(5 * time.Millisecond)
	_, err := kernels.Lookup("amx")
	if (got > 0) != (err == nil) {
		t.Fatalf("AMXPeak = %v GFLOP/s, amx backend: %v", got, err)
	}
	if err != nil {
		t.Skip(err)
	}
	fp, _ := kernels.FMAPeak(5 * time.Millisecond)
	t.Logf("AMXPeak %.0f GFLOP/s, FMAPeak %.0f", got, fp)
	if !(got > fp) {
		t.Fatalf("AMXPeak %.0f GFLOP/s is no faster than the float32 FMAs' %.0f", got, fp)
	}
	amx, _ := kernels.Lookup("amx")
	if !kernels.UsesAMX(amx) || !kernels.UsesAMX(kernels.Parallel(amx, 2)) {
		t.Fatal("UsesAMX(amx) = false")
	}
	if avx, err := kernels.Lookup("avx512"); err == nil && kernels.UsesAMX(avx) {
		t.Fatal("UsesAMX(avx512) = true")
	}
}
