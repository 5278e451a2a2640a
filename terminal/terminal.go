// Package terminal is m1's ComputerTerminal: an agent without a model that
// takes the python and shell code blocks the Coder wrote, runs them through an
// Executor (a Docker container by default, the host only on request) and
// replies with each block's exit code and capped output.
package terminal

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/m1-project/m1/agent"
)

// Defaults of the Terminal's options.
const (
	// DefaultTimeout bounds one code block's run, as in Magentic-One.
	DefaultTimeout = 60 * time.Second
	// DefaultOutputCap is how many bytes of a block's combined output reach
	// the model; the head and tail are kept and the middle is cut.
	DefaultOutputCap = 16 << 10
)

// description is what the orchestrator's model reads about the terminal.
const description = "A computer terminal that performs no other action than running Python scripts " +
	"(provided to it quoted in ```python code blocks), or sh shell scripts (provided to it quoted in ```sh code blocks). " +
	"It runs them in a sandbox whose working directory holds the user's files and replies with their exit code and output."

// noCodeReply is the reply when the thread holds no fenced code at all.
const noCodeReply = "No code blocks found in the thread. Please provide at least one markdown-encoded code block " +
	"to execute, i.e. quote the code in ```python or ```sh fences:\n\n```python\nprint(\"hello\")\n```"

// Terminal is the ComputerTerminal agent. It is safe to call Close from
// another goroutine while Step runs; Step itself is not meant to run
// concurrently with another Step.
type Terminal struct {
	exec      Executor
	approver  agent.Approver
	outputCap int
	timeout   time.Duration
}

var (
	_ agent.Agent  = (*Terminal)(nil)
	_ agent.Closer = (*Terminal)(nil)
)

// Option configures a Terminal.
type Option func(*Terminal)

// WithApprover makes the terminal ask a before running each block. A nil
// Approver approves everything.
func WithApprover(a agent.Approver) Option {
	return func(t *Terminal) { t.approver = a }
}

// WithOutputCap sets how many bytes of a block's output are kept (head and
// tail). Values below 1 keep the default.
func WithOutputCap(n int) Option {
	return func(t *Terminal) {
		if n > 0 {
			t.outputCap = n
		}
	}
}

// WithTimeout sets the time limit of one block's run; the processes it
// started are killed when it passes. Values below 1 keep the default.
func WithTimeout(d time.Duration) Option {
	return func(t *Terminal) {
		if d > 0 {
			t.timeout = d
		}
	}
}

// New returns a ComputerTerminal that runs code through exec. The terminal
// owns exec: its Close closes exec.
func New(exec Executor, opts ...Option) *Terminal {
	t := &Terminal{exec: exec, outputCap: DefaultOutputCap, timeout: DefaultTimeout}
	for _, o := range opts {
		o(t)
	}
	return t
}

// Name returns agent.ComputerTerminalName.
func (t *Terminal) Name() string { return agent.ComputerTerminalName }

// Description tells the orchestrator what the terminal can do.
func (t *Terminal) Description() string { return description }

// Reset does nothing: the terminal keeps no conversation state, and the
// sandbox with its installed packages lives for the whole run.
func (t *Terminal) Reset(context.Context) error { return nil }

// Close releases the executor (for Docker, removes the container).
func (t *Terminal) Close() error { return t.exec.Close() }

