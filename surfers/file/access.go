package file

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/m1-project/m1/surfers/file/convert"
)

// access decides which paths the FileSurfer may read, the work dir and the
// allowed paths, and opens them. Each allowed folder is an os.Root, and
// every file is opened through one, so checking a path and opening it are a
// single operation: neither `..` nor a symlink can leave the folder, even
// when something swaps a file for a link between two calls. That matters
// because code in the sandbox writes the work dir while m1 reads it; a
// check (EvalSymlinks) followed by an open by path could be raced into
// reading any host file.
type access struct {
	workDir string // as the model sees it (absolute, cleaned)
	roots   []*allowedRoot
}

// allowedRoot is one folder (or single file) the FileSurfer may read.
type allowedRoot struct {
	shown string   // as given, absolute and cleaned, for messages
	real  string   // with symlinks resolved
	dir   *os.Root // the folder; for an allowed file, its parent
	file  string   // for an allowed file, its name in dir; "" for a folder
}

func newAccess(workDir string, allow []string) (*access, error) {
	if workDir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("filesurfer: current directory: %w", err)
		}
		workDir = wd
	}
	a := &access{}
	for i, p := range append([]string{workDir}, allow...) {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("filesurfer: path %s: %w", p, err)
		}
		real, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return nil, fmt.Errorf("filesurfer: allowed path %s: %w (check --work-dir and --allow-path)", p, err)
		}
		st, err := os.Stat(real)
		if err != nil {
			return nil, fmt.Errorf("filesurfer: allowed path %s: %w (check --work-dir and --allow-path)", p, err)
		}
		r := &allowedRoot{shown: abs, real: real}
		dir := real
		if !st.IsDir() {
			if i == 0 {
				return nil, fmt.Errorf("filesurfer: work dir %s is not a folder (check --work-dir)", p)
			}
			dir, r.file = filepath.Dir(real), filepath.Base(real)
		}
		if r.dir, err = os.OpenRoot(dir); err != nil {
			a.close()
			return nil, fmt.Errorf("filesurfer: allowed path %s: %w (check --work-dir and --allow-path)", p, err)
		}
		if i == 0 {
			a.workDir = abs
		}
		a.roots = append(a.roots, r)
	}
	return a, nil
}

// close releases the roots.
func (a *access) close() {
	for _, r := range a.roots {
		if r.dir != nil {
			r.dir.Close()
		}
	}
}

// within reports whether p is root or inside it.
func within(root, p string) bool {
	if p == root {
		return true
	}
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// locate finds the root p lies in, by the path as shown or as resolved,
// and returns p's name relative to that root's os.Root.
func (a *access) locate(p string) (*allowedRoot, string, bool) {
	for _, r := range a.roots {
		for _, base := range []string{r.shown, r.real} {
			if r.file != "" {
				if p == base {
					return r, r.file, true
				}
				continue
			}
			if within(base, p) {
				rel, err := filepath.Rel(base, p)
				if err == nil {
					return r, rel, true
				}
			}
		}
	}
	return nil, "", false
}

// allowed reports whether p lies in an allowed folder, by name only.
func (a *access) allowed(p string) bool {
	_, _, ok := a.locate(p)
	return ok
}

// shownRoots lists the allowed folders for messages.
func (a *access) shownRoots() string {
	s := make([]string, len(a.roots))
	for i, r := range a.roots {
		s[i] = r.shown
	}
	return strings.Join(s, ", ")
}

// clean turns the model's path into an absolute, cleaned one.
func (a *access) clean(p string) (string, error) {
	p = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(p), "file://"))
	if p == "" {
		return "", fixf("open_path needs a path: give a file or folder relative to the work dir %s", a.workDir)
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(a.workDir, p)
	}
	return filepath.Clean(p), nil
}

