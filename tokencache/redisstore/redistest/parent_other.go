//go:build !linux

package redistest

import "syscall"

// dieWithParent returns nil: outside Linux a server started by a test process
// that dies without running its cleanups keeps running.
func dieWithParent() *syscall.SysProcAttr { return nil }
