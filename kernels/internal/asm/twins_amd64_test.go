//go:build amd64 && !noasm

package asm

// The routines are assembly: a test runs an instruction set's routines only
// where the CPU has it.
const twins = false
