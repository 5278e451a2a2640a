package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/config"
	"github.com/m1-project/m1/console"
	"github.com/m1-project/m1/model"
	"github.com/m1-project/m1/orchestrator"
	"github.com/m1-project/m1/session"
)

// runOptions are the flags of a run. They are saved with the checkpoint,
// so a resumed run keeps its settings.
type runOptions struct {
	JSON       bool          `json:"-"`
	Config     string        `json:"config,omitempty"`
	Model      string        `json:"model,omitempty"`
	Cache      string        `json:"cache,omitempty"`
	NoStream   bool          `json:"no_stream,omitempty"`
	MaxTurns   int           `json:"max_turns"`
	MaxStalls  int           `json:"max_stalls"`
	MaxReplans int           `json:"max_replans"`
	MaxTokens  int           `json:"max_tokens,omitempty"`
	Timeout    time.Duration `json:"timeout,omitempty"`
	WorkDir    string        `json:"work_dir"`
	Agents     []string      `json:"agents"`
	Team       teamOptions   `json:"team"`

	// RequestTimeout bounds one attempt of a model call; zero means the
	// config's timeout, else model.DefaultTimeout.
	RequestTimeout time.Duration `json:"request_timeout,omitempty"`
}

func defaultRunOptions() *runOptions {
	d := orchestrator.DefaultOptions
	return &runOptions{MaxTurns: d.MaxTurns, MaxStalls: d.MaxStalls, MaxReplans: d.MaxReplans,
		Agents: defaultAgents()}
}

func (o *runOptions) addFlags(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVar(&o.JSON, "json", false, "write the run as JSON lines on stdout (schema: docs/events.md)")
	fl.StringVar(&o.Config, "config", "", "model config file (YAML; Magentic-One's config.yaml works too)")
	fl.StringVar(&o.Model, "model", "", "model name for every agent (overrides M1_MODEL and the config)")
	fl.StringVar(&o.Cache, "cache", "", "cache model replies in `DIR`: a rerun of the same requests costs nothing")
	fl.BoolVar(&o.NoStream, "no-stream", false, "do not stream tokens to the console")
	fl.Var(optionalDuration{&o.RequestTimeout, model.DefaultTimeout}, "request-timeout",
		"how long one model call may wait for the server before it is abandoned and retried (overrides timeout: in the config)")
	o.addLimitFlags(cmd)
	fl.StringVar(&o.WorkDir, "work-dir", "", "working directory the agents read and write (default: the current directory)")
	fl.StringSliceVar(&o.Agents, "agents", o.Agents, "team members besides the Orchestrator: "+strings.Join(allAgents(), ","))
	o.Team.addFlags(cmd)
}

func (o *runOptions) addLimitFlags(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.IntVar(&o.MaxTurns, "max-turns", o.MaxTurns, "stop after this many turns with a best-effort answer")
	fl.IntVar(&o.MaxStalls, "max-stalls", o.MaxStalls, "replan after this many turns without progress")
	fl.IntVar(&o.MaxReplans, "max-replans", o.MaxReplans, "stop after this many replans")
	fl.IntVar(&o.MaxTokens, "max-tokens", o.MaxTokens, "stop when all agents together used this many tokens (0: no limit)")
	fl.DurationVar(&o.Timeout, "timeout", o.Timeout, "stop after this much wall-clock time, e.g. 10m (0: no limit)")
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
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("want a duration such as 30s or 2m")
	}
	if d <= 0 {
		return errors.New("must be positive")
	}
	*v.d = d
	return nil
}

func (v optionalDuration) Type() string { return "duration" }

func (o *runOptions) validate() error {
	switch {
	case o.MaxTurns < 1:
		return usagef("--max-turns must be at least 1")
	case o.MaxStalls < 1:
		return usagef("--max-stalls must be at least 1")
	case o.MaxReplans < 0:
		return usagef("--max-replans cannot be negative")
	case o.MaxTokens < 0:
		return usagef("--max-tokens cannot be negative")
	case o.Timeout < 0:
		return usagef("--timeout cannot be negative")
	}
	if o.WorkDir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return fmt.Errorf("find the working directory: %w", err)
		}
		o.WorkDir = wd
	}
	abs, err := filepath.Abs(o.WorkDir)
	if err != nil {
		return usagef("--work-dir %s: %v", o.WorkDir, err)
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return usagef("--work-dir %s is not a directory", o.WorkDir)
	}
	o.WorkDir = abs
	return validateAgents(o.Agents)
}

