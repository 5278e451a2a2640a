package model

import (
	"fmt"
	"time"

	"github.com/m1-project/m1/agent"
)

// EventOptions reports what a client does on its own as warning events
// from source (the agent the client serves) through emit: each retry,
// with a note when the abandoned call may still be billed, and each
// capability the endpoint turned out not to have, so the transcript says
// why a run behaved as it did.
func EventOptions(source string, emit func(agent.Event)) []Option {
	return []Option{
		WithOnRetry(func(r Retry) {
			ev := agent.NewEvent(agent.EventWarning, source)
			ev.Content = RetryText(r)
			emit(ev)
		}),
		WithOnStepDown(func(d StepDown) {
			ev := agent.NewEvent(agent.EventWarning, source)
			ev.Content = d.String()
			emit(ev)
		}),
	}
}

// RetryText is how a retry is told to a user.
func RetryText(r Retry) string {
	s := fmt.Sprintf("model call failed (%v); retry %d in %s", r.Err, r.Attempt, r.Wait.Round(time.Millisecond))
	if r.Note != "" {
		s += "; " + r.Note
	}
	return s
}
