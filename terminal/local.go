package terminal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// LocalWarning is what the CLI prints at start when code runs on the host.
const LocalWarning = "warning: --executor local runs the model's code on this machine without a sandbox; " +
	"it can read and change anything your user can"

// Local runs code with the host's python3, sh and bash in a work dir. It is
// not a sandbox: use it only when the user asked for it.
type Local struct {
	workDir string
	env     []string

	mu     sync.Mutex
	closed bool
}

var _ Executor = (*Local)(nil)

// LocalOption configures a Local executor.
type LocalOption func(*Local)

// WithLocalEnv replaces the environment the code sees. By default it is the
// host's environment without variables whose names suggest secrets (API
// keys, tokens, passwords). That keeps the model's API key out of the code's
// own environment only: the code runs as the user running m1 and can read
// whatever that user can, such as a config file or shell profile holding
// the key. (m1's own /proc/PID/environ is closed by ProtectEnviron, unless
// the code runs as root.)
func WithLocalEnv(env []string) LocalOption {
	return func(l *Local) { l.env = env }
}

// NewLocal returns an executor that runs code on the host in workDir ("" for
// the current directory). It calls ProtectEnviron, so that code running as
// the same user cannot read the model's API key in m1's own environment
// through /proc/<m1's pid>/environ (the code's parent, or found by scanning
// /proc); code running as root still can.
func NewLocal(workDir string, opts ...LocalOption) (*Local, error) {
	dir, err := absWorkDir(workDir)
	if err != nil {
		return nil, err
	}
	if err := ProtectEnviron(); err != nil {
		return nil, err
	}
	l := &Local{workDir: dir, env: scrubEnv(os.Environ())}
	for _, o := range opts {
		o(l)
	}
	return l, nil
}

// WorkDir returns the absolute directory code runs in.
func (l *Local) WorkDir() string { return l.workDir }

// Describe returns "local host".
func (l *Local) Describe() string { return "local host" }

// Close marks the executor closed; later runs fail.
func (l *Local) Close() error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	return nil
}

// Run saves b in the work dir and runs it in its own process group; when the
// timeout passes the whole group is killed.
func (l *Local) Run(ctx context.Context, b CodeBlock, lim Limits) (Result, error) {
	l.mu.Lock()
	closed := l.closed
	l.mu.Unlock()
	if closed {
		return Result{}, errors.New("local executor is closed")
	}
	lim = lim.withDefaults()
	rel, cleanup, err := stage(l.workDir, b, nil)
	if err != nil {
		return Result{}, err
	}
	defer cleanup()
	argv, err := interpreter(b.Language, rel)
	if err != nil {
		return Result{}, err
	}

	runCtx, cancel := context.WithTimeout(ctx, lim.Timeout)
	defer cancel()
	out := newCapBuffer(lim.OutputCap)
	cmd := exec.CommandContext(runCtx, argv[0], argv[1:]...)
	cmd.Dir = l.workDir
	cmd.Env = l.env
	cmd.Stdout = out
	cmd.Stderr = out
	// A process group of its own lets the timeout kill the script together
	// with whatever it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// Children that escaped the group may hold the pipe open; don't wait
	// for them forever.
	cmd.WaitDelay = 2 * time.Second

	err = cmd.Run()
	// Kill stragglers of the group even when the main process exited on its
	// own, so nothing outlives the run.
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if ctx.Err() != nil {
		return Result{}, ctx.Err()
	}
	res := Result{Output: out.String()}
	if runCtx.Err() == context.DeadlineExceeded {
		res.TimedOut = true
		res.ExitCode = exitTimedOut
		return res, nil
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.ExitCode = ee.ExitCode()
		if res.ExitCode < 0 { // killed by a signal
			res.ExitCode = 128
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				res.ExitCode += int(ws.Signal())
			}
		}
	case errors.Is(err, exec.ErrWaitDelay):
		// The script finished; only a background child kept the pipes.
	default:
		return Result{}, fmt.Errorf("run %s: %w", argv[0], err)
	}
	return res, nil
}

// absWorkDir resolves dir ("" meaning the current directory) to an absolute
// path of an existing directory.
func absWorkDir(dir string) (string, error) {
	if dir == "" {
		dir = "."
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("work dir %s: %w", dir, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("work dir: %w", err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("work dir %s is not a directory", abs)
	}
	return abs, nil
}

// secretWords mark environment variables that must not reach model-written
// code.
var secretWords = []string{"KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH"}

// scrubEnv drops variables whose names suggest secrets, keeping
// SSH_AUTH_SOCK-style sockets out as well: a script has no need for them.
func scrubEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		upper := strings.ToUpper(name)
		secret := strings.HasPrefix(upper, "OPENAI_") || strings.HasPrefix(upper, "M1_")
		for _, w := range secretWords {
			if strings.Contains(upper, w) {
				secret = true
				break
			}
		}
		if !secret {
			out = append(out, kv)
		}
	}
	return out
}
