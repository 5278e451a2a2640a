package session

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestSaverWritesTheLatestVersionOfEachFile(t *testing.T) {
	dir := t.TempDir()
	s := newSaver()
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	for i := range 200 {
		if err := s.save(a, fmt.Appendf(nil, "a%d", i)); err != nil {
			t.Fatal(err)
		}
		if err := s.save(b, fmt.Appendf(nil, "b%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.close(); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{a: "a199", b: "b199"} {
		if got, err := os.ReadFile(path); err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", filepath.Base(path), got, err, want)
		}
	}
	// After close a save is written at once.
	if err := s.save(a, []byte("late")); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(a); string(got) != "late" {
		t.Errorf("a save after close was not written: %q", got)
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".tmp-*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestSaverReportsAFailedWrite(t *testing.T) {
	s := newSaver()
	missing := filepath.Join(t.TempDir(), "gone", "checkpoint.json")
	if err := s.save(missing, []byte("{}")); err != nil {
		t.Fatalf("the first save cannot know yet: %v", err)
	}
	if err := s.close(); err == nil {
		t.Fatal("close did not report the failed write")
	}
}
