//go:build amd64 && !noasm

package kernels

// AMXReady reports whether the operating system let this process use AMX's
// tiles, which the amx tier needs beside the CPU's features.
func AMXReady() bool { return amxReady() }
