package kernels

// What the tests of package kernels_test need from inside the package. The
// conformance suite runs there because kerneltest imports kernels.

// ParallelSplittingAll is a Parallel backend over workers that splits every
// call it can, however small.
func ParallelSplittingAll(b Backend, workers int) Backend {
	return newParallel(b, workers, splitPolicy{})
}
