package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/coder"
	"github.com/m1-project/m1/config"
	"github.com/m1-project/m1/human"
	"github.com/m1-project/m1/model"
	"github.com/m1-project/m1/session"
	"github.com/m1-project/m1/surfers/file"
	"github.com/m1-project/m1/surfers/web"
	"github.com/m1-project/m1/terminal"
)

// Short names of the agents for --agents.
const (
	agentCoder    = "coder"
	agentTerminal = "terminal"
	agentWeb      = "web"
	agentFile     = "file"
)

func allAgents() []string { return []string{agentCoder, agentTerminal, agentWeb, agentFile} }

func defaultAgents() []string { return allAgents() }

func validateAgents(names []string) error {
	if len(names) == 0 {
		return usagef("--agents is empty: name at least one of %s", strings.Join(allAgents(), ","))
	}
	for _, n := range names {
		if !slices.Contains(allAgents(), n) {
			return usagef("--agents: unknown agent %q (choose from %s)", n, strings.Join(allAgents(), ","))
		}
	}
	return nil
}

// teamOptions are the flags of the agents themselves and of the human's
// part in the run.
type teamOptions struct {
	Executor     string        `json:"executor"`
	Image        string        `json:"image,omitempty"`
	NoNetwork    bool          `json:"no_network,omitempty"`
	CodeTimeout  time.Duration `json:"code_timeout"`
	Memory       string        `json:"memory,omitempty"`
	CPUs         float64       `json:"cpus,omitempty"`
	Pids         int64         `json:"pids,omitempty"`
	BrowserPath  string        `json:"browser_path,omitempty"`
	CDP          string        `json:"cdp,omitempty"`
	SearchEngine string        `json:"search_engine,omitempty"`
	AllowDomains []string      `json:"allow_domains,omitempty"`
	BlockDomains []string      `json:"block_domains,omitempty"`
	AllowPaths   []string      `json:"allow_paths,omitempty"`
	Viewport     int           `json:"viewport,omitempty"`
	HIL          bool          `json:"hil,omitempty"`
	HILTimeout   time.Duration `json:"hil_timeout,omitempty"`
	Approve      bool          `json:"approve,omitempty"`
	Yes          bool          `json:"yes,omitempty"`
}

func (t *teamOptions) addFlags(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&t.Executor, "executor", executorDocker, "where the ComputerTerminal runs code: docker (a container) or local (this machine, unsandboxed)")
	fl.StringVar(&t.Image, "image", "", "container image for code (default $M1_IMAGE, else python:3-slim; make sandbox-image builds m1-sandbox:latest offline)")
	fl.BoolVar(&t.NoNetwork, "no-network", false, "run code in a container without network")
	fl.DurationVar(&t.CodeTimeout, "code-timeout", 60*time.Second, "time limit of each code run")
	fl.StringVar(&t.Memory, "memory", "2g", "memory limit of the code container")
	fl.Float64Var(&t.CPUs, "cpus", 2, "CPU limit of the code container")
	fl.Int64Var(&t.Pids, "pids", 256, "process-count limit of the code container")
	webDefaults := web.DefaultOptions()
	fl.StringVar(&t.BrowserPath, "browser-path", "", "Chrome or Chromium binary (default: found in PATH)")
	fl.StringVar(&t.CDP, "cdp", "", "attach to a running Chrome at this DevTools `URL` instead of launching one")
	fl.StringVar(&t.SearchEngine, "search-engine", webDefaults.SearchEngine, "web_search URL template; {query} is replaced by the query")
	fl.StringSliceVar(&t.AllowDomains, "allow-domains", nil, "the only domains the browser may visit (comma-separated)")
	fl.StringSliceVar(&t.BlockDomains, "block-domains", nil, "domains the browser must not visit (comma-separated)")
	fl.StringSliceVar(&t.AllowPaths, "allow-path", nil, "a further folder the FileSurfer may read (repeatable; the work dir is always allowed)")
	fl.IntVar(&t.Viewport, "viewport", file.DefaultViewportSize, "characters of a file the FileSurfer shows per page")
	fl.BoolVar(&t.HIL, "hil", false, "bring yourself into the team: the orchestrator may ask you, and you review the plan (answers are read from stdin)")
	fl.DurationVar(&t.HILTimeout, "hil-timeout", 10*time.Minute, "how long to wait for an answer before going on without one (0: no limit)")
	fl.BoolVar(&t.Approve, "approve", false, "ask before each code run and each browser action with side effects (on with --hil)")
	fl.BoolVar(&t.Yes, "yes", false, "approve every action without asking")
}

