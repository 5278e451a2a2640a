//go:build !linux

package terminal

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"slices"
	"time"
)

// maxStripDepth bounds how deep stripSetuid descends.
const maxStripDepth = 128

// stripSetuid removes the setuid and setgid bits of the regular files under
// dir, and returns their paths relative to dir. Code in the sandbox may
// chmod u+s a file it owns; on the host that file would run with its
// owner's rights for anyone who can reach it. (On Linux only the files
// changed since the block started are touched; here, where the change time
// is not portable, every such file is, and since goes unused.) It walks
// through an os.Root and never follows a symlink, so nothing outside dir is
// changed whatever the folder holds; skip names top-level entries to leave
// out.
func stripSetuid(dir string, since time.Time, skip ...string) ([]string, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	var stripped []string
	var walk func(rel string, depth int) error
	walk = func(rel string, depth int) error {
		f, err := root.Open(rel)
		if err != nil {
			return err
		}
		entries, err := f.ReadDir(-1)
		f.Close()
		if err != nil {
			return err
		}
		for _, e := range entries {
			name := path.Join(rel, e.Name())
			if depth == 0 && slices.Contains(skip, e.Name()) {
				continue
			}
			switch t := e.Type(); {
			case t.IsDir():
				if depth < maxStripDepth {
					// A folder the code made unreadable can hold nothing
					// another user could reach either.
					if err := walk(name, depth+1); err != nil && !errors.Is(err, fs.ErrPermission) && !errors.Is(err, fs.ErrNotExist) {
						return err
					}
				}
			case t.IsRegular():
				fi, err := root.Lstat(name)
				if err != nil || !fi.Mode().IsRegular() || fi.Mode()&(os.ModeSetuid|os.ModeSetgid) == 0 {
					continue
				}
				if err := root.Chmod(name, fi.Mode()&^(os.ModeSetuid|os.ModeSetgid)); err != nil {
					return err
				}
				stripped = append(stripped, name)
			}
		}
		return nil
	}
	return stripped, walk(".", 0)
}
