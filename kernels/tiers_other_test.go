//go:build !amd64 || noasm

package kernels_test

import "testing"

// Without assembly the generic backend is the only tier.

func tierNames() []string { return []string{"generic"} }

func cpuRuns(name string) bool { return name == "generic" }

func useTier(t *testing.T, name string) {}

func bestTier() string { return "generic" }