// humanIO is the person's side of a run: the one input all questions read
// from, and where prompts go.
type humanIO struct {
	in       *human.Input
	prompt   io.Writer
	approver agent.Approver
	review   func(context.Context, string) (string, error)
}

// newHumanIO sets up questions, plan review and approvals from the flags.
// Approvals are asked with --approve or --hil (answers may come through a
// pipe then); otherwise only on a terminal, for actions that always need
// one (code on the host); without a terminal those are refused.
func newHumanIO(f *factory, opts *runOptions, emit func(agent.Event)) *humanIO {
	t := opts.Team
	h := &humanIO{in: human.NewInput(f.io.In, f.io.InTTY, t.HILTimeout)}
	if f.io.InTTY && f.io.ErrTTY {
		h.prompt = f.io.Err
	}
	if t.HIL {
		h.review = human.PlanReviewer(h.in, h.prompt, emit)
	}
	if !t.Yes {
		asked := t.Approve || t.HIL
		h.approver = human.NewApprover(h.in, h.prompt, emit, asked || f.io.InTTY)
	}
	return h
}

// approvals returns the approver for actions that need one only with
// --approve or --hil, or nil.
func (h *humanIO) approvals(opts *runOptions) agent.Approver {
	if opts.Team.Approve || opts.Team.HIL {
		return h.approver
	}
	return nil
}

// newClient makes the model client of role. Each retried call is reported
// through emit, so a slow or failing server does not look like a hang.
func newClient(cfg *config.Config, role string, opts *runOptions, emit func(agent.Event)) (model.Client, error) {
	ep, err := cfg.Endpoint(role)
	if err != nil {
		return nil, err
	}
	// The flag comes after the config's settings, so it wins.
	mo := append(cfg.ModelOptions(role), model.WithOnRetry(func(r model.Retry) {
		ev := agent.NewEvent(agent.EventWarning, roleAgent[role])
		ev.Content = fmt.Sprintf("model call failed (%v); retry %d in %s", r.Err, r.Attempt, r.Wait.Round(time.Millisecond))
		emit(ev)
	}))
	if opts.RequestTimeout > 0 {
		mo = append(mo, model.WithTimeout(opts.RequestTimeout))
	}
	if opts.Cache != "" {
		mo = append(mo, model.WithCache(opts.Cache))
	}
	c, err := model.New(ep, mo...)
	if err != nil {
		return nil, fmt.Errorf("%s model: %w", role, err)
	}
	return c, nil
}

// roleAgent names the agent each config role serves.
var roleAgent = map[string]string{
	config.RoleOrchestrator: agent.OrchestratorName,
	config.RoleCoder:        agent.CoderName,
	config.RoleWebSurfer:    agent.WebSurferName,
	config.RoleFileSurfer:   agent.FileSurferName,
}

