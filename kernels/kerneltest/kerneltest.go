// Package kerneltest is the conformance suite of kernels.Backend, in the way
// of gonum's blas/testblas: every op, at shapes from empty to the model's,
// on unaligned slices between guard values, with row padding, aliasing, the
// BLAS rule that beta == 0 never reads the output, NaN and range edge cases,
// checked against a plain float64 reference. A backend, inside the kernels
// package or outside it, is done when
//
//	func TestConformance(t *testing.T) { kerneltest.TestBackend(t, myBackend) }
//
// passes.
//
// The suite is written by op family, one file each (blas1.go, gemv.go,
// gemm.go, elementwise.go, gates.go, optimizers.go, bf16.go), and every
// family also checks that its ops panic on a slice one element too short and
// allocate nothing. A new family is a new file with its test function and one
// line in families.
//
// The Check and Compare functions are single cases of the suite, exported for
// fuzz targets: Check* against the float64 reference, Compare* against
// another backend on the same inputs.
package kerneltest

import (
	"testing"

	"charrnn/kernels"
)

// families is the whole suite: each entry runs every test of one op family
// as subtests.
var families = []struct {
	name string
	run  func(t *testing.T, b kernels.Backend)
}{
	{"blas1", testBLAS1},
	{"gemv", testGemv},
	{"gemm", testGemm},
	{"gemmpanels", testGemmPanels},
	{"elementwise", testElementwise},
	{"gates", testGates},
	{"optimizers", testOptimizers},
	{"bf16", testBF16},
}

// TestBackend runs the whole conformance suite on b, one subtest per op
// family. It runs b's ops from one goroutine at a time.
func TestBackend(t *testing.T, b kernels.Backend) {
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) { f.run(t, b) })
	}
}
