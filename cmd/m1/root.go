package main

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/m1-project/m1/config"
	"github.com/m1-project/m1/console"
)

// version is set by the build (-ldflags "-X main.version=..."); without it
// m1 reports what the Go toolchain recorded (see buildVersion).
var version = "dev"

// factory carries what every command needs from the process, so tests can
// build commands with their own streams and environment.
type factory struct {
	io     *console.Streams
	getenv func(string) string
	// json is the --json writer of the run, once there is one.
	json *console.JSON
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
	// The signals stay watched until the last line is printed: a closed
	// stdout must not kill m1 with SIGPIPE on its way out.
	defer stop()
	executed, err := cmd.ExecuteContextC(ctx)
	code := exitCode(err)
	if err != nil && wantsJSON(executed, args) && (f.json == nil || !f.json.WroteResult()) {
		// docs/events.md: the stream always ends with a result, even for a
		// run that could not start (bad flags, no task, a config error).
		console.NewJSON(io.Out).Handle(errorResult(err))
	}
	var se statusError
	var shown shownError
	if err != nil && !errors.As(err, &se) && !errors.As(err, &shown) {
		// An error may quote a server's, a page's or a file's words.
		fmt.Fprintln(io.Err, "m1: "+console.Clean(err.Error()))
	}
	return code
}

func newRootCmd(f *factory) *cobra.Command {
	opts := newRunFlags()
	var sampleConfig bool
	bi, ok := debug.ReadBuildInfo()
	cmd := &cobra.Command{
		Use:   "m1 [flags] \"task\"",
		Short: "A team of AI agents that works on your task: plans, browses, reads files, writes and runs code",
		Long: `m1 plans your task with an Orchestrator and directs a team of agents turn by turn:
the Coder writes code, the ComputerTerminal runs it in a Docker container, the
WebSurfer drives a headless Chrome, the FileSurfer reads local files. Every
message streams to the console; --json gives the run as JSON lines.

It talks to any OpenAI-compatible server: set OPENAI_API_KEY (and
OPENAI_BASE_URL for a local server such as Ollama or vLLM), or pass --config.

The task is the arguments; with none and stdin not a terminal, or with "-",
it is read from stdin, and --task-file reads it from a file. A task read from
stdin takes all of it, so --hil and --approve, whose answers come from stdin,
then need the task as an argument or in --task-file.`,
		Example: `  m1 "Summarise why the sky is blue in two sentences"
  m1 --json "What is 2**100?" | jq -r 'select(.type=="result").final_answer'
  git diff | m1 -
  m1 --task-file brief.md
  m1 sessions
  m1 read report.xlsx`,
		Version:       buildVersion(version, bi, ok),
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if sampleConfig {
				if len(args) > 0 || opts.TaskFile != "" {
					return usagef("--sample-config prints a sample config and runs no task: leave the task out (m1 --sample-config > m1.yaml)")
				}
				fmt.Fprint(f.io.Out, config.Sample)
				return nil
			}
			if err := mistypedCommand(cmd, args); err != nil {
				return err
			}
			task, err := readTask(f, args, opts)
			if err != nil {
				return err
			}
			return runTask(cmd.Context(), f, opts, task)
		},
	}
	cmd.SetFlagErrorFunc(flagError)
	cmd.Flags().BoolVar(&sampleConfig, "sample-config", false, "print a commented sample config file and exit")
	opts.addFlags(cmd)
	cmd.Flags().StringVar(&opts.TaskFile, "task-file", "", "read the task from `FILE` (- for stdin), for tasks too long for an argument")
	cmd.AddCommand(newShowCmd(f), newSessionsCmd(f), newReadCmd(f), newResumeCmd(f), newDoctorCmd(f), newBatchCmd(f), newWorkerCmd(f), newMCPCmd(f),
		newVersionCmd(), newEnvironmentTopic(), newExitCodesTopic())
	cmd.SetHelpCommand(newHelpCmd())
	cmd.InitDefaultHelpCmd()
	cmd.InitDefaultCompletionCmd()
	shellRequired(cmd)
	usageArgs(cmd)
	completeFlagValues(cmd)
	return cmd
}

// readTask returns the task: the arguments, stdin (piped with no argument,
// or "-"), or --task-file.
func readTask(f *factory, args []string, opts *runFlags) (string, error) {
	var (
		task      string
		fromStdin bool
	)
	switch {
	case opts.TaskFile != "" && len(args) > 0:
		return "", usagef("give the task as an argument or with --task-file, not both")
	case opts.TaskFile == "-", len(args) == 1 && args[0] == "-", len(args) == 0 && opts.TaskFile == "" && !f.io.InTTY:
		if f.io.InTTY && f.io.ErrTTY {
			fmt.Fprintln(f.io.Err, "m1: reading the task from stdin; end it with Ctrl-D")
		}
		b, err := readAll(f.io.In, maxTask)
		if err != nil {
			return "", usagef("read the task from stdin: %v", err)
		}
		task, fromStdin = string(b), true
	case opts.TaskFile != "":
		file, err := openTaskFile(opts.TaskFile)
		if err != nil {
			return "", usagef("--task-file: %v", err)
		}
		b, err := readAll(file, maxTask)
		file.Close()
		if err != nil {
			return "", usagef("--task-file %s: %v", opts.TaskFile, err)
		}
		task = string(b)
	default:
		task = strings.Join(args, " ")
	}
	task = strings.TrimSpace(task)
	if task == "" {
		switch {
		case fromStdin:
			return "", usagef("no task given: stdin was empty (see m1 --help)")
		case opts.TaskFile != "":
			return "", usagef("no task given: %s is empty", opts.TaskFile)
		}
		return "", usagef("no task given: run m1 \"your task\", or pipe it in: echo \"your task\" | m1 (see m1 --help)")
	}
	if fromStdin && (opts.Team.HIL || opts.Team.Approve) {
		// Stdin is read to its end for the task, so nothing is left on it
		// to answer questions or approvals with.
		flag := "--hil"
		if !opts.Team.HIL {
			flag = "--approve"
		}
		return "", usagef("%s reads your answers from stdin, which carried the task: give the task as an argument or with --task-file", flag)
	}
	return task, nil
}
