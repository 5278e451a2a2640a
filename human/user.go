package human

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/m1-project/m1/agent"
)

// Description is what the orchestrator is told about the User.
const Description = "The human user who gave the task. Ask them for missing information, preferences, credentials or confirmation; address them directly (\"Which account should I use?\"). They answer in a line of text."

// NoAnswer is the User's message when no answer came (end of input or
// timeout), so the run goes on.
const NoAnswer = "(no answer from the user: carry on with your best judgement)"

// User is the human as a team member.
type User struct {
	in     *Input
	prompt io.Writer
}

// NewUser returns the User agent reading answers from in. When prompt is
// not nil (a terminal), a "> " prompt is written there before each answer.
func NewUser(in *Input, prompt io.Writer) *User { return &User{in: in, prompt: prompt} }

// Name implements agent.Agent.
func (u *User) Name() string { return agent.UserName }

// Description implements agent.Agent.
func (u *User) Description() string { return Description }

// Reset implements agent.Agent.
func (u *User) Reset(context.Context) error { return nil }

// Step shows the orchestrator's question and waits for the answer.
func (u *User) Step(ctx context.Context, t agent.Turn) (agent.Message, error) {
	question := ""
	if n := len(t.Thread); n > 0 {
		question = t.Thread[n-1].Content
	}
	ev := agent.NewEvent(agent.EventUserInput, agent.UserName)
	ev.Content = question
	t.EmitTo()(ev)
	answer, err := u.ask(ctx)
	if err != nil {
		if errors.Is(err, ErrNoAnswer) {
			return agent.NewMessage(agent.UserName, NoAnswer), nil
		}
		return agent.Message{}, err
	}
	if strings.TrimSpace(answer) == "" {
		answer = NoAnswer
	}
	return agent.NewMessage(agent.UserName, answer), nil
}

func (u *User) ask(ctx context.Context) (string, error) {
	if u.prompt != nil {
		fmt.Fprint(u.prompt, "> ")
	}
	return u.in.ReadLine(ctx)
}

// PlanReviewer returns the orchestrator's plan review hook: it shows the
// plan as a user_input_requested event and reads one line. Enter (an empty
// line), end of input or a timeout accept the plan; any other text is
// feedback.
func PlanReviewer(in *Input, prompt io.Writer, emit func(agent.Event)) func(context.Context, string) (string, error) {
	return func(ctx context.Context, plan string) (string, error) {
		ev := agent.NewEvent(agent.EventUserInput, agent.UserName)
		ev.Content = "Review the plan: press Enter to accept it, or type what to change."
		emit(ev)
		if prompt != nil {
			fmt.Fprint(prompt, "> ")
		}
		line, err := in.ReadLine(ctx)
		if errors.Is(err, ErrNoAnswer) {
			return "", nil
		}
		return strings.TrimSpace(line), err
	}
}
