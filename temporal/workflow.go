package temporal

import (
	"errors"
	"time"

	sdktemporal "go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// TaskWorkflow runs one task: a single activity that does the whole run,
// retried from its last heartbeat when a worker fails. The workflow only
// decides; it does no I/O, reads no clock and draws no random number, so
// Temporal can replay it anywhere.
//
// It returns the task's Output; when every attempt failed, an
// ApplicationError of type ErrTypeTaskFailed whose details are the last
// attempt's Output (turns and tokens so far); when it was cancelled, a
// CanceledError whose details are the task's Progress, so a later run can
// go on from it.
func TaskWorkflow(ctx workflow.Context, in TaskInput) (Output, error) {
	ctx = workflow.WithActivityOptions(ctx, activityOptions(in))
	var out Output
	err := workflow.ExecuteActivity(ctx, ActivityName, in).Get(ctx, &out)
	if err == nil {
		return out, nil
	}
	var app *sdktemporal.ApplicationError
	hasApp := errors.As(err, &app)
	var canceled *sdktemporal.CanceledError
	if ctx.Err() != nil || hasApp && app.Type() == ErrTypeCancelled || errors.As(err, &canceled) {
		// The batch was stopped: pass on where the task got to. The run
		// reports it with its cancellation, as an ApplicationError when it
		// learnt of it from its own heartbeat, as a CanceledError when the
		// SDK told it.
		var p Progress
		switch {
		case hasApp && app.Type() == ErrTypeCancelled && app.HasDetails() && app.Details(&p) == nil:
		case canceled != nil && canceled.HasDetails() && canceled.Details(&p) == nil:
		case in.Resume != nil:
			p = *in.Resume
		default:
			return Output{}, sdktemporal.NewCanceledError()
		}
		return Output{}, sdktemporal.NewCanceledError(p)
	}
	var partial Output
	if hasApp && app.HasDetails() {
		_ = app.Details(&partial)
	}
	msg := err.Error()
	if hasApp {
		msg = app.Message()
	}
	return Output{}, sdktemporal.NewNonRetryableApplicationError(msg, ErrTypeTaskFailed, err, partial)
}

// activityOptions are the run's timeouts and retries: a worker that stops
// heartbeating loses the task after HeartbeatTimeout; an attempt may run
// for AttemptTimeout; Attempts bound the retries, with backoff between
// them. WaitForCancellation lets a cancelled run stop cleanly and report
// where it got to.
func activityOptions(in TaskInput) workflow.ActivityOptions {
	hb := in.HeartbeatTimeout
	if hb <= 0 {
		hb = DefaultHeartbeatTimeout
	}
	attempts := in.Attempts
	if attempts <= 0 {
		attempts = DefaultAttempts
	}
	timeout := in.AttemptTimeout
	if timeout <= 0 {
		timeout = DefaultAttemptTimeout
		if in.Options.Timeout > 0 {
			// The run stops itself at its --timeout and then writes its
			// answer; the attempt gets room for that.
			timeout = in.Options.Timeout + 10*time.Minute
		}
	}
	return workflow.ActivityOptions{
		StartToCloseTimeout: timeout,
		HeartbeatTimeout:    hb,
		WaitForCancellation: true,
		RetryPolicy: &sdktemporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			MaximumAttempts:        int32(attempts),
			NonRetryableErrorTypes: []string{ErrTypeCancelled, ErrTypeRefused},
		},
	}
}
