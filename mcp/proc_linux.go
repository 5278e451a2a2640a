package mcp

import "syscall"

// sysProcAttr puts a server in a process group of its own, so Ctrl-C at the
// terminal reaches m1 alone (which then ends the server in order), and asks
// the kernel to send SIGTERM to the server's supervisor shell when m1 dies,
// however it dies (kill -9 included): the shell then kills the group.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
