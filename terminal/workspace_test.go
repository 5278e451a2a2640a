package terminal

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
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
			_, _, err := stage(f.work, CodeBlock{Language: LangPython, Code: "print('escaped')\n", Filename: filename, Closed: true})
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
		rel, cleanup, err := stage(f.work, CodeBlock{Language: LangPython, Code: "print(1)\n", Filename: tt.filename, Closed: true})
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
	rel, cleanup, err := stage(work, CodeBlock{Language: LangSh, Code: "echo hi\n", Closed: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rel, "./.m1/tmp_code_") || !strings.HasSuffix(rel, ".sh") {
		t.Errorf("temporary path = %q", rel)
	}
	if b, err := os.ReadFile(filepath.Join(work, rel)); err != nil || string(b) != "echo hi\n" {
		t.Fatalf("temporary file = %q, %v", b, err)
	}
	cleanup()
	if _, err := os.Stat(filepath.Join(work, ".m1")); !os.IsNotExist(err) {
		t.Errorf(".m1 left behind after cleanup (err=%v)", err)
	}

	// A .m1 that existed before stays.
	if err := os.Mkdir(filepath.Join(work, ".m1"), 0o755); err != nil {
		t.Fatal(err)
	}
	rel, cleanup, err = stage(work, CodeBlock{Language: LangPython, Code: "pass\n", Closed: true})
	if err != nil {
		t.Fatal(err)
	}
	cleanup()
	if _, err := os.Stat(filepath.Join(work, rel)); !os.IsNotExist(err) {
		t.Errorf("%s left behind", rel)
	}
	if _, err := os.Stat(filepath.Join(work, ".m1")); err != nil {
		t.Errorf("pre-existing .m1 removed: %v", err)
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
