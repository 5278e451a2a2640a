//go:build unix

package batch

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockFile keeps two batches from writing one folder at once.
const lockFile = ".lock"

// lockDir takes the batch folder's lock, or says who holds it. The lock
// goes with the process, so a batch killed with -9 leaves none behind.
func lockDir(dir string) (func(), error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock the batch folder: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another m1 batch is running in %s: wait for it, stop it, or use another --out", dir)
		}
		return nil, fmt.Errorf("lock the batch folder: %w", err)
	}
	return func() { f.Close() }, nil
}
