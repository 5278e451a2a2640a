package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/config"
	"github.com/m1-project/m1/model"
	"github.com/m1-project/m1/runner"
	"github.com/m1-project/m1/session"
)

// Folder and file names a local batch keeps per task under its out dir:
// tasks/<id>/work is the task's work dir and tasks/<id>/task.json names
// its session, so a rerun resumes it.
const (
	TasksDir      = "tasks"
	WorkDir       = "work"
	TaskStateFile = "task.json"
)

// CheckOptions refuses the settings a batch cannot honour: nobody is
// there to answer questions or approve actions.
func CheckOptions(o runner.Options) error {
	switch {
	case o.Team.HIL:
		return runner.Usagef("--hil needs a person at the terminal: a batch runs without one")
	case o.Team.Approve:
		return runner.Usagef("--approve needs a person at the terminal: a batch runs without one (--yes approves everything)")
	case o.Team.Executor == runner.ExecutorLocal && !o.Team.Yes:
		return runner.Usagef("--executor local in a batch needs --yes: nobody is there to approve each code run on this machine")
	}
	return nil
}

// Fatal reports errors that would fail every task the same way, so a
// batch stops at the first rather than running all: a bad setting or
// config, a key the server refuses, a model it does not serve, Docker
// unreachable.
func Fatal(err error) bool {
	var ue *runner.UsageError
	var ce *config.Error
	return errors.As(err, &ue) || errors.As(err, &ce) || runner.IsSetupError(err) ||
		errors.Is(err, model.ErrAuth) || errors.Is(err, model.ErrModelNotFound)
}

// Local runs each task on this machine through the runner: its own work
// dir (tasks/<id>/work under the batch folder, with the task's files
// copied in), session, browser and container.
type Local struct {
	// Out is the batch folder.
	Out string
	// Options are every task's settings; WorkDir is set per task.
	Options runner.Options
	// Adjust, when set, changes the saved settings of a task that is
	// resumed (limits given to the rerun).
	Adjust func(*runner.Options) error
	// Getenv reads the environment (config, keys, the state dir).
	Getenv func(string) string
	// SessionRoot is where sessions go; empty means session.Root.
	SessionRoot string
}

// taskState is tasks/<id>/task.json.
type taskState struct {
	SessionID string `json:"session_id"`
}

// Execute runs t, or resumes its interrupted session, or records the
// answer its session already has.
func (l *Local) Execute(ctx context.Context, t Task, h Hooks) (Result, error) {
	dir := filepath.Join(l.Out, TasksDir, DirName(t.ID))
	work := filepath.Join(dir, WorkDir)
	var prior time.Duration
	env := runner.Env{
		Getenv:      l.Getenv,
		SessionRoot: l.SessionRoot,
		Stderr:      &warnWriter{warn: h.Warn},
		Started: func(s runner.Start) {
			if s.Resumed {
				prior = sessionDuration(s.SessionDir)
			} else if err := writeJSONFile(filepath.Join(dir, TaskStateFile), taskState{SessionID: s.SessionID}); err != nil {
				h.Warn(fmt.Sprintf("record the session of task %s: %v (a rerun starts it again)", t.ID, err))
			}
			h.Started(Started{SessionID: s.SessionID, Resumed: s.Resumed})
		},
	}
	var st taskState
	_ = readJSONFile(filepath.Join(dir, TaskStateFile), &st)
	if st.SessionID != "" {
		r, ok, err := l.resume(ctx, env, st.SessionID, h)
		if ok || err != nil {
			r.DurationMS += prior.Milliseconds()
			return r, err
		}
	}
	if err := PrepareWork(work, t.Files); err != nil {
		return Result{}, fmt.Errorf("prepare the work dir of task %s: %w", t.ID, err)
	}
	opts := l.Options
	opts.WorkDir = work
	out, err := runner.Run(ctx, env, opts, Prompt(t))
	return outcome(ctx, out, err)
}

// resume continues session id; ok is false when it has nothing to resume
// from (no checkpoint yet), so the task starts again.
func (l *Local) resume(ctx context.Context, env runner.Env, id string, h Hooks) (Result, bool, error) {
	root := env.SessionRoot
	if root == "" {
		var err error
		if root, err = session.Root(l.Getenv); err != nil {
			return Result{}, false, err
		}
	}
	sess, err := session.Open(root, id)
	if err != nil {
		return Result{}, false, nil
	}
	cp, cerr := sess.LoadCheckpoint()
	meta := sess.Meta()
	sess.Close()
	if cerr != nil {
		return Result{}, false, nil
	}
	// The saved settings, decoded into a fresh value: l.Options' slices
	// are shared by every task.
	opts := l.Options
	if len(cp.Settings) > 0 {
		opts = runner.DefaultOptions()
		_ = json.Unmarshal(cp.Settings, &opts)
	}
	// A run that gave its answer but whose result was never written (the
	// batch was killed in between) is recorded, not run again.
	if ev, done, err := runner.Ended(env, opts, id, cp); done {
		if err != nil {
			h.Warn(fmt.Sprintf("price session %s: %v", id, err))
		}
		h.Started(Started{SessionID: id, Resumed: true})
		var r Result
		r.FromEvent(ev)
		r.DurationMS = meta.Duration.Milliseconds()
		return r, true, nil
	}
	out, err := runner.Resume(ctx, env, id, "", l.Adjust)
	r, err := outcome(ctx, out, err)
	return r, true, err
}

// outcome turns a run's end into a task result, ErrInterrupted or an
// error that stops the batch.
func outcome(ctx context.Context, out runner.Outcome, err error) (Result, error) {
	var r Result
	switch {
	case out.Status() == agent.StatusCancelled, out.Status() == "" && ctx.Err() != nil:
		return r, ErrInterrupted
	case err != nil && Fatal(err):
		return r, err
	case out.Status() == "":
		r.Status, r.Error, r.SessionID = agent.StatusError, err.Error(), out.SessionID
		return r, nil
	}
	r.FromEvent(out.Result)
	if err != nil && r.Error == "" {
		r.Error = err.Error()
	}
	return r, nil
}

// PrepareWork makes an empty work dir holding copies of files (or folders).
func PrepareWork(work string, files []string) error {
	if err := os.RemoveAll(work); err != nil {
		return err
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		if err := copyInto(work, f); err != nil {
			return err
		}
	}
	return nil
}

// copyInto copies the file or folder src into dir under its own name.
func copyInto(dir, src string) error {
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	dst := filepath.Join(dir, filepath.Base(src))
	if fi.IsDir() {
		return os.CopyFS(dst, os.DirFS(src))
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}

// sessionDuration is how long the session in dir had run before.
func sessionDuration(dir string) time.Duration {
	var m session.Meta
	_ = readJSONFile(filepath.Join(dir, session.MetaFile), &m)
	return m.Duration
}

func readJSONFile(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// writeJSONFile replaces path with v atomically.
func writeJSONFile(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// warnWriter turns the runner's warning lines into batch warnings.
type warnWriter struct {
	mu   sync.Mutex
	warn func(string)
	buf  []byte
}

func (w *warnWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := strings.IndexByte(string(w.buf), '\n')
		if i < 0 {
			break
		}
		line := strings.TrimPrefix(strings.TrimSpace(string(w.buf[:i])), "m1: warning: ")
		w.buf = w.buf[i+1:]
		if line != "" && w.warn != nil {
			w.warn(line)
		}
	}
	return len(p), nil
}
