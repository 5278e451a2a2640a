package console

import (
	"fmt"
	"time"

	"github.com/m1-project/m1/agent"
)

var spinFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// spinner redraws one status line until stopped. It runs only on a
// terminal; the renderer's mutex serialises it with other output.
type spinner struct {
	stop chan struct{}
	done chan struct{}
}

// startSpinner shows who is thinking after e. Caller holds c.mu.
func (c *Renderer) startSpinner(e agent.Event) {
	if !c.spin {
		return
	}
	who := thinker(e)
	if who == "" {
		return
	}
	s := &spinner{stop: make(chan struct{}), done: make(chan struct{})}
	c.spinner = s
	label := c.styles.dim.Render(" " + who + " is working…")
	go func() {
		defer close(s.done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			c.mu.Lock()
			select {
			case <-s.stop:
				c.mu.Unlock()
				return
			default:
			}
			fmt.Fprintf(c.w, "\r%s%s", spinFrames[i%len(spinFrames)], label)
			c.mu.Unlock()
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
}

// stopSpinner clears the status line. Caller holds c.mu; the spinner
// goroutine checks stop under the same lock, so it draws nothing after.
func (c *Renderer) stopSpinner() {
	if c.spinner == nil {
		return
	}
	close(c.spinner.stop)
	c.spinner = nil
	fmt.Fprint(c.w, "\r\033[K")
}

// Close stops the spinner, if any.
func (c *Renderer) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopSpinner()
}
