package engine

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
)

// availableMemory is what this process can still allocate: the kernel's
// MemAvailable, or less when a cgroup (v2) limit leaves less.
func availableMemory() (uint64, bool) {
	avail, ok := memAvailable()
	if !ok {
		return 0, false
	}
	if limit, ok := readUint("/sys/fs/cgroup/memory.max"); ok {
		if used, ok := readUint("/sys/fs/cgroup/memory.current"); ok && used < limit {
			avail = min(avail, limit-used)
		}
	}
	return avail, true
}

// memAvailable reads MemAvailable from /proc/meminfo, in bytes.
func memAvailable() (uint64, bool) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, found := bytes.CutPrefix(sc.Bytes(), []byte("MemAvailable:"))
		if !found {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(string(rest)), " kB"), 10, 64)
		if err != nil {
			return 0, false
		}
		return kb * 1024, true
	}
	return 0, false
}

// readUint reads a file holding one number ("max", for no limit, fails).
func readUint(path string) (uint64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return n, err == nil
}
