package terminal

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestStripSetuidOnlyChangedFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "victim")
	mustWrite(t, outside, "x")
	if err := os.Chmod(outside, os.ModeSetuid|0o755); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(dir, "old-suid")
	mustWrite(t, old, "x")
	if err := os.Chmod(old, os.ModeSetuid|0o755); err != nil {
		t.Fatal(err)
	}
	since := time.Now().Add(time.Second) // old-suid changed before the block
	time.Sleep(1100 * time.Millisecond)
	if err := os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, mode := range map[string]os.FileMode{"suid": os.ModeSetuid | 0o755, "a/b/sgid": os.ModeSetgid | 0o711, "a/plain": 0o755, ".git/hook": os.ModeSetuid | 0o755} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mustWrite(t, p, "x")
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	// Links are never followed, whether to a file or a folder outside.
	mustSymlink(t, outside, filepath.Join(dir, "link"))
	mustSymlink(t, filepath.Dir(outside), filepath.Join(dir, "linkdir"))

	got, err := stripSetuid(dir, since, ".git")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if want := []string{"a/b/sgid", "suid"}; !slices.Equal(got, want) {
		t.Errorf("stripped %v, want %v", got, want)
	}
	for name, want := range map[string]os.FileMode{"suid": 0o755, "a/b/sgid": 0o711, "a/plain": 0o755, "old-suid": os.ModeSetuid | 0o755, ".git/hook": os.ModeSetuid | 0o755} {
		fi, err := os.Lstat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode() & (os.ModePerm | os.ModeSetuid | os.ModeSetgid); got != want {
			t.Errorf("%s mode = %v, want %v", name, got, want)
		}
	}
	if fi, _ := os.Stat(outside); fi.Mode()&os.ModeSetuid == 0 {
		t.Error("the file outside lost its setuid bit through a link")
	}
}

func TestGrantDir(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("the grant is made when m1 runs as root")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	// Let other users through the test's own folder, as a container's
	// mount lets them reach the work dir.
	if err := os.Chmod(filepath.Dir(dir), 0o711); err != nil {
		t.Fatal(err)
	}
	g1, err := grantDir(dir, SandboxUID)
	if err != nil {
		t.Skipf("no POSIX ACLs here: %v", err)
	}
	if !writableBy(t, dir, SandboxUID) {
		t.Fatal("the sandbox user cannot write the granted folder")
	}
	if writableBy(t, dir, SandboxUID+1) {
		t.Fatal("another user can write the granted folder")
	}
	// A second m1 in the same folder shares the grant; the first to leave
	// keeps it for the other.
	g2, err := grantDir(dir, SandboxUID)
	if err != nil {
		t.Fatal(err)
	}
	if err := g1.release(); err != nil {
		t.Fatal(err)
	}
	if !writableBy(t, dir, SandboxUID) {
		t.Fatal("the grant went while another m1 used it")
	}
	if err := g2.release(); err != nil {
		t.Fatal(err)
	}
	if writableBy(t, dir, SandboxUID) {
		t.Error("the grant outlived the last m1")
	}
	fi, _ := os.Stat(dir)
	if fi.Mode().Perm() != 0o750 {
		t.Errorf("mode after release = %v, want 0750", fi.Mode().Perm())
	}
	if n, err := unix.Getxattr(dir, aclXattr, nil); err == nil && n > 0 {
		t.Errorf("an ACL of %d bytes is left", n)
	}
}

// writableBy reports whether uid may create a file in dir, trying it from
// a thread that takes uid as its filesystem user.
func writableBy(t *testing.T, dir string, uid int) bool {
	t.Helper()
	var ok bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		// setfsuid changes only this thread (and drops root's file
		// capabilities on it); locking it and never unlocking makes the
		// runtime discard the thread afterwards.
		runtime.LockOSThread()
		unix.Setfsgid(uid)
		unix.Setfsuid(uid)
		f, err := os.CreateTemp(dir, "probe")
		ok = err == nil
		if f != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	wg.Wait()
	return ok
}