// buildTeam makes the agents named by --agents, in a fixed order.
func buildTeam(ctx context.Context, f *factory, opts *runOptions, cfg *config.Config, sess *session.Session, hum *humanIO, emit func(agent.Event)) ([]agent.Agent, error) {
	var team []agent.Agent
	if slices.Contains(opts.Agents, agentCoder) {
		c, err := newClient(cfg, config.RoleCoder, opts, emit)
		if err != nil {
			return nil, err
		}
		team = append(team, coder.New(c, coder.WithStreaming(!opts.NoStream && !opts.JSON)))
	}
	if slices.Contains(opts.Agents, agentTerminal) {
		exec, err := newExecutor(ctx, f, opts, sess, emit)
		if err != nil {
			return nil, err
		}
		approver := hum.approvals(opts)
		if opts.Team.Executor == executorLocal && !opts.Team.Yes {
			// Code on the host is always asked for.
			approver = hum.approver
		}
		team = append(team, terminal.New(exec, terminal.WithApprover(approver), terminal.WithTimeout(opts.Team.CodeTimeout)))
	}
	if slices.Contains(opts.Agents, agentWeb) {
		c, err := newClient(cfg, config.RoleWebSurfer, opts, emit)
		if err != nil {
			return nil, err
		}
		team = append(team, web.New(c,
			web.WithBrowserPath(opts.Team.BrowserPath), web.WithCDP(opts.Team.CDP),
			web.WithSearchEngine(opts.Team.SearchEngine),
			web.WithAllowDomains(opts.Team.AllowDomains...), web.WithBlockDomains(opts.Team.BlockDomains...),
			web.WithScreenshotDir(filepath.Join(sess.Dir, "screenshots")),
			web.WithDownloadDir(filepath.Join(opts.WorkDir, "downloads")),
			web.WithApprover(hum.approvals(opts))))
	}
	if slices.Contains(opts.Agents, agentFile) {
		c, err := newClient(cfg, config.RoleFileSurfer, opts, emit)
		if err != nil {
			return nil, err
		}
		team = append(team, file.New(c, file.WithWorkDir(opts.WorkDir), file.WithAllowPaths(opts.Team.AllowPaths...),
			file.WithViewportSize(opts.Team.Viewport)))
	}
	if opts.Team.HIL {
		team = append(team, human.NewUser(hum.in, hum.prompt))
	}
	return team, nil
}

// Executors of the ComputerTerminal.
const (
	executorDocker = "docker"
	executorLocal  = "local"
)

// newExecutor prepares where code runs. The Docker executor is checked
// before the run starts — daemon reachable, image present or pulled — so a
// run never fails half-way for want of it; its container starts lazily.
func newExecutor(ctx context.Context, f *factory, opts *runOptions, sess *session.Session, emit func(agent.Event)) (terminal.Executor, error) {
	t := opts.Team
	switch t.Executor {
	case executorLocal:
		ev := agent.NewEvent(agent.EventWarning, agent.ComputerTerminalName)
		ev.Content = "--executor local: code runs on this machine, unsandboxed, in " + opts.WorkDir
		emit(ev)
		return terminal.NewLocal(opts.WorkDir)
	case executorDocker:
	default:
		return nil, usagef("--executor %q: choose docker or local", t.Executor)
	}
	image := t.Image
	if image == "" {
		image = f.getenv("M1_IMAGE")
	}
	do := []terminal.DockerOption{terminal.WithWorkDir(opts.WorkDir), terminal.WithNetwork(!t.NoNetwork),
		terminal.WithSessionID(sess.ID), terminal.WithCPUs(t.CPUs), terminal.WithPidsLimit(t.Pids)}
	if image != "" {
		do = append(do, terminal.WithImage(image))
	}
	if t.Memory != "" {
		n, err := units.RAMInBytes(t.Memory)
		if err != nil {
			return nil, usagef("--memory %q: %v (use e.g. 512m or 2g)", t.Memory, err)
		}
		do = append(do, terminal.WithMemory(n))
	}
	if !opts.JSON {
		do = append(do, terminal.WithProgress(f.io.Err))
	}
	d, err := terminal.NewDocker(do...)
	if err != nil {
		return nil, err
	}
	// Containers left by an m1 that was killed (kill -9) go first.
	_, _ = d.CleanupStale(ctx)
	if err := d.Preflight(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// isSetupError reports errors of the machine's setup (no Docker daemon, no
// image) that exit 2 like a configuration error.
func isSetupError(err error) bool {
	return errors.Is(err, terminal.ErrDockerUnavailable) || errors.Is(err, terminal.ErrImageUnavailable)
}
