//go:build !linux

package redistest

import "os/exec"

// setDeathSignal has no portable equivalent outside Linux; Stop still
// ends the server when the tests end normally.
func setDeathSignal(*exec.Cmd) {}
