package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/m1-project/m1/config"
	"github.com/m1-project/m1/mcp/serve"
	"github.com/m1-project/m1/runner"
)

// mcpRunFlags are the run's flags `m1 mcp` takes: they set the runs its
// clients start. Flags about a person at the terminal (--hil, --approve)
// and about printing (--json) do not apply.
func mcpRunFlags() []string {
	return []string{"config", "model", "cache", "request-timeout", "max-turns", "max-stalls", "max-replans", "max-tokens",
		"timeout", "work-dir", "agents", "executor", "image", "no-network", "code-timeout", "memory", "cpus", "pids",
		"browser-path", "cdp", "search-engine", "allow-domains", "block-domains", "allow-path", "viewport", "yes"}
}

func newMCPCmd(f *factory) *cobra.Command {
	opts := newRunFlags()
	var addr string
	cmd := &cobra.Command{
		Use:   "mcp [flags]",
		Short: "Serve m1 to other agents as an MCP server (tools run_task, resume_session, read_file)",
		Long: `Serve m1 over the Model Context Protocol, on stdin and stdout (or with --http
on a loopback address), so another agent — Claude Desktop, Codex, Gemini CLI,
an IDE — can hand it whole tasks. Tools:

  run_task        run a full m1 session; returns the final answer, status and
                  session id, with a progress notification per turn; cancel
                  the call to stop the run
  resume_session  continue a session, or give it a follow-up request
  read_file       a file as markdown, as the FileSurfer reads it (m1 read)

The run flags below set every run; a call may change the team, the limits and
the work dir (a folder inside --work-dir or an --allow-path). Nobody answers
at m1's terminal: actions that need approval are refused unless --yes.`,
		Example: `  m1 mcp                                  # stdio; see the README for client configs
  m1 mcp --http 127.0.0.1:8765            # streamable HTTP at http://127.0.0.1:8765/mcp
  m1 mcp --agents coder,terminal --executor docker --work-dir ~/scratch`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMCP(cmd.Context(), f, opts, addr)
		},
	}
	run := &cobra.Command{}
	opts.addFlags(run)
	for _, name := range mcpRunFlags() {
		cmd.Flags().AddFlag(run.Flags().Lookup(name))
	}
	cmd.Flags().StringVar(&addr, "http", "", "serve streamable HTTP on this loopback `ADDR` (e.g. 127.0.0.1:8765) instead of stdio")
	return cmd
}

// runMCP checks the settings once, so a mistake shows when the client
// starts m1 rather than at its first call, then serves.
func runMCP(ctx context.Context, f *factory, opts *runFlags, addr string) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	cfg, err := config.Load(opts.Config, f.getenv)
	if err != nil {
		return usageError{err}
	}
	if err := runner.ValidateAgents(opts.Agents, cfg.ServerNames()...); err != nil {
		return err
	}
	srv := serve.New(serve.Options{Run: opts.Options, Getenv: f.getenv, Version: version, Stderr: f.io.Err})
	if addr == "" {
		return srv.ServeStdio(ctx, io.NopCloser(f.io.In), nopWriteCloser{f.io.Out})
	}
	l, err := serve.ListenHTTP(addr)
	if err != nil {
		return usageError{err}
	}
	fmt.Fprintf(f.io.Err, "m1 mcp: serving MCP (streamable HTTP) at http://%s%s\n", l.Addr(), serve.Path)
	return srv.ServeStreamable(ctx, l)
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// validateTeam checks --agents against the config's MCP servers. Without
// a usable config the names cannot be told apart, and the config's own
// check fails anyway.
func validateTeam(agents []string, cfg *config.Config) error {
	if cfg == nil && len(agents) > 0 {
		return nil
	}
	var servers []string
	if cfg != nil {
		servers = cfg.ServerNames()
	}
	return runner.ValidateAgents(agents, servers...)
}
