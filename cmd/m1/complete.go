package main

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/m1-project/m1/console"
	"github.com/m1-project/m1/runner"
	"github.com/m1-project/m1/session"
)

// completeSessions completes session ids, newest first, each with its
// status and task as the description. With first set, only the first
// argument is a session id (show, resume); otherwise every one is
// (sessions rm), and those already given are left out.
func completeSessions(f *factory, first bool) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if first && len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		root, err := session.Root(f.getenv)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		all, err := session.List(root)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		var out []cobra.Completion
		for _, m := range all {
			if strings.HasPrefix(m.ID, toComplete) && !slices.Contains(args, m.ID) {
				out = append(out, cobra.CompletionWithDesc(m.ID, console.Clean(m.Status+": "+oneLine(m.Task, 50))))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
	}
}

// completeList completes a comma-separated list of names, such as
// --agents coder,terminal: the names not yet in the list, after what was
// typed up to the last comma.
func completeList(names []string) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		done, last := "", toComplete
		if i := strings.LastIndex(toComplete, ","); i >= 0 {
			done, last = toComplete[:i+1], toComplete[i+1:]
		}
		have := strings.Split(done, ",")
		var out []cobra.Completion
		for _, n := range names {
			if strings.HasPrefix(n, last) && !slices.Contains(have, n) {
				out = append(out, done+n)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
}

// completeFlagValues registers the completion of flag values wherever a
// command has the flag: doctor shares the run's --agents and --executor.
func completeFlagValues(c *cobra.Command) {
	for _, sub := range c.Commands() {
		completeFlagValues(sub)
	}
	values := map[string]cobra.CompletionFunc{
		"agents":   completeList(runner.DefaultAgents()),
		"executor": cobra.FixedCompletions([]string{runner.ExecutorDocker, runner.ExecutorLocal}, cobra.ShellCompDirectiveNoFileComp),
	}
	for name, fn := range values {
		if c.LocalFlags().Lookup(name) != nil {
			c.RegisterFlagCompletionFunc(name, fn)
		}
	}
}

// shellRequired makes `m1 completion` without a shell, or with a mistyped
// one (`m1 completion bsh`), a usage error that names the shells, as any
// other command's mistake is, instead of cobra's help and exit 0 (which a
// script sourcing the output would take for a completion script).
func shellRequired(root *cobra.Command) {
	c, _, err := root.Find([]string{"completion"})
	if err != nil || c == root {
		return
	}
	c.RunE = func(c *cobra.Command, args []string) error {
		return usagef("name the shell: m1 completion bash|zsh|fish|powershell (see m1 completion --help)")
	}
}
