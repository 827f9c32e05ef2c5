package testbin

import (
	"os/exec"
	"syscall"
)

// SetDeathSignal kills the server if the test binary dies without cleaning
// up (a panic, a timeout), so that no server outlives its tests.
func SetDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
