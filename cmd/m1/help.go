package main

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Help topics are commands without a Run: cobra lists them under
// "Additional help topics", and `m1 help NAME` prints them (as gh does).

func newEnvironmentTopic() *cobra.Command {
	return &cobra.Command{
		Use:   "environment",
		Short: "Environment variables m1 reads",
		Long: `Environment variables m1 reads:

  OPENAI_API_KEY         the key of the model server (a config file may name
                         another variable with ${VAR})
  OPENAI_BASE_URL        an OpenAI-compatible server other than OpenAI's, e.g.
                         http://localhost:11434/v1 for Ollama
  M1_MODEL               the model of every agent when neither --model nor the
                         config names one (default gpt-4o)
  M1_CONFIG              the config file when --config is not given (else
                         $XDG_CONFIG_HOME/m1/config.yaml, ~/.config/m1/...)
  AZURE_OPENAI_API_KEY, AZURE_OPENAI_ENDPOINT, OPENAI_API_VERSION
                         an Azure OpenAI client (provider: azure in the config)
  M1_IMAGE               the container image the ComputerTerminal runs code in
                         (default python:3-slim; --image wins)
  DOCKER_HOST            the Docker engine (and the other DOCKER_* variables
                         the Docker CLI reads)
  XDG_STATE_HOME         where sessions are kept: $XDG_STATE_HOME/m1/sessions
                         (default ~/.local/state/m1/sessions)
  XDG_CONFIG_HOME        where the config file is looked for (see M1_CONFIG)
  NO_COLOR               any value turns colour off
  TMPDIR                 where the browser keeps its temporary profile

Known secrets (the API keys above) are redacted from every event, transcript
and checkpoint m1 writes.`,
	}
}

func newExitCodesTopic() *cobra.Command {
	return &cobra.Command{
		Use:   "exit-codes",
		Short: "What m1's exit status means",
		Long: `m1's exit status:

  0    the run succeeded (or the command did what it was asked)
  1    the run failed: the model server, Docker or Chrome broke, or the
       session's transcript could not be written
  2    a usage or configuration error: a bad flag or argument, a mistyped
       command, no task, no API key, a session that cannot be resumed or is
       in use; nothing was sent to a model
  3    stopped by a limit (--max-turns, --max-replans, --max-tokens,
       --timeout) with a best-effort answer; m1 resume goes on
  130  interrupted (Ctrl-C, SIGTERM, SIGHUP, or its output closed) after
       stopping and saving the session; m1 resume goes on

With --json, the last line's "status" says the same: success, incomplete,
error or cancelled.`,
	}
}

// newHelpCmd replaces cobra's help command, which prints the root help and
// exits 0 for a topic it does not know: here that is a usage error with a
// suggestion.
func newHelpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command | topic]",
		Short: "Help about any command or topic",
		Long:  "Help prints the help of any command or topic: m1 help resume, m1 help environment.",
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			target, _, err := c.Root().Find(args)
			if err != nil || target == nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var out []cobra.Completion
			for _, sub := range target.Commands() {
				if !sub.Hidden && strings.HasPrefix(sub.Name(), toComplete) {
					out = append(out, cobra.CompletionWithDesc(sub.Name(), sub.Short))
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			root := c.Root()
			target, rest, err := root.Find(args)
			if len(args) > 0 && (err != nil || target == nil || len(rest) > 0 || target == root) {
				unknown := args[len(args)-len(rest)]
				if len(rest) == 0 {
					unknown = args[0]
				}
				parent := root
				if target != nil {
					parent = target
				}
				hint := "see m1 --help for the commands and topics"
				if s := closest(unknown, commandNames(parent)); s != "" {
					hint = fmt.Sprintf("did you mean %q?", s)
				}
				return usagef("unknown help topic %q: %s", strings.Join(args, " "), hint)
			}
			if target == nil {
				target = root
			}
			target.InitDefaultHelpFlag()
			target.InitDefaultVersionFlag()
			return target.Help()
		},
	}
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print m1's version",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			fmt.Fprintf(c.OutOrStdout(), "m1 version %s\n", c.Root().Version)
			return nil
		},
	}
}

// buildVersion is m1's version: the one the build set with -ldflags, else
// the module version `go install module@version` records, else "dev" with
// the commit and its date that `go build` in a checkout records, and
// whether the checkout had changes.
func buildVersion(set string, bi *debug.BuildInfo, ok bool) string {
	if set != "" && set != "dev" {
		return set
	}
	if !ok || bi == nil {
		return "dev"
	}
	// A pseudo-version (v0.0.0-2026...-abcdef) says no more than the VCS
	// settings below, and less clearly.
	if v := bi.Main.Version; v != "" && v != "(devel)" && !strings.HasPrefix(v, "v0.0.0-") {
		return v
	}
	var rev, when string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	var parts []string
	parts = append(parts, "commit "+rev)
	if len(when) >= 10 {
		parts = append(parts, when[:10])
	}
	if modified {
		parts = append(parts, "with uncommitted changes")
	}
	return "dev (" + strings.Join(parts, ", ") + ")"
}
