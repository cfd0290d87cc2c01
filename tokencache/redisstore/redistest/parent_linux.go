package redistest

import "syscall"

// dieWithParent has the kernel kill a started server when the test process
// dies without running its cleanups (a panic, a -timeout, a kill), so that no
// redis-server outlives the test that started it.
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
