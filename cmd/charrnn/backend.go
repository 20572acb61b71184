package main

import (
	"fmt"
	"os"
	"runtime"

	"charrnn/kernels"
)

// backendFlags are -backend and -threads, which every command that computes
// shares.
type backendFlags struct {
	name    string
	threads int
}

func (b *backendFlags) register(fs *commandFlags, dflt string) {
	fs.StringVar(&b.name, "backend", dflt, "kernel backend: auto (the best this CPU runs) or a name (also CHARRNN_BACKEND)")
	fs.IntVar(&b.threads, "threads", runtime.GOMAXPROCS(0), "cores the kernels use: large GEMVs, GEMMs and optimizer updates are split over them")
}

// check validates -threads.
func (b *backendFlags) check() error {
	if b.threads < 1 {
		return badInputf("-threads must be at least 1, got %d", b.threads)
	}
	return nil
}

// choose resolves -backend (or CHARRNN_BACKEND when the flag is "auto") to
// a kernel backend, split over -threads cores.
func (b *backendFlags) choose() (kernels.Backend, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	k, err := lookupBackend(b.name)
	if err != nil {
		return nil, err
	}
	return kernels.Parallel(k, b.threads), nil
}

// say tells on stderr which backend runs (with OpenBLAS's core, and the fix
// when that core is a weak one), once every flag has been checked.
func (b *backendFlags) say(k kernels.Backend) {
	fmt.Fprintf(os.Stderr, "charrnn: backend %s, %d thread(s)%s\n", k.Name(), b.threads, openblasNote(k.Name()))
}

// lookupBackend resolves a backend name; "auto" defers to CHARRNN_BACKEND,
// then to the best backend this CPU supports.
func lookupBackend(name string) (kernels.Backend, error) {
	if name == "auto" {
		if env := os.Getenv("CHARRNN_BACKEND"); env != "" && env != "auto" {
			k, err := kernels.Lookup(env)
			if err != nil {
				return nil, badInputf("CHARRNN_BACKEND: %v", err)
			}
			return k, nil
		}
		return kernels.Best(), nil
	}
	k, err := kernels.Lookup(name)
	if err != nil {
		return nil, badInputf("-backend: %v", err)
	}
	return k, nil
}

// openblasNote describes OpenBLAS when it is compiled in: its core, and the
// fix when that core is weaker than this CPU (in which case auto has
// already ranked it below the assembly backends).
func openblasNote(backend string) string {
	if !kernels.OpenBLASCompiled {
		return ""
	}
	core, _, _ := kernels.OpenBLASStatus()
	note := fmt.Sprintf("; OpenBLAS core %s", core)
	if w := kernels.OpenBLASWarning(); w != "" && backend == "openblas" {
		note += "\ncharrnn: " + w
	}
	return note
}
