//go:build !amd64 || noasm

package kernels

import "time"

// UsesAMX reports whether backend b runs its bfloat16 GEMMs on AMX's tiles:
// never without the amd64 assembly.
func UsesAMX(b Backend) bool { return false }

// GemvOnTiles is false without the amd64 assembly: there are no tiles.
func GemvOnTiles(b Backend, m, n int) bool { return false }

// AMXPeak is 0 without the amd64 assembly: there are no tiles to measure.
func AMXPeak(d time.Duration) float64 { return 0 }
