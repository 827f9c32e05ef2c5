//go:build !linux

package testbin

import "os/exec"

// SetDeathSignal does nothing off Linux, which has no parent-death signal.
func SetDeathSignal(*exec.Cmd) {}
