// Package console shows a run to people and to programs: a lipgloss-styled
// renderer for terminals (plain text when piped or NO_COLOR is set) and a
// JSON-lines writer for --json. Both consume the same agent.Event stream.
package console

import (
	"bytes"
	"io"
	"os"

	"golang.org/x/term"
)

// Streams are the process's standard streams and what they are attached
// to. Data goes to Out; progress and warnings to Err.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer

	InTTY, OutTTY, ErrTTY bool
	// NoColor is set from the NO_COLOR convention.
	NoColor bool
}

// System returns the process's own streams.
func System() *Streams {
	return &Streams{
		In: os.Stdin, Out: os.Stdout, Err: os.Stderr,
		InTTY:   term.IsTerminal(int(os.Stdin.Fd())),
		OutTTY:  term.IsTerminal(int(os.Stdout.Fd())),
		ErrTTY:  term.IsTerminal(int(os.Stderr.Fd())),
		NoColor: os.Getenv("NO_COLOR") != "",
	}
}

// Test returns streams over buffers, for tests: in feeds In; the returned
// buffers collect Out and Err. Nothing is a terminal until set.
func Test(in string) (s *Streams, out, errOut *bytes.Buffer) {
	out, errOut = &bytes.Buffer{}, &bytes.Buffer{}
	return &Streams{In: bytes.NewBufferString(in), Out: out, Err: errOut}, out, errOut
}

// Color reports whether Out should get colour and escape codes.
func (s *Streams) Color() bool { return s.OutTTY && !s.NoColor }
