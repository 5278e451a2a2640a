package console

import (
	"fmt"
	"time"

	"github.com/charmbracelet/x/ansi"
)

var spinFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// spinner redraws the status line with who is working and for how long
// until it is stopped.
type spinner struct {
	stop chan struct{}
	done chan struct{}
}

// startSpinner shows label ("Coder is thinking") with the time since
// since. Caller holds c.mu.
func (c *Renderer) startSpinner(label string, since time.Time) {
	if !c.spin || label == "" {
		return
	}
	s := &spinner{stop: make(chan struct{}), done: make(chan struct{})}
	c.spinner = s
	st := c.s.statusLine()
	st.claim(s)
	go func() {
		defer close(s.done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			text := fmt.Sprintf("%s %s… %ds", spinFrames[i%len(spinFrames)], label, int(time.Since(since).Seconds()))
			if w := c.s.Width(); w > 1 {
				// A status line that wrapped could not be cleared.
				text = ansi.Truncate(text, w-1, "…")
			}
			st.draw(s, c.styles.dim.Render(text))
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
}

// stopSpinner clears the status line. Caller holds c.mu. Once release
// returns, the spinner's goroutine can draw nothing more.
func (c *Renderer) stopSpinner() {
	if c.spinner == nil {
		return
	}
	close(c.spinner.stop)
	c.spinner = nil
	c.s.statusLine().release()
}

// Close stops the spinner, if any, and prints what is still held back.
func (c *Renderer) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopSpinner()
	c.flushHeld()
}
