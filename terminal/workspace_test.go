package terminal

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// escapeFixture is a work dir with symbolic links leading out of it into
// outside, which holds one file, victim.py.
type escapeFixture struct {
	work, outside string
}

func newEscapeFixture(t *testing.T) escapeFixture {
	t.Helper()
	f := escapeFixture{work: t.TempDir(), outside: t.TempDir()}
	mustWrite(t, filepath.Join(f.outside, "victim.py"), "original\n")
	mustSymlink(t, f.outside, filepath.Join(f.work, "out"))                                // dir link out
	mustSymlink(t, filepath.Join(f.outside, "new.py"), filepath.Join(f.work, "dangle.py")) // dangling link out
	mustSymlink(t, filepath.Join(f.outside, "victim.py"), filepath.Join(f.work, "victim.py"))
	mustSymlink(t, "../"+filepath.Base(f.outside), filepath.Join(f.work, "rel")) // relative link out
	if err := os.Mkdir(filepath.Join(f.work, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	mustSymlink(t, "sub", filepath.Join(f.work, "inside")) // stays inside: allowed
	return f
}

// escapeNames are "# filename:" values that must be refused.
func (f escapeFixture) escapeNames() map[string]string {
	return map[string]string{
		"absolute":         filepath.Join(f.outside, "abs.py"),
		"dotdot":           "../" + filepath.Base(f.outside) + "/dotdot.py",
		"dotdot inside":    "sub/../x.py",
		"dir symlink":      "out/through.py",
		"deep dir symlink": "out/a/b/deep.py",
		"dangling symlink": "dangle.py",
		"file symlink":     "victim.py",
		"relative symlink": "rel/relative.py",
		"home":             "~/x.py",
		"backslash dotdot": `..\x.py`,
		"directory":        "sub",
		"trailing slash":   "newdir/",
		"dot":              ".",
	}
}

// assertOutsideUntouched fails if anything was created or changed outside.
func (f escapeFixture) assertOutsideUntouched(t *testing.T) {
	t.Helper()
	entries, err := os.ReadDir(f.outside)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "victim.py" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("outside dir holds %v, want only victim.py", names)
	}
	if b, _ := os.ReadFile(filepath.Join(f.outside, "victim.py")); string(b) != "original\n" {
		t.Errorf("victim.py = %q, want it untouched", b)
	}
	for _, name := range []string{"x.py", "newdir"} {
		if _, err := os.Lstat(filepath.Join(f.work, name)); err == nil {
			t.Errorf("%s was created in the work dir", name)
		}
	}
	if _, err := os.Lstat(filepath.Join(filepath.Dir(f.work), "x.py")); err == nil {
		t.Errorf("x.py was created next to the work dir")
	}
}

func TestStageRefusesEscapes(t *testing.T) {
	t.Parallel()
	f := newEscapeFixture(t)
	for name, filename := range f.escapeNames() {
		t.Run(name, func(t *testing.T) {
			_, _, err := stage(f.work, CodeBlock{Language: LangPython, Code: "print('escaped')\n", Filename: filename, Closed: true}, nil)
			var fe *FilenameError
			if !errors.As(err, &fe) {
				t.Fatalf("stage(%q) error = %v, want a *FilenameError", filename, err)
			}
			if fe.Name != filename || !strings.Contains(fe.Error(), "refused filename") {
				t.Errorf("error = %q", fe.Error())
			}
		})
	}
	f.assertOutsideUntouched(t)
}

func TestStageWritesNamedFile(t *testing.T) {
	t.Parallel()
	f := newEscapeFixture(t)
	tests := []struct{ filename, hostPath string }{
		{"hello.py", "hello.py"},
		{"./tools/nested/hash.py", "tools/nested/hash.py"},
		{"inside/linked.py", "sub/linked.py"}, // a link that stays inside is fine
		{"-c", "-c"},                          // cannot pass for an interpreter flag
	}
	for _, tt := range tests {
		rel, cleanup, err := stage(f.work, CodeBlock{Language: LangPython, Code: "print(1)\n", Filename: tt.filename, Closed: true}, nil)
		if err != nil {
			t.Fatalf("stage(%q): %v", tt.filename, err)
		}
		if !strings.HasPrefix(rel, "./") {
			t.Errorf("stage(%q) path = %q, want it to start with ./", tt.filename, rel)
		}
		cleanup() // named files stay
		b, err := os.ReadFile(filepath.Join(f.work, tt.hostPath))
		if err != nil || string(b) != "print(1)\n" {
			t.Errorf("%s = %q, %v; want the code", tt.hostPath, b, err)
		}
	}
	f.assertOutsideUntouched(t)
}

func TestStageTemporaryFileIsRemoved(t *testing.T) {
	t.Parallel()
	work := t.TempDir()
	rel, cleanup, err := stage(work, CodeBlock{Language: LangSh, Code: "echo hi\n", Closed: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rel, "./"+tmpPrefix) || !strings.HasSuffix(rel, ".sh") || strings.Count(rel, "/") != 1 {
		t.Errorf("temporary path = %q, want a file in the top of the work dir", rel)
	}
	if b, err := os.ReadFile(filepath.Join(work, rel)); err != nil || string(b) != "echo hi\n" {
		t.Fatalf("temporary file = %q, %v", b, err)
	}
	cleanup()
	if entries, _ := os.ReadDir(work); len(entries) != 0 {
		t.Errorf("the work dir holds %v after cleanup, want nothing", entries)
	}
}

// TestStageConcurrentRunsLeaveNothing stages and cleans up from many
// goroutines at once, as two runs in one work dir do: nothing may be left.
func TestStageConcurrentRunsLeaveNothing(t *testing.T) {
	t.Parallel()
	work := t.TempDir()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				_, cleanup, err := stage(work, CodeBlock{Language: LangPython, Code: "pass\n", Closed: true}, nil)
				if err != nil {
					t.Error(err)
					return
				}
				cleanup()
			}
		}()
	}
	wg.Wait()
	if entries, _ := os.ReadDir(work); len(entries) != 0 {
		t.Errorf("the work dir holds %d entries after the runs, want none", len(entries))
	}
}

// TestStageGivesNewFilesToTheOwner: the folders and files stage makes
// belong to the code user; a file that was there keeps its owner.
func TestStageGivesNewFilesToTheOwner(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("only root can give files away")
	}
	work := t.TempDir()
	mustWrite(t, filepath.Join(work, "old.py"), "pass\n")
	owner := &fileOwner{uid: 4321, gid: 4322}
	for _, name := range []string{"sub/dir/new.py", "old.py"} {
		if _, _, err := stage(work, CodeBlock{Language: LangPython, Code: "pass\n", Filename: name, Closed: true}, owner); err != nil {
			t.Fatal(err)
		}
	}
	for name, want := range map[string]uint32{"sub": 4321, "sub/dir": 4321, "sub/dir/new.py": 4321, "old.py": 0} {
		fi, err := os.Lstat(filepath.Join(work, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Sys().(*syscall.Stat_t).Uid; got != want {
			t.Errorf("%s belongs to uid %d, want %d", name, got, want)
		}
	}
	rel, cleanup, err := stage(work, CodeBlock{Language: LangSh, Code: "true\n", Closed: true}, owner)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	if fi, err := os.Lstat(filepath.Join(work, rel)); err != nil || fi.Sys().(*syscall.Stat_t).Gid != 4322 {
		t.Errorf("temporary file %s: %v, want group 4322", rel, err)
	}
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}
