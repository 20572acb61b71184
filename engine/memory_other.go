//go:build !linux

package engine

// availableMemory is unknown here; checkMemory then checks nothing.
func availableMemory() (uint64, bool) { return 0, false }
