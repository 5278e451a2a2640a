package temporal

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	sdktemporal "go.temporal.io/sdk/temporal"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/batch"
	"github.com/m1-project/m1/orchestrator"
	"github.com/m1-project/m1/runner"
	"github.com/m1-project/m1/session"
)

// Machine holds the settings a worker takes from its own machine rather
// than from the task: what Portable leaves out.
type Machine struct {
	// Config is the worker's model config file; empty means its
	// environment (OPENAI_API_KEY, ...).
	Config string
	// Cache keeps model replies on this machine.
	Cache string
	// BrowserPath and CDP say which Chrome the WebSurfer uses here.
	BrowserPath, CDP string
	// AllowPaths are further folders of this machine the FileSurfer may
	// read.
	AllowPaths []string
	// AllowLocalExecutor lets tasks run code on this machine itself
	// (--executor local); without it such tasks are refused.
	AllowLocalExecutor bool
}

// Heartbeat sends a task's progress to Temporal and returns once Temporal
// has it. It returns a *temporal.CanceledError when the task was
// cancelled, and a *serviceerror.NotFound when this attempt is no longer
// the task's (Temporal gave it to another worker).
type Heartbeat func(ctx context.Context, taskToken []byte, p Progress) error

// Activities are what an m1 worker runs. Register them with
// worker.RegisterActivityWithOptions(a.RunTask, activity.RegisterOptions{Name: ActivityName}).
type Activities struct {
	// Heartbeat delivers progress; the worker's client does it
	// (ClientHeartbeat). Each checkpoint goes out synchronously, before the
	// next turn starts, so a crash loses at most the turn in progress.
	Heartbeat Heartbeat
	// Machine is this machine's part of each task's settings.
	Machine Machine
	// Getenv reads the worker's environment: its keys, M1_IMAGE, the
	// state dir.
	Getenv func(string) string
	// SessionRoot is where the worker keeps sessions; empty means
	// session.Root.
	SessionRoot string
	// WorkRoot holds each task's work dir, under the workflow's id.
	WorkRoot string
	// Identity names this worker in results and progress.
	Identity string
	// Log receives the runs' warnings. Nil drops them.
	Log io.Writer
	// Events, when set, hears of each task the worker starts and ends.
	Events func(TaskEvent)
}

// TaskEvent is a worker's news of a task.
type TaskEvent struct {
	// Type is "start" or "end".
	Type       string
	WorkflowID string
	TaskID     string
	Attempt    int32
	// FromTurn is, at the start, the turn the task goes on from (0: the
	// beginning).
	FromTurn int
	// SessionID and Status are known at the end: Status is the run's
	// (success, incomplete, error, cancelled) or "stopped" when the worker
	// stopped or lost the task.
	SessionID string
	Status    string
	Err       string
}

// Reasons a run is stopped from outside.
var (
	errCancelRequested = errors.New("the task was cancelled")
	errWorkerStopping  = errors.New("the worker is shutting down")
	errAttemptGone     = errors.New("this attempt is no longer the task's: Temporal gave it to another worker")
)

