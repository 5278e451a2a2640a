// Package batch runs many tasks from one file and scores their answers:
// locally, each task a run of its own (work dir, session, browser and
// container) with at most N at once, or through any other Executor (the
// temporal package sends each task to workers on other machines). Every
// ended task is one line of DIR/results.jsonl; a rerun with the same DIR
// skips the tasks that ended and resumes the ones that were interrupted.
package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/m1-project/m1/agent"
)

// ErrInterrupted is what an Executor returns for a task it stopped because
// the batch was cancelled: the task did not end and a later run of the
// batch continues it.
var ErrInterrupted = errors.New("interrupted")

// Executor runs one task of a batch to its end.
type Executor interface {
	// Execute runs t, continuing what an earlier run of the same batch
	// left of it, and returns how it ended; a task that failed is a Result
	// with status error. It returns ErrInterrupted when ctx was cancelled
	// before the task ended, and any other error when the whole batch
	// cannot go on (a bad setting, a missing key, no Docker): every task
	// would fail the same way.
	Execute(ctx context.Context, t Task, h Hooks) (Result, error)
}

// Hooks tell the batch what an Executor is doing with a task.
type Hooks struct {
	// Started is called once the task's run is under way.
	Started func(Started)
	// Warn reports a problem that does not end the task.
	Warn func(string)
}

// Started describes a task whose run began.
type Started struct {
	// SessionID is the task's session, when known (a local run).
	SessionID string
	// WorkflowID is the task's workflow on Temporal.
	WorkflowID string
	// Resumed is set when an earlier, interrupted run goes on.
	Resumed bool
}

// Event types a batch reports; docs/batch.md describes each.
const (
	EventBatchStart = "batch_start"
	EventTaskStart  = "task_start"
	EventTaskEnd    = "task_end"
	EventWarning    = "warning"
	EventBatchEnd   = "batch_end"
)

// Event is something that happened in a batch; --json writes each as one
// line.
type Event struct {
	Type string    `json:"type"`
	Time time.Time `json:"time"`
	// ID is the task's id (task_start, task_end, warning).
	ID         string `json:"id,omitempty"`
	SessionID  string `json:"session_id,omitempty"`
	WorkflowID string `json:"workflow_id,omitempty"`
	Resumed    bool   `json:"resumed,omitempty"`
	// Batch describes the batch (batch_start).
	Batch *Info `json:"batch,omitempty"`
	// Result is how the task ended (task_end).
	Result *Result `json:"result,omitempty"`
	// Summary adds up the batch (batch_end).
	Summary *Summary `json:"summary,omitempty"`
	// Message is a warning's text.
	Message string `json:"message,omitempty"`
}

// Info describes a batch as it starts.
type Info struct {
	// Tasks is the number of tasks in the file; Skipped those that ended
	// in an earlier run; ToRun the rest.
	Tasks   int `json:"tasks"`
	Skipped int `json:"skipped"`
	ToRun   int `json:"to_run"`
	// Parallel is how many tasks run at once (0: as many as the workers
	// take), and ParallelFrom where that number comes from.
	Parallel     int    `json:"parallel"`
	ParallelFrom string `json:"parallel_from,omitempty"`
	// Out is the batch's folder and Results its results file.
	Out     string `json:"out"`
	Results string `json:"results"`
	// Mode is local or temporal; Where, for temporal, the server and queue.
	Mode  string `json:"mode"`
	Where string `json:"where,omitempty"`
}

// Options say how a batch runs.
type Options struct {
	// Out is the batch's folder: results.jsonl, summary.json and what the
	// executor keeps per task. Created when missing.
	Out string
	// Parallel is how many tasks run at once; 0 means no limit (the
	// executor's workers set the pace).
	Parallel int
	// ParallelFrom says where Parallel comes from, for batch_start.
	ParallelFrom string
	// Mode and Where describe the executor, for batch_start.
	Mode, Where string
	// Events receives every event; it is called from one goroutine at a
	// time. Nil drops them.
	Events func(Event)
}

// InfoFile keeps a batch's id in its folder.
const InfoFile = "batch.json"

