package web

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// browserEnvKeep are the variables Chrome gets from m1's environment: what
// it needs to find its files, fonts, locale and display, and to reach the
// network the way the user's other programs do. Everything else (API keys,
// tokens, the model's address) stays out of the browser, whose renderers run
// code from any page.
var browserEnvKeep = map[string]bool{
	"HOME": true, "PATH": true, "USER": true, "LOGNAME": true, "SHELL": true,
	"LANG": true, "LANGUAGE": true, "TZ": true, "TMPDIR": true,
	"DISPLAY": true, "WAYLAND_DISPLAY": true, "XAUTHORITY": true, "DBUS_SESSION_BUS_ADDRESS": true,
	"FONTCONFIG_FILE": true, "FONTCONFIG_PATH": true,
	"http_proxy": true, "https_proxy": true, "no_proxy": true, "all_proxy": true,
	"HTTP_PROXY": true, "HTTPS_PROXY": true, "NO_PROXY": true, "ALL_PROXY": true,
	"CHROMIUM_FLAGS": true, "CHROME_DEVEL_SANDBOX": true,
}

// browserEnvPrefixes are kept as families: the locale and the XDG folders.
var browserEnvPrefixes = []string{"LC_", "XDG_"}

// secretName matches names of variables that hold credentials; none of
// them reaches Chrome through a kept family (the named ones above are
// known to be paths or settings).
var secretName = regexp.MustCompile(`(?i)(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH|COOKIE)`)

// maxSocketDir is the longest TMPDIR Chrome can start under. Chrome makes
// its singleton socket at TMPDIR/org.chromium.Chromium.XXXXXX/SingletonSocket
// (45 more bytes), and a Unix socket's path holds at most 107; past that
// Chrome dies at start with "Socket path too long". A long TMPDIR is common
// enough (test harnesses, per-job folders of CI systems) that m1 gives such
// a Chrome the system's default (/tmp) instead of failing.
const maxSocketDir = 107 - len("/org.chromium.Chromium.XXXXXX/SingletonSocket")

// browserEnv returns the environment Chrome starts with, taken from
// environ (NAME=value entries).
func browserEnv(environ []string) []string {
	var out []string
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		if name == "TMPDIR" && len(value) > maxSocketDir {
			continue // Chrome falls back to /tmp
		}
		keep := browserEnvKeep[name]
		for _, p := range browserEnvPrefixes {
			keep = keep || (strings.HasPrefix(name, p) && !secretName.MatchString(name))
		}
		if keep {
			out = append(out, kv)
		}
	}
	return out
}

// Reasons Chrome runs without its sandbox, for SandboxNote.
const (
	noSandboxRoot = "m1 runs as root, and Chrome's sandbox does not run as root: Chrome was started with --no-sandbox (run m1 as a normal user to keep the sandbox)"
	noSandboxFail = "Chrome's sandbox cannot start on this machine (no unprivileged user namespaces and no setuid sandbox helper): Chrome was started with --no-sandbox (allow user namespaces, e.g. sysctl kernel.unprivileged_userns_clone=1, to keep the sandbox)"
)

// sandboxFailure is what Chrome prints when its sandbox cannot start.
var sandboxFailure = regexp.MustCompile(`No usable sandbox|setuid sandbox|Failed to move to new namespace|namespace sandbox`)

// lastSandboxNote is the reason the latest launched Chrome of this process
// runs without its sandbox, for SandboxNote.
var lastSandboxNote struct {
	sync.Mutex
	note string
}

func setSandboxNote(s string) {
	lastSandboxNote.Lock()
	lastSandboxNote.note = s
	lastSandboxNote.Unlock()
}

// SandboxNote says why the browser the WebSurfer launches runs without
// Chrome's sandbox (--no-sandbox), or returns "" when it keeps it. Before
// any launch it says what a launch would do; after one (CheckBrowser
// included), it also knows whether the sandbox failed to start on this
// machine. m1 doctor shows it.
func SandboxNote() string {
	if os.Geteuid() == 0 {
		return noSandboxRoot
	}
	lastSandboxNote.Lock()
	defer lastSandboxNote.Unlock()
	return lastSandboxNote.note
}

// outputTail keeps the last bytes Chrome printed, to tell why a launch
// failed.
type outputTail struct {
	mu  sync.Mutex
	buf []byte
}

func (o *outputTail) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf = append(o.buf, p...)
	if len(o.buf) > 16<<10 {
		o.buf = append([]byte(nil), o.buf[len(o.buf)-16<<10:]...)
	}
	return len(p), nil
}

func (o *outputTail) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return string(bytes.TrimSpace(o.buf))
}

// profilePrefix is how chromedp names the temporary profile folders of the
// browsers it launches.
const profilePrefix = "chromedp-runner"

// staleProfileAge is how old a profile folder without a lock file must be
// before it counts as abandoned: a browser that is starting has not written
// its lock yet.
const staleProfileAge = time.Minute

// sweepProfiles removes the temporary Chrome profiles in dir that no running
// process uses: those of browsers killed with their m1 (kill -9, a second
// Ctrl-C), which chromedp had no chance to remove. A folder counts as in use
// while any process names it in --user-data-dir; one that never got
// Chrome's SingletonLock must also be a minute old, since a browser that is
// starting has not written its lock yet. It reports what it removed.
func sweepProfiles(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var cands []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), profilePrefix) {
			cands = append(cands, filepath.Join(dir, e.Name()))
		}
	}
	if len(cands) == 0 {
		return nil
	}
	inUse, ok := profilesInUse()
	if !ok {
		return nil // no /proc: cannot tell, so touch nothing
	}
	var removed []string
	for _, p := range cands {
		if inUse[p] {
			continue
		}
		if _, err := os.Lstat(filepath.Join(p, "SingletonLock")); err != nil {
			fi, err := os.Stat(p)
			if err != nil || time.Since(fi.ModTime()) < staleProfileAge {
				continue
			}
		}
		if err := os.RemoveAll(p); err == nil {
			removed = append(removed, p)
		}
	}
	return removed
}

// profilesInUse lists the --user-data-dir of every running process; ok is
// false where /proc cannot be read.
func profilesInUse() (map[string]bool, bool) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, false
	}
	used := map[string]bool{}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		for _, arg := range strings.Split(string(b), "\x00") {
			if v, ok := strings.CutPrefix(arg, "--user-data-dir="); ok {
				used[filepath.Clean(v)] = true
			}
		}
	}
	return used, true
}
