//go:build !linux

package mcp

import "syscall"

// sysProcAttr puts a server in a process group of its own, so Ctrl-C at the
// terminal reaches m1 alone, which then ends the server in order. Only
// Linux can have a process killed when its parent dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
