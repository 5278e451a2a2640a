package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// These tests run m1 on a real terminal: a tmux pane of a chosen size.
// capture-pane gives the screen exactly as a person sees it (after the
// terminal has acted on every escape code), and pipe-pane keeps every byte
// m1 wrote, so a test can check both what shows and what was sent.

// requireTmux skips without tmux — except in CI, where it is installed.
func requireTmux(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("no tmux in PATH in CI (.ci/run installs it)")
		}
		t.Skip("no tmux in PATH (apt-get install tmux; in CI this fails instead)")
	}
}

// term is one m1 run in a tmux pane.
type term struct {
	t    *testing.T
	sock string
	raw  string
}

// startTerm runs this test binary as m1 with args in a cols×rows tmux pane.
// env is the run's whole environment besides PATH (nothing else of the
// test's own leaks in); NO_COLOR is unset unless env sets it.
func startTerm(t *testing.T, cols, rows int, env []string, args ...string) *term {
	t.Helper()
	requireTmux(t)
	// A socket path must stay under about 100 bytes: not in t.TempDir().
	dir, err := os.MkdirTemp("", "m1tty")
	if err != nil {
		t.Fatal(err)
	}
	tm := &term{t: t, sock: filepath.Join(dir, "s"), raw: filepath.Join(dir, "raw")}
	t.Cleanup(func() {
		_ = tm.tmux("kill-server")
		os.RemoveAll(dir)
	})
	var sh strings.Builder
	// The run waits for a first Enter, so pipe-pane records it whole.
	// A Ctrl-C meant for m1 must not end the shell around it.
	sh.WriteString("trap true INT\nread go\nunset NO_COLOR\n")
	fmt.Fprintf(&sh, "export PATH=%s\n", quote(os.Getenv("PATH")))
	for _, kv := range append([]string{"M1_TEST_RUN_MAIN=1", "LANG=C.UTF-8", "M1_IMAGE=" + testImage(), "CI=" + os.Getenv("CI"), "DOCKER_HOST=" + os.Getenv("DOCKER_HOST")}, env...) {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&sh, "export %s=%s\n", k, quote(v))
	}
	sh.WriteString(quote(os.Args[0]))
	for _, a := range args {
		sh.WriteString(" " + quote(a))
	}
	sh.WriteString("\necho \"[m1 exited $?]\"\nexec sleep 3600\n")
	script := filepath.Join(dir, "run.sh")
	if err := os.WriteFile(script, []byte(sh.String()), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := tm.tmux("new-session", "-d", "-s", "m1", "-x", strconv.Itoa(cols), "-y", strconv.Itoa(rows), "sh "+quote(script)); err != nil {
		t.Fatalf("tmux: %v", err)
	}
	if err := tm.tmux("set-option", "-t", "m1", "remain-on-exit", "on"); err != nil {
		t.Fatalf("tmux set-option: %v", err)
	}
	if err := tm.tmux("pipe-pane", "-t", "m1", "-o", "cat >> "+quote(tm.raw)); err != nil {
		t.Fatalf("tmux pipe-pane: %v", err)
	}
	tm.send("Enter")
	return tm
}

func (tm *term) tmux(args ...string) error {
	out, err := exec.Command("tmux", append([]string{"-u", "-f", "/dev/null", "-S", tm.sock}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("tmux %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// screen returns the pane's text with its scrollback, as shown: lines
// cut where the terminal wrapped them.
func (tm *term) screen() string {
	out, err := exec.Command("tmux", "-u", "-S", tm.sock, "capture-pane", "-p", "-S", "-", "-t", "m1").Output()
	if err != nil {
		tm.t.Fatalf("tmux capture-pane: %v", err)
	}
	return strings.TrimRight(string(out), "\n")
}

// send types keys into the pane (tmux send-keys names: Enter, C-c).
func (tm *term) send(keys ...string) {
	tm.t.Helper()
	if err := tm.tmux(append([]string{"send-keys", "-t", "m1"}, keys...)...); err != nil {
		tm.t.Fatal(err)
	}
}

// waitFor waits until the screen matches re and returns the screen. A run
// that ends first, or a minute without a match, fails the test.
func (tm *term) waitFor(re string) string {
	tm.t.Helper()
	rx := regexp.MustCompile(re)
	exited := regexp.MustCompile(`\[m1 exited \d+\]`)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		s := tm.screen()
		if rx.MatchString(s) {
			return s
		}
		if exited.MatchString(s) || time.Now().After(deadline) {
			tm.t.Fatalf("the screen never showed %q:\n%s", re, s)
		}
	}
}

// wait waits for m1 to exit and returns its exit code and the screen.
func (tm *term) wait() (int, string) {
	tm.t.Helper()
	s := tm.waitFor(`\[m1 exited \d+\]`)
	m := regexp.MustCompile(`\[m1 exited (\d+)\]`).FindStringSubmatch(s)
	code, _ := strconv.Atoi(m[1])
	return code, s
}

// rawOutput is every byte m1 wrote to the terminal.
func (tm *term) rawOutput() string {
	b, err := os.ReadFile(tm.raw)
	if err != nil {
		tm.t.Fatal(err)
	}
	return string(b)
}

// ownCodes are the escape codes m1 itself writes: colours (SGR), the
// spinner's return to the line start and line erase, the cursor moves
// that redraw a streamed message rendered, and the terminal's CR before
// each newline.
var ownCodes = regexp.MustCompile(`\x1b\[[0-9;]*m|\r\x1b\[K|\x1b\[K|\r\n|\r(?:\x1b\[[0-9;]*m)*[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]|\r(?:\x1b\[\d+A)?\x1b\[J`)

// foreignCodes returns what in raw terminal output is not one of m1's own
// codes yet could act on the terminal, or "".
func foreignCodes(raw string) string {
	s := ownCodes.ReplaceAllString(raw, "")
	if !utf8.ValidString(s) {
		return "invalid UTF-8"
	}
	for i, r := range s {
		if r < 0x20 && r != '\n' && r != '\t' || r >= 0x7f && r <= 0x9f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 {
			return fmt.Sprintf("%U in %q", r, s[max(0, i-40):min(len(s), i+40)])
		}
	}
	return ""
}

// quote quotes s for sh.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
