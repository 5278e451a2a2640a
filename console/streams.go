// Package console shows a run to people and to programs: a lipgloss-styled
// renderer for terminals (plain text when piped or NO_COLOR is set) and a
// JSON-lines writer for --json. Both consume the same agent.Event stream.
// Everything the renderer prints for a person goes through Sanitize.
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
	// Err is the error stream. From System and Test, a write to it first
	// clears the renderer's status line (the spinner), so a warning or the
	// Ctrl-C notice never lands on the spinner's line.
	Err io.Writer

	InTTY, OutTTY, ErrTTY bool
	// NoColor is set from the NO_COLOR convention: no colours or other
	// styling, though a terminal still gets the spinner.
	NoColor bool
	// Columns and Rows, when not zero, fix the size of Out in character
	// cells. Otherwise a terminal's size is read at each render, so a
	// resized window is followed.
	Columns, Rows int

	status *statusLine
}

// System returns the process's own streams.
func System() *Streams {
	st := &statusLine{}
	s := &Streams{
		In: os.Stdin, Out: os.Stdout, Err: statusWriter{os.Stderr, st},
		InTTY:   term.IsTerminal(int(os.Stdin.Fd())),
		OutTTY:  term.IsTerminal(int(os.Stdout.Fd())),
		ErrTTY:  term.IsTerminal(int(os.Stderr.Fd())),
		NoColor: os.Getenv("NO_COLOR") != "",
		status:  st,
	}
	st.w = s.Out
	return s
}

// Test returns streams over buffers, for tests: in feeds In; the returned
// buffers collect Out and Err. Nothing is a terminal until set.
func Test(in string) (s *Streams, out, errOut *bytes.Buffer) {
	out, errOut = &bytes.Buffer{}, &bytes.Buffer{}
	st := &statusLine{w: out}
	return &Streams{In: bytes.NewBufferString(in), Out: out, Err: statusWriter{errOut, st}, status: st}, out, errOut
}

// Color reports whether Out should get colour and escape codes.
func (s *Streams) Color() bool { return s.OutTTY && !s.NoColor }

// Width is the width of Out in columns: Columns when set, else the
// terminal's current width (80 when it cannot be read), or 0 when Out is
// not a terminal, which means text is not wrapped.
func (s *Streams) Width() int {
	if s.Columns > 0 {
		return s.Columns
	}
	if !s.OutTTY {
		return 0
	}
	if w, _, ok := s.size(); ok && w > 0 {
		return w
	}
	return 80
}

// Height is the height of Out in rows, or 0 when unknown.
func (s *Streams) Height() int {
	if s.Rows > 0 {
		return s.Rows
	}
	if !s.OutTTY {
		return 0
	}
	_, h, _ := s.size()
	return h
}

func (s *Streams) size() (w, h int, ok bool) {
	f, isFile := s.Out.(interface{ Fd() uintptr })
	if !isFile {
		return 0, 0, false
	}
	w, h, err := term.GetSize(int(f.Fd()))
	return w, h, err == nil
}

// statusLine returns the streams' status line, making one for streams
// built by hand.
func (s *Streams) statusLine() *statusLine {
	if s.status == nil {
		s.status = &statusLine{}
	}
	if s.status.w == nil {
		s.status.w = s.Out
	}
	return s.status
}
