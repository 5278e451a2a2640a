package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/batch"
	"github.com/m1-project/m1/console"
	"github.com/m1-project/m1/runner"
	"github.com/m1-project/m1/temporal"
)

// batchFlags are the flags of m1 batch: every run flag, applied to each
// task, and how the batch runs.
type batchFlags struct {
	run      *runFlags
	parallel int
	out      string

	// On Temporal:
	conn      temporal.Connection
	queue     string
	heartbeat time.Duration
	attempts  int
}

func newBatchCmd(f *factory) *cobra.Command {
	o := &batchFlags{run: newRunFlags()}
	cmd := &cobra.Command{
		Use:   "batch TASKS.jsonl",
		Short: "Run many tasks from a file, in parallel, and score their answers",
		Long: `Run every task of a JSON-lines file, each in its own work dir, session, browser
and container, at most --parallel at once. A line is {"id", "task", "files",
"answer"}; GAIA's metadata.jsonl works as it is. Every run flag applies to
every task.

Each task that ends is a line of DIR/results.jsonl (status, final answer,
turns, tokens, cost, duration, session, and whether the answer is correct
when the file gives one); DIR/summary.json adds them up. Run the same command
again to go on: tasks that ended are skipped, interrupted ones resume.
The task file, results and scoring rules: docs/batch.md.`,
		Example: `  m1 batch tasks.jsonl --parallel 4 --out runs/today
  m1 batch gaia/2023/validation/metadata.jsonl --agents coder,terminal,file --max-turns 30
  m1 batch tasks.jsonl --json | jq -c 'select(.type=="task_end").result'`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("name one task file: m1 batch TASKS.jsonl (see m1 batch --help)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBatch(cmd.Context(), f, cmd.Flags(), o, args[0])
		},
	}
	o.run.addFlags(cmd)
	fl := cmd.Flags()
	fl.IntVar(&o.parallel, "parallel", 0, "tasks to run at once (default: from this machine's cores and memory, shown at the start)")
	fl.StringVar(&o.out, "out", "", "the batch's folder: results.jsonl, summary.json, each task's work dir (default: m1-batch-NAME, after the task file)")
	cmd.Flag("json").Usage = "write the batch's events as JSON lines on stdout (schema: docs/batch.md)"
	addTemporalFlags(cmd, &o.conn)
	cmd.Flag("temporal").Usage = "run the tasks on m1 workers through the Temporal service at `HOST:PORT` (default $" + temporal.AddressEnv + "; without either the batch runs here)"
	fl.StringVar(&o.queue, "queue", temporal.DefaultQueue, "with --temporal: the task queue the workers poll")
	fl.DurationVar(&o.heartbeat, "heartbeat-timeout", temporal.DefaultHeartbeatTimeout, "with --temporal: how long a silent worker keeps a task before another takes it over")
	fl.IntVar(&o.attempts, "attempts", temporal.DefaultAttempts, "with --temporal: attempts a task gets before it ends as failed (a lost worker's counts)")
	return cmd
}

// defaultOut is the batch folder when --out is not given.
func defaultOut(tasksFile string) string {
	base := filepath.Base(tasksFile)
	return "m1-batch-" + strings.TrimSuffix(base, filepath.Ext(base))
}

func runBatch(ctx context.Context, f *factory, fl *pflag.FlagSet, o *batchFlags, file string) error {
	if o.parallel < 0 {
		return usagef("--parallel must be at least 1")
	}
	opts := o.run.Options
	if err := batch.CheckOptions(opts); err != nil {
		return err
	}
	if opts.WorkDir != "" {
		return usagef("--work-dir does not apply to a batch: each task gets its own under --out")
	}
	// Settings are checked once here rather than failing every task.
	check := opts
	check.WorkDir = "."
	if err := check.Validate(); err != nil {
		return err
	}
	tasks, err := batch.LoadFile(file)
	if err != nil {
		return usageError{err}
	}
	out := o.out
	if out == "" {
		out = defaultOut(file)
	}
	if out, err = filepath.Abs(out); err != nil {
		return usageError{err}
	}
	if o.conn.Address == "" {
		o.conn.Address = f.getenv(temporal.AddressEnv)
	}
	if o.conn.Address != "" {
		return runBatchTemporal(ctx, f, fl, o, tasks, out)
	}
	for _, name := range []string{"queue", "heartbeat-timeout", "attempts", "namespace", "tls", "tls-cert-path", "tls-key-path", "tls-ca-path", "tls-server-name", "tls-disable-host-verification"} {
		if fl.Changed(name) {
			return usagef("--%s needs --temporal (or $%s): without it the batch runs on this machine", name, temporal.AddressEnv)
		}
	}
	parallel, from := o.parallel, "--parallel"
	if parallel == 0 {
		parallel, from = batch.DefaultParallel()
	}
	exec := &batch.Local{Out: out, Options: opts, Getenv: f.getenv, Adjust: changedLimits(fl, opts)}
	view := newBatchView(f, o.run.JSON)
	defer view.close()
	sum, err := batch.Run(ctx, tasks, exec, batch.Options{Out: out, Parallel: parallel, ParallelFrom: from,
		Mode: "local", Events: view.handle})
	return batchExit(sum, err)
}