// runTask starts a new session for task.
func runTask(ctx context.Context, f *factory, opts *runOptions, task string) error {
	if err := opts.validate(); err != nil {
		return err
	}
	cfg, err := config.Load(opts.Config, f.getenv)
	if err != nil {
		return err
	}
	cfg.Model = opts.Model
	root, err := session.Root(f.getenv)
	if err != nil {
		return err
	}
	sess, err := session.Create(root, task)
	if err != nil {
		return err
	}
	return execute(ctx, f, opts, cfg, sess, func(o *orchestrator.Orchestrator) orchestrator.Result {
		return o.Run(ctx, task)
	}, nil)
}

// execute wires the team and the output to sess, runs start, and reports
// the result. Agents are closed on every path, Ctrl-C included.
func execute(ctx context.Context, f *factory, opts *runOptions, cfg *config.Config, sess *session.Session,
	start func(*orchestrator.Orchestrator) orchestrator.Result, agentStates map[string]json.RawMessage) (err error) {
	defer func() {
		if cerr := sess.Close(); cerr != nil {
			fmt.Fprintf(f.io.Err, "m1: warning: %v (resume starts from the last checkpoint written)\n", cerr)
		}
	}()

	var out interface{ Handle(agent.Event) }
	var renderer *console.Renderer
	if opts.JSON {
		out = console.NewJSON(f.io.Out)
	} else {
		renderer = console.NewRenderer(f.io, opts.MaxStalls)
		defer renderer.Close()
		out = renderer
	}
	emit := func(e agent.Event) {
		if err := sess.Append(e); err != nil {
			fmt.Fprintf(f.io.Err, "m1: warning: %v\n", err)
		}
		out.Handle(e)
	}

	orchClient, err := newClient(cfg, config.RoleOrchestrator, opts, emit)
	if err != nil {
		return err
	}
	hum := newHumanIO(f, opts, emit)
	team, err := buildTeam(ctx, f, opts, cfg, sess, hum, emit)
	if err != nil {
		return err
	}
	defer closeTeam(team, f)
	restoreAgents(ctx, team, agentStates, emit)

	settings, _ := json.Marshal(opts)
	var o *orchestrator.Orchestrator
	o = orchestrator.New(orchClient, team, orchestrator.Options{
		MaxTurns: opts.MaxTurns, MaxStalls: opts.MaxStalls, MaxReplans: opts.MaxReplans,
		MaxTokens: opts.MaxTokens, Timeout: opts.Timeout, Emit: emit,
		ContextBudget: contextBudget(orchClient.Info().ContextWindow),
		Checkpoint: func(st orchestrator.State) {
			if err := saveCheckpoint(sess, st, team, settings); err != nil {
				fmt.Fprintf(f.io.Err, "m1: warning: %v\n", err)
			}
		},
		ReviewPlan: hum.review,
	})
	res := start(o)
	ev := res.Event(sess.ID)
	for name, u := range ev.Usage {
		if c, ok := cfg.Price(name, u); ok {
			ev.CostUSD += c
		}
	}
	emit(ev)
	if res.Status == agent.StatusCancelled && !opts.JSON {
		fmt.Fprintf(f.io.Err, "m1: stopped; continue with: m1 resume %s\n", sess.ID)
	}
	if res.Status == agent.StatusError && res.Err != nil {
		return res.Err
	}
	return statusError{res.Status}
}

func contextBudget(window int) int {
	if window <= 0 {
		window = 128000
	}
	return window * 3 / 4
}

func saveCheckpoint(sess *session.Session, st orchestrator.State, team []agent.Agent, settings []byte) error {
	orch, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	cp := session.Checkpoint{Orchestrator: orch, Agents: map[string]json.RawMessage{}, Settings: settings}
	for _, a := range team {
		if s, ok := a.(agent.Stateful); ok {
			if raw, err := s.SaveState(); err == nil && raw != nil {
				cp.Agents[a.Name()] = raw
			}
		}
	}
	status := st.Status
	if status == "" {
		status = "running"
	}
	return sess.SaveCheckpoint(cp, status, st.Turns, st.TotalUsage(), st.Elapsed)
}

func closeTeam(team []agent.Agent, f *factory) {
	for _, a := range team {
		if c, ok := a.(agent.Closer); ok {
			if err := c.Close(); err != nil {
				fmt.Fprintf(f.io.Err, "m1: warning: close %s: %v\n", a.Name(), err)
			}
		}
	}
}
