//go:build unix

package session

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// LockFile is the file in a session directory that the m1 process running
// the session holds an exclusive flock(2) on, with its pid inside. The
// kernel drops the lock when the process ends, however it ends, so a free
// lock on a session recorded as running means that run is gone.
const LockFile = "lock"

// lock takes the session directory's lock for this process, or says who
// holds it.
func lock(dir, id string) (*os.File, error) {
	f, err := os.OpenFile(dir+string(os.PathSeparator)+LockFile, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock session %s: %w", id, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &InUseError{ID: id, PID: holder(dir)}
		}
		return nil, fmt.Errorf("lock session %s: %w", id, err)
	}
	// The pid is for messages only; the lock itself is what counts.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

// held reports whether a live process holds the lock of the session in
// dir, and its pid when it wrote one.
func held(dir string) (bool, int) {
	f, err := os.Open(dir + string(os.PathSeparator) + LockFile)
	if err != nil {
		// No lock file: no m1 ever locked it, so none holds it now.
		return false, 0
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		return errors.Is(err, syscall.EWOULDBLOCK), holder(dir)
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false, 0
}

// holder reads the pid the lock's holder wrote, 0 when there is none.
func holder(dir string) int {
	b, err := os.ReadFile(dir + string(os.PathSeparator) + LockFile)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}
