//go:build !amd64 || noasm

package asm

// Without assembly every routine is its pure-Go twin, which runs anywhere:
// the tests run all of them whatever cpuid says (and cpuid detects nothing
// under the noasm tag).
const twins = true
