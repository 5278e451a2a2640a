package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/console"
	"github.com/m1-project/m1/orchestrator"
	"github.com/m1-project/m1/session"
)

func newShowCmd(f *factory) *cobra.Command {
	var asJSON, last bool
	cmd := &cobra.Command{
		Use:   "show [SESSION_ID | - | --last]",
		Short: "Render a saved session's transcript (or a transcript on stdin with -)",
		Long: `Render a saved session's transcript as the console showed it. A line of the
transcript that is damaged (by a crash or a full disk) is skipped and named;
a session that has nothing to show, or did not end, says why.`,
		Example: `  m1 show 20261121-193012-ab12cd
  m1 show --last
  m1 show - < transcript.jsonl`,
		Args: func(cmd *cobra.Command, args []string) error {
			if last {
				return cobra.NoArgs(cmd, args)
			}
			return cobra.ExactArgs(1)(cmd, args)
		},
		ValidArgsFunction: completeSessions(f, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			var (
				r    io.Reader
				meta *session.Meta
			)
			if len(args) == 1 && args[0] == "-" {
				r = f.io.In
			} else {
				root, err := session.Root(f.getenv)
				if err != nil {
					return err
				}
				id := ""
				if last {
					if id, err = session.Last(root); err != nil {
						return usageError{err}
					}
				} else {
					id = args[0]
				}
				m, err := session.Stat(root, id)
				if err != nil {
					return usageError{err}
				}
				meta = &m
				path, err := session.TranscriptPath(root, m.ID)
				if err != nil {
					return usageError{err}
				}
				file, err := os.Open(path)
				if err != nil && !os.IsNotExist(err) {
					return err
				}
				if file != nil {
					defer file.Close()
					r = file
				}
			}
			var out interface{ Handle(agent.Event) }
			if asJSON {
				out = console.NewJSON(f.io.Out)
			} else {
				// A transcript is history: nobody is working, no spinner.
				rend := console.NewRenderer(f.io, orchestrator.DefaultOptions.MaxStalls, console.WithoutSpinner())
				defer rend.Close()
				out = rend
			}
			events, ended := 0, false
			var bad []session.BadLine
			if r != nil {
				var err error
				bad, err = session.ReadTranscript(r, func(e agent.Event) error {
					// A run that failed at start records only its task,
					// what the set-up said and its result: no work.
					if e.Type != agent.EventTask && e.Type != agent.EventWarning && e.Type != agent.EventResult {
						events++
					}
					ended = ended || e.Type == agent.EventResult
					out.Handle(e)
					return nil
				})
				if err != nil {
					return err
				}
			}
			for _, b := range bad {
				fmt.Fprintf(f.io.Err, "m1: warning: %s\n", console.Clean(b.String()))
			}
			if meta != nil {
				if why := sessionState(*meta, events, ended); why != "" {
					// The reason may quote a server's or a page's words.
					fmt.Fprintln(f.io.Err, "m1: "+console.Clean(why))
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the events as JSON lines instead")
	cmd.Flags().BoolVar(&last, "last", false, "show the newest session")
	return cmd
}

// sessionState says in words, for a session that did not end with a
// result or has nothing to show, what became of it and what can be done.
// It is empty for a session whose transcript ends with its result.
func sessionState(m session.Meta, events int, ended bool) string {
	reason := ""
	if m.Reason != "" {
		reason = ": " + m.Reason
	}
	switch {
	case m.Status == session.StatusRunning:
		return fmt.Sprintf("session %s is still running (pid %d)", m.ID, m.PID)
	case m.Status == session.StatusStale:
		return fmt.Sprintf("session %s did not end: the m1 that ran it (pid %d) is gone; continue it with m1 resume %s", m.ID, m.PID, m.ID)
	case events == 0 && m.Status == agent.StatusError:
		return fmt.Sprintf("session %s has nothing to show: it failed before its first turn%s", m.ID, reason)
	case events == 0:
		return fmt.Sprintf("session %s has nothing to show: it ended (%s) before its first event%s", m.ID, m.Status, reason)
	case !ended && m.Status == agent.StatusError:
		return fmt.Sprintf("session %s ended in error%s", m.ID, reason)
	}
	return ""
}
