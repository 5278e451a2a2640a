package main

import (
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/console"
	"github.com/m1-project/m1/orchestrator"
	"github.com/m1-project/m1/session"
)

func newShowCmd(f *factory) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show SESSION|-",
		Short: "Render a saved session's transcript (or a transcript on stdin with -)",
		Example: `  m1 show 20261121-193012-ab12cd
  m1 show - < transcript.jsonl`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var r io.Reader
			if args[0] == "-" {
				r = f.io.In
			} else {
				root, err := session.Root(f.getenv)
				if err != nil {
					return err
				}
				path, err := session.TranscriptPath(root, args[0])
				if err != nil {
					return usageError{err}
				}
				file, err := os.Open(path)
				if err != nil {
					return err
				}
				defer file.Close()
				r = file
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
			return session.ReadEvents(r, func(e agent.Event) error {
				out.Handle(e)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the events as JSON lines instead")
	return cmd
}
