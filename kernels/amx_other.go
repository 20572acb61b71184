//go:build !linux && amd64 && !noasm

package kernels

import "errors"

// requestAMX: only Linux is known to hand out the tiles' state here.
func requestAMX() error { return errors.New("AMX is used on Linux only") }