// RunTask runs one task to its end on this machine. A first attempt starts
// the task; a later one (the earlier worker died or stopped, or its run
// failed) goes on from the checkpoint in the last heartbeat, importing the
// session here and making the work dir again when this machine lacks it.
// A checkpoint that already holds the answer is returned as it is, so a
// task whose worker died after answering is not answered twice.
func (a *Activities) RunTask(ctx context.Context, in TaskInput) (out Output, rerr error) {
	info := activity.GetInfo(ctx)
	var prev Progress
	if activity.HasHeartbeatDetails(ctx) {
		if err := activity.GetHeartbeatDetails(ctx, &prev); err != nil {
			a.logf("task %s: unreadable progress from the last attempt (%v); starting again", in.ID, err)
			prev = Progress{}
		}
	}
	if len(prev.Checkpoint) == 0 && in.Resume != nil {
		prev = *in.Resume
	}
	if in.Options.Team.Executor == runner.ExecutorLocal && !a.Machine.AllowLocalExecutor {
		return Output{}, sdktemporal.NewNonRetryableApplicationError(
			"this worker does not run code on its own machine (--executor local): start it with --allow-local-executor, or use --executor docker",
			ErrTypeRefused, nil)
	}

	if a.Events != nil {
		a.Events(TaskEvent{Type: "start", WorkflowID: info.WorkflowExecution.ID, TaskID: in.ID, Attempt: info.Attempt, FromTurn: prev.Turn})
		defer func() {
			ev := TaskEvent{Type: "end", WorkflowID: info.WorkflowExecution.ID, TaskID: in.ID, Attempt: info.Attempt,
				SessionID: out.Result.SessionID, Status: out.Result.Status}
			if rerr != nil {
				ev.Err = rerr.Error()
				var app *sdktemporal.ApplicationError
				switch {
				case errors.As(rerr, &app) && app.Type() == ErrTypeWorkerStopped:
					ev.Status = "stopped"
				case errors.As(rerr, &app) && app.Type() == ErrTypeCancelled:
					ev.Status = agent.StatusCancelled
				case ev.Status == "":
					ev.Status = agent.StatusError
				}
			}
			a.Events(ev)
		}()
	}
	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	hb := &heartbeater{send: a.Heartbeat, token: info.TaskToken, stop: stop, timeout: info.HeartbeatTimeout, lastOK: time.Now(),
		p: Progress{SessionID: prev.SessionID, Worker: a.Identity, Attempt: info.Attempt, Turn: prev.Turn, Status: prev.Status, Checkpoint: prev.Checkpoint}}
	hb.beat(ctx)
	go hb.loop(ctx, runCtx)
	go func() {
		select {
		case <-activity.GetWorkerStopChannel(ctx):
			stop(errWorkerStopping)
		case <-runCtx.Done():
		}
	}()

	work := filepath.Join(a.WorkRoot, batch.DirName(info.WorkflowExecution.ID), batch.WorkDir)
	env := runner.Env{
		Getenv:      a.Getenv,
		SessionRoot: a.SessionRoot,
		Stderr:      a.Log,
		Started: func(s runner.Start) {
			hb.update(ctx, func(p *Progress) { p.SessionID = s.SessionID })
		},
		OnCheckpoint: func(cp session.Checkpoint) {
			packed, turn, status, err := packCheckpoint(cp)
			if err != nil {
				a.logf("task %s: %v", in.ID, err)
				return
			}
			hb.update(ctx, func(p *Progress) { p.Checkpoint, p.Turn, p.Status = packed, turn, status })
		},
	}
	out = Output{Worker: a.Identity, Attempt: info.Attempt}
	local := func(o *runner.Options) error {
		o.Config, o.Cache, o.WorkDir = a.Machine.Config, a.Machine.Cache, work
		o.Team.BrowserPath, o.Team.CDP, o.Team.AllowPaths = a.Machine.BrowserPath, a.Machine.CDP, a.Machine.AllowPaths
		return nil
	}

	var res runner.Outcome
	var err error
	if len(prev.Checkpoint) > 0 && prev.SessionID != "" {
		cp, cerr := unpackCheckpoint(prev.Checkpoint)
		if cerr != nil {
			return out, sdktemporal.NewApplicationErrorWithCause("read the task's checkpoint", ErrTypeTaskFailed, cerr)
		}
		opts := in.Options
		_ = local(&opts)
		if ev, done, perr := runner.Ended(env, opts, prev.SessionID, cp); done {
			if perr != nil {
				a.logf("task %s: price the recorded answer: %v", in.ID, perr)
			}
			out.Result = ev
			return out, nil
		}
		if res, err = a.resume(runCtx, env, in, prev, cp, work, local); err != nil && res.SessionID == "" {
			return out, a.failure(ctx, runCtx, in, err, out, hb)
		}
	} else {
		if err := prepareWork(work, in.Files, true); err != nil {
			return out, sdktemporal.NewApplicationErrorWithCause("prepare the work dir: "+err.Error(), ErrTypeTaskFailed, err)
		}
		opts := in.Options
		_ = local(&opts)
		res, err = runner.Run(runCtx, env, opts, in.Prompt)
	}
	hb.close()
	out.Result = res.Result
	switch res.Status() {
	case agent.StatusSuccess, agent.StatusIncomplete:
		return out, nil
	}
	if err == nil {
		err = errors.New(res.Result.StopReason)
	}
	return out, a.failure(ctx, runCtx, in, err, out, hb)
}

// resume continues the task from cp on this machine.
func (a *Activities) resume(ctx context.Context, env runner.Env, in TaskInput, prev Progress, cp session.Checkpoint,
	work string, local func(*runner.Options) error) (runner.Outcome, error) {
	root := env.SessionRoot
	if root == "" {
		var err error
		if root, err = session.Root(a.Getenv); err != nil {
			return runner.Outcome{}, err
		}
	}
	var st orchestrator.State
	_ = json.Unmarshal(cp.Orchestrator, &st)
	meta := session.Meta{Task: st.Task, Status: prev.Status, Turns: st.Turns, Usage: st.TotalUsage(), Duration: st.Elapsed}
	if err := session.Import(root, prev.SessionID, meta, cp); err != nil {
		return runner.Outcome{}, err
	}
	// On the machine of an earlier attempt the work dir keeps what the
	// task made; elsewhere it starts again from the task's files.
	if err := prepareWork(work, in.Files, false); err != nil {
		return runner.Outcome{}, fmt.Errorf("prepare the work dir: %w", err)
	}
	return runner.Resume(ctx, env, prev.SessionID, "", local)
}

