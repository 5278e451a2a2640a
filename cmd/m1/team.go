package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/coder"
	"github.com/m1-project/m1/config"
	"github.com/m1-project/m1/model"
	"github.com/m1-project/m1/session"
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

// teamOptions are the flags of the agents themselves.
type teamOptions struct{}

func (t *teamOptions) addFlags(cmd *cobra.Command) {}

// planReviewer returns the plan review hook, or nil without --hil.
func (t *teamOptions) planReviewer(f *factory, emit func(agent.Event)) func(context.Context, string) (string, error) {
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
func buildTeam(ctx context.Context, f *factory, opts *runOptions, cfg *config.Config, sess *session.Session, emit func(agent.Event)) ([]agent.Agent, error) {
	var team []agent.Agent
	if slices.Contains(opts.Agents, agentCoder) {
		c, err := newClient(cfg, config.RoleCoder, opts)
		if err != nil {
			return nil, err
		}
		team = append(team, coder.New(c, coder.WithStreaming(!opts.NoStream && !opts.JSON)))
	}
	return team, nil
}

// isSetupError reports errors of the machine's setup (no Docker, no
// browser) that exit 2 like a configuration error.
func isSetupError(err error) bool { return false }
