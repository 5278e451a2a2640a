// Package runner runs one task end to end: it loads the config, builds the
// model clients and the team, creates or reopens the session, drives the
// orchestrator, records every event and cleans up on every path. `m1
// "task"`, `m1 resume`, `m1 batch` and `m1 worker` all call it; they differ
// only in where the events go and who, if anyone, answers questions.
package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/config"
	"github.com/m1-project/m1/console"
	"github.com/m1-project/m1/orchestrator"
	"github.com/m1-project/m1/session"
	"github.com/m1-project/m1/telemetry"
	"github.com/m1-project/m1/terminal"
)

// Env is what a run takes from the program that starts it.
type Env struct {
	// Getenv reads the environment: the config's ${VAR}s, keys, M1_IMAGE,
	// the state dir. Nil means no variables.
	Getenv func(string) string
	// Output receives every event after the transcript has it (the console
	// renderer, the JSON writer, a batch's progress). Nil drops them.
	Output func(agent.Event)
	// Deltas says whether Output shows streamed tokens as they come.
	Deltas bool
	// Stderr receives warnings that are not events of the run, such as a
	// checkpoint that could not be written. Nil drops them.
	Stderr io.Writer
	// Progress receives progress of slow set-up steps (an image pull). Nil
	// shows none.
	Progress io.Writer
	// Person is the human at the terminal; nil when there is none (a batch,
	// a worker, an MCP client), in which case questions go unanswered and
	// approvals that need a person are refused.
	Person *Person
	// SessionRoot is where sessions are kept; empty means session.Root.
	SessionRoot string
	// Started, when set, is called once the session is open and the
	// settings are known, before the first event.
	Started func(Start)
	// OnCheckpoint, when set, is called with each checkpoint after it is
	// saved, so it can travel further (a worker sends it to Temporal).
	OnCheckpoint func(session.Checkpoint)
	// OTelContent exports prompts, replies, page text and code with the
	// run's traces (--otel-content); the API key never goes. Traces are
	// exported only when the OTEL_* variables (read through Getenv) ask.
	OTelContent bool
	// OTelExporters, when set, receive the run's spans and metrics instead
	// of the exporters the OTEL_* variables name (tests).
	OTelExporters *telemetry.Exporters
}

// Person is the human side of a run.
type Person struct {
	// In is where answers are read; InTTY says whether it is a terminal.
	In    io.Reader
	InTTY bool
	// Prompt is where questions and approval prompts are written; nil when
	// nobody would see them (answers come through a pipe).
	Prompt io.Writer
}

// Start describes a run that is about to begin.
type Start struct {
	SessionID  string
	SessionDir string
	Task       string
	// Options are the run's settings: the saved ones on a resume, with
	// what the caller changed.
	Options Options
	// Resumed is set when an earlier session goes on; Turn is then the
	// turn it had reached and Status how it had ended.
	Resumed bool
	Turn    int
	Status  string
}

// Outcome is how a run ended.
type Outcome struct {
	// SessionID and SessionDir name the session; empty when the run failed
	// before it had one.
	SessionID  string
	SessionDir string
	// Result is the final "result" event as it was recorded.
	Result agent.Event
}

// Status is the result's status ("success", "incomplete", ...), or empty
// when the run never ended with a result.
func (o Outcome) Status() string { return o.Result.Status }

func (e *Env) getenv(k string) string {
	if e.Getenv == nil {
		return ""
	}
	return e.Getenv(k)
}

func (e *Env) warnf(format string, args ...any) {
	if e.Stderr != nil {
		// A warning may quote a config's key or another program's error.
		fmt.Fprintln(e.Stderr, "m1: warning: "+console.Clean(fmt.Sprintf(format, args...)))
	}
}

func (e *Env) sessionRoot() (string, error) {
	if e.SessionRoot != "" {
		return e.SessionRoot, nil
	}
	return session.Root(e.getenv)
}

