package runner

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/config"
	"github.com/m1-project/m1/mcp"
	"github.com/m1-project/m1/session"
	"github.com/m1-project/m1/telemetry"
)

// mcpServers lists the configured MCP servers the team includes: all of
// them with AgentMCP in --agents, else those it names.
func mcpServers(opts Options, cfg *config.Config) []config.MCPServer {
	var out []config.MCPServer
	for _, s := range cfg.Servers() {
		if opts.Has(AgentMCP) || opts.NamesServer(s.Name) {
			out = append(out, s)
		}
	}
	return out
}

// buildMCP starts the team's MCP servers side by side and makes each an
// agent. A server --agents names itself must start, or the run fails
// before it begins; one included only through AgentMCP that cannot start
// is reported as a warning and left out, so a broken server in the config
// does not stop every run.
func buildMCP(ctx context.Context, env *Env, opts Options, cfg *config.Config, sess *session.Session, hum *humanIO, emit func(agent.Event), tel *telemetry.Provider) ([]agent.Agent, error) {
	servers := mcpServers(opts, cfg)
	started := make([]*mcp.Server, len(servers))
	errs := make([]error, len(servers))
	var wg sync.WaitGroup
	for i, s := range servers {
		wg.Go(func() { started[i], errs[i] = mcp.Connect(ctx, s, env.Getenv, s.StartTimeout()) })
	}
	wg.Wait()
	var team []agent.Agent
	var failed error
	for i, s := range servers {
		if errs[i] != nil {
			if opts.NamesServer(s.Name) && failed == nil {
				failed = fmt.Errorf("%w (m1 doctor starts each MCP server and shows what fails)", errs[i])
			}
			ev := agent.NewEvent(agent.EventWarning, s.Name)
			ev.Content = fmt.Sprintf("%v; the run goes on without %s", errs[i], s.Name)
			if failed == nil {
				emit(ev)
			}
			continue
		}
		// Each agent gets its own client, so a retried model call is
		// reported under the agent's name.
		name := s.Name
		c, err := newClient(cfg, "client", opts, func(e agent.Event) {
			if e.Source == "" {
				e.Source = name
			}
			emit(e)
		}, nil)
		if err != nil {
			if failed == nil {
				failed = err
			}
		} else {
			c = traceClient(tel, c, cfg, "client", name)
		}
		team = append(team, mcp.New(started[i], c,
			mcp.WithCallTimeout(s.CallTimeout()),
			mcp.WithApprover(hum.approvals(opts)),
			mcp.WithImageDir(filepath.Join(sess.Dir, "images"))))
	}
	if failed != nil {
		for i := range started {
			if started[i] != nil {
				started[i].Close()
			}
		}
		return nil, failed
	}
	return team, nil
}

// price is the cost of usage u by the agent called name: a built-in
// agent's by its role's client, an MCP agent's by the default client.
func price(cfg *config.Config, name string, u agent.Usage) (float64, bool) {
	if c, ok := cfg.Price(name, u); ok {
		return c, true
	}
	if _, ok := cfg.Server(name); ok {
		return cfg.MCPPrice(u)
	}
	return 0, false
}
