// Package human brings the person who runs m1 into the team: the User
// agent the orchestrator can ask, the plan review before work starts, and
// the approvals asked before code runs or the browser acts. All of them
// read answers, one line each, from one Input — a terminal or a pipe alike.
package human

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"time"
)

// ErrNoAnswer is returned when input ended (EOF) or the wait timed out.
var ErrNoAnswer = errors.New("no answer from the user")

// Input reads answers line by line. One goroutine owns the reader, so a
// timed-out wait leaves nothing blocked behind it: the next line still goes
// to the next question.
type Input struct {
	lines   chan string
	timeout time.Duration
	// Interactive is true when a person types the answers (a terminal).
	Interactive bool

	once sync.Once
	r    io.Reader
	eof  chan struct{}
}

// NewInput reads answers from r. A timeout of 0 waits for as long as it
// takes (Ctrl-C still interrupts).
func NewInput(r io.Reader, interactive bool, timeout time.Duration) *Input {
	return &Input{r: r, lines: make(chan string), eof: make(chan struct{}), timeout: timeout, Interactive: interactive}
}

func (in *Input) start() {
	in.once.Do(func() {
		go func() {
			defer close(in.eof)
			sc := bufio.NewScanner(in.r)
			sc.Buffer(make([]byte, 0, 4096), 1<<20)
			for sc.Scan() {
				in.lines <- strings.TrimRight(sc.Text(), "\r")
			}
		}()
	})
}

// ReadLine waits for the next line. It returns ErrNoAnswer at end of input
// or after the timeout, and ctx.Err() when ctx ends first.
func (in *Input) ReadLine(ctx context.Context) (string, error) {
	in.start()
	var timeout <-chan time.Time
	if in.timeout > 0 {
		t := time.NewTimer(in.timeout)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case line := <-in.lines:
		return line, nil
	case <-in.eof:
		return "", ErrNoAnswer
	case <-timeout:
		return "", ErrNoAnswer
	case <-ctx.Done():
		return "", ctx.Err()
	}
}
