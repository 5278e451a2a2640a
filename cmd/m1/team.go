package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/coder"
	"github.com/m1-project/m1/config"
	"github.com/m1-project/m1/human"
	"github.com/m1-project/m1/model"
	"github.com/m1-project/m1/session"
	"github.com/m1-project/m1/surfers/file"
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
	AllowPaths []string      `json:"allow_paths,omitempty"`
	Viewport   int           `json:"viewport,omitempty"`
	HIL        bool          `json:"hil,omitempty"`
	HILTimeout time.Duration `json:"hil_timeout,omitempty"`
	Approve    bool          `json:"approve,omitempty"`
	Yes        bool          `json:"yes,omitempty"`
}

func (t *teamOptions) addFlags(cmd *cobra.Command) {
	fl := cmd.Flags()
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

func newClient(cfg *config.Config, role string, opts *runOptions) (model.Client, error) {
	ep, err := cfg.Endpoint(role)
	if err != nil {
		return nil, err
	}
	if opts.Model != "" {
		ep.Model = opts.Model
	}
	var mo []model.Option
	if opts.Cache != "" {
		mo = append(mo, model.WithCache(opts.Cache))
	}
	c, err := model.New(ep, mo...)
	if err != nil {
		return nil, fmt.Errorf("%s model: %w", role, err)
	}
	return c, nil
}

// buildTeam makes the agents named by --agents, in a fixed order.
func buildTeam(ctx context.Context, f *factory, opts *runOptions, cfg *config.Config, sess *session.Session, hum *humanIO, emit func(agent.Event)) ([]agent.Agent, error) {
	var team []agent.Agent
	if slices.Contains(opts.Agents, agentCoder) {
		c, err := newClient(cfg, config.RoleCoder, opts)
		if err != nil {
			return nil, err
		}
		team = append(team, coder.New(c, coder.WithStreaming(!opts.NoStream && !opts.JSON)))
	}
	if slices.Contains(opts.Agents, agentFile) {
		c, err := newClient(cfg, config.RoleFileSurfer, opts)
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

// isSetupError reports errors of the machine's setup (no Docker, no
// browser) that exit 2 like a configuration error.
func isSetupError(err error) bool { return false }
