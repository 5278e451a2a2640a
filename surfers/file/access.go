package file

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// access decides which paths the FileSurfer may read: the work dir and the
// allowed paths, after resolving symlinks, so neither `..` nor a link
// pointing out of them escapes.
type access struct {
	workDir string   // as the model sees it (absolute, cleaned)
	roots   []string // real paths of the work dir and allowed paths
	shown   []string // the same, for messages
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
		if i == 0 {
			a.workDir = abs
		}
		a.roots = append(a.roots, real)
		a.shown = append(a.shown, abs)
	}
	return a, nil
}

// within reports whether p is root or inside it.
func within(root, p string) bool {
	if p == root {
		return true
	}
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

func (a *access) allowed(p string, roots []string) bool {
	for _, r := range roots {
		if within(r, p) {
			return true
		}
	}
	return false
}

// resolve turns the model's path into an absolute path it may read, or a
// fixable error saying why not.
func (a *access) resolve(p string) (string, error) {
	p = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(p), "file://"))
	if p == "" {
		return "", fixf("open_path needs a path: give a file or folder relative to the work dir %s", a.workDir)
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(a.workDir, p)
	}
	p = filepath.Clean(p)
	deny := fmt.Sprintf("access denied: %s is outside the folders the FileSurfer may read (%s); the user can allow more with --allow-path", p, strings.Join(a.shown, ", "))
	if !a.allowed(p, append(a.shown, a.roots...)) {
		return "", fixf("%s", deny)
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", a.unresolved(p, err)
	}
	if !a.allowed(real, a.roots) {
		return "", fixf("access denied: %s is a symlink to %s, outside the folders the FileSurfer may read (%s)", a.display(p), real, strings.Join(a.shown, ", "))
	}
	return p, nil
}

// unresolved explains why p, inside the allowed folders, could not be
// resolved: it does not exist, it is a link to nothing, or a file stands
// where the path needs a folder.
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
		for dir := filepath.Dir(p); a.allowed(dir, a.shown) && dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
			if fi, serr := os.Stat(dir); serr == nil && !fi.IsDir() {
				return fixf("cannot open %s: %s is a file, not a folder", shown, a.display(dir))
			}
		}
	}
	if errors.Is(err, fs.ErrNotExist) {
		return fixf("no such file or folder: %s (paths are relative to the work dir %s)", shown, a.workDir)
	}
	return fixf("cannot open %s: %v", shown, err)
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
