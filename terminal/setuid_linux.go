//go:build linux

package terminal

import (
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// maxStripDepth bounds how deep stripSetuid descends.
const maxStripDepth = 128

// stripSetuid removes the setuid and setgid bits of the regular files under
// dir whose status changed at or after since, and returns their paths
// relative to dir. Code in the sandbox may chmod u+s a file it owns; on the
// host that file would run with its owner's rights for anyone who can reach
// it. Only files changed since the block started are touched, so a user's
// own setuid programs in the folder stay as they are (and a file the block
// made setuid has its change time set by that chmod). skip names top-level
// entries to leave out.
//
// Nothing outside dir is ever looked at or changed, even should a process
// of the code still be swapping names for symlinks: each folder is entered
// with openat(O_NOFOLLOW|O_DIRECTORY) from its parent's descriptor, each
// file is opened with O_PATH|O_NOFOLLOW and checked through that
// descriptor, and the chmod goes through /proc/self/fd to that very inode.
func stripSetuid(dir string, since time.Time, skip ...string) ([]string, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	var stripped []string
	err = stripIn(fd, ".", 0, since, skip, &stripped)
	return stripped, err
}

// stripIn strips the files of the open folder fd, known as rel, and closes
// fd.
func stripIn(fd int, rel string, depth int, since time.Time, skip []string, stripped *[]string) error {
	f := os.NewFile(uintptr(fd), rel)
	defer f.Close()
	entries, err := f.ReadDir(-1)
	if err != nil {
		return fmt.Errorf("read %s: %w", rel, err)
	}
	for _, e := range entries {
		name := e.Name()
		if depth == 0 && slices.Contains(skip, name) {
			continue
		}
		switch t := e.Type(); {
		case t.IsDir():
			if depth >= maxStripDepth {
				continue
			}
			sub, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err != nil {
				// A folder the code made unreadable holds nothing another
				// user could reach either; one gone or swapped for a link
				// is no folder to walk.
				if errors.Is(err, unix.EACCES) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
					continue
				}
				return fmt.Errorf("open %s: %w", path.Join(rel, name), err)
			}
			if err := stripIn(sub, path.Join(rel, name), depth+1, since, skip, stripped); err != nil {
				return err
			}
		case t.IsRegular():
			ok, err := stripFile(fd, name, since)
			if err != nil {
				return fmt.Errorf("%s: %w", path.Join(rel, name), err)
			}
			if ok {
				*stripped = append(*stripped, path.Join(rel, name))
			}
		}
	}
	return nil
}

// stripFile clears the setuid and setgid bits of the file name in the
// folder dirfd when it is a regular file changed at or after since, and
// reports whether it did.
func stripFile(dirfd int, name string, since time.Time) (bool, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil || !needsStrip(&st, since) {
		return false, nil // gone, or nothing to do
	}
	fd, err := unix.Openat(dirfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, nil
	}
	defer unix.Close(fd)
	if err := unix.Fstat(fd, &st); err != nil || !needsStrip(&st, since) {
		return false, nil // swapped meanwhile for something else
	}
	// fchmod refuses an O_PATH descriptor; chmod on its /proc/self/fd
	// link reaches exactly the inode that was checked.
	err = unix.Chmod(fmt.Sprintf("/proc/self/fd/%d", fd), st.Mode&07777&^(unix.S_ISUID|unix.S_ISGID))
	if errors.Is(err, unix.EPERM) {
		// Another user's file (moved by the code, which changed its
		// status time): the code could not have set its bits either.
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

// needsStrip reports whether st is a regular file with the setuid or setgid
// bit whose status changed at or after since.
func needsStrip(st *unix.Stat_t, since time.Time) bool {
	return st.Mode&unix.S_IFMT == unix.S_IFREG && st.Mode&(unix.S_ISUID|unix.S_ISGID) != 0 &&
		!time.Unix(st.Ctim.Unix()).Before(since)
}
