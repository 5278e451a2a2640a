// Package temporal runs m1 tasks on many machines through Temporal
// (go.temporal.io/sdk): `m1 batch --temporal` starts one workflow a task
// and follows it; `m1 worker` runs the tasks on each machine that has
// Chrome and Docker. A task's run is one activity that heartbeats after
// every turn with the session's checkpoint, so a worker that dies (kill
// -9, a lost machine) costs at most the turn it was in: Temporal gives the
// task to another worker, which resumes the session from that checkpoint.
// The model's API key never travels: each worker reads its own config and
// environment, and checkpoints carry no known secret.
package temporal

import (
	"time"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/runner"
)

// Names the workflow and activity are registered under, and the default
// task queue. They are part of the wire format between `m1 batch` and
// `m1 worker`: change them only with both.
const (
	WorkflowName = "m1.Task"
	ActivityName = "m1.RunTask"
	DefaultQueue = "m1"
)

// Defaults of TaskInput's failure handling.
const (
	// DefaultHeartbeatTimeout is how long a worker may stay silent before
	// Temporal gives its task to another: the time a crash costs.
	DefaultHeartbeatTimeout = 30 * time.Second
	// DefaultAttempts bounds how many times a task runs before it ends as
	// failed; an attempt lost with its worker counts.
	DefaultAttempts = 3
	// DefaultAttemptTimeout bounds one attempt when the run has no
	// --timeout of its own.
	DefaultAttemptTimeout = 24 * time.Hour
)

// Error types of the activity's failures, as workflow code and the
// submitter see them.
const (
	// ErrTypeTaskFailed: the run ended in error (a model or a machine kept
	// failing). Retried until the attempts run out.
	ErrTypeTaskFailed = "M1TaskFailed"
	// ErrTypeCancelled: the task was cancelled (the batch was stopped);
	// the details hold its Progress, from which a later run goes on.
	ErrTypeCancelled = "M1TaskCancelled"
	// ErrTypeWorkerStopped: the worker was shut down mid-task; another
	// worker goes on from the last checkpoint.
	ErrTypeWorkerStopped = "M1WorkerStopped"
	// ErrTypeRefused: the worker will not run the task as asked (code on
	// its host). Not retried.
	ErrTypeRefused = "M1TaskRefused"
)

// TaskInput is a workflow's input: everything a worker needs to run the
// task, and nothing secret.
type TaskInput struct {
	// ID is the task's id in its batch.
	ID string `json:"id"`
	// Prompt is the request the agents get (batch.Prompt); the expected
	// answer stays with the submitter.
	Prompt string `json:"prompt"`
	// Files are paths the worker copies into the task's work dir. They go
	// by reference: every worker must be able to read them at these paths
	// (shared storage, or the same data set on every machine).
	Files []string `json:"files,omitempty"`
	// Options are the run's settings without those of the submitter's
	// machine (see Portable); each worker adds its own.
	Options runner.Options `json:"options"`
	// Resume, when set, is where an earlier run of the task stopped (it
	// was cancelled): the run goes on from it.
	Resume *Progress `json:"resume,omitempty"`
	// HeartbeatTimeout, Attempts and AttemptTimeout say how failures are
	// found and retried; zero means the defaults.
	HeartbeatTimeout time.Duration `json:"heartbeat_timeout,omitempty"`
	Attempts         int           `json:"attempts,omitempty"`
	AttemptTimeout   time.Duration `json:"attempt_timeout,omitempty"`
}

// Progress is how far a task got: the activity's heartbeat details after
// every turn, and what a cancelled task leaves for a later run.
type Progress struct {
	// SessionID is the task's session; it keeps its id on every worker.
	SessionID string `json:"session_id,omitempty"`
	// Worker and Attempt name the worker and attempt that sent it.
	Worker  string `json:"worker,omitempty"`
	Attempt int32  `json:"attempt,omitempty"`
	// Turn and Status are the checkpoint's, for people reading history.
	Turn   int    `json:"turn"`
	Status string `json:"status,omitempty"`
	// Checkpoint is the session's last checkpoint (session.Checkpoint as
	// gzip-compressed JSON, secrets redacted). Screenshots are not in it:
	// the WebSurfer takes new ones where the task goes on.
	Checkpoint []byte `json:"checkpoint,omitempty"`
}

// Output is how a task ended: the run's result event, and who ran it.
type Output struct {
	// Result is the run's "result" event (status, final answer, turns,
	// usage, cost, duration, session id).
	Result agent.Event `json:"result"`
	// Worker ran the last attempt; Attempt is its number (1 for the
	// first).
	Worker  string `json:"worker,omitempty"`
	Attempt int32  `json:"attempt,omitempty"`
}

// Portable returns o without the settings that belong to the machine it
// was given on: the config file (with its keys), the reply cache, the work
// dir, the browser and the folders the FileSurfer may read. Workers set
// those for themselves.
func Portable(o runner.Options) runner.Options {
	o.Config, o.Cache, o.WorkDir = "", "", ""
	o.Team.BrowserPath, o.Team.CDP, o.Team.AllowPaths = "", "", nil
	return o
}
