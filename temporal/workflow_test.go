package temporal

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	sdktemporal "go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/m1-project/m1/agent"
)

// workflowEnv is the SDK's test environment with TaskWorkflow and act
// registered under their wire names.
func workflowEnv(t *testing.T, act func(context.Context, TaskInput) (Output, error)) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	// A loaded machine (the race detector, other builds) can take longer
	// than the SDK's defaults to run a workflow task; a slow one is not a
	// deadlock or a hang here.
	env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: time.Minute})
	env.SetTestTimeout(5 * time.Minute)
	env.RegisterWorkflowWithOptions(TaskWorkflow, workflow.RegisterOptions{Name: WorkflowName})
	env.RegisterActivityWithOptions(act, activity.RegisterOptions{Name: ActivityName})
	return env
}

func successOutput(answer string) Output {
	ev := agent.NewEvent(agent.EventResult, agent.OrchestratorName)
	ev.Status, ev.FinalAnswer, ev.Turns, ev.SessionID = agent.StatusSuccess, answer, 2, "s1"
	return Output{Result: ev, Worker: "w1"}
}

func TestWorkflowRunsTheTask(t *testing.T) {
	t.Parallel()
	env := workflowEnv(t, func(ctx context.Context, in TaskInput) (Output, error) {
		if in.Prompt != "What is 6*7?" || in.Options.MaxTurns != 7 {
			return Output{}, errors.New("the input did not arrive whole")
		}
		return successOutput("42"), nil
	})
	in := TaskInput{ID: "t1", Prompt: "What is 6*7?"}
	in.Options.MaxTurns = 7
	env.ExecuteWorkflow(WorkflowName, in)
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("completed=%v err=%v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	var out Output
	if err := env.GetWorkflowResult(&out); err != nil || out.Result.FinalAnswer != "42" || out.Worker != "w1" {
		t.Fatalf("result %+v, %v", out, err)
	}
}

// A failed attempt is retried, and the next attempt sees the progress the
// failed one heartbeated: that is how a task goes on from its last turn.
func TestWorkflowRetriesFromTheLastHeartbeat(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	env := workflowEnv(t, func(ctx context.Context, in TaskInput) (Output, error) {
		calls.Add(1)
		info := activity.GetInfo(ctx)
		if info.Attempt == 1 {
			activity.RecordHeartbeat(ctx, Progress{SessionID: "s1", Turn: 3, Checkpoint: []byte("cp")})
			return Output{}, sdktemporal.NewApplicationError("the worker stopped", ErrTypeWorkerStopped)
		}
		var p Progress
		if !activity.HasHeartbeatDetails(ctx) || activity.GetHeartbeatDetails(ctx, &p) != nil || p.Turn != 3 || p.SessionID != "s1" {
			return Output{}, sdktemporal.NewNonRetryableApplicationError("no progress from the first attempt", "test", nil)
		}
		out := successOutput("42")
		out.Attempt = info.Attempt
		return out, nil
	})
	env.ExecuteWorkflow(WorkflowName, TaskInput{ID: "t1", Prompt: "p"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var out Output
	if err := env.GetWorkflowResult(&out); err != nil || out.Attempt != 2 || calls.Load() != 2 {
		t.Fatalf("result %+v (%v) after %d calls", out, err, calls.Load())
	}
}

// A task that keeps failing ends as failed after Attempts attempts, with
// its error and the last attempt's partial result.
func TestWorkflowFailsAfterBoundedAttempts(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	env := workflowEnv(t, func(ctx context.Context, in TaskInput) (Output, error) {
		calls.Add(1)
		ev := agent.NewEvent(agent.EventResult, agent.OrchestratorName)
		ev.Status, ev.Turns = agent.StatusError, 4
		return Output{}, sdktemporal.NewApplicationError("model down: HTTP 500", ErrTypeTaskFailed, Output{Result: ev, Worker: "w2", Attempt: activity.GetInfo(ctx).Attempt})
	})
	env.ExecuteWorkflow(WorkflowName, TaskInput{ID: "t1", Prompt: "p", Attempts: 4})
	err := env.GetWorkflowError()
	var app *sdktemporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != ErrTypeTaskFailed || app.Message() != "model down: HTTP 500" {
		t.Fatalf("workflow error = %v", err)
	}
	var partial Output
	if err := app.Details(&partial); err != nil || partial.Result.Turns != 4 || partial.Attempt != 4 || partial.Worker != "w2" {
		t.Fatalf("partial result %+v (%v)", partial, err)
	}
	if calls.Load() != 4 {
		t.Fatalf("%d attempts, want 4", calls.Load())
	}
	r := result(Output{}, err)
	if r.Status != agent.StatusError || r.Error != "model down: HTTP 500" || r.Turns != 4 || r.Attempts != 4 || r.Worker != "w2" {
		t.Fatalf("batch result %+v", r)
	}
}

// A task a worker refuses is not retried.
func TestWorkflowDoesNotRetryARefusal(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	env := workflowEnv(t, func(ctx context.Context, in TaskInput) (Output, error) {
		calls.Add(1)
		return Output{}, sdktemporal.NewNonRetryableApplicationError("no local executor here", ErrTypeRefused, nil)
	})
	env.ExecuteWorkflow(WorkflowName, TaskInput{ID: "t1", Prompt: "p", Attempts: 5})
	var app *sdktemporal.ApplicationError
	if err := env.GetWorkflowError(); !errors.As(err, &app) || app.Type() != ErrTypeTaskFailed || calls.Load() != 1 {
		t.Fatalf("err=%v after %d calls", err, calls.Load())
	}
}

// Cancelling the workflow cancels the run, which hears of it from its
// next heartbeat, stops and reports where it got to; the workflow ends
// cancelled with that progress, for a later run to go on from. (The SDK's
// test environment cancels an activity without waiting for it, so the run
// here reports at once; cmd/m1's dev server test covers the wait.)
func TestWorkflowCancelledKeepsTheProgress(t *testing.T) {
	t.Parallel()
	env := workflowEnv(t, func(ctx context.Context, in TaskInput) (Output, error) {
		return Output{}, sdktemporal.NewNonRetryableApplicationError("task cancelled", ErrTypeCancelled, nil,
			Progress{SessionID: "s1", Turn: 2, Status: agent.StatusCancelled, Checkpoint: []byte("cp")})
	})
	env.ExecuteWorkflow(WorkflowName, TaskInput{ID: "t1", Prompt: "p"})
	var canceled *sdktemporal.CanceledError
	err := env.GetWorkflowError()
	if !errors.As(err, &canceled) {
		t.Fatalf("workflow error = %v, want cancelled", err)
	}
	var p Progress
	if err := canceled.Details(&p); err != nil || p.Turn != 2 || string(p.Checkpoint) != "cp" {
		t.Fatalf("progress %+v (%v)", p, err)
	}
}

// Cancelled before any worker took it, the task keeps the progress it was
// started with.
func TestWorkflowCancelledBeforeItRanKeepsItsResume(t *testing.T) {
	t.Parallel()
	env := workflowEnv(t, func(ctx context.Context, in TaskInput) (Output, error) {
		<-ctx.Done()
		return Output{}, ctx.Err()
	})
	env.RegisterDelayedCallback(env.CancelWorkflow, 100*time.Millisecond)
	env.ExecuteWorkflow(WorkflowName, TaskInput{ID: "t1", Prompt: "p", Resume: &Progress{SessionID: "s0", Turn: 5, Checkpoint: []byte("old")}})
	var canceled *sdktemporal.CanceledError
	var p Progress
	if err := env.GetWorkflowError(); !errors.As(err, &canceled) || canceled.Details(&p) != nil || p.Turn != 5 {
		t.Fatalf("err=%v progress=%+v", err, p)
	}
}

// The activity's options follow the input, with defaults.
func TestActivityOptions(t *testing.T) {
	t.Parallel()
	o := activityOptions(TaskInput{})
	if o.HeartbeatTimeout != DefaultHeartbeatTimeout || o.RetryPolicy.MaximumAttempts != DefaultAttempts ||
		o.StartToCloseTimeout != DefaultAttemptTimeout || !o.WaitForCancellation {
		t.Errorf("defaults: %+v", o)
	}
	in := TaskInput{HeartbeatTimeout: 5 * time.Second, Attempts: 2}
	in.Options.Timeout = 20 * time.Minute
	o = activityOptions(in)
	if o.HeartbeatTimeout != 5*time.Second || o.RetryPolicy.MaximumAttempts != 2 || o.StartToCloseTimeout != 30*time.Minute {
		t.Errorf("given: %+v", o)
	}
}
