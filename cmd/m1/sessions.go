package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/m1-project/m1/console"
	"github.com/m1-project/m1/session"
)

func newSessionsCmd(f *factory) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "sessions",
		Short: "List saved sessions, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			root, err := session.Root(f.getenv)
			if err != nil {
				return err
			}
			all, err := session.List(root)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(f.io.Out)
				for _, m := range all {
					if err := enc.Encode(m); err != nil {
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
	return cmd
}

func oneLine(s string, n int) string {
	r := []rune(s)
	for i, c := range r {
		if c == '\n' || c == '\r' || c == '\t' {
			r[i] = ' '
		}
	}
	if len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return string(r)
}
