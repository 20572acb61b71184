//go:build linux && amd64 && !noasm

package kernels

import "syscall"

// requestAMX asks Linux for the tiles' state (arch_prctl
// ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA, Linux 5.16 on): without it
// the first tile instruction kills the process with SIGILL.
func requestAMX() error {
	const archReqXcompPerm, xfeatureXtiledata = 0x1023, 18
	if _, _, e := syscall.RawSyscall(syscall.SYS_ARCH_PRCTL, archReqXcompPerm, xfeatureXtiledata, 0); e != 0 {
		return e
	}
	return nil
}