// open opens the model's path for reading, through the os.Root of the
// folder it lies in, and returns the file and the path as given (absolute).
// A path outside the allowed folders, or a link out of them, is a fixable
// error. A named pipe, socket or device is opened without blocking and
// refused by the caller, which looks at the opened file.
func (a *access) open(path string) (*os.File, string, error) {
	p, err := a.clean(path)
	if err != nil {
		return nil, "", err
	}
	r, rel, ok := a.locate(p)
	if !ok {
		return nil, p, fixf("access denied: %s is outside the folders the FileSurfer may read (%s); the user can allow more with --allow-path", p, a.shownRoots())
	}
	f, err := openIn(r.dir, rel)
	if err == nil {
		return f, p, nil
	}
	var nerr *convert.NotRegularError
	if errors.As(err, &nerr) {
		return nil, p, notRegular(a.display(p), nerr)
	}
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.ELOOP) || errors.Is(err, fs.ErrPermission) {
		return nil, p, a.unresolved(p, err)
	}
	// os.Root refuses any link that leaves its folder, absolute links
	// included, even one whose target is inside this or another allowed
	// folder. Such a link is followed once more, by resolving it and
	// opening the target through the root it lands in: that open is
	// confined to that root whatever the path does meanwhile, so this is
	// no check-then-open.
	real, rerr := filepath.EvalSymlinks(p)
	if rerr != nil {
		return nil, p, a.unresolved(p, rerr)
	}
	r2, rel2, ok := a.locate(real)
	if !ok {
		return nil, p, fixf("access denied: %s is a symlink to %s, outside the folders the FileSurfer may read (%s)", a.display(p), real, a.shownRoots())
	}
	if real != p || r2 != r {
		f, err2 := openIn(r2.dir, rel2)
		if err2 == nil {
			return f, p, nil
		}
		if errors.As(err2, &nerr) {
			return nil, p, notRegular(a.display(p), nerr)
		}
	}
	return nil, p, fixf("access denied: %s leads outside the folders the FileSurfer may read (%s): %v", a.display(p), a.shownRoots(), err)
}

// openIn opens name inside root without following any link out of it. A
// named pipe, socket or device is refused unopened (opening one can block,
// or act on a device), and opened without blocking should it take the
// path's place after the look.
func openIn(root *os.Root, name string) (*os.File, error) {
	if st, err := root.Stat(name); err == nil && !st.IsDir() && !st.Mode().IsRegular() {
		return nil, &convert.NotRegularError{Path: name, Mode: st.Mode()}
	}
	return root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}

// notRegular is the fixable error for a path that is no regular file or
// folder.
func notRegular(shown string, nerr *convert.NotRegularError) error {
	return fixf("cannot open %s: it is %s, not a regular file; only regular files and folders can be opened", shown, nerr.Kind())
}

// unresolved explains why p, inside the allowed folders, could not be
// opened: it does not exist, it is a link to nothing, or a file stands
// where the path needs a folder. The paths it looks at serve the message
// only; nothing is read through them.
func (a *access) unresolved(p string, err error) error {
	shown := a.display(p)
	if fi, lerr := os.Lstat(p); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
		if target, rerr := os.Readlink(p); rerr == nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fixf("cannot open %s: it is a symlink to %s, which does not exist", shown, target)
			}
			return fixf("cannot open %s: it is a symlink to %s, which cannot be followed: %v", shown, target, err)
		}
	}
	if errors.Is(err, syscall.ENOTDIR) {
		for dir := filepath.Dir(p); a.allowed(dir) && dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
			if fi, serr := os.Stat(dir); serr == nil && !fi.IsDir() {
				return fixf("cannot open %s: %s is a file, not a folder", shown, a.display(dir))
			}
		}
	}
	if errors.Is(err, fs.ErrNotExist) {
		return fixf("no such file or folder: %s (paths are relative to the work dir %s)", shown, a.workDir)
	}
	if errors.Is(err, fs.ErrPermission) {
		return fixf("cannot open %s: permission denied (its mode does not let m1 read it)", shown)
	}
	return fixf("cannot open %s: %v", shown, err)
}

// linkNote labels a symlink of a listing: whether it leads to something the
// FileSurfer may open.
func (a *access) linkNote(p string) string {
	real, err := filepath.EvalSymlinks(p)
	switch {
	case err != nil:
		return " (broken link)"
	case !a.allowed(real):
		return " (link outside the readable folders)"
	}
	return " (link)"
}

// display shows p relative to the work dir when inside it.
func (a *access) display(p string) string {
	if within(a.workDir, p) {
		if rel, err := filepath.Rel(a.workDir, p); err == nil {
			return rel
		}
	}
	return p
}
