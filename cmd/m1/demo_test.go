package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestMakeDemo runs scripts/demo.sh, what `make demo` runs, as a newcomer
// would: it builds m1 (saying so first), runs the scripted task, ends with
// the next steps, and the session it names is still there to show.
func TestMakeDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds m1 and the scripted server")
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("the demo's code runs with python3 on this machine")
	}
	tmp := t.TempDir()
	bin, state := filepath.Join(tmp, "bin"), filepath.Join(tmp, "state")
	// A first build prints a package count as it goes. With the build
	// cache warm, go stands in for a cold build by naming two packages
	// more, as go build -v does for each package it compiles.
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go in PATH")
	}
	cold := filepath.Join(tmp, "go")
	if err := os.WriteFile(cold, []byte("#!/bin/sh\ncase $1 in build) echo example.com/cold/one >&2; echo example.com/cold/two >&2;; esac\nexec '"+goBin+"' \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "../../scripts/demo.sh")
	cmd.Env = append(os.Environ(), "GO="+cold, "BIN="+bin, "XDG_STATE_HOME="+state, "OPENAI_API_KEY=", "OPENAI_BASE_URL=", "M1_MODEL=")
	var errBuf strings.Builder
	cmd.Stderr = &errBuf
	out, err := cmd.Output()
	stderr := errBuf.String()
	if err != nil {
		t.Fatalf("demo: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr)
	}
	if !regexp.MustCompile(`(?m)^  compiled ([4-9]|[1-9][0-9]+) packages$`).MatchString(stderr) {
		t.Errorf("the build shows no package count:\n%s", stderr)
	}
	for _, want := range []string{"m1 demo: building " + bin + "/m1", "SCRIPTED", "export OPENAI_API_KEY=", bin + "/m1 doctor", bin + "/m1 show --last"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(string(out), "832040") || !strings.Contains(string(out), "status  success") {
		t.Errorf("the demo run did not succeed:\n%s", out)
	}
	// Into a pipe the answer is printed once, as the model wrote it.
	if n := strings.Count(string(out), "The 30th Fibonacci number is **832040**"); n != 1 {
		t.Errorf("the final answer is printed %d times into a pipe, want once as written:\n%s", n, out)
	}
	// The demo sets no -ldflags: --version comes from what the Go
	// toolchain recorded, the commit when it built in a git checkout.
	version, err := exec.Command(filepath.Join(bin, "m1"), "--version").Output()
	if err != nil {
		t.Fatalf("m1 --version: %v", err)
	}
	want := "m1 version dev"
	if info, err := exec.Command("go", "version", "-m", filepath.Join(bin, "m1")).Output(); err == nil {
		if m := regexp.MustCompile(`vcs\.revision=([0-9a-f]{12})`).FindSubmatch(info); m != nil {
			want = "m1 version dev (commit " + string(m[1])
		}
	}
	if !strings.HasPrefix(string(version), want) {
		t.Errorf("m1 --version = %q, want it to start with %q", version, want)
	}
	// The session the run printed is the one show --last finds: it did not
	// vanish with a temporary folder.
	show := exec.Command(filepath.Join(bin, "m1"), "show", "--last")
	show.Env = append(os.Environ(), "XDG_STATE_HOME="+state)
	shown, err := show.Output()
	if err != nil || !strings.Contains(string(shown), "832040") {
		t.Errorf("m1 show --last after the demo: %v\n%s", err, shown)
	}
}

// TestMakeTestNotesWhatSkips: `make test` on a machine without the sandbox
// image (or without Docker) says before the tests start that the Docker
// tests will skip and how to build the image. GO=true stands in for the
// go command, so only the Makefile's own checks run.
func TestMakeTestNotesWhatSkips(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make in PATH")
	}
	cmd := exec.Command("make", "-s", "-C", "../..", "test", "GO=true")
	cmd.Env = append(os.Environ(), "M1_IMAGE=m1-test/absent:never")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make test GO=true: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "note: no image m1-test/absent:never: the tests that run code in Docker skip; make sandbox-image builds it (with CI=true they fail)") &&
		!strings.Contains(string(out), "note: no Docker engine answers: the tests that run code in Docker skip (with CI=true they fail)") {
		t.Errorf("make test says nothing of the Docker tests that will skip:\n%s", out)
	}
}