// runBatchTemporal submits the tasks as workflows and follows them.
func runBatchTemporal(ctx context.Context, f *factory, fl *pflag.FlagSet, o *batchFlags, tasks []batch.Task, out string) error {
	// Settings of this machine do not travel: each worker has its own.
	for _, name := range []string{"config", "cache", "browser-path", "cdp", "allow-path"} {
		if fl.Changed(name) {
			return usagef("--%s applies to this machine only: give it to m1 worker on each worker machine", name)
		}
	}
	if o.heartbeat < time.Second {
		return usagef("--heartbeat-timeout must be at least 1s")
	}
	if o.attempts < 1 {
		return usagef("--attempts must be at least 1")
	}
	o.conn.FromEnv(f.getenv)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("create the batch folder: %w", err)
	}
	id, err := batch.ID(out)
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	c, err := o.conn.Dial(ctx, fmt.Sprintf("m1-batch-%d@%s", os.Getpid(), host), f.io.Err)
	if err != nil {
		return err
	}
	defer c.Close()
	exec := &temporal.Submitter{Client: c, Queue: o.queue, BatchID: id, Options: o.run.Options,
		HeartbeatTimeout: o.heartbeat, Attempts: o.attempts}
	ns := o.conn.Namespace
	if ns == "" {
		ns = "default"
	}
	view := newBatchView(f, o.run.JSON)
	defer view.close()
	sum, err := batch.Run(ctx, tasks, exec, batch.Options{Out: out, Parallel: o.parallel, Mode: "temporal",
		Where: fmt.Sprintf("Temporal %s, namespace %s, queue %s", o.conn.Address, ns, o.queue), Events: view.handle})
	return batchExit(sum, err)
}

// changedLimits returns what a rerun changes in a resumed task's saved
// settings: the limits given on its command line.
func changedLimits(fl *pflag.FlagSet, given runner.Options) func(*runner.Options) error {
	return func(o *runner.Options) error {
		if fl.Changed("max-turns") {
			o.MaxTurns = given.MaxTurns
		}
		if fl.Changed("max-stalls") {
			o.MaxStalls = given.MaxStalls
		}
		if fl.Changed("max-replans") {
			o.MaxReplans = given.MaxReplans
		}
		if fl.Changed("max-tokens") {
			o.MaxTokens = given.MaxTokens
		}
		if fl.Changed("timeout") {
			o.Timeout = given.Timeout
		}
		return nil
	}
}

// batchExit maps how a batch ended to the command's error: an interrupt
// exits 130, a task that ended in error 1, a batch whose every task
// ended otherwise 0.
func batchExit(sum batch.Summary, err error) error {
	switch {
	case err != nil && errors.Is(err, context.Canceled):
		return statusError{agent.StatusCancelled}
	case err != nil:
		return err
	case sum.ByStatus[agent.StatusError] > 0:
		return statusError{agent.StatusError}
	}
	return statusError{agent.StatusSuccess}
}

// batchView shows a batch: JSON lines with --json; otherwise a line a
// task on stdout, a summary at the end, and on a terminal a progress bar
// on stderr.
type batchView struct {
	f      *factory
	asJSON bool
	enc    *json.Encoder

	mu       sync.Mutex
	info     batch.Info
	begin    time.Time
	running  int
	done     int
	failed   int
	barShown bool
	stop     chan struct{}
	stopped  chan struct{}
}

func newBatchView(f *factory, asJSON bool) *batchView {
	v := &batchView{f: f, asJSON: asJSON, begin: time.Now()}
	if asJSON {
		v.enc = json.NewEncoder(f.io.Out)
		v.enc.SetEscapeHTML(false)
	}
	if !asJSON && f.io.ErrTTY {
		// The bar's clock and ETA move between events too.
		v.stop, v.stopped = make(chan struct{}), make(chan struct{})
		go func() {
			defer close(v.stopped)
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-v.stop:
					return
				case <-t.C:
					v.mu.Lock()
					if v.barShown {
						v.drawBar()
					}
					v.mu.Unlock()
				}
			}
		}()
	}
	return v
}

