package kernels

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// registration is one backend known to this binary.
type registration struct {
	backend Backend
	// rank orders backends from best (highest) to worst when choosing
	// automatically.
	rank int
	// supported reports whether this CPU can run the backend.
	supported func() bool
}

var (
	registryMu sync.RWMutex
	registry   = map[string]registration{}
)

// Register adds a backend under b.Name(). Backends register themselves from
// init functions, so which ones exist depends on the platform and build tags.
func Register(b Backend, rank int, supported func() bool) {
	registryMu.Lock()
	defer registryMu.Unlock()
	name := b.Name()
	if _, dup := registry[name]; dup {
		panic("kernels: backend registered twice: " + name)
	}
	registry[name] = registration{backend: b, rank: rank, supported: supported}
}

// Names lists every backend compiled into this binary, best first, whether or
// not this CPU can run it.
func Names() []string {
	regs := sortedRegistrations()
	names := make([]string, len(regs))
	for i, r := range regs {
		names[i] = r.backend.Name()
	}
	return names
}

// Supported returns the backends this CPU can run, best first.
func Supported() []Backend {
	var out []Backend
	for _, r := range sortedRegistrations() {
		if r.supported() {
			out = append(out, r.backend)
		}
	}
	return out
}

// Best returns the best backend this CPU can run. The generic backend runs
// everywhere, so there is always one.
func Best() Backend {
	return Supported()[0]
}

// Lookup returns the named backend, or an error that says why it cannot be
// used: unknown to this binary, or not supported by this CPU.
func Lookup(name string) (Backend, error) {
	registryMu.RLock()
	r, ok := registry[name]
	registryMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("unknown backend %q (this binary has: %s)", name, strings.Join(Names(), ", "))
	}
	if !r.supported() {
		return nil, fmt.Errorf("backend %q is not supported on this CPU (available here: %s)", name, strings.Join(supportedNames(), ", "))
	}
	return r.backend, nil
}

func supportedNames() []string {
	var names []string
	for _, b := range Supported() {
		names = append(names, b.Name())
	}
	return names
}

func sortedRegistrations() []registration {
	registryMu.RLock()
	regs := make([]registration, 0, len(registry))
	for _, r := range registry {
		regs = append(regs, r)
	}
	registryMu.RUnlock()
	sort.Slice(regs, func(i, j int) bool {
		if regs[i].rank != regs[j].rank {
			return regs[i].rank > regs[j].rank
		}
		return regs[i].backend.Name() < regs[j].backend.Name()
	})
	return regs
}