// ID returns the id of the batch in folder out, made on first use. A
// batch on Temporal names its workflows after it, so a rerun with the same
// folder finds them.
func ID(out string) (string, error) {
	path := filepath.Join(out, InfoFile)
	var info struct {
		ID string `json:"id"`
	}
	if err := readJSONFile(path, &info); err == nil && info.ID != "" {
		return info.ID, nil
	}
	info.ID = agent.NewID()[:12]
	if err := writeJSONFile(path, info); err != nil {
		return "", fmt.Errorf("write the batch's id: %w", err)
	}
	return info.ID, nil
}

// Run runs the tasks that have not ended yet with exec and writes each
// result as it comes. It returns the summary and, when the batch stopped
// early, why: ctx's error for an interrupt (every task stopped part-way
// can be resumed), or the error that made the batch stop.
func Run(ctx context.Context, tasks []Task, exec Executor, opts Options) (Summary, error) {
	begin := time.Now()
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return Summary{}, fmt.Errorf("create the batch folder: %w", err)
	}
	unlock, err := lockDir(opts.Out)
	if err != nil {
		return Summary{}, err
	}
	defer unlock()
	resultsPath := filepath.Join(opts.Out, ResultsFile)
	log, results, err := openResults(resultsPath)
	if err != nil {
		return Summary{}, err
	}
	defer log.close()

	var mu sync.Mutex // guards results, interrupted, ran and the event stream
	emit := func(e Event) {
		if opts.Events != nil {
			e.Time = time.Now().UTC()
			opts.Events(e)
		}
	}
	var todo []Task
	for _, t := range tasks {
		if _, ok := results[t.ID]; !ok {
			todo = append(todo, t)
		}
	}
	emit(Event{Type: EventBatchStart, Batch: &Info{Tasks: len(tasks), Skipped: len(tasks) - len(todo), ToRun: len(todo),
		Parallel: opts.Parallel, ParallelFrom: opts.ParallelFrom, Out: opts.Out, Results: resultsPath, Mode: opts.Mode, Where: opts.Where}})

	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	interrupted := map[string]bool{}
	ran := 0
	var fatal error
	var wg sync.WaitGroup
	slots := make(chan struct{}, max(opts.Parallel, 1))
	if opts.Parallel <= 0 {
		slots = make(chan struct{}, max(len(todo), 1))
	}
launch:
	for _, t := range todo {
		select {
		case slots <- struct{}{}:
		case <-runCtx.Done():
			break launch
		}
		if runCtx.Err() != nil {
			<-slots
			break
		}
		wg.Add(1)
		go func(t Task) {
			defer wg.Done()
			defer func() { <-slots }()
			started := false
			hooks := Hooks{
				Started: func(s Started) {
					mu.Lock()
					defer mu.Unlock()
					if !started {
						started = true
						emit(Event{Type: EventTaskStart, ID: t.ID, SessionID: s.SessionID, WorkflowID: s.WorkflowID, Resumed: s.Resumed})
					}
				},
				Warn: func(msg string) {
					mu.Lock()
					defer mu.Unlock()
					emit(Event{Type: EventWarning, ID: t.ID, Message: msg})
				},
			}
			r, err := exec.Execute(runCtx, t, hooks)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, ErrInterrupted):
				interrupted[t.ID] = true
				return
			case err != nil:
				if fatal == nil {
					fatal = fmt.Errorf("task %s: %w", t.ID, err)
					stop(fatal)
				}
				return
			}
			if !started {
				started = true
				emit(Event{Type: EventTaskStart, ID: t.ID, SessionID: r.SessionID})
			}
			r.ID = t.ID
			r.score(t)
			if r.Ended.IsZero() {
				r.Ended = time.Now().UTC()
			}
			if err := log.add(r); err != nil {
				if fatal == nil {
					fatal = err
					stop(fatal)
				}
				return
			}
			results[t.ID] = r
			ran++
			emit(Event{Type: EventTaskEnd, ID: t.ID, SessionID: r.SessionID, Result: &r})
		}(t)
	}
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	sum := summarize(tasks, results, interrupted, ran, time.Since(begin))
	if b, err := json.MarshalIndent(sum, "", "  "); err == nil {
		if werr := os.WriteFile(filepath.Join(opts.Out, SummaryFile), append(b, '\n'), 0o644); werr != nil && fatal == nil {
			fatal = fmt.Errorf("write the summary: %w", werr)
		}
	}
	emit(Event{Type: EventBatchEnd, Summary: &sum})
	switch {
	case fatal != nil:
		return sum, fatal
	case ctx.Err() != nil:
		return sum, ctx.Err()
	}
	return sum, nil
}
