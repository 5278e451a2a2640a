package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/m1-project/m1/runner"
	"github.com/m1-project/m1/session"
)

func newResumeCmd(f *factory) *cobra.Command {
	var last, asJSON, otelContent bool
	given := runner.DefaultOptions()
	cmd := &cobra.Command{
		Use:   "resume [SESSION_ID | --last] [\"follow-up\"]",
		Short: "Continue a session from its last checkpoint, or give it a follow-up request",
		Long: `Continue a session from its last checkpoint with its facts, plan, thread and
counters restored. Without follow-up text it goes on with the original task
(after an interrupt, a crash or a limit); with it, the follow-up becomes the
next request in the same context.

The session keeps the settings it was started with; the flags given here
change them from now on. Limits given here count from the resume. Only one m1
at a time can work on a session.`,
		Example: `  m1 resume --last
  m1 resume 20261121-193012-ab12cd --max-turns 10
  m1 resume --last --model gpt-4o-mini --executor local --yes
  m1 resume --last "now do the same for 2023"`,
		Args:              cobra.ArbitraryArgs,
		ValidArgsFunction: completeSessions(f, true),
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
					return usagef("name the session to resume (see m1 sessions) or pass --last\nusage: %s", cmd.UseLine())
				}
				id, args = args[0], args[1:]
			}
			followUp := strings.TrimSpace(strings.Join(args, " "))
			// Settings given to resume win over the saved ones.
			adjust := func(o *runner.Options) error {
				fl := cmd.Flags()
				set := func(name string, apply func()) {
					if fl.Changed(name) {
						apply()
					}
				}
				set("max-turns", func() { o.MaxTurns = given.MaxTurns })
				set("max-stalls", func() { o.MaxStalls = given.MaxStalls })
				set("max-replans", func() { o.MaxReplans = given.MaxReplans })
				set("max-tokens", func() { o.MaxTokens = given.MaxTokens })
				set("timeout", func() { o.Timeout = given.Timeout })
				set("model", func() { o.Model = given.Model })
				set("no-stream", func() { o.NoStream = given.NoStream })
				set("request-timeout", func() { o.RequestTimeout = given.RequestTimeout })
				set("executor", func() { o.Team.Executor = given.Team.Executor })
				set("hil", func() { o.Team.HIL = given.Team.HIL })
				set("approve", func() { o.Team.Approve = given.Team.Approve })
				set("yes", func() { o.Team.Yes = given.Team.Yes })
				return nil
			}
			env, done := runEnv(f, asJSON, otelContent)
			out, err := runner.Resume(cmd.Context(), env, id, followUp, adjust)
			done()
			return finish(f, out, err, asJSON)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&last, "last", false, "resume the newest session")
	fl.BoolVar(&asJSON, "json", false, "write the run as JSON lines on stdout")
	addOTelFlag(cmd, &otelContent)
	addLimitFlags(cmd, &given)
	fl.StringVar(&given.Model, "model", "", "model name for every agent from now on")
	fl.BoolVar(&given.NoStream, "no-stream", false, "do not stream tokens to the console")
	fl.Var(optionalDuration{&given.RequestTimeout, 0}, "request-timeout", "how long one model call may wait before it is retried from now on")
	fl.Lookup("request-timeout").DefValue = "0" // the session's own unless given
	fl.StringVar(&given.Team.Executor, "executor", given.Team.Executor, "where the ComputerTerminal runs code from now on: docker or local")
	fl.BoolVar(&given.Team.HIL, "hil", false, "bring yourself into the team from now on (answers are read from stdin)")
	fl.BoolVar(&given.Team.Approve, "approve", false, "ask before each code run and each browser action with side effects")
	fl.BoolVar(&given.Team.Yes, "yes", false, "approve every action without asking")
	return cmd
}
