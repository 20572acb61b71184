package kernels

import "fmt"

// The assembly does not check bounds, so every matrix is checked here once
// per call: a short slice panics like the generic backend instead of
// reading or writing past its end.
func checkMat(name string, s []float32, rows, cols, ld int) {
	if rows == 0 || cols == 0 {
		return
	}
	if (rows > 1 && ld < cols) || len(s) < (rows-1)*ld+cols {
		panic(fmt.Sprintf("kernels: %s: %d×%d with leading dimension %d does not fit in %d elements", name, rows, cols, ld, len(s)))
	}
}

func checkVec(name string, s []float32, n int) {
	if len(s) < n {
		panic(fmt.Sprintf("kernels: %s has %d elements, need %d", name, len(s), n))
	}
}
