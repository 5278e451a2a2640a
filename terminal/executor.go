package terminal

import (
	"context"
	"fmt"
	"time"
)

// Executor runs code blocks in a working directory and reports what they
// printed. Implementations must enforce Limits themselves: the timeout kills
// everything the block started, and output beyond the cap is never buffered.
type Executor interface {
	// Run saves b in the work dir (under b.Filename, or a temporary name it
	// removes afterwards) and runs it. A refused filename returns a
	// *FilenameError and runs nothing. A timeout is a Result with TimedOut,
	// not an error; errors mean the executor broke or ctx ended.
	Run(ctx context.Context, b CodeBlock, l Limits) (Result, error)
	// Describe names where code runs, for approval prompts and events:
	// "docker container m1-... (python:3-slim)" or "local host".
	Describe() string
	// Close releases what the executor holds. It is safe to call more than
	// once and after ctx of a Run ended.
	Close() error
}

// Limits bound one run.
type Limits struct {
	// Timeout is the wall-clock limit; 0 means DefaultTimeout.
	Timeout time.Duration
	// OutputCap is the number of output bytes kept; 0 means DefaultOutputCap.
	OutputCap int
}

func (l Limits) withDefaults() Limits {
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	if l.OutputCap <= 0 {
		l.OutputCap = DefaultOutputCap
	}
	return l
}

// Result is the outcome of one run.
type Result struct {
	// ExitCode is the process's exit status; 124 when it timed out, 137
	// when the sandbox died under it.
	ExitCode int
	// Output is stdout and stderr interleaved as written, capped.
	Output string
	// TimedOut is set when the run was killed at the time limit.
	TimedOut bool
	// Note is what the executor has to tell the model about the run
	// besides its output, e.g. that the sandbox was replaced; usually
	// empty.
	Note string
}

// exitTimedOut is the exit code reported for a killed run, as timeout(1)
// and Magentic-One report it.
const exitTimedOut = 124

// FilenameError reports a "# filename:" name the terminal refused or could
// not write. Nothing of the block was written or run.
type FilenameError struct {
	// Name is the filename as the model wrote it.
	Name string
	// Reason says why it was refused, for the model to read.
	Reason string
	// Err is the underlying error, if a write failed.
	Err error
}

// Error implements error.
func (e *FilenameError) Error() string {
	msg := fmt.Sprintf("refused filename %q: %s", e.Name, e.Reason)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying error, if any.
func (e *FilenameError) Unwrap() error { return e.Err }

// interpreter returns the command that runs a script of language lang saved
// at path.
func interpreter(lang, path string) ([]string, error) {
	switch lang {
	case LangPython:
		return []string{"python3", path}, nil
	case LangSh:
		return []string{"sh", path}, nil
	case LangBash:
		return []string{"bash", path}, nil
	}
	return nil, fmt.Errorf("no interpreter for language %q", lang)
}