// Run starts a new session for task with opts. The error is set when the
// run could not start (a *UsageError, a config or setup error) or ended in
// error; a run stopped by a limit or Ctrl-C returns its Outcome and no
// error, and its status says what happened.
func Run(ctx context.Context, env Env, opts Options, task string) (Outcome, error) {
	if err := opts.Validate(); err != nil {
		return Outcome{}, err
	}
	cfg, err := loadConfig(&env, opts)
	if err != nil {
		return Outcome{}, err
	}
	root, err := env.sessionRoot()
	if err != nil {
		return Outcome{}, err
	}
	tel, err := newTelemetry(ctx, &env, cfg)
	if err != nil {
		return Outcome{}, err
	}
	sess, err := session.Create(root, task)
	if err != nil {
		_ = tel.Shutdown(ctx)
		return Outcome{}, err
	}
	if env.Started != nil {
		env.Started(Start{SessionID: sess.ID, SessionDir: sess.Dir, Task: task, Options: opts})
	}
	return execute(ctx, &env, opts, cfg, sess, task, tel, func(ctx context.Context, o *orchestrator.Orchestrator) orchestrator.Result {
		return o.Run(ctx, task)
	}, nil)
}

// Resume continues session id from its last checkpoint: with followUp
// empty it goes on with the original task; otherwise followUp becomes the
// next request in the same context. adjust, when set, changes the saved
// settings before the run (limits, model, approvals given to resume).
func Resume(ctx context.Context, env Env, id, followUp string, adjust func(*Options) error) (Outcome, error) {
	root, err := env.sessionRoot()
	if err != nil {
		return Outcome{}, err
	}
	sess, err := session.Open(root, id)
	if err != nil {
		return Outcome{}, &UsageError{err}
	}
	out := Outcome{SessionID: sess.ID, SessionDir: sess.Dir}
	fail := func(err error) (Outcome, error) {
		sess.Close()
		return out, err
	}
	cp, err := sess.LoadCheckpoint()
	if err != nil {
		return fail(&UsageError{err})
	}
	var st orchestrator.State
	if err := json.Unmarshal(cp.Orchestrator, &st); err != nil {
		return fail(fmt.Errorf("session %s: read checkpoint: %w", sess.ID, err))
	}
	if st.Done && followUp == "" {
		return fail(Usagef("session %s is already finished; give a follow-up request to continue it: m1 resume %s \"...\"", sess.ID, sess.ID))
	}
	opts := DefaultOptions()
	if len(cp.Settings) > 0 {
		if err := json.Unmarshal(cp.Settings, &opts); err != nil {
			return fail(fmt.Errorf("session %s: read settings: %w", sess.ID, err))
		}
	}
	if adjust != nil {
		if err := adjust(&opts); err != nil {
			return fail(err)
		}
	}
	if err := opts.Validate(); err != nil {
		return fail(err)
	}
	cfg, err := loadConfig(&env, opts)
	if err != nil {
		return fail(err)
	}
	tel, err := newTelemetry(ctx, &env, cfg)
	if err != nil {
		return fail(err)
	}
	if env.Started != nil {
		env.Started(Start{SessionID: sess.ID, SessionDir: sess.Dir, Task: st.Task, Options: opts,
			Resumed: true, Turn: st.Turns, Status: sess.Meta().Status})
	}
	return execute(ctx, &env, opts, cfg, sess, "", tel, func(ctx context.Context, o *orchestrator.Orchestrator) orchestrator.Result {
		return o.Resume(ctx, st, followUp)
	}, cp.Agents)
}

func loadConfig(env *Env, opts Options) (*config.Config, error) {
	cfg, err := config.Load(opts.Config, env.getenv, opts.ConfigOptions()...)
	if err != nil {
		return nil, err
	}
	for _, w := range cfg.Warnings {
		env.warnf("config %s: ignored %s", cfg.Path, w)
	}
	cfg.Model = opts.Model
	if err := ValidateAgents(opts.Agents, cfg.ServerNames()...); err != nil {
		return nil, err
	}
	return cfg, nil
}

