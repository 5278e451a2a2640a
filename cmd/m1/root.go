package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/m1-project/m1/config"
	"github.com/m1-project/m1/console"
)

// version is set by the build (-ldflags "-X main.version=...").
var version = "dev"

// factory carries what every command needs from the process, so tests can
// build commands with their own streams and environment.
type factory struct {
	io     *console.Streams
	getenv func(string) string
}

// Main runs m1 with args and returns the exit code.
func Main(args []string, io *console.Streams, getenv func(string) string) int {
	f := &factory{io: io, getenv: getenv}
	cmd := newRootCmd(f)
	cmd.SetArgs(args)
	cmd.SetIn(io.In)
	cmd.SetOut(io.Out)
	cmd.SetErr(io.Err)
	ctx, stop := interruptContext(context.Background(), io.Err)
	err := cmd.ExecuteContext(ctx)
	stop()
	code := exitCode(err)
	var se statusError
	var shown shownError
	if err != nil && !errors.As(err, &se) && !errors.As(err, &shown) {
		fmt.Fprintln(io.Err, "m1: "+err.Error())
		if code == exitUsage && strings.Contains(err.Error(), "unknown flag") {
			fmt.Fprintln(io.Err, "run m1 --help for the flags")
		}
	}
	return code
}

func newRootCmd(f *factory) *cobra.Command {
	opts := newRunFlags()
	var sampleConfig bool
	cmd := &cobra.Command{
		Use:   "m1 [flags] \"task\"",
		Short: "A team of AI agents that works on your task: plans, browses, reads files, writes and runs code",
		Long: `m1 plans your task with an Orchestrator and directs a team of agents turn by turn:
the Coder writes code, the ComputerTerminal runs it in a Docker container, the
WebSurfer drives a headless Chrome, the FileSurfer reads local files. Every
message streams to the console; --json gives the run as JSON lines.

It talks to any OpenAI-compatible server: set OPENAI_API_KEY (and
OPENAI_BASE_URL for a local server such as Ollama or vLLM), or pass --config.`,
		Example: `  m1 "Summarise why the sky is blue in two sentences"
  m1 --json "What is 2**100?" | jq -r 'select(.type=="result").final_answer'
  m1 sessions
  m1 read report.xlsx`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if sampleConfig {
				fmt.Fprint(f.io.Out, config.Sample)
				return nil
			}
			task := strings.TrimSpace(strings.Join(args, " "))
			if task == "" {
				return usagef("no task given: run m1 \"your task\" (see m1 --help)")
			}
			return runTask(cmd.Context(), f, opts, task)
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	cmd.Flags().BoolVar(&sampleConfig, "sample-config", false, "print a commented sample config file and exit")
	opts.addFlags(cmd)
	cmd.AddCommand(newShowCmd(f), newSessionsCmd(f), newReadCmd(f), newResumeCmd(f), newDoctorCmd(f), newBatchCmd(f))
	return cmd
}
