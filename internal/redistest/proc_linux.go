package redistest

import (
	"os/exec"
	"syscall"
)

// setDeathSignal kills redis-server when the test binary dies, so a test
// that panics or times out leaves no servers (a cluster is three) behind.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
