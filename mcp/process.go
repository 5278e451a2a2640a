package mcp

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/m1-project/m1/config"
)

// supervisor is the shell that runs a stdio server, for one reason: to end
// the server's whole process tree with m1. A server is often a launcher
// (npx, uvx, docker run) whose children do the work, and the kernel's
// parent-death signal reaches only a direct child; so the direct child is
// this shell, and on SIGTERM or SIGHUP it kills its process group. The
// server gets the shell's stdin back from fd 3 (a background job's stdin is
// /dev/null) and, as MCP servers do, exits by itself when stdin closes.
const supervisor = `exec 3<&0; trap 'kill -KILL 0' TERM HUP; "$@" <&3 3<&- & wait $!`

// inheritedEnv names the variables a stdio server gets from m1's
// environment besides its own env: what programs need to run, and nothing
// secret. Claude Desktop and the MCP TypeScript SDK pass a similar short
// list, so m1's model keys never reach a third-party server unless its env
// names them.
var inheritedEnv = []string{"HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER", "LANG", "LC_ALL", "LC_CTYPE",
	"TMPDIR", "TZ", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
	"http_proxy", "https_proxy", "no_proxy", "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE"}

// stderrTail is how much of a server's stderr is kept for error messages.
const stderrTail = 4 << 10

// process is a running stdio server: its supervisor shell, the pipes and
// the tail of its stderr.
type process struct {
	cmd    *exec.Cmd
	stdin  *os.File
	stdout *os.File
	stderr *tail

	exited  chan struct{} // closed once the shell has exited and been reaped
	waitErr error         // the shell's exit, set before exited closes
	once    sync.Once
}

// serverEnv builds a stdio server's environment: the inherited variables
// that are set, then the server's env (which wins).
func serverEnv(s config.MCPServer, getenv func(string) string) []string {
	var env []string
	if getenv != nil {
		for _, k := range inheritedEnv {
			if _, ok := s.Env[k]; !ok {
				if v := getenv(k); v != "" {
					env = append(env, k+"="+v)
				}
			}
		}
	}
	for k, v := range s.Env {
		env = append(env, k+"="+v)
	}
	return env
}

// startProcess starts the server's command under the supervisor shell.
func startProcess(s config.MCPServer, env []string) (*process, error) {
	path, err := lookPath(s.Command, envValue(env, "PATH"), s.Cwd)
	if err != nil {
		return nil, err
	}
	// $0 of the shell names the server in ps.
	args := append([]string{"-c", supervisor, "m1-mcp-" + s.Name, path}, s.Args...)
	cmd := exec.Command("/bin/sh", args...)
	cmd.Env = env
	cmd.Dir = s.Cwd
	cmd.SysProcAttr = sysProcAttr()
	// Pipes of our own rather than exec's: Wait then only waits for the
	// shell, and closes nothing the MCP connection still reads.
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		closeAll(inR, inW, outR, outW)
		return nil, err
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	err = cmd.Start()
	closeAll(inR, outW, errW)
	if err != nil {
		closeAll(inW, outR, errR)
		return nil, fmt.Errorf("start %s: %w", s.Command, err)
	}
	p := &process{cmd: cmd, stdin: inW, stdout: outR, stderr: &tail{max: stderrTail}, exited: make(chan struct{})}
	stderrDone := make(chan struct{})
	go func() {
		_, _ = io.Copy(p.stderr, errR)
		errR.Close()
		close(stderrDone)
	}()
	go func() {
		p.waitErr = cmd.Wait()
		// The shell is gone; whatever it left in its group goes too, so
		// nothing keeps the server's stdout open.
		p.killGroup()
		// Its last words on stderr explain the exit: let them arrive.
		select {
		case <-stderrDone:
		case <-time.After(time.Second):
		}
		close(p.exited)
	}()
	return p, nil
}

// killGroup sends SIGKILL to the server's process group.
func (p *process) killGroup() { _ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL) }

// stop ends the server as the MCP specification asks: close its stdin,
// wait a little, then SIGTERM (which makes the supervisor kill the group),
// then SIGKILL to the group. It returns within about grace plus two
// seconds whatever the server does.
func (p *process) stop(grace time.Duration) {
	p.once.Do(func() {
		p.stdin.Close()
		wait := func(d time.Duration) bool {
			select {
			case <-p.exited:
				return true
			case <-time.After(d):
				return false
			}
		}
		if !wait(grace) {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			if !wait(time.Second) {
				p.killGroup()
				wait(time.Second)
			}
		}
		p.killGroup()
		p.stdout.Close()
	})
}

// describe says how the server ended, with the tail of its stderr:
// "exit status 3; stderr: ...".
func (p *process) describe() string {
	var parts []string
	select {
	case <-p.exited:
		var ee *exec.ExitError
		switch {
		case p.waitErr == nil:
			parts = append(parts, "exited")
		case errors.As(p.waitErr, &ee):
			parts = append(parts, ee.String())
		default:
			parts = append(parts, p.waitErr.Error())
		}
	default:
	}
	if s := strings.TrimSpace(p.stderr.String()); s != "" {
		parts = append(parts, "stderr: "+lastLines(s, 5, 600))
	}
	return strings.Join(parts, "; ")
}

// stdinCloser is the connection's writer: closing it stops the server.
type stdinCloser struct {
	p     *process
	grace time.Duration
}

func (w stdinCloser) Write(b []byte) (int, error) { return w.p.stdin.Write(b) }

func (w stdinCloser) Close() error {
	w.p.stop(w.grace)
	return nil
}

// stdoutReader is the connection's reader; stop closes the pipe.
type stdoutReader struct{ p *process }

func (r stdoutReader) Read(b []byte) (int, error) { return r.p.stdout.Read(b) }

func (r stdoutReader) Close() error { return nil }

// lookPath finds command in path (the server's PATH) the way a shell
// would, so a missing program is reported by name rather than as a
// connection that closed.
func lookPath(command, path, dir string) (string, error) {
	if strings.Contains(command, "/") {
		p := command
		if !filepath.IsAbs(p) && dir != "" {
			p = filepath.Join(dir, p)
		}
		if err := executable(p); err != nil {
			return "", fmt.Errorf("command %s: %w", command, err)
		}
		return command, nil
	}
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			d = "."
		}
		p := filepath.Join(d, command)
		if executable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("command %q not found in PATH (%s): install it or give its full path", command, path)
}

func executable(p string) error {
	fi, err := os.Stat(p)
	switch {
	case err != nil:
		return errors.Unwrap(err)
	case fi.IsDir():
		return errors.New("is a directory")
	case fi.Mode()&0o111 == 0:
		return errors.New("is not executable")
	}
	return nil
}

func envValue(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], key+"="); ok {
			return v
		}
	}
	return ""
}

func closeAll(fs ...*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append([]byte(nil), t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// lastLines returns the last n lines of s, at most max bytes.
func lastLines(s string, n, max int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	out := strings.Join(lines, " | ")
	if len(out) > max {
		out = "…" + out[len(out)-max:]
	}
	return out
}
