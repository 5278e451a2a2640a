//go:build !unix

package session

import "os"

// LockFile names the session lock on systems with flock(2); elsewhere
// sessions are not locked.
const LockFile = "lock"

func lock(dir, id string) (*os.File, error) { return nil, nil }

// held cannot tell without flock(2), so a running session is taken to be
// running.
func held(dir string) (bool, int) { return true, 0 }
