package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/console"
	"github.com/m1-project/m1/model"
	"github.com/m1-project/m1/runner"
)

// runFlags are the flags of a run: the runner's settings plus how this
// command shows the run.
type runFlags struct {
	runner.Options
	JSON bool
	// TaskFile is where the task is read from instead of the arguments.
	TaskFile string
	// OTelContent exports content with the run's traces (--otel-content).
	OTelContent bool
}

// maxTask bounds a task read from stdin or a file. What the model sees of
// a long task is bounded further when the prompts are made.
const maxTask = 100 << 20

// readAll reads r to its end, or fails when it holds more than max bytes.
func readAll(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("the task is longer than %d MiB", max>>20)
	}
	return b, nil
}

func openTaskFile(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errors.Unwrap(err)
	}
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		f.Close()
		return nil, fmt.Errorf("%s is a folder, not a file", path)
	}
	return f, nil
}

func newRunFlags() *runFlags { return &runFlags{Options: runner.DefaultOptions()} }

func (o *runFlags) addFlags(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVar(&o.JSON, "json", false, "write the run as JSON lines on stdout (schema: docs/events.md)")
	addOTelFlag(cmd, &o.OTelContent)
	fl.StringVar(&o.Config, "config", "", "model config file (YAML; Magentic-One's config.yaml works too)")
	fl.StringVar(&o.Model, "model", "", "model name for every agent (overrides M1_MODEL and the config)")
	fl.BoolVar(&o.AllowUnknownConfigKeys, "allow-unknown-config-keys", false,
		"read a config file with keys m1 does not know, warning about each (as allow_unknown_keys: true in the file)")
	fl.StringVar(&o.Cache, "cache", "", "cache model replies in `DIR`: a rerun of the same requests costs nothing")
	fl.BoolVar(&o.NoStream, "no-stream", false, "do not stream tokens to the console")
	fl.Var(optionalDuration{&o.RequestTimeout, model.DefaultTimeout}, "request-timeout",
		"how long one model call may wait for the server before it is abandoned and retried (overrides timeout: in the config)")
	addLimitFlags(cmd, &o.Options)
	fl.StringVar(&o.WorkDir, "work-dir", "", "working directory the agents read and write (default: the current directory)")
	fl.StringSliceVar(&o.Agents, "agents", o.Agents, "team members besides the Orchestrator: "+strings.Join(runner.AllAgents(), ",")+
		", and mcp (every server of the config's mcp_servers) or MCP servers by name")
	addTeamFlags(cmd, &o.Team)
}

func addLimitFlags(cmd *cobra.Command, o *runner.Options) {
	fl := cmd.Flags()
	fl.IntVar(&o.MaxTurns, "max-turns", o.MaxTurns, "stop after this many turns with a best-effort answer")
	fl.IntVar(&o.MaxStalls, "max-stalls", o.MaxStalls, "replan after this many turns without progress")
	fl.IntVar(&o.MaxReplans, "max-replans", o.MaxReplans, "stop after this many replans")
	fl.IntVar(&o.MaxTokens, "max-tokens", o.MaxTokens, "stop when all agents together used this many tokens (0: no limit)")
	durationFlag(fl, &o.Timeout, "timeout", "stop after this much wall-clock time, e.g. 10m (0: no limit)")
}

