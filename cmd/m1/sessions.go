package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/console"
	"github.com/m1-project/m1/session"
)

func newSessionsCmd(f *factory) *cobra.Command {
	var asJSON bool
	var limit int
	cmd := &cobra.Command{
		Use:   "sessions",
		Short: "List saved sessions, newest first",
		Long: `List saved sessions, newest first. STATUS is how the last run ended: success,
incomplete (stopped by a limit), error, cancelled (interrupted), running, or
stale: recorded as running, but its m1 is gone (killed, or the machine went
down); m1 resume goes on from its last checkpoint.`,
		Example: `  m1 sessions -n 10
  m1 sessions rm 20261121-193012-ab12cd
  m1 sessions prune --older-than 30d`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 0 {
				return usagef("-n must be 0 (all) or more")
			}
			root, err := session.Root(f.getenv)
			if err != nil {
				return err
			}
			all, err := session.List(root)
			if err != nil {
				return err
			}
			if limit > 0 && len(all) > limit {
				all = all[:limit]
			}
			if asJSON {
				enc := json.NewEncoder(f.io.Out)
				enc.SetEscapeHTML(false)
				for _, m := range all {
					if err := enc.Encode(sessionJSON(m)); err != nil {
						return err
					}
				}
				return nil
			}
			if len(all) == 0 {
				fmt.Fprintf(f.io.Err, "no sessions yet in %s\n", root)
				return nil
			}
			tw := tabwriter.NewWriter(f.io.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATUS\tTURNS\tTOKENS\tTIME\tSTARTED\tTASK")
			for _, m := range all {
				// The task may hold anything a page or a pasted text did:
				// it is shown sanitized, like everything else m1 prints.
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\n", console.Clean(m.ID), console.Clean(m.Status), m.Turns, m.Usage.Total(),
					m.Duration.Round(time.Second), m.Created.Local().Format("2006-01-02 15:04"), console.Clean(oneLine(m.Task, 60)))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per session")
	cmd.Flags().IntVarP(&limit, "limit", "n", 0, "list only the newest `N` sessions (0: all)")
	cmd.AddCommand(newSessionsRmCmd(f), newSessionsPruneCmd(f))
	return cmd
}

func newSessionsRmCmd(f *factory) *cobra.Command {
	return &cobra.Command{
		Use:               "rm SESSION_ID...",
		Short:             "Remove sessions (their transcript, checkpoint and screenshots)",
		Example:           `  m1 sessions rm 20261121-193012-ab12cd 20261122-081500-ef34ab`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeSessions(f, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			root, err := session.Root(f.getenv)
			if err != nil {
				return err
			}
			var errs []error
			for _, id := range args {
				m, err := session.Remove(root, id)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintf(f.io.Err, "removed %s\n", console.Clean(m.ID))
			}
			if err := errors.Join(errs...); err != nil {
				return usageError{err}
			}
			return nil
		},
	}
}

// prunable returns the statuses `m1 sessions prune --status` takes: every
// status but running, since a running session is in use.
func prunable() []string {
	return []string{agent.StatusSuccess, agent.StatusIncomplete, agent.StatusError, agent.StatusCancelled, session.StatusStale}
}

func newSessionsPruneCmd(f *factory) *cobra.Command {
	olderThan := ageValue(30 * 24 * time.Hour)
	var statuses []string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Remove sessions not touched for a while",
		Long: `Remove the sessions last updated longer ago than --older-than (30 days unless
told otherwise), or only those with one of the --status values. A session in
use by a running m1 is never removed.`,
		Example: `  m1 sessions prune                            # older than 30 days
  m1 sessions prune --older-than 0 --status error,stale
  m1 sessions prune --older-than 2w --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// A mistyped status would match nothing and prune nothing
			// without a word.
			for _, st := range statuses {
				if slices.Contains(prunable(), st) {
					continue
				}
				hint := ""
				if c := closest(st, prunable()); c != "" {
					hint = fmt.Sprintf(" (did you mean %q?)", c)
				}
				return usagef("--status %q is not a status a session can be pruned in%s: choose from %s", st, hint, strings.Join(prunable(), ", "))
			}
			root, err := session.Root(f.getenv)
			if err != nil {
				return err
			}
			gone, err := session.Prune(root, session.PruneOptions{
				Before: time.Now().Add(-time.Duration(olderThan)), Statuses: statuses, DryRun: dryRun})
			verb := "removed"
			if dryRun {
				verb = "would remove"
			}
			for _, m := range gone {
				fmt.Fprintf(f.io.Err, "%s %s  %s  %s\n", verb, console.Clean(m.ID), console.Clean(m.Status), console.Clean(oneLine(m.Task, 50)))
			}
			fmt.Fprintf(f.io.Err, "%s %d sessions\n", verb, len(gone))
			return err
		},
	}
	cmd.Flags().Var(&olderThan, "older-than", "remove sessions last updated longer ago than this, e.g. 30d, 2w, 12h")
	cmd.Flags().StringSliceVar(&statuses, "status", nil, "remove only sessions with these statuses, e.g. error,stale")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "list what would be removed and remove nothing")
	cmd.RegisterFlagCompletionFunc("status", completeList(prunable()))
	return cmd
}

// ageValue is an age flag: a Go duration, or days (d) and weeks (w).
type ageValue time.Duration

func (a *ageValue) String() string {
	d := time.Duration(*a)
	if d > 0 && d%(24*time.Hour) == 0 {
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	}
	return d.String()
}

func (a *ageValue) Set(s string) error {
	for unit, size := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, unit); ok {
			v, err := strconv.ParseFloat(n, 64)
			if err != nil || v < 0 {
				return fmt.Errorf("want an age such as 30d, 2w or 12h")
			}
			*a = ageValue(v * float64(size))
			return nil
		}
	}
	d, err := parseDuration(s)
	if err != nil || d < 0 {
		return fmt.Errorf("want an age such as 30d, 2w or 12h")
	}
	*a = ageValue(d)
	return nil
}

func (a *ageValue) Type() string { return "age" }

// oneLine returns s on one line, cut to n characters. Only the head of s is
// read: a task can be megabytes long.
func oneLine(s string, n int) string {
	r := make([]rune, 0, n)
	for _, c := range s {
		if len(r) == n {
			r[n-1] = '…'
			break
		}
		if c == '\n' || c == '\r' || c == '\t' {
			c = ' '
		}
		r = append(r, c)
	}
	return string(r)
}

// sessionLine is a session as `m1 sessions --json` writes it (documented
// in docs/events.md): times in milliseconds, as in the events.
type sessionLine struct {
	ID         string      `json:"id"`
	Task       string      `json:"task"`
	Status     string      `json:"status"`
	Reason     string      `json:"reason,omitempty"`
	Turns      int         `json:"turns"`
	Usage      agent.Usage `json:"usage"`
	Created    time.Time   `json:"created"`
	Updated    time.Time   `json:"updated"`
	DurationMS int64       `json:"duration_ms"`
}

func sessionJSON(m session.Meta) sessionLine {
	return sessionLine{ID: m.ID, Task: m.Task, Status: m.Status, Reason: m.Reason, Turns: m.Turns, Usage: m.Usage,
		Created: m.Created, Updated: m.Updated, DurationMS: m.Duration.Milliseconds()}
}
