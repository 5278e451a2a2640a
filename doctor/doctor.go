// Package doctor checks that m1 can run here with a given team and
// settings: the config, the model servers and what their models can do,
// the MCP servers, Docker, Chrome and the folders a run writes. Each check
// is one line of a Report, with a hint that says how to fix a failure;
// `m1 doctor` maps its flags onto Options and prints the Report.
package doctor

import (
	"context"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/m1-project/m1/config"
)

// How long each part of the checks may take. A model server or Docker
// daemon that needs longer than this is broken for a run too.
const (
	modelTimeout   = 10 * time.Second
	dockerTimeout  = 10 * time.Second
	browserTimeout = 20 * time.Second
	// probeTimeout bounds the probes of one model.
	probeTimeout = 2 * time.Minute
)

// minContextWindow is the context size below which m1's prompts (task
// ledger, thread, page text) leave too little room for a run.
const minContextWindow = 16000

// Status is how a check came out.
type Status string

// Statuses of a check.
const (
	// StatusOK is a check that passed.
	StatusOK Status = "ok"
	// StatusWarn is a check that passed but is worth knowing about.
	StatusWarn Status = "warn"
	// StatusFail is a check a run with these settings would fail.
	StatusFail Status = "fail"
	// StatusSkip is a check of a part the team does not need.
	StatusSkip Status = "skip"
)

// Check is one line of the report.
type Check struct {
	Name    string `json:"name"`
	Status  Status `json:"status"`
	Message string `json:"message"`
	// Hint says how to fix a failure or what to make of a warning.
	Hint string `json:"hint,omitempty"`
}

// Report is every check in a fixed order; it is also `m1 doctor --json`'s
// output.
type Report struct {
	// Ready is true when no check failed.
	Ready  bool    `json:"ready"`
	Checks []Check `json:"checks"`
}

// Failed names the checks that failed, each name once, in report order.
func (r Report) Failed() []string {
	var failed []string
	for _, c := range r.Checks {
		if c.Status == StatusFail && !slices.Contains(failed, c.Name) {
			failed = append(failed, c.Name)
		}
	}
	return failed
}

// Options are what the checks need: the settings a run would take.
type Options struct {
	// Config is the model configuration the run would use; nil when it
	// could not be loaded.
	Config *config.Config
	// ConfigErr is why Config could not be loaded; the config check
	// reports it and the checks that need a config are skipped.
	ConfigErr error
	// Agents is the team (runner's agent names and MCP server names);
	// parts the team does not need are skipped.
	Agents []string
	// Executor runs the ComputerTerminal's code (runner.ExecutorDocker or
	// runner.ExecutorLocal); only Docker is checked.
	Executor string
	// Image is the sandbox image; "" means $M1_IMAGE, then m1's own.
	Image string
	// BrowserPath is the Chrome binary; "" means look for one.
	BrowserPath string
	// CDP is the DevTools address of a running Chrome to attach to
	// instead of launching one.
	CDP string
	// WorkDir is the folder the agents read and write; "" means the
	// current directory.
	WorkDir string
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
	// Probe sends one tiny real request per model capability a run would
	// use instead of assuming the capabilities from the name and config.
	Probe bool
}

// Run checks what a run with opts needs, one Check a line. The slow parts
// (model servers, Docker, Chrome) run side by side; the lines come out in a
// fixed order. When ctx ends early the report is incomplete: the caller
// checks ctx.Err().
func Run(ctx context.Context, opts Options) Report {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	cfg := opts.Config
	parts := []func(context.Context) []Check{
		func(context.Context) []Check { return []Check{configCheck(cfg, opts.ConfigErr, getenv)} },
		func(ctx context.Context) []Check { return endpointChecks(ctx, cfg, opts.Agents) },
		func(ctx context.Context) []Check { return capabilityChecks(ctx, cfg, opts.Agents, opts.Probe) },
		func(ctx context.Context) []Check { return []Check{dockerCheck(ctx, opts, getenv)} },
		func(ctx context.Context) []Check { return []Check{browserCheck(ctx, opts)} },
		func(ctx context.Context) []Check { return mcpChecks(ctx, cfg, opts.Agents, getenv) },
		func(context.Context) []Check { return []Check{workDirCheck(opts.WorkDir)} },
		func(context.Context) []Check { return []Check{stateDirCheck(getenv)} },
	}
	results := make([][]Check, len(parts))
	var wg sync.WaitGroup
	for i, part := range parts {
		wg.Go(func() { results[i] = part(ctx) })
	}
	wg.Wait()
	rep := Report{Ready: true, Checks: slices.Concat(results...)}
	for i, c := range rep.Checks {
		// Messages quote errors of other programs (Chrome's start-up
		// output), which may span lines; a check is one line.
		rep.Checks[i].Message = strings.Join(strings.Fields(c.Message), " ")
		if c.Status == StatusFail {
			rep.Ready = false
		}
	}
	return rep
}
