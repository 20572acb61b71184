package kernels

import (
	"fmt"
	"strings"
)

// This file holds the pure decision logic behind the OpenBLAS misdetection
// check: which SIMD tier an OpenBLAS core name stands for, whether that is
// weaker than what cpuid reports, and what to do about it. It has no build
// tag so that its tests run in every build; only openblas.go uses it.

// simdTier orders kernel sets by the widest vector instructions they use.
type simdTier int

const (
	tierUnknown simdTier = iota // a name this table does not know
	tierSSE                     // SSE2/SSE3 only
	tierAVX                     // AVX (and FMA on AMD's Bulldozer family), no AVX2
	tierAVX2                    // AVX2 + FMA
	tierAVX512                  // AVX-512 F/BW/DQ/VL/CD
)

func (t simdTier) String() string {
	switch t {
	case tierSSE:
		return "SSE"
	case tierAVX:
		return "AVX"
	case tierAVX2:
		return "AVX2"
	case tierAVX512:
		return "AVX-512"
	}
	return "unknown"
}

// openblasCoreTiers maps the x86-64 core names OpenBLAS's DYNAMIC_ARCH build
// reports (openblas_get_corename) to the widest SIMD its kernels for that
// core use. Lower-cased keys.
var openblasCoreTiers = map[string]simdTier{
	"katmai": tierSSE, "coppermine": tierSSE, "northwood": tierSSE, "prescott": tierSSE,
	"banias": tierSSE, "atom": tierSSE, "core2": tierSSE, "penryn": tierSSE,
	"dunnington": tierSSE, "nehalem": tierSSE, "athlon": tierSSE, "opteron": tierSSE,
	"opteron_sse3": tierSSE, "barcelona": tierSSE, "nano": tierSSE, "bobcat": tierSSE,

	"sandybridge": tierAVX, "bulldozer": tierAVX, "piledriver": tierAVX,
	"steamroller": tierAVX, "excavator": tierAVX,

	"haswell": tierAVX2, "zen": tierAVX2,

	"skylakex": tierAVX512, "cooperlake": tierAVX512, "sapphirerapids": tierAVX512,
}

func openblasCoreTier(corename string) simdTier {
	return openblasCoreTiers[strings.ToLower(strings.TrimSpace(corename))]
}

// coretypeFor is the OPENBLAS_CORETYPE value that selects OpenBLAS's best
// kernels for a CPU of the given tier ("" when there is nothing better than
// what OpenBLAS picks on its own).
func coretypeFor(t simdTier) string {
	switch t {
	case tierAVX512:
		return "SkylakeX"
	case tierAVX2:
		return "Haswell"
	case tierAVX:
		return "Sandybridge"
	}
	return ""
}

// Environment variables of the misdetection fix.
const (
	coretypeEnv = "OPENBLAS_CORETYPE"
	// reexecGuardEnv is set in the environment of the re-executed process
	// so that it never re-executes itself again.
	reexecGuardEnv = "CHARRNN_OPENBLAS_REEXEC"
)

// coretypeAdvice is what to do about the kernel set OpenBLAS selected.
type coretypeAdvice struct {
	corename string   // what OpenBLAS runs
	core     simdTier // its tier
	host     simdTier // what cpuid sees
	env      string   // OPENBLAS_CORETYPE as inherited, "" if unset
	envSet   bool
	guarded  bool // this process is already the re-executed one

	weak     bool   // OpenBLAS runs narrower kernels than the CPU can
	coretype string // the OPENBLAS_CORETYPE value that fixes it ("" if !weak)
	reexec   bool   // re-executing with coretype set is safe and useful
}

// adviseCoretype decides whether OpenBLAS runs a weaker kernel set than this
// CPU supports. An unknown core name is never called weak: guessing could
// only make things worse. Re-executing is advised only when the variable is
// unset (an explicit setting is the user's choice, we only warn) and this
// process is not already the re-executed one.
func adviseCoretype(corename string, host simdTier, env string, envSet, guarded bool) coretypeAdvice {
	a := coretypeAdvice{
		corename: corename, core: openblasCoreTier(corename), host: host,
		env: env, envSet: envSet, guarded: guarded,
	}
	if a.core != tierUnknown && host >= tierAVX && a.core < host {
		a.weak = true
		a.coretype = coretypeFor(host)
		a.reexec = !envSet && !guarded
	}
	return a
}

// fix is the shell command that fixes a weak selection, "" if there is
// nothing to fix.
func (a coretypeAdvice) fix() string {
	if !a.weak {
		return ""
	}
	return "export " + coretypeEnv + "=" + a.coretype
}

// warning is a one-line, print-ready explanation with the exact fix, ""
// when OpenBLAS runs the right kernels.
func (a coretypeAdvice) warning() string {
	if !a.weak {
		return ""
	}
	var why string
	switch {
	case a.guarded && a.envSet:
		why = fmt.Sprintf("even after re-running with %s=%s", coretypeEnv, a.env)
	case a.envSet:
		why = fmt.Sprintf("because %s=%s is set", coretypeEnv, a.env)
	default:
		why = "because it did not recognise this CPU"
	}
	slower := "slower" // AVX2 kernels on an AVX-512 CPU
	if a.core == tierSSE {
		slower = "several times slower"
	}
	return fmt.Sprintf("warning: OpenBLAS runs its %q (%s) kernels %s, but this CPU has %s, so matrix products run %s than they could; fix: %s",
		a.corename, a.core, why, a.host, slower, a.fix())
}

// reexecEnv returns env with OPENBLAS_CORETYPE set to coretype and the
// re-exec guard set, replacing any earlier values of either.
func reexecEnv(env []string, coretype string) []string {
	out := make([]string, 0, len(env)+2)
	for _, kv := range env {
		if strings.HasPrefix(kv, coretypeEnv+"=") || strings.HasPrefix(kv, reexecGuardEnv+"=") {
			continue
		}
		out = append(out, kv)
	}
	return append(out, coretypeEnv+"="+coretype, reexecGuardEnv+"=1")
}
