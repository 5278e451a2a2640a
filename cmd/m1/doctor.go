package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"github.com/spf13/cobra"

	"github.com/m1-project/m1/config"
	"github.com/m1-project/m1/console"
	"github.com/m1-project/m1/doctor"
	"github.com/m1-project/m1/runner"
)

// doctorRunFlags are the run's flags that decide what a run needs; doctor
// takes them with the run's names, defaults and help, so a run's command
// line can be checked as it is.
func doctorRunFlags() []string {
	return []string{"config", "allow-unknown-config-keys", "model", "agents", "work-dir", "executor", "image", "browser-path", "cdp"}
}

func newDoctorCmd(f *factory) *cobra.Command {
	opts := newRunFlags()
	var asJSON, probe bool
	cmd := &cobra.Command{
		Use:   "doctor [flags]",
		Short: "Check that m1 can run here: model server and key, model capabilities, Docker, Chrome, folders",
		Long: `Check, one line each, what a run with the same flags needs: the model server
answers and takes the key (GET /models, which costs no tokens), the models can
do what their agents need, Docker answers and has the image (nothing is
pulled), Chrome starts headless, and the work and state dirs are writable.
A failed check says how to fix it. Parts the team does not need (--agents,
--executor) are skipped.

Model capabilities are assumed from the model's name and the config unless
--probe is given: it sends one tiny real request per capability a run would
use (plain chat, the ledger's role order, each JSON mode, a tool call, an
image when vision is on; a few tokens each) and reports the server's own
words for what it refuses and which fallback a run would take.

Exit status 0 when everything the team needs is ready, 2 otherwise.`,
		Example: `  m1 doctor
  m1 doctor --agents coder,terminal --executor local
  m1 doctor --config config.yaml --json
  m1 doctor --probe`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDoctor(cmd.Context(), f, opts, asJSON, probe)
		},
	}
	run := &cobra.Command{}
	opts.addFlags(run)
	for _, name := range doctorRunFlags() {
		cmd.Flags().AddFlag(run.Flags().Lookup(name))
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the checks as one JSON object")
	cmd.Flags().BoolVar(&probe, "probe", false, "check each model capability with one tiny real request (spends a few tokens)")
	return cmd
}

// runDoctor maps the run's flags onto doctor.Options, runs the checks and
// prints one line a check (or, with --json, the report).
func runDoctor(ctx context.Context, f *factory, opts *runFlags, asJSON, probe bool) error {
	if err := runner.ValidateExecutor(opts.Team.Executor); err != nil {
		return err
	}
	cfg, cfgErr := config.Load(opts.Config, f.getenv, opts.ConfigOptions()...)
	if cfg != nil {
		cfg.Model = opts.Model
	}
	if err := validateTeam(opts.Agents, cfg); err != nil {
		return err
	}
	rep := doctor.Run(ctx, doctor.Options{
		Config:      cfg,
		ConfigErr:   cfgErr,
		Agents:      opts.Agents,
		Executor:    opts.Team.Executor,
		Image:       opts.Team.Image,
		BrowserPath: opts.Team.BrowserPath,
		CDP:         opts.Team.CDP,
		WorkDir:     opts.WorkDir,
		Getenv:      f.getenv,
		Probe:       probe,
	})
	if err := ctx.Err(); err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(f.io.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printChecks(f.io, rep.Checks)
	}
	if !rep.Ready {
		return usagef("not ready: %s failed (see the hints above)", strings.Join(rep.Failed(), ", "))
	}
	if !asJSON {
		fmt.Fprintf(f.io.Out, "\nready: m1 can run with --agents %s\n", console.Clean(strings.Join(opts.Agents, ",")))
	}
	return nil
}

// printChecks writes one line a check: a mark, the name in a column, the
// message and, after a dash, the hint. Colour only on a terminal without
// NO_COLOR.
func printChecks(s *console.Streams, checks []doctor.Check) {
	r := lipgloss.NewRenderer(s.Out)
	if s.Color() {
		r.SetColorProfile(termenv.ANSI256)
	} else {
		r.SetColorProfile(termenv.Ascii)
	}
	marks := map[doctor.Status]lipgloss.Style{
		doctor.StatusOK:   r.NewStyle().Bold(true).Foreground(lipgloss.Color("42")),
		doctor.StatusWarn: r.NewStyle().Bold(true).Foreground(lipgloss.Color("214")),
		doctor.StatusFail: r.NewStyle().Bold(true).Foreground(lipgloss.Color("196")),
		doctor.StatusSkip: r.NewStyle().Faint(true),
	}
	symbols := map[doctor.Status]string{doctor.StatusOK: "✓", doctor.StatusWarn: "!", doctor.StatusFail: "✗", doctor.StatusSkip: "-"}
	bold, dim := r.NewStyle().Bold(true), r.NewStyle().Faint(true)
	// A check quotes a config's model name, a server's error body or
	// another program's output: escaped before styling, so none of it
	// reaches the terminal raw and m1's own colours stay colours.
	clean := make([]doctor.Check, len(checks))
	for i, c := range checks {
		c.Name, c.Message, c.Hint = console.Clean(c.Name), console.Clean(c.Message), console.Clean(c.Hint)
		clean[i] = c
	}
	checks = clean
	width := 0
	for _, c := range checks {
		width = max(width, len(c.Name))
	}
	for _, c := range checks {
		name := fmt.Sprintf("%-*s", width, c.Name)
		line := marks[c.Status].Render(symbols[c.Status]) + " " + bold.Render(name) + "  "
		if c.Status == doctor.StatusSkip {
			line = marks[c.Status].Render(symbols[c.Status] + " " + name + "  " + c.Message)
		} else {
			line += c.Message
		}
		if c.Hint != "" {
			line += dim.Render(" — " + c.Hint)
		}
		fmt.Fprintln(s.Out, line)
	}
}