func (v *batchView) close() {
	if v.stop != nil {
		close(v.stop)
		<-v.stopped
		v.stop = nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.clearBar()
}

func (v *batchView) handle(e batch.Event) {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch e.Type {
	case batch.EventTaskStart:
		v.running++
	case batch.EventTaskEnd:
		v.running--
		v.done++
		if e.Result != nil && e.Result.Status == agent.StatusError {
			v.failed++
		}
	case batch.EventBatchStart:
		v.info = *e.Batch
		v.begin = time.Now()
	}
	if v.asJSON {
		_ = v.enc.Encode(e)
		return
	}
	v.clearBar()
	out, errw := v.f.io.Out, v.f.io.Err
	switch e.Type {
	case batch.EventBatchStart:
		b := e.Batch
		at := fmt.Sprintf("%d at once (%s)", b.Parallel, b.ParallelFrom)
		if b.Mode != "local" {
			at = "on " + b.Where
			if b.Parallel > 0 {
				at += fmt.Sprintf(", at most %d at once", b.Parallel)
			}
		}
		fmt.Fprintf(errw, "m1 batch: %d tasks, %d to run%s, %s; results in %s\n", b.Tasks, b.ToRun,
			ifSkipped(b.Skipped), at, console.Clean(b.Results))
	case batch.EventTaskEnd:
		fmt.Fprintln(out, taskLine(e.Result))
	case batch.EventWarning:
		fmt.Fprintf(errw, "m1: warning: task %s: %s\n", printable(e.ID, 60), printable(e.Message, 300))
	case batch.EventBatchEnd:
		printSummary(out, v.info, *e.Summary)
		return
	}
	if v.f.io.ErrTTY {
		v.drawBar()
	}
}

func ifSkipped(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d ended in an earlier run)", n)
}

// drawBar draws the progress line on stderr. Caller holds v.mu.
func (v *batchView) drawBar() {
	total := v.info.ToRun
	if total == 0 {
		return
	}
	const width = 24
	filled := width * v.done / total
	bar := strings.Repeat("█", filled) + strings.Repeat("░", width-filled)
	elapsed := time.Since(v.begin)
	eta := "–"
	if v.done > 0 && v.done < total {
		eta = (elapsed / time.Duration(v.done) * time.Duration(total-v.done)).Round(time.Second).String()
	} else if v.done == total {
		eta = "0s"
	}
	fmt.Fprintf(v.f.io.Err, "\r\x1b[K%s %d/%d done · %d running · %d failed · %s elapsed · ETA %s",
		bar, v.done, total, v.running, v.failed, elapsed.Round(time.Second), eta)
	v.barShown = true
}

// clearBar erases the progress line so that other output starts clean.
// Caller holds v.mu.
func (v *batchView) clearBar() {
	if v.barShown {
		fmt.Fprint(v.f.io.Err, "\r\x1b[K")
		v.barShown = false
	}
}

// taskLine is a task's one line: mark, id, status, score, answer.
func taskLine(r *batch.Result) string {
	mark := map[string]string{agent.StatusSuccess: "✓", agent.StatusIncomplete: "~", agent.StatusError: "✗"}[r.Status]
	if mark == "" {
		mark = "?"
	}
	score := ""
	if r.Correct != nil && r.Status != agent.StatusError {
		score = map[bool]string{true: " correct", false: " wrong"}[*r.Correct]
	}
	text := r.FinalAnswer
	if r.Status == agent.StatusError {
		text = r.Error
	} else {
		text = batch.Extract(text)
	}
	return fmt.Sprintf("%s %s  %s%s  %d turns  %s  %s", mark, printable(r.ID, 60), r.Status, score, r.Turns,
		(time.Duration(r.DurationMS) * time.Millisecond).Round(100*time.Millisecond), printable(text, 100))
}

// printSummary writes the batch's summary.
func printSummary(w io.Writer, info batch.Info, s batch.Summary) {
	fmt.Fprintln(w, "── Summary")
	var parts []string
	keys := make([]string, 0, len(s.ByStatus))
	for k := range s.ByStatus {
		keys = append(keys, k)
	}
	order := map[string]int{agent.StatusSuccess: 0, agent.StatusIncomplete: 1, agent.StatusError: 2, "interrupted": 3, "not_started": 4}
	sort.Slice(keys, func(i, j int) bool { return order[keys[i]] < order[keys[j]] })
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", s.ByStatus[k], strings.ReplaceAll(k, "_", " ")))
	}
	fmt.Fprintf(w, "tasks     %d: %s\n", s.Tasks, strings.Join(parts, ", "))
	if s.Scored > 0 {
		fmt.Fprintf(w, "accuracy  %.1f%% (%d of %d scored tasks correct)\n", 100*s.Accuracy, s.Correct, s.Scored)
	}
	fmt.Fprintf(w, "tokens    %d, cost $%.4f\n", s.Tokens, s.CostUSD)
	wall := (time.Duration(s.WallMS) * time.Millisecond).Round(100 * time.Millisecond)
	fmt.Fprintf(w, "wall      %s for %d tasks, %.1f tasks/hour\n", wall, s.Ran, s.TasksPerHour)
	fmt.Fprintf(w, "results   %s\n", info.Results)
	if s.Interrupted {
		fmt.Fprintf(w, "stopped   run the same command again to resume the %d unfinished tasks\n", s.Tasks-s.Ended)
	}
}

// printable makes s one short line for a terminal: whitespace runs become
// one space, and the console's sanitiser shows what a terminal would act
// on as escapes.
func printable(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		s = string(r[:n]) + "…"
	}
	return console.Clean(s)
}