// newTelemetry sets up the run's traces and metrics from the OTEL_*
// variables; nil when they ask for none. A setting that cannot work is a
// *UsageError.
func newTelemetry(ctx context.Context, env *Env, cfg *config.Config) (*telemetry.Provider, error) {
	tel, err := telemetry.New(ctx, telemetry.Options{
		Getenv: env.Getenv, Content: env.OTelContent, Exporters: env.OTelExporters, Console: env.Stderr,
		Redact: newRedactor(cfg, env.getenv).text,
	})
	if err != nil {
		return nil, &UsageError{err}
	}
	return tel, nil
}

// execute wires the team and the output to sess, runs start, and records
// the result. Agents, the session and the telemetry (flushed) are closed
// on every path, Ctrl-C included, and the session records how the run
// ended, a failure to start included, so it never stays "running". task is
// the request of a new run ("" on a resume): a run that cannot start
// records it with its error result.
func execute(ctx context.Context, env *Env, opts Options, cfg *config.Config, sess *session.Session, task string, tel *telemetry.Provider,
	start func(context.Context, *orchestrator.Orchestrator) orchestrator.Result, agentStates map[string]json.RawMessage) (out Outcome, err error) {
	out = Outcome{SessionID: sess.ID, SessionDir: sess.Dir}
	// The model's key is in this process's environment; the browser, the
	// code m1 runs on the host and any other process of the same user must
	// not read it through /proc (see terminal.ProtectEnviron for what this
	// cannot stop). Where the kernel refuses, the run goes on: the key is
	// still redacted from everything recorded.
	if err := terminal.ProtectEnviron(); err != nil {
		env.warnf("%v", err)
	}
	defer func() {
		if cerr := sess.Close(); cerr != nil {
			env.warnf("%v (resume starts from the last checkpoint written)", cerr)
		}
	}()
	defer func() {
		if err != nil && out.Result.Type == "" {
			sess.Finish(agent.StatusError, err.Error())
		}
	}()
	defer func() {
		if terr := tel.Shutdown(ctx); terr != nil {
			env.warnf("%v", terr)
		}
	}()
	ctx, run := tel.StartRun(ctx, telemetry.RunInfo{SessionID: sess.ID, Task: sess.Meta().Task, Resumed: task == ""})
	defer func() { run.End(out.Result, err) }()
	if run != nil {
		// The run's spans follow its events as they are recorded.
		output := env.Output
		env.Output = func(e agent.Event) {
			if output != nil {
				output(e)
			}
			run.Event(e)
		}
	}

	// A transcript that cannot be written (a full disk) stops the run: it
	// would go on with nothing recording what it does.
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	var writeErr atomic.Pointer[error]
	redact := newRedactor(cfg, env.getenv)
	rec := newRecorder(env, sess, redact, func(err error) {
		if writeErr.CompareAndSwap(nil, &err) {
			stop(err)
		}
	})
	emit := rec.emit
	fail := func(err error) (Outcome, error) {
		out.Result = rec.failed(task, err)
		sess.Finish(agent.StatusError, err.Error())
		return out, err
	}

	orchClient, err := newClient(cfg, config.RoleOrchestrator, opts, emit, tel)
	if err != nil {
		return fail(err)
	}
	hum := newHumanIO(env.Person, opts, emit)
	team, err := buildTeam(ctx, env, opts, cfg, sess, hum, emit, tel)
	if err != nil {
		return fail(err)
	}
	defer closeTeam(team, env)
	team = tel.Agents(team)
	restoreAgents(ctx, team, agentStates, emit)

	settings, _ := json.Marshal(opts)
	o := orchestrator.New(orchClient, team, orchestrator.Options{
		MaxTurns: opts.MaxTurns, MaxStalls: opts.MaxStalls, MaxReplans: opts.MaxReplans,
		MaxTokens: opts.MaxTokens, Timeout: opts.Timeout, Emit: rec.orchestrator,
		Checkpoint: func(st orchestrator.State) {
			cp, err := saveCheckpoint(sess, st, team, settings, redact)
			if err != nil {
				env.warnf("%v", err)
				return
			}
			if env.OnCheckpoint != nil {
				env.OnCheckpoint(cp)
			}
		},
		ReviewPlan: hum.review,
		OnTurn:     run.TurnHook(),
	})
	res := start(ctx, o)
	if werr := writeErr.Load(); werr != nil {
		res.Status, res.StopReason, res.Err = agent.StatusError, (*werr).Error(), *werr
	}
	ev := res.Event(sess.ID)
	for name, u := range ev.Usage {
		if c, ok := price(cfg, name, u); ok {
			ev.CostUSD += c
		}
	}
	out.Result = rec.result(ev)
	sess.Finish(ev.Status, ev.StopReason)
	if res.Status == agent.StatusError && res.Err != nil {
		return out, res.Err
	}
	return out, nil
}

