package azuritetest

import (
	"os/exec"
	"syscall"
)

// setDeathSignal kills the server if the test binary dies without cleaning
// up (a panic, a timeout), so that no Azurite outlives its tests.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
