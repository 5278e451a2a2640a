package temporal

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// WorkerOptions say what a worker takes on.
type WorkerOptions struct {
	// Queue is the task queue it polls (DefaultQueue when empty).
	Queue string
	// Parallel is how many tasks it runs at once.
	Parallel int
	// StopTimeout is how long a stopping worker gives its running tasks to
	// checkpoint and clean up before it leaves them (default 1 minute).
	StopTimeout time.Duration
}

// ClientHeartbeat sends progress through c at once, not batched as
// activity.RecordHeartbeat does, so each checkpoint is on the server
// before the next turn starts.
func ClientHeartbeat(c client.Client) Heartbeat {
	return func(ctx context.Context, token []byte, p Progress) error {
		return c.RecordActivityHeartbeat(ctx, token, p)
	}
}

// RunWorker polls the queue and runs tasks with acts until ctx is done,
// then stops: running tasks are stopped at their next step, checkpoint,
// and go on on another worker.
func RunWorker(ctx context.Context, c client.Client, acts *Activities, o WorkerOptions) error {
	queue := o.Queue
	if queue == "" {
		queue = DefaultQueue
	}
	stop := o.StopTimeout
	if stop <= 0 {
		stop = time.Minute
	}
	w := worker.New(c, queue, worker.Options{
		MaxConcurrentActivityExecutionSize: max(o.Parallel, 1),
		WorkerStopTimeout:                  stop,
		Identity:                           acts.Identity,
	})
	w.RegisterWorkflowWithOptions(TaskWorkflow, workflow.RegisterOptions{Name: WorkflowName})
	w.RegisterActivityWithOptions(acts.RunTask, activity.RegisterOptions{Name: ActivityName})
	if err := w.Start(); err != nil {
		return err
	}
	<-ctx.Done()
	w.Stop()
	if errors.Is(ctx.Err(), context.Canceled) {
		return nil
	}
	return ctx.Err()
}
