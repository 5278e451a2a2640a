package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/m1-project/m1/session"
)

// workDirCheck checks the folder the agents read and write.
func workDirCheck(dir string) Check {
	c := Check{Name: "work dir"}
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			c.Status, c.Message = StatusFail, "cannot find the current directory: "+err.Error()
			c.Hint = "cd to a folder that exists, or pass --work-dir"
			return c
		}
		dir = wd
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if err := writable(dir); err != nil {
		c.Status, c.Message = StatusFail, err.Error()
		c.Hint = "pass --work-dir with a folder you can write, or run m1 from one"
		return c
	}
	c.Status, c.Message = StatusOK, dir+" is writable"
	return c
}

// stateDirCheck checks the folder sessions are saved in. A folder that does
// not exist yet is not made: its nearest existing parent must be writable,
// so the first run can make it.
func stateDirCheck(getenv func(string) string) Check {
	c := Check{Name: "state dir"}
	root, err := session.Root(getenv)
	dir := root
	if err == nil {
		for {
			if _, statErr := os.Lstat(dir); !errors.Is(statErr, fs.ErrNotExist) || filepath.Dir(dir) == dir {
				break
			}
			dir = filepath.Dir(dir)
		}
		err = writable(dir)
	}
	switch {
	case err != nil:
		c.Status, c.Message = StatusFail, err.Error()
		c.Hint = "set XDG_STATE_HOME to a folder you can write"
	case dir != root:
		c.Status, c.Message = StatusOK, fmt.Sprintf("%s can be created (%s is writable)", root, dir)
	default:
		c.Status, c.Message = StatusOK, root+" is writable"
	}
	return c
}

// writable creates and removes a file in dir.
func writable(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("%s: %w", dir, pathCause(err))
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	f, err := os.CreateTemp(dir, ".m1-doctor-*")
	if err != nil {
		return fmt.Errorf("cannot write in %s: %w", dir, pathCause(err))
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("cannot remove %s: %w", name, pathCause(err))
	}
	return nil
}

// pathCause drops the operation and path from a *fs.PathError, which the
// message names already.
func pathCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
