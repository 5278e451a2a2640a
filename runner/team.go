package runner

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	units "github.com/docker/go-units"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/coder"
	"github.com/m1-project/m1/config"
	"github.com/m1-project/m1/human"
	"github.com/m1-project/m1/model"
	"github.com/m1-project/m1/session"
	"github.com/m1-project/m1/surfers/file"
	"github.com/m1-project/m1/surfers/web"
	"github.com/m1-project/m1/telemetry"
	"github.com/m1-project/m1/terminal"
)

// humanIO is the person's side of a run: the one input all questions read
// from, and where prompts go.
type humanIO struct {
	in       *human.Input
	prompt   io.Writer
	approver agent.Approver
	review   func(context.Context, string) (string, error)
}

// newHumanIO sets up questions, plan review and approvals from the
// settings. Approvals are asked with --approve or --hil (answers may come
// through a pipe then); otherwise only on a terminal, for actions that
// always need one (code on the host); without a terminal those are refused.
func newHumanIO(p *Person, opts Options, emit func(agent.Event)) *humanIO {
	if p == nil {
		p = &Person{In: strings.NewReader("")}
	}
	t := opts.Team
	h := &humanIO{in: human.NewInput(p.In, p.InTTY, t.HILTimeout), prompt: p.Prompt}
	if t.HIL {
		h.review = human.PlanReviewer(h.in, h.prompt, emit)
	}
	if !t.Yes {
		asked := t.Approve || t.HIL
		h.approver = human.NewApprover(h.in, h.prompt, emit, asked || p.InTTY)
	}
	return h
}

// approvals returns the approver for actions that need one only with
// --approve or --hil, or nil.
func (h *humanIO) approvals(opts Options) agent.Approver {
	if opts.Team.Approve || opts.Team.HIL {
		return h.approver
	}
	return nil
}

// newClient makes the model client of role. Each retried call is reported
// through emit, so a slow or failing server does not look like a hang.
func newClient(cfg *config.Config, role string, opts Options, emit func(agent.Event), tel *telemetry.Provider) (model.Client, error) {
	ep, err := cfg.Endpoint(role)
	if err != nil {
		return nil, err
	}
	// The flag comes after the config's settings, so it wins.
	mo := append(cfg.ModelOptions(role), model.EventOptions(roleAgent[role], emit)...)
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
	return traceClient(tel, c, cfg, role, roleAgent[role]), nil
}

// traceClient wraps c, role's client serving the agent called name, so
// that its calls are spans and metrics; with telemetry off it returns c.
func traceClient(tel *telemetry.Provider, c model.Client, cfg *config.Config, role, name string) model.Client {
	if tel == nil {
		return c
	}
	ep, _ := cfg.Endpoint(role)
	return tel.Client(c, telemetry.ClientInfo{Agent: name, Provider: ep.Provider, BaseURL: cmp.Or(ep.BaseURL, model.DefaultBaseURL),
		Price: func(u agent.Usage) (float64, bool) { return price(cfg, name, u) }})
}

// roleAgent names the agent each config role serves.
var roleAgent = map[string]string{
	config.RoleOrchestrator: agent.OrchestratorName,
	config.RoleCoder:        agent.CoderName,
	config.RoleWebSurfer:    agent.WebSurferName,
	config.RoleFileSurfer:   agent.FileSurferName,
}

// buildTeam makes the agents opts names, in a fixed order.
func buildTeam(ctx context.Context, env *Env, opts Options, cfg *config.Config, sess *session.Session, hum *humanIO, emit func(agent.Event), tel *telemetry.Provider) ([]agent.Agent, error) {
	var team []agent.Agent
	if opts.Has(AgentCoder) {
		c, err := newClient(cfg, config.RoleCoder, opts, emit, tel)
		if err != nil {
			return nil, err
		}
		team = append(team, coder.New(c, coder.WithStreaming(!opts.NoStream && env.Deltas)))
	}
	if opts.Has(AgentTerminal) {
		exec, err := newExecutor(ctx, env, opts, sess, emit)
		if err != nil {
			return nil, err
		}
		approver := hum.approvals(opts)
		if opts.Team.Executor == ExecutorLocal && !opts.Team.Yes {
			// Code on the host is always asked for.
			approver = hum.approver
		}
		team = append(team, terminal.New(exec, terminal.WithApprover(approver), terminal.WithTimeout(opts.Team.CodeTimeout)))
	}
	if opts.Has(AgentWeb) {
		c, err := newClient(cfg, config.RoleWebSurfer, opts, emit, tel)
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
	if opts.Has(AgentFile) {
		c, err := newClient(cfg, config.RoleFileSurfer, opts, emit, tel)
		if err != nil {
			return nil, err
		}
		team = append(team, file.New(c, file.WithWorkDir(opts.WorkDir), file.WithAllowPaths(opts.Team.AllowPaths...),
			file.WithViewportSize(opts.Team.Viewport)))
	}
	servers, err := buildMCP(ctx, env, opts, cfg, sess, hum, emit, tel)
	if err != nil {
		closeTeam(team, env)
		return nil, err
	}
	team = append(team, servers...)
	if opts.Team.HIL {
		team = append(team, human.NewUser(hum.in, hum.prompt))
	}
	if len(team) == 0 {
		return nil, Usagef("--agents %s leaves no agent on the team (no MCP server is configured or could start)", strings.Join(opts.Agents, ","))
	}
	return team, nil
}

// newExecutor prepares where code runs. The Docker executor is checked
// before the run starts — daemon reachable, image present or pulled — so a
// run never fails half-way for want of it; its container starts lazily.
func newExecutor(ctx context.Context, env *Env, opts Options, sess *session.Session, emit func(agent.Event)) (terminal.Executor, error) {
	t := opts.Team
	switch t.Executor {
	case ExecutorLocal:
		ev := agent.NewEvent(agent.EventWarning, agent.ComputerTerminalName)
		ev.Content = "--executor local: code runs on this machine, unsandboxed, in " + opts.WorkDir
		emit(ev)
		return terminal.NewLocal(opts.WorkDir)
	case ExecutorDocker:
	default:
		return nil, ValidateExecutor(t.Executor)
	}
	image := t.Image
	if image == "" {
		image = env.getenv("M1_IMAGE")
	}
	do := []terminal.DockerOption{terminal.WithWorkDir(opts.WorkDir), terminal.WithNetwork(!t.NoNetwork),
		terminal.WithSessionID(sess.ID), terminal.WithCPUs(t.CPUs), terminal.WithPidsLimit(t.Pids)}
	if image != "" {
		do = append(do, terminal.WithImage(image))
	}
	if t.Memory != "" {
		n, err := units.RAMInBytes(t.Memory)
		if err != nil {
			return nil, Usagef("--memory %q: %v (use e.g. 512m or 2g)", t.Memory, err)
		}
		do = append(do, terminal.WithMemory(n))
	}
	if env.Progress != nil {
		do = append(do, terminal.WithProgress(env.Progress))
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
