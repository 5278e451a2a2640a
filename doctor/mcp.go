package doctor

import (
	"context"
	"fmt"

	"github.com/m1-project/m1/config"
	"github.com/m1-project/m1/console"
	"github.com/m1-project/m1/mcp"
	"github.com/m1-project/m1/runner"
)

// mcpChecks starts each MCP server the team includes, lists its tools and
// ends it again: one line a server. Servers --agents leaves out are
// skipped; without servers there is no line.
func mcpChecks(ctx context.Context, cfg *config.Config, agents []string, getenv func(string) string) []Check {
	if cfg == nil || len(cfg.Servers()) == 0 {
		return nil
	}
	teamOpts := runner.Options{Agents: agents}
	var team []config.MCPServer
	var out []Check
	for _, s := range cfg.Servers() {
		if teamOpts.Has(runner.AgentMCP) || teamOpts.NamesServer(s.Name) {
			team = append(team, s)
		}
	}
	results := mcp.Check(ctx, team, getenv)
	// MCP agents think with the config's default client and act only
	// through tool calls.
	toolless := ""
	if ep, err := cfg.Endpoint("client"); err == nil && !ep.Info.FunctionCalling {
		toolless = ep.Model
	}
	for _, r := range results {
		// What the server says of itself (its name, its tools, its
		// stderr) is shown only through the console's sanitiser.
		c := Check{Name: "mcp " + r.Name, Status: StatusOK, Message: console.Clean(r.Summary())}
		s, _ := cfg.Server(r.Name)
		switch {
		case r.Err != nil:
			c.Status, c.Message = StatusFail, console.Clean(r.Err.Error())
			c.Hint = mcpHint(cfg, s)
		case len(r.Tools) == 0:
			c.Status, c.Hint = StatusWarn, "the server offers no tools, so its agent can do nothing"
		case toolless != "":
			c.Status = StatusWarn
			c.Hint = fmt.Sprintf("the model %s makes no function calls (model_info.function_calling), and MCP agents act only through them", toolless)
		}
		out = append(out, c)
	}
	for _, s := range cfg.Servers() {
		if !teamOpts.Has(runner.AgentMCP) && !teamOpts.NamesServer(s.Name) {
			out = append(out, Check{Name: "mcp " + s.Name, Status: StatusSkip, Message: "skipped: not in --agents"})
		}
	}
	return out
}

// mcpHint says where to look when a server does not start.
func mcpHint(cfg *config.Config, s config.MCPServer) string {
	where := "mcp_servers." + s.Name
	if cfg.Path != "" {
		where += " in " + cfg.Path
	}
	if s.Transport() == config.MCPHTTP {
		return "check url and headers of " + where + ", and that the server is up"
	}
	return "check command, args and env of " + where + "; run the command by hand to see what it prints"
}
