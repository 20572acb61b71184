//go:build !amd64 || noasm

package kernels

// fmaLoop: without assembly there is no vector FMA loop to time.
func fmaLoop() (run func(iters int) float32, lanes int, isa string) { return nil, 0, "" }

// bf16Loop: without assembly there is no VDPBF16PS loop to time.
func bf16Loop() func(iters int) float32 { return nil }
