//go:build !openblas

package kernels

// The openblas backend is compiled in with the build tag openblas only, so
// that the default build needs nothing but Go. These twins let the
// command-line tool call the same functions in every build.

// OpenBLASCompiled reports whether the openblas backend is compiled into
// this binary (build tag openblas).
const OpenBLASCompiled = false

// OpenBLASStatus reports "not compiled in": there is no OpenBLAS to check.
func OpenBLASStatus() (corename string, weak bool, fix string) {
	return "not compiled in", false, ""
}

// OpenBLASWarning returns "": no OpenBLAS, nothing to warn about.
func OpenBLASWarning() string { return "" }

// ReexecWithCoretype does nothing and returns nil: no OpenBLAS is loaded,
// so there is nothing to fix.
func ReexecWithCoretype() error { return nil }