// Step runs the code blocks of the most recent message that has any and
// replies with what they printed. Mistakes the model can fix (no code, an
// unknown language, a refused filename, a failing script) are part of the
// reply; an error means the executor broke or ctx ended.
func (t *Terminal) Step(ctx context.Context, turn agent.Turn) (agent.Message, error) {
	blocks := latestBlocks(turn.Thread)
	if len(blocks) == 0 {
		return agent.NewMessage(t.Name(), noCodeReply), nil
	}
	emit := turn.EmitTo()
	limits := Limits{Timeout: t.timeout, OutputCap: t.outputCap}

	var r reply
	for i, b := range blocks {
		n := i + 1
		if !b.Runnable() {
			r.notRun(n, b)
			continue
		}
		d, err := agent.Approve(ctx, t.approver, agent.ApprovalRequest{
			Agent:  t.Name(),
			Kind:   agent.ApproveCode,
			Action: fmt.Sprintf("run %s in %s", b.Language, t.exec.Describe()),
			Detail: b.Code,
		})
		if err != nil {
			return agent.Message{}, fmt.Errorf("ask approval for code block %d: %w", n, err)
		}
		if !d.Approved {
			r.denied(n, d.Reason, remaining(blocks[i+1:]))
			break
		}
		res, err := t.exec.Run(ctx, b, limits)
		var fe *FilenameError
		if errors.As(err, &fe) {
			r.refused(n, fe, remaining(blocks[i+1:]))
			break
		}
		if err != nil {
			return agent.Message{}, fmt.Errorf("run code block %d: %w", n, err)
		}
		ev := agent.NewEvent(agent.EventCodeExecution, t.Name())
		ev.Code = &agent.CodeExecution{
			Language: b.Language,
			Code:     b.Code,
			Filename: b.Filename,
			Executor: t.exec.Describe(),
			ExitCode: res.ExitCode,
			Output:   res.Output,
			TimedOut: res.TimedOut,
		}
		emit(ev)
		r.ran(n, b, res, limits.Timeout)
		if res.ExitCode != 0 || res.TimedOut {
			if left := remaining(blocks[i+1:]); left > 0 {
				r.skipped(left)
			}
			break
		}
	}
	return agent.NewMessage(t.Name(), r.String()), nil
}

// remaining counts the runnable blocks in rest.
func remaining(rest []CodeBlock) int {
	n := 0
	for _, b := range rest {
		if b.Runnable() {
			n++
		}
	}
	return n
}

// reply builds the terminal's answer, one paragraph per block.
type reply struct {
	b strings.Builder
}

func (r *reply) para(format string, args ...any) {
	if r.b.Len() > 0 {
		r.b.WriteString("\n\n")
	}
	fmt.Fprintf(&r.b, format, args...)
}

func (r *reply) ran(n int, b CodeBlock, res Result, timeout time.Duration) {
	head := fmt.Sprintf("Block %d (%s", n, b.Language)
	if b.Filename != "" {
		head += ", saved as " + b.Filename
	}
	head += ")"
	out := strings.TrimRight(res.Output, "\n")
	switch {
	case res.TimedOut && out == "":
		r.para("%s: Timed out after %s; the process was killed. It printed nothing before that.", head, formatDuration(timeout))
	case res.TimedOut:
		r.para("%s: Timed out after %s; the process was killed. Output before that:\n%s", head, formatDuration(timeout), out)
	case out == "":
		r.para("%s exited with code %d. The script ran but printed nothing.", head, res.ExitCode)
	default:
		r.para("%s exited with code %d. Output:\n%s", head, res.ExitCode, out)
	}
	if res.Note != "" {
		r.para("%s", res.Note)
	}
}

func (r *reply) notRun(n int, b CodeBlock) {
	switch {
	case !b.Closed:
		r.para("Block %d was not run: its fence is never closed with ```, so the code may be cut off.", n)
	case b.Tag == "":
		r.para("Block %d was not run: it has no language tag. Tag code to run as ```python or ```sh.", n)
	default:
		r.para("Block %d was not run: %q is not a language this terminal runs (python or sh).", n, b.Tag)
	}
}

func (r *reply) denied(n int, reason string, left int) {
	msg := fmt.Sprintf("Block %d was not run: the user refused to run it", n)
	if reason = strings.TrimSpace(reason); reason != "" {
		msg += ": " + reason
	}
	msg += "."
	if left > 0 {
		msg += fmt.Sprintf(" %s after it %s not run either.", plural(left, "block"), isAre(left))
	}
	r.para("%s", msg)
}

func (r *reply) refused(n int, fe *FilenameError, left int) {
	msg := fmt.Sprintf("Block %d was not run: %s. Nothing was written; use a relative name inside the working directory.", n, fe.Error())
	if left > 0 {
		msg += fmt.Sprintf(" %s after it %s not run either.", plural(left, "block"), isAre(left))
	}
	r.para("%s", msg)
}

func (r *reply) skipped(left int) {
	r.para("Stopped at the first failure: %s after it %s not run.", plural(left, "block"), isAre(left))
}

func (r *reply) String() string { return r.b.String() }

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func isAre(n int) string {
	if n == 1 {
		return "was"
	}
	return "were"
}

// formatDuration prints whole seconds as "60s" rather than Go's "1m0s".
func formatDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", int64(d/time.Second))
	}
	return d.String()
}