// saveCheckpoint writes the state of the orchestrator and of every
// stateful agent, with known secrets redacted as in the transcript.
func saveCheckpoint(sess *session.Session, st orchestrator.State, team []agent.Agent, settings []byte, redact *redactor) (session.Checkpoint, error) {
	orch, err := json.Marshal(st)
	if err != nil {
		return session.Checkpoint{}, fmt.Errorf("checkpoint: %w", err)
	}
	orch, _ = redact.json(orch)
	cp := session.Checkpoint{Orchestrator: orch, Agents: map[string]json.RawMessage{}, Settings: settings}
	for _, a := range team {
		if s, ok := a.(agent.Stateful); ok {
			if raw, err := s.SaveState(); err == nil && raw != nil {
				cp.Agents[a.Name()], _ = redact.json(raw)
			}
		}
	}
	status := st.Status
	if status == "" {
		status = "running"
	}
	return cp, sess.SaveCheckpoint(cp, status, st.Turns, st.TotalUsage(), st.Elapsed)
}

// restoreAgents hands each stateful agent its checkpointed state.
func restoreAgents(ctx context.Context, team []agent.Agent, states map[string]json.RawMessage, emit func(agent.Event)) {
	for _, a := range team {
		s, ok := a.(agent.Stateful)
		raw, have := states[a.Name()]
		if !ok || !have {
			continue
		}
		if err := s.LoadState(ctx, raw); err != nil {
			ev := agent.NewEvent(agent.EventWarning, a.Name())
			ev.Content = fmt.Sprintf("could not restore %s's state: %v", a.Name(), err)
			emit(ev)
		}
	}
}

func closeTeam(team []agent.Agent, env *Env) {
	for _, a := range team {
		if c, ok := a.(agent.Closer); ok {
			if err := c.Close(); err != nil {
				env.warnf("close %s: %v", a.Name(), err)
			}
		}
	}
}

// Ended returns the result a checkpointed run ended with, when it ended
// with an answer: done, or stopped by a limit with a best-effort answer.
// A caller that lost the end of such a run (a batch killed right after the
// answer, a worker that died before reporting it) records the result from
// the checkpoint instead of running the task again, so no task is answered
// twice. Cost is priced with the config opts names; the duration is the
// time the session ran in all.
func Ended(env Env, opts Options, sessionID string, cp session.Checkpoint) (agent.Event, bool, error) {
	var st orchestrator.State
	if err := json.Unmarshal(cp.Orchestrator, &st); err != nil {
		return agent.Event{}, false, fmt.Errorf("session %s: read checkpoint: %w", sessionID, err)
	}
	if st.Status != agent.StatusSuccess && st.Status != agent.StatusIncomplete {
		return agent.Event{}, false, nil
	}
	ev := orchestrator.Result{Status: st.Status, FinalAnswer: st.FinalAnswer, StopReason: st.StopReason,
		Turns: st.Turns, Replans: st.Replans, Usage: st.Usage, Duration: st.Elapsed}.Event(sessionID)
	cfg, err := loadConfig(&env, opts)
	if err != nil {
		return ev, true, err
	}
	for name, u := range ev.Usage {
		if c, ok := cfg.Price(name, u); ok {
			ev.CostUSD += c
		}
	}
	return ev, true, nil
}