// failure is the activity's error for a run that did not end with an
// answer: cancelled (with the progress, for a later run), stopped with
// the worker or lost to another worker (retried from the progress), or
// failed (retried until the attempts run out; the details carry the run's
// result so far).
func (a *Activities) failure(ctx, runCtx context.Context, in TaskInput, err error, out Output, hb *heartbeater) error {
	hb.close()
	cause := context.Cause(runCtx)
	switch {
	case errors.Is(cause, errCancelRequested):
		// Expected ends are benign: the SDK does not log them as errors.
		return sdktemporal.NewApplicationErrorWithOptions("task cancelled", ErrTypeCancelled, sdktemporal.ApplicationErrorOptions{
			NonRetryable: true, Details: []any{hb.progress()}, Category: sdktemporal.ApplicationErrorCategoryBenign})
	case errors.Is(cause, errWorkerStopping):
		return sdktemporal.NewApplicationErrorWithOptions("the worker stopped in the middle of the task; another goes on from its last turn",
			ErrTypeWorkerStopped, sdktemporal.ApplicationErrorOptions{Category: sdktemporal.ApplicationErrorCategoryBenign})
	case errors.Is(cause, errAttemptGone):
		return sdktemporal.NewApplicationErrorWithOptions(errAttemptGone.Error(), ErrTypeWorkerStopped,
			sdktemporal.ApplicationErrorOptions{Category: sdktemporal.ApplicationErrorCategoryBenign})
	case errors.Is(ctx.Err(), context.Canceled):
		// The SDK cancelled the run (a cancellation it heard of, or a
		// worker that stopped too slowly): it reports this as a
		// cancellation, with the progress.
		return sdktemporal.NewCanceledError(hb.progress())
	case ctx.Err() != nil:
		// The attempt's own time ran out.
		return ctx.Err()
	}
	a.logf("task %s: attempt %d failed: %v", in.ID, out.Attempt, err)
	return sdktemporal.NewApplicationErrorWithCause(err.Error(), ErrTypeTaskFailed, err, out)
}

func (a *Activities) logf(format string, args ...any) {
	if a.Log != nil {
		fmt.Fprintf(a.Log, "m1 worker: "+format+"\n", args...)
	}
}

// heartbeater sends a task's progress: after every checkpoint, at once,
// and between checkpoints often enough that Temporal knows the worker
// lives. Sends are serialised and each carries the newest progress, so
// Temporal never goes back to an older checkpoint.
type heartbeater struct {
	send    Heartbeat
	token   []byte
	stop    context.CancelCauseFunc
	timeout time.Duration

	mu     sync.Mutex
	p      Progress
	lastOK time.Time
	closed bool
}

// update changes the progress and sends it before returning.
func (h *heartbeater) update(ctx context.Context, change func(*Progress)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	change(&h.p)
	h.sendLocked(ctx)
}

func (h *heartbeater) beat(ctx context.Context) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sendLocked(ctx)
}

func (h *heartbeater) sendLocked(ctx context.Context) {
	if h.closed || h.send == nil {
		return
	}
	// A cancelled run still reports where it stopped.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err := h.send(sctx, h.token, h.p)
	var canceled *sdktemporal.CanceledError
	var gone *serviceerror.NotFound
	switch {
	case err == nil:
		h.lastOK = time.Now()
	case errors.As(err, &canceled):
		h.lastOK = time.Now()
		h.stop(errCancelRequested)
	case errors.As(err, &gone):
		h.stop(errAttemptGone)
	case h.timeout > 0 && time.Since(h.lastOK) > h.timeout:
		// Temporal has not heard from this worker for longer than the
		// heartbeat timeout, so it has given the task to another: going on
		// here would run it twice.
		h.stop(errAttemptGone)
	}
}

// loop beats every third of the heartbeat timeout until the run ends.
func (h *heartbeater) loop(ctx, runCtx context.Context) {
	every := h.timeout / 3
	if every <= 0 {
		every = 10 * time.Second
	}
	t := time.NewTicker(max(every, 100*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-runCtx.Done():
			return
		case <-t.C:
			h.beat(ctx)
		}
	}
}

// close stops sending: the run is over, and what it ended with goes back
// as the activity's result or error.
func (h *heartbeater) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
}

func (h *heartbeater) progress() Progress {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.p
}

// packCheckpoint compresses cp for a heartbeat.
func packCheckpoint(cp session.Checkpoint) (packed []byte, turn int, status string, err error) {
	var st orchestrator.State
	_ = json.Unmarshal(cp.Orchestrator, &st)
	b, err := json.Marshal(cp)
	if err != nil {
		return nil, 0, "", fmt.Errorf("encode the checkpoint: %w", err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	if err := zw.Close(); err != nil {
		return nil, 0, "", fmt.Errorf("compress the checkpoint: %w", err)
	}
	return buf.Bytes(), st.Turns, st.Status, nil
}

// unpackCheckpoint reverses packCheckpoint.
func unpackCheckpoint(packed []byte) (session.Checkpoint, error) {
	var cp session.Checkpoint
	zr, err := gzip.NewReader(bytes.NewReader(packed))
	if err != nil {
		return cp, err
	}
	b, err := io.ReadAll(io.LimitReader(zr, 256<<20))
	if err != nil {
		return cp, err
	}
	return cp, json.Unmarshal(b, &cp)
}

// prepareWork makes the work dir with the task's files copied in. With
// fresh it starts empty; otherwise a work dir already there is kept as it
// is.
func prepareWork(work string, files []string, fresh bool) error {
	if !fresh {
		if fi, err := os.Stat(work); err == nil && fi.IsDir() {
			return nil
		}
	}
	return batch.PrepareWork(work, files)
}
