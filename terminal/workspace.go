package terminal

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/m1-project/m1/agent"
)

// tmpPrefix starts the names of temporary script files, saved in the top of
// the work dir while they run (as Magentic-One saves its tmp_code files).
// They are files, not a folder of m1's own: two runs in one work dir would
// otherwise race over creating and removing that folder and could leave it
// behind empty.
const tmpPrefix = ".m1_tmp_code_"

// extensions gives the suffix of temporary script files.
var extensions = map[string]string{LangPython: ".py", LangSh: ".sh", LangBash: ".sh"}

// fileOwner is who the files and folders stage creates should belong to.
type fileOwner struct{ uid, gid int }

// stage saves b in workDir and returns its path relative to workDir in slash
// form, starting with "./" so that no name can pass for an interpreter
// option, and a function that removes a temporary file again. A
// "# filename:" that is absolute, contains "..", or reaches outside workDir
// through a symbolic link yields a *FilenameError before anything is written.
// With owner set, the folders and files it creates are given to owner (a
// file that existed keeps its owner).
func stage(workDir string, b CodeBlock, owner *fileOwner) (rel string, cleanup func(), err error) {
	root, err := os.OpenRoot(workDir)
	if err != nil {
		return "", nil, fmt.Errorf("open work dir: %w", err)
	}
	defer root.Close()
	chown := func(name string) {
		if owner != nil {
			// Best effort: a code user that cannot change the file can
			// still run it.
			_ = root.Lchown(name, owner.uid, owner.gid)
		}
	}

	if b.Filename != "" {
		name, err := checkFilename(workDir, b.Filename)
		if err != nil {
			return "", nil, err
		}
		if dir := path.Dir(name); dir != "." {
			if err := mkdirs(root, dir, chown); err != nil {
				return "", nil, &FilenameError{Name: b.Filename, Reason: "could not create its directory", Err: err}
			}
		}
		_, statErr := root.Lstat(name)
		if err := root.WriteFile(name, []byte(b.Code), 0o644); err != nil {
			return "", nil, &FilenameError{Name: b.Filename, Reason: "could not write it", Err: err}
		}
		if errors.Is(statErr, fs.ErrNotExist) {
			chown(name)
		}
		return "./" + name, func() {}, nil
	}

	name := tmpPrefix + agent.NewID() + extensions[b.Language]
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", nil, fmt.Errorf("save code in work dir: %w", err)
	}
	_, err = f.WriteString(b.Code)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", nil, fmt.Errorf("save code in work dir: %w", err)
	}
	chown(name)
	cleanup = func() {
		r, err := os.OpenRoot(workDir)
		if err != nil {
			return
		}
		defer r.Close()
		_ = r.Remove(name)
	}
	return "./" + name, cleanup, nil
}

// mkdirs creates dir and its missing parents inside root, calling created
// for each folder it made.
func mkdirs(root *os.Root, dir string, created func(string)) error {
	parts := strings.Split(dir, "/")
	for i := range parts {
		p := strings.Join(parts[:i+1], "/")
		err := root.Mkdir(p, 0o755)
		switch {
		case err == nil:
			created(p)
		case errors.Is(err, fs.ErrExist):
		default:
			return err
		}
	}
	return nil
}

// checkFilename validates a "# filename:" name against workDir and returns it
// cleaned, in slash form.
func checkFilename(workDir, name string) (string, error) {
	refuse := func(reason string) error { return &FilenameError{Name: name, Reason: reason} }
	if strings.ContainsAny(name, "\x00\n\r") {
		return "", refuse("it contains control characters")
	}
	if strings.HasPrefix(name, "/") || strings.HasPrefix(name, `\`) || filepath.IsAbs(name) || filepath.VolumeName(name) != "" || strings.HasPrefix(name, "~") {
		return "", refuse("it is an absolute path")
	}
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == ".." {
			return "", refuse(`it contains ".."`)
		}
	}
	clean := path.Clean(strings.ReplaceAll(name, `\`, "/"))
	if clean == "." || strings.HasSuffix(name, "/") {
		return "", refuse("it names a directory, not a file")
	}
	out, err := escapes(workDir, filepath.FromSlash(clean))
	if err != nil {
		return "", &FilenameError{Name: name, Reason: "could not check it", Err: err}
	}
	if out {
		return "", refuse("it leads outside the working directory through a symbolic link")
	}
	if fi, err := os.Stat(filepath.Join(workDir, filepath.FromSlash(clean))); err == nil && fi.IsDir() {
		return "", refuse("it names a directory, not a file")
	}
	return clean, nil
}

// escapes reports whether rel, resolved inside workDir with its symbolic
// links followed, lands outside workDir. A dangling or looping link counts as
// escaping, since where the write would land cannot be known. os.Root
// enforces the same rule again when the file is written; this check exists
// so that nothing (not even a parent directory) is created for a refused
// name, and the model gets a clear reason.
func escapes(workDir, rel string) (bool, error) {
	realRoot, err := filepath.EvalSymlinks(workDir)
	if err != nil {
		return false, err
	}
	realRoot, err = filepath.Abs(realRoot)
	if err != nil {
		return false, err
	}
	// Resolve the deepest part of the path that exists; what lies below it
	// does not exist yet and will be created as plain directories and file.
	p := filepath.Join(realRoot, rel)
	for p != realRoot {
		if _, err := os.Lstat(p); err == nil {
			break
		}
		p = filepath.Dir(p)
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return true, nil
	}
	r, err := filepath.Rel(realRoot, real)
	if err != nil {
		return true, nil
	}
	return r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)), nil
}
