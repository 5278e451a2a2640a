package temporal

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	sdktemporal "go.temporal.io/sdk/temporal"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/batch"
	"github.com/m1-project/m1/runner"
)

// Submitter runs a batch's tasks as workflows: it is the batch.Executor
// of `m1 batch --temporal`. Each task is one workflow whose id comes from
// the batch's id and the task's, so a rerun of the same batch finds the
// workflows it started: a running one is followed, an ended one gives its
// result (never a second run), a cancelled one starts again from where it
// stopped.
type Submitter struct {
	Client client.Client
	// Queue is the task queue the workers poll (DefaultQueue when empty).
	Queue string
	// BatchID is the batch's id (batch.ID).
	BatchID string
	// Options are every task's settings; only their portable part travels.
	Options runner.Options
	// HeartbeatTimeout and Attempts go into each TaskInput.
	HeartbeatTimeout time.Duration
	Attempts         int
	// CancelWait is how long an interrupted batch waits for each cancelled
	// workflow to stop (default 2 minutes).
	CancelWait time.Duration
}

// WorkflowID is the id of t's workflow.
func (s *Submitter) WorkflowID(t batch.Task) string {
	return "m1-" + s.BatchID + "-" + batch.DirName(t.ID)
}

// Execute starts t's workflow (or finds it) and waits for it to end. When
// ctx is cancelled it cancels the workflow, waits for the task to stop and
// returns batch.ErrInterrupted.
func (s *Submitter) Execute(ctx context.Context, t batch.Task, h batch.Hooks) (batch.Result, error) {
	id := s.WorkflowID(t)
	in := TaskInput{ID: t.ID, Prompt: batch.Prompt(t), Files: t.Files, Options: Portable(s.Options),
		HeartbeatTimeout: s.HeartbeatTimeout, Attempts: s.Attempts}
	run, resumed, err := s.start(ctx, id, in)
	if err != nil {
		if ctx.Err() != nil {
			return batch.Result{}, batch.ErrInterrupted
		}
		return batch.Result{}, err
	}
	h.Started(batch.Started{WorkflowID: id, Resumed: resumed})
	var out Output
	err = run.Get(ctx, &out)
	if ctx.Err() != nil {
		if werr := s.cancel(id, run.GetRunID()); werr != nil {
			h.Warn(werr.Error())
		}
		return batch.Result{}, batch.ErrInterrupted
	}
	var canceled *sdktemporal.CanceledError
	if errors.As(err, &canceled) {
		h.Warn(fmt.Sprintf("workflow %s was cancelled outside this batch; a rerun goes on with it", id))
		return batch.Result{}, batch.ErrInterrupted
	}
	return result(out, err), nil
}

// start finds or starts the workflow id. resumed is set when the task
// goes on from an earlier run.
func (s *Submitter) start(ctx context.Context, id string, in TaskInput) (client.WorkflowRun, bool, error) {
	desc, err := s.Client.DescribeWorkflowExecution(ctx, id, "")
	var notFound *serviceerror.NotFound
	resumed := false
	switch {
	case errors.As(err, &notFound):
	case err != nil:
		return nil, false, fmt.Errorf("look up workflow %s: %w", id, err)
	default:
		info := desc.GetWorkflowExecutionInfo()
		runID := info.GetExecution().GetRunId()
		switch info.GetStatus() {
		case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
			// Stopped by an earlier run of the batch: go on from where it
			// got to.
			err := s.Client.GetWorkflow(ctx, id, runID).Get(ctx, nil)
			var canceled *sdktemporal.CanceledError
			var p Progress
			if errors.As(err, &canceled) && canceled.HasDetails() && canceled.Details(&p) == nil && len(p.Checkpoint) > 0 {
				in.Resume = &p
			}
			resumed = true
		default:
			// Running, or ended (its result was not written: the batch was
			// killed): follow it, never start it twice.
			return s.Client.GetWorkflow(ctx, id, runID), true, nil
		}
	}
	queue := s.Queue
	if queue == "" {
		queue = DefaultQueue
	}
	run, err := s.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:        id,
		TaskQueue: queue,
		// A workflow that completed is never run again under its id; one
		// that was cancelled, failed or terminated may be.
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowExecutionErrorWhenAlreadyStarted: false,
	}, WorkflowName, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return s.Client.GetWorkflow(ctx, id, ""), true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("start workflow %s: %w", id, err)
	}
	return run, resumed, nil
}

// cancel asks Temporal to cancel the workflow and waits for it to stop,
// so that its task checkpoints and its worker cleans up.
func (s *Submitter) cancel(id, runID string) error {
	wait := s.CancelWait
	if wait <= 0 {
		wait = 2 * time.Minute
	}
	ctx, done := context.WithTimeout(context.Background(), wait)
	defer done()
	if err := s.Client.CancelWorkflow(ctx, id, runID); err != nil {
		var notFound *serviceerror.NotFound
		if errors.As(err, &notFound) {
			return nil
		}
		return fmt.Errorf("cancel workflow %s: %w", id, err)
	}
	err := s.Client.GetWorkflow(ctx, id, runID).Get(ctx, nil)
	if ctx.Err() != nil {
		return fmt.Errorf("workflow %s did not stop within %s of its cancellation; it stops when a worker next hears from Temporal", id, wait)
	}
	_ = err
	return nil
}

// result turns a workflow's end into a task result.
func result(out Output, err error) batch.Result {
	var r batch.Result
	if err == nil {
		r.FromEvent(out.Result)
		r.Worker, r.Attempts = out.Worker, int(out.Attempt)
		return r
	}
	var app *sdktemporal.ApplicationError
	msg := err.Error()
	if errors.As(err, &app) {
		msg = app.Message()
		var partial Output
		if app.Type() == ErrTypeTaskFailed && app.HasDetails() && app.Details(&partial) == nil {
			r.FromEvent(partial.Result)
			r.Worker, r.Attempts = partial.Worker, int(partial.Attempt)
		}
	}
	r.Status, r.Error = agent.StatusError, msg
	return r
}
