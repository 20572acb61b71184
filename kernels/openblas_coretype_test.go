package kernels

import (
	"slices"
	"strings"
	"testing"
)

func TestOpenBLASCoreTier(t *testing.T) {
	for name, want := range map[string]simdTier{
		"Prescott": tierSSE, "Nehalem": tierSSE, "Barcelona": tierSSE, "Opteron_SSE3": tierSSE,
		"Sandybridge": tierAVX, "Excavator": tierAVX,
		"Haswell": tierAVX2, "Zen": tierAVX2, "haswell": tierAVX2, " Zen\n": tierAVX2,
		"SkylakeX": tierAVX512, "Cooperlake": tierAVX512, "SKYLAKEX": tierAVX512,
		"": tierUnknown, "Unknown": tierUnknown, "NEOVERSEN1": tierUnknown, "Zen5": tierUnknown,
	} {
		if got := openblasCoreTier(name); got != want {
			t.Errorf("openblasCoreTier(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestAdviseCoretype(t *testing.T) {
	for _, c := range []struct {
		core    string
		host    simdTier
		env     string
		envSet  bool
		guarded bool

		weak     bool
		coretype string
		reexec   bool
	}{
		// The misdetection trap: an unrecognised AVX-512 Xeon runs Prescott's
		// SSE3 kernels.
		{core: "Prescott", host: tierAVX512, weak: true, coretype: "SkylakeX", reexec: true},
		{core: "Prescott", host: tierAVX2, weak: true, coretype: "Haswell", reexec: true},
		{core: "Nehalem", host: tierAVX, weak: true, coretype: "Sandybridge", reexec: true},
		// AVX2 kernels on an AVX-512 CPU: narrower than it can run.
		{core: "Haswell", host: tierAVX512, weak: true, coretype: "SkylakeX", reexec: true},
		{core: "Zen", host: tierAVX512, weak: true, coretype: "SkylakeX", reexec: true},
		// The user chose: warn, never override.
		{core: "Haswell", host: tierAVX512, env: "Haswell", envSet: true, weak: true, coretype: "SkylakeX"},
		// Already re-executed and still weak: never loop.
		{core: "Prescott", host: tierAVX512, env: "SkylakeX", envSet: true, guarded: true, weak: true, coretype: "SkylakeX"},
		{core: "Prescott", host: tierAVX512, guarded: true, weak: true, coretype: "SkylakeX"},
		// Right or better kernels.
		{core: "SkylakeX", host: tierAVX512},
		{core: "Cooperlake", host: tierAVX512},
		{core: "Haswell", host: tierAVX2},
		{core: "Zen", host: tierAVX2},
		{core: "SkylakeX", host: tierAVX2},
		{core: "Sandybridge", host: tierAVX},
		// An SSE-only CPU has nothing better to offer.
		{core: "Prescott", host: tierSSE},
		{core: "Prescott", host: tierUnknown},
		// Names this table does not know are not guessed at.
		{core: "Unknown", host: tierAVX512},
		{core: "SomeFutureCore", host: tierAVX512},
		{core: "", host: tierAVX512},
	} {
		a := adviseCoretype(c.core, c.host, c.env, c.envSet, c.guarded)
		if a.weak != c.weak || a.coretype != c.coretype || a.reexec != c.reexec {
			t.Errorf("adviseCoretype(%q, %v, env %q set=%v, guarded=%v) = weak %v coretype %q reexec %v, want %v %q %v",
				c.core, c.host, c.env, c.envSet, c.guarded, a.weak, a.coretype, a.reexec, c.weak, c.coretype, c.reexec)
		}
		fix, warn := a.fix(), a.warning()
		if !c.weak {
			if fix != "" || warn != "" {
				t.Errorf("%q on %v: not weak but fix %q, warning %q", c.core, c.host, fix, warn)
			}
			continue
		}
		if want := "export OPENBLAS_CORETYPE=" + c.coretype; fix != want || !strings.HasSuffix(warn, "fix: "+want) {
			t.Errorf("%q on %v: fix %q, warning %q; want both to end in %q", c.core, c.host, fix, warn, want)
		}
		if !strings.Contains(warn, `"`+c.core+`"`) || strings.Contains(warn, "\n") {
			t.Errorf("warning %q does not name the core %q on one line", warn, c.core)
		}
	}
}

func TestReexecEnv(t *testing.T) {
	env := []string{"HOME=/root", "OPENBLAS_CORETYPE=Prescott", "PATH=/bin", "CHARRNN_OPENBLAS_REEXEC=0", "OPENBLAS_CORETYPEX=1"}
	got := reexecEnv(env, "SkylakeX")
	want := []string{"HOME=/root", "PATH=/bin", "OPENBLAS_CORETYPEX=1", "OPENBLAS_CORETYPE=SkylakeX", "CHARRNN_OPENBLAS_REEXEC=1"}
	if !slices.Equal(got, want) {
		t.Fatalf("reexecEnv = %q, want %q", got, want)
	}
	if env[1] != "OPENBLAS_CORETYPE=Prescott" {
		t.Fatal("reexecEnv modified its input")
	}
}
