package file

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/m1-project/m1/model/scripted"
)

// TestUnreadablePaths opens paths that are no regular file, or no longer
// there: each is a clear result for the model, and none blocks the step.
func TestUnreadablePaths(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		path  string
		want  string
	}{
		{"named pipe", func(t *testing.T, dir string) {
			if err := syscall.Mkfifo(filepath.Join(dir, "pipe.txt"), 0o644); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
		}, "pipe.txt", "cannot open pipe.txt: it is a named pipe (FIFO), not a regular file"},
		{"dangling symlink", func(t *testing.T, dir string) {
			if err := os.Symlink("missing.txt", filepath.Join(dir, "gone.txt")); err != nil {
				t.Fatal(err)
			}
		}, "gone.txt", "cannot open gone.txt: it is a symlink to missing.txt, which does not exist"},
		{"symlink loop", func(t *testing.T, dir string) {
			if err := os.Symlink("loop.txt", filepath.Join(dir, "loop.txt")); err != nil {
				t.Fatal(err)
			}
		}, "loop.txt", "cannot open loop.txt: it is a symlink to loop.txt, which cannot be followed"},
		{"path through a file", func(t *testing.T, dir string) {}, "plain.txt/inner", "cannot open plain.txt/inner: plain.txt is a file, not a folder"},
		{"missing", func(t *testing.T, dir string) {}, "nothing.txt", "no such file or folder: nothing.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := fixtureWorkDir(t)
			tt.setup(t, dir)
			s := New(nil, WithWorkDir(dir))
			done := make(chan error, 1)
			go func() {
				_, err := s.open(context.Background(), tt.path)
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(time.Minute):
				t.Fatal("open blocked")
			}
			var fix *fixable
			if !errors.As(err, &fix) {
				t.Fatalf("open(%s) = %v, want a fixable error", tt.path, err)
			}
			mustContain(t, fix.msg, tt.want)
		})
	}
}

// TestVanishedFileIsFixable removes a file after a listing showed it: the
// model is told plainly.
func TestVanishedFileIsFixable(t *testing.T) {
	t.Parallel()
	dir := fixtureWorkDir(t)
	s := New(nil, WithWorkDir(dir))
	if _, err := s.open(context.Background(), "."); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "plain.txt")); err != nil {
		t.Fatal(err)
	}
	_, err := s.open(context.Background(), "plain.txt")
	var fix *fixable
	if !errors.As(err, &fix) {
		t.Fatalf("open = %v, want a fixable error", err)
	}
	mustContain(t, fix.msg, "no such file or folder: plain.txt")
}

// TestOpenFileIsWhatIsConverted removes a file once it is open: the
// conversion reads the open file, never its path again.
func TestOpenFileIsWhatIsConverted(t *testing.T) {
	t.Parallel()
	dir := fixtureWorkDir(t)
	s := New(nil, WithWorkDir(dir))
	f, _, err := s.access.open("plain.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "plain.txt")); err != nil {
		t.Fatal(err)
	}
	doc, err := s.cache.convert(context.Background(), f, filepath.Join(dir, "plain.txt"), st)
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, doc.Markdown, "PLAIN-TEXT-MARKER")
}

// TestUnsupportedContentIsNoted checks that a file whose content cannot be
// shown says so in the tool's result, not only on a page a later open in
// the same step replaces.
func TestUnsupportedContentIsNoted(t *testing.T) {
	t.Parallel()
	dir := fixtureWorkDir(t)
	if err := os.WriteFile(filepath.Join(dir, "garbage.xlsx"), bytes.Repeat([]byte{0, 1, 2, 0xfe}, 256), 0o644); err != nil {
		t.Fatal(err)
	}
	s, _ := scriptedSurfer(t, dir, false, []scripted.Reply{calls(
		call{"open_path", `{"path": "garbage.xlsx"}`},
		call{"open_path", `{"path": "plain.txt"}`},
	)})
	msg := step(t, s, "open both")
	mustContain(t, msg.Content, "Unsupported format: garbage.xlsx is binary data", "Path: plain.txt")
}

func TestListingMarksSpecialEntries(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	if err := os.Symlink("missing", filepath.Join(dir, "dangling")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "target"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("target", filepath.Join(dir, "good")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
	s := New(nil, WithWorkDir(dir))
	if _, err := s.open(context.Background(), "."); err != nil {
		t.Fatal(err)
	}
	mustContain(t, s.viewer.doc.Markdown, "| pipe (named pipe) |", "| dangling (broken link) |", "| good (link) |", "| out (link outside the readable folders) |")
}