func addTeamFlags(cmd *cobra.Command, t *runner.TeamOptions) {
	fl := cmd.Flags()
	fl.StringVar(&t.Executor, "executor", t.Executor, "where the ComputerTerminal runs code: docker (a container) or local (this machine, unsandboxed)")
	fl.StringVar(&t.Image, "image", "", "container image for code (default $M1_IMAGE, else python:3-slim; make sandbox-image builds m1-sandbox:latest offline)")
	fl.BoolVar(&t.NoNetwork, "no-network", false, "run code in a container without network")
	durationFlag(fl, &t.CodeTimeout, "code-timeout", "time limit of each code run")
	fl.StringVar(&t.Memory, "memory", t.Memory, "memory limit of the code container")
	fl.Float64Var(&t.CPUs, "cpus", t.CPUs, "CPU limit of the code container")
	fl.Int64Var(&t.Pids, "pids", t.Pids, "process-count limit of the code container")
	fl.StringVar(&t.BrowserPath, "browser-path", "", "Chrome or Chromium binary (default: found in PATH)")
	fl.StringVar(&t.CDP, "cdp", "", "attach to a running Chrome at this DevTools `URL` instead of launching one")
	fl.StringVar(&t.SearchEngine, "search-engine", t.SearchEngine, "search_web URL template; {query} is replaced by the query")
	fl.StringSliceVar(&t.AllowDomains, "allow-domains", nil, "the only domains the browser may visit (comma-separated)")
	fl.StringSliceVar(&t.BlockDomains, "block-domains", nil, "domains the browser must not visit (comma-separated)")
	fl.StringSliceVar(&t.AllowPaths, "allow-path", nil, "a further folder the FileSurfer may read (repeatable; the work dir is always allowed)")
	fl.IntVar(&t.Viewport, "viewport", t.Viewport, "characters of a file the FileSurfer shows per page")
	fl.BoolVar(&t.HIL, "hil", false, "bring yourself into the team: the orchestrator may ask you, and you review the plan (answers are read from stdin)")
	durationFlag(fl, &t.HILTimeout, "hil-timeout", "how long to wait for an answer before going on without one (0: no limit)")
	fl.BoolVar(&t.Approve, "approve", false, "ask before each code run and each browser action with side effects (on with --hil)")
	fl.BoolVar(&t.Yes, "yes", false, "approve every action without asking")
}

// optionalDuration is a duration flag that stays zero unless it is given,
// so a setting from the config file can apply when it is not. Its help
// shows def, the value used when neither says otherwise.
type optionalDuration struct {
	d   *time.Duration
	def time.Duration
}

func (v optionalDuration) String() string {
	if v.d == nil || *v.d == 0 {
		return v.def.String()
	}
	return v.d.String()
}

func (v optionalDuration) Set(s string) error {
	d, err := parseDuration(s)
	if err != nil {
		return err
	}
	if d <= 0 {
		return errors.New("must be positive")
	}
	*v.d = d
	return nil
}

func (v optionalDuration) Type() string { return "duration" }

// durationValue is a duration flag whose mistakes say what a duration
// looks like: "--timeout 5" is missing its unit.
type durationValue struct{ d *time.Duration }

func durationFlag(fl *pflag.FlagSet, d *time.Duration, name, usage string) {
	fl.Var(durationValue{d}, name, usage)
	if *d == 0 {
		fl.Lookup(name).DefValue = "0" // pflag leaves a zero default out of the help
	} else {
		fl.Lookup(name).DefValue = d.String()
	}
}

func (v durationValue) String() string {
	if v.d == nil {
		return "0s"
	}
	return v.d.String()
}

func (v durationValue) Set(s string) error {
	d, err := parseDuration(s)
	if err != nil {
		return err
	}
	*v.d = d
	return nil
}

func (v durationValue) Type() string { return "duration" }

// parseDuration reads a duration flag. A bare number other than 0 is
// refused with an example rather than guessed at.
func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
			return 0, fmt.Errorf("%s needs a unit: %ss, %sm or %sh", s, s, s, s)
		}
		return 0, errors.New("want a duration such as 30s, 10m or 1h30m")
	}
	return d, nil
}

// addOTelFlag adds --otel-content, which run and resume share.
func addOTelFlag(cmd *cobra.Command, content *bool) {
	cmd.Flags().BoolVar(content, "otel-content", false,
		"with OpenTelemetry export on (OTEL_EXPORTER_OTLP_ENDPOINT, ...), include prompts, replies, page text and code in the spans; the API key is never exported (docs/observability.md)")
}

