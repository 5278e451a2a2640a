package human

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/console"
)

// Approver asks the user before actions with side effects. Answers: y (run
// it), n (refuse; text after it is the reason given to the agent), a
// (approve this and every later action of the same kind). With nobody to
// ask, it refuses and says why.
type Approver struct {
	in     *Input
	prompt io.Writer
	emit   func(agent.Event)
	// canAsk is false when there is no terminal and the user did not ask
	// for approvals through a pipe: then every action is refused.
	canAsk bool

	mu  sync.Mutex
	all map[string]bool
}

// NewApprover returns an approver reading from in. prompt, when not nil,
// gets the question's "[y/n/a]" prompt (a terminal). emit records each
// request and decision in the transcript.
func NewApprover(in *Input, prompt io.Writer, emit func(agent.Event), canAsk bool) *Approver {
	return &Approver{in: in, prompt: prompt, emit: emit, canAsk: canAsk, all: map[string]bool{}}
}

// Approve implements agent.Approver.
func (a *Approver) Approve(ctx context.Context, r agent.ApprovalRequest) (agent.Decision, error) {
	a.mu.Lock()
	defer a.mu.Unlock() // one question at a time
	d, err := a.decide(ctx, r)
	if err != nil {
		return d, err
	}
	ev := agent.NewEvent(agent.EventApproval, r.Agent)
	ev.Approval = &agent.ApprovalRecord{ApprovalRequest: r, Decision: d}
	a.emit(ev)
	return d, nil
}

func (a *Approver) decide(ctx context.Context, r agent.ApprovalRequest) (agent.Decision, error) {
	if a.all[r.Kind] {
		return agent.Decision{Approved: true, Reason: "approved for the session"}, nil
	}
	if !a.canAsk {
		return agent.Decision{Reason: "no terminal to ask the user for approval; rerun with --yes to allow such actions"}, nil
	}
	ev := agent.NewEvent(agent.EventUserInput, r.Agent)
	ev.Content = fmt.Sprintf("Approve? %s\n%s%s\nAnswer y (yes), n (no, optionally followed by a reason) or a (yes to all %s actions).", r.Action, hiddenWarning(r), r.Detail, r.Kind)
	a.emit(ev)
	if a.prompt != nil {
		fmt.Fprint(a.prompt, "[y/n/a] > ")
	}
	line, err := a.in.ReadLine(ctx)
	if errors.Is(err, ErrNoAnswer) {
		return agent.Decision{Reason: "no answer from the user"}, nil
	}
	if err != nil {
		return agent.Decision{}, err
	}
	return parseDecision(line, r.Kind, a.all), nil
}

// hiddenWarning is the line an approval prompt starts with when the action
// or its detail holds characters a terminal would act on rather than show
// (an ESC sequence that erases the line it is on, a bidi override): the
// console shows them escaped, and the person must know that what they
// approve is the escaped text, all of it, not what it looks like at first
// sight.
func hiddenWarning(r agent.ApprovalRequest) string {
	_, inAction := console.Sanitize(r.Action)
	_, inDetail := console.Sanitize(r.Detail)
	if !inAction && !inDetail {
		return ""
	}
	what := "this action's text"
	if r.Kind == agent.ApproveCode {
		what = "this code"
	}
	return "⚠ " + what + " contains hidden control characters, shown escaped: read all of it before you answer.\n"
}

// parseDecision reads "y", "yes", "a", "all", "n", "no because ...".
func parseDecision(line, kind string, all map[string]bool) agent.Decision {
	s := strings.TrimSpace(line)
	word, rest, _ := strings.Cut(s, " ")
	rest = strings.TrimLeft(strings.TrimSpace(rest), ":,- ")
	switch strings.ToLower(strings.TrimRight(word, ":,.")) {
	case "y", "yes":
		return agent.Decision{Approved: true}
	case "a", "all", "always":
		all[kind] = true
		return agent.Decision{Approved: true, Reason: "approved for the session"}
	case "n", "no":
		if rest == "" {
			rest = "refused by the user"
		}
		return agent.Decision{Reason: rest}
	}
	if s == "" {
		return agent.Decision{Reason: "refused by the user (empty answer)"}
	}
	return agent.Decision{Reason: "refused by the user: " + s}
}
