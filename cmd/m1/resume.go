package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/config"
	"github.com/m1-project/m1/orchestrator"
	"github.com/m1-project/m1/session"
)

func newResumeCmd(f *factory) *cobra.Command {
	var last, asJSON bool
	limits := &runOptions{}
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
			root, err := session.Root(f.getenv)
			if err != nil {
				return err
			}
			var id string
			if last {
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
			return resumeSession(cmd.Context(), f, cmd, root, id, followUp, limits, asJSON)
		},
	}
	cmd.Flags().BoolVar(&last, "last", false, "resume the newest session")
	cmd.Flags().BoolVar(&asJSON, "json", false, "write the run as JSON lines on stdout")
	limits.addLimitFlags(cmd)
	return cmd
}

func resumeSession(ctx context.Context, f *factory, cmd *cobra.Command, root, id, followUp string, limits *runOptions, asJSON bool) error {
	sess, err := session.Open(root, id)
	if err != nil {
		return usageError{err}
	}
	cp, err := sess.LoadCheckpoint()
	if err != nil {
		sess.Close()
		return usageError{err}
	}
	var st orchestrator.State
	if err := json.Unmarshal(cp.Orchestrator, &st); err != nil {
		sess.Close()
		return fmt.Errorf("session %s: read checkpoint: %w", sess.ID, err)
	}
	if st.Done && followUp == "" {
		sess.Close()
		return usagef("session %s is already finished; give a follow-up request to continue it: m1 resume %s \"...\"", sess.ID, sess.ID)
	}
	opts := defaultRunOptions()
	if len(cp.Settings) > 0 {
		if err := json.Unmarshal(cp.Settings, opts); err != nil {
			sess.Close()
			return fmt.Errorf("session %s: read settings: %w", sess.ID, err)
		}
	}
	opts.JSON = asJSON
	// Limits given to resume win over the saved ones.
	for _, name := range []string{"max-turns", "max-stalls", "max-replans", "max-tokens", "timeout"} {
		if cmd.Flags().Changed(name) {
			switch name {
			case "max-turns":
				opts.MaxTurns = limits.MaxTurns
			case "max-stalls":
				opts.MaxStalls = limits.MaxStalls
			case "max-replans":
				opts.MaxReplans = limits.MaxReplans
			case "max-tokens":
				opts.MaxTokens = limits.MaxTokens
			case "timeout":
				opts.Timeout = limits.Timeout
			}
		}
	}
	if err := opts.validate(); err != nil {
		sess.Close()
		return err
	}
	cfg, err := config.Load(opts.Config, f.getenv)
	if err != nil {
		sess.Close()
		return err
	}
	cfg.Model = opts.Model
	return execute(ctx, f, opts, cfg, sess, func(o *orchestrator.Orchestrator) orchestrator.Result {
		return o.Resume(ctx, st, followUp)
	}, cp.Agents)
}

// restoreAgents hands each stateful agent its checkpointed state.
func restoreAgents(ctx context.Context, team []agent.Agent, states map[string]json.RawMessage, emit func(agent.Event)) {
	for _, a := range team {
		s, ok := a.(agent.Stateful)
		raw, have := states[a.Name()]
		if !ok || !have {
			continue
		}
		if err := s.LoadState(ctx, raw); err != nil {
			ev := agent.NewEvent(agent.EventWarning, a.Name())
			ev.Content = fmt.Sprintf("could not restore %s's state: %v", a.Name(), err)
			emit(ev)
		}
	}
}
