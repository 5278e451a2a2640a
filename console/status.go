package console

import (
	"io"
	"sync"
)

// statusLine is the bottom line of the terminal that the spinner redraws.
// Everything else written to the terminal first clears it, so a block, a
// warning on stderr or the Ctrl-C notice never shares the spinner's line
// (and "⠋ Coder is thinking…^C" never stays on screen).
type statusLine struct {
	mu    sync.Mutex
	w     io.Writer
	owner any  // the spinner allowed to draw, or nil
	shown bool // something is drawn and must be cleared
	// foreign counts writes to Err, so the renderer can tell whether
	// anything else reached the terminal while it streamed a message.
	foreign int
}

// claim lets owner draw (and no one else).
func (l *statusLine) claim(owner any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.owner = owner
}

// draw shows text on the status line if owner still holds it.
func (l *statusLine) draw(owner any, text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.owner != owner || l.w == nil {
		return
	}
	// Text first, then erase what is left of an older, longer line.
	_, _ = io.WriteString(l.w, "\r"+text+"\x1b[K")
	l.shown = true
}

// release stops any drawing and clears the line.
func (l *statusLine) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.owner = nil
	l.clearLocked()
}

func (l *statusLine) clearLocked() {
	if l.shown {
		_, _ = io.WriteString(l.w, "\r\x1b[K")
		l.shown = false
	}
}

func (l *statusLine) foreignWrites() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.foreign
}

// statusWriter is Err: each write clears the status line first. The
// spinner, if still running, draws again below on its next tick.
type statusWriter struct {
	w  io.Writer
	st *statusLine
}

func (s statusWriter) Write(p []byte) (int, error) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if s.st.w != nil {
		s.st.clearLocked()
	}
	s.st.foreign++
	return s.w.Write(p)
}
