package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/m1-project/m1/runner"
	"github.com/m1-project/m1/session"
)

func newResumeCmd(f *factory) *cobra.Command {
	var last, asJSON bool
	limits := runner.DefaultOptions()
	cmd := &cobra.Command{
		Use:   "resume [SESSION_ID | --last] [\"follow-up\"]",
		Short: "Continue a session from its last checkpoint, or give it a follow-up request",
		Long: `Continue a session from its last checkpoint with its facts, plan, thread and
counters restored. Without follow-up text it goes on with the original task
(after an interrupt, a crash or a limit); with it, the follow-up becomes the
next request in the same context. Limits given here count from the resume.`,
		Example: `  m1 resume --last
  m1 resume 20261121-193012-ab12cd --max-turns 10
  m1 resume --last "now do the same for 2023"`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var id string
			if last {
				root, err := session.Root(f.getenv)
				if err != nil {
					return err
				}
				if id, err = session.Last(root); err != nil {
					return usageError{err}
				}
			} else {
				if len(args) == 0 {
					return usagef("name the session to resume (see m1 sessions) or pass --last")
				}
				id, args = args[0], args[1:]
			}
			followUp := strings.TrimSpace(strings.Join(args, " "))
			// Limits given to resume win over the saved ones.
			adjust := func(o *runner.Options) error {
				fl := cmd.Flags()
				if fl.Changed("max-turns") {
					o.MaxTurns = limits.MaxTurns
				}
				if fl.Changed("max-stalls") {
					o.MaxStalls = limits.MaxStalls
				}
				if fl.Changed("max-replans") {
					o.MaxReplans = limits.MaxReplans
				}
				if fl.Changed("max-tokens") {
					o.MaxTokens = limits.MaxTokens
				}
				if fl.Changed("timeout") {
					o.Timeout = limits.Timeout
				}
				return nil
			}
			env, done := runEnv(f, asJSON)
			out, err := runner.Resume(cmd.Context(), env, id, followUp, adjust)
			done()
			return finish(f, out, err, asJSON)
		},
	}
	cmd.Flags().BoolVar(&last, "last", false, "resume the newest session")
	cmd.Flags().BoolVar(&asJSON, "json", false, "write the run as JSON lines on stdout")
	addLimitFlags(cmd, &limits)
	return cmd
}
