//go:build unix

package main

import "golang.org/x/sys/unix"

// outputClosed reports whether stdout or stderr has lost its reader: the
// write end of a pipe whose reader exited polls as an error.
func outputClosed() bool {
	fds := []unix.PollFd{{Fd: 1}, {Fd: 2}}
	if n, err := unix.Poll(fds, 0); err != nil || n == 0 {
		return false
	}
	for _, p := range fds {
		if p.Revents&(unix.POLLERR|unix.POLLHUP) != 0 && p.Revents&unix.POLLNVAL == 0 {
			return true
		}
	}
	return false
}
