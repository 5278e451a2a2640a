//go:build linux

package terminal

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// ProtectEnviron makes this process non-dumpable (prctl PR_SET_DUMPABLE 0),
// as ssh-agent and gpg-agent do. The kernel then gives the process's /proc
// files to root and refuses ptrace, so other processes of the same user
// (code m1 runs on the host, for one) can no longer read its environment
// (/proc/PID/environ, where the model's API key is), its memory or its open
// files. A process running as root still can; nothing can stop root. The
// setting is not inherited across exec, so the programs m1 starts are
// unaffected. It also turns off core dumps of m1.
func ProtectEnviron() error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("make m1's environment unreadable to other processes (prctl PR_SET_DUMPABLE): %w", err)
	}
	return nil
}