// runEnv is how the command line runs a task: events to the console or as
// JSON lines, the person at this terminal. The console renderer is made
// once the run's settings are known (a resumed run brings its own); done
// stops it.
func runEnv(f *factory, asJSON, otelContent bool) (env runner.Env, done func()) {
	env = runner.Env{
		Getenv:      f.getenv,
		Stderr:      f.io.Err,
		Person:      &runner.Person{In: f.io.In, InTTY: f.io.InTTY},
		OTelContent: otelContent,
	}
	if f.io.InTTY && f.io.ErrTTY {
		env.Person.Prompt = f.io.Err
	}
	if asJSON {
		f.json = console.NewJSON(f.io.Out)
		env.Output = f.json.Handle
		env.Started = func(s runner.Start) { printResuming(f, s) }
		return env, func() {}
	}
	var r *console.Renderer
	env.Deltas, env.Progress = true, f.io.Err
	env.Started = func(s runner.Start) {
		printResuming(f, s)
		r = console.NewRenderer(f.io, s.Options.MaxStalls)
	}
	env.Output = func(e agent.Event) {
		if r != nil {
			r.Handle(e)
		}
	}
	return env, func() {
		if r != nil {
			r.Close()
		}
	}
}

// runTask starts a new session for task.
func runTask(ctx context.Context, f *factory, opts *runFlags, task string) error {
	env, done := runEnv(f, opts.JSON, opts.OTelContent)
	out, err := runner.Run(ctx, env, opts.Options, task)
	done()
	return finish(f, out, err, opts.JSON)
}

// printResuming says, on stderr, which session a resume continues and
// from where, before its first event.
func printResuming(f *factory, s runner.Start) {
	if !s.Resumed {
		return
	}
	turns := "turn"
	if s.Turn != 1 {
		turns = "turns"
	}
	fmt.Fprintf(f.io.Err, "m1: resuming session %s \"%s\" after %d %s (it was %s)\n",
		s.SessionID, console.Clean(oneLine(s.Task, 60)), s.Turn, turns, console.Clean(s.Status))
}

// limitFlags maps the start of a stop reason to the flag that sets that
// limit (see the orchestrator's stop reasons).
var limitFlags = []struct{ reason, flag string }{
	{"turn limit", "--max-turns"},
	{"replan limit", "--max-replans"},
	{"token budget", "--max-tokens"},
	{"time limit", "--timeout"},
}

// finish turns a run's outcome into the command's error, and tells the
// person how to go on when the run can be continued.
func finish(f *factory, out runner.Outcome, err error, asJSON bool) error {
	if err != nil {
		if !asJSON && f.io.OutTTY && out.Result.Type == agent.EventResult {
			// The console on this terminal showed the cause in full: once
			// is enough. Piped, stderr is where a person still sees it.
			return shownError{err}
		}
		return err
	}
	if asJSON {
		// The result event carries the session id and the stop reason.
		return statusError{out.Status()}
	}
	switch out.Status() {
	case agent.StatusCancelled:
		fmt.Fprintf(f.io.Err, "m1: stopped; continue with: m1 resume %s\n", out.SessionID)
	case agent.StatusIncomplete:
		hint := ""
		for _, l := range limitFlags {
			if strings.HasPrefix(out.Result.StopReason, l.reason) {
				hint = fmt.Sprintf(" (the limits count again from there; %s N to change it)", l.flag)
			}
		}
		fmt.Fprintf(f.io.Err, "m1: stopped: %s; continue with: m1 resume %s%s\n", console.Clean(out.Result.StopReason), out.SessionID, hint)
	}
	return statusError{out.Status()}
}

// wantsJSON reports whether args asked a run (m1 "task" or m1 resume) for
// JSON lines. The flags may not have been parsed (a mistake in them), so
// args are read too.
func wantsJSON(c *cobra.Command, args []string) bool {
	if c == nil || c.HasParent() && c.Name() != "resume" {
		return false
	}
	if fl := c.Flags().Lookup("json"); fl != nil && fl.Changed {
		return fl.Value.String() == "true"
	}
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "--json" || a == "--json=true" {
			return true
		}
	}
	return false
}

// errorResult is the result event of a run that failed before it had a
// session: status error, the cause as stop_reason.
func errorResult(err error) agent.Event {
	ev := agent.NewEvent(agent.EventResult, agent.OrchestratorName)
	ev.Status, ev.StopReason, ev.Usage = agent.StatusError, err.Error(), map[string]agent.Usage{}
	return ev
}
