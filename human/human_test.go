package human

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/m1-project/m1/agent"
)

func TestUserAnswersFromInput(t *testing.T) {
	t.Parallel()
	in := NewInput(strings.NewReader("teal\n"), false, 0)
	var events []agent.Event
	u := NewUser(in, nil)
	msg, err := u.Step(context.Background(), agent.Turn{
		Thread: []agent.Message{agent.NewMessage(agent.OrchestratorName, "Which colour do you want?")},
		Emit:   func(e agent.Event) { events = append(events, e) },
	})
	if err != nil || msg.Content != "teal" || msg.Source != agent.UserName {
		t.Fatalf("Step = %+v, %v", msg, err)
	}
	if len(events) != 1 || events[0].Type != agent.EventUserInput || events[0].Content != "Which colour do you want?" {
		t.Errorf("events = %+v", events)
	}
	// End of input: the run goes on with a "no answer" message.
	msg, err = u.Step(context.Background(), agent.Turn{})
	if err != nil || msg.Content != NoAnswer {
		t.Errorf("after EOF: %+v, %v", msg, err)
	}
}

func TestInputTimeoutKeepsTheNextLine(t *testing.T) {
	t.Parallel()
	pr, pw := io.Pipe()
	in := NewInput(pr, false, 20*time.Millisecond)
	if _, err := in.ReadLine(context.Background()); !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("ReadLine = %v, want ErrNoAnswer after the timeout", err)
	}
	go func() { _, _ = io.WriteString(pw, "late\n") }()
	var line string
	var err error
	for range 100 { // the late line goes to the next question
		if line, err = in.ReadLine(context.Background()); err == nil {
			break
		}
	}
	if line != "late" {
		t.Errorf("next ReadLine = %q, %v", line, err)
	}
	pw.Close()
}

func TestInputCancel(t *testing.T) {
	t.Parallel()
	pr, pw := io.Pipe()
	defer pw.Close()
	in := NewInput(pr, true, 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := in.ReadLine(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("ReadLine = %v, want context.Canceled", err)
	}
}

func TestPlanReview(t *testing.T) {
	t.Parallel()
	in := NewInput(strings.NewReader("\nuse the spreadsheet first\n"), false, 0)
	review := PlanReviewer(in, nil, func(agent.Event) {})
	for _, want := range []string{"", "use the spreadsheet first", ""} {
		got, err := review(context.Background(), "- plan")
		if err != nil || got != want {
			t.Errorf("review = %q, %v; want %q", got, err, want)
		}
	}
}

func TestApprover(t *testing.T) {
	t.Parallel()
	code := agent.ApprovalRequest{Agent: agent.ComputerTerminalName, Kind: agent.ApproveCode, Action: "run python"}
	web := agent.ApprovalRequest{Agent: agent.WebSurferName, Kind: agent.ApproveBrowser, Action: "click Buy"}
	var mu sync.Mutex
	var records []agent.ApprovalRecord
	emit := func(e agent.Event) {
		if e.Approval != nil {
			mu.Lock()
			records = append(records, *e.Approval)
			mu.Unlock()
		}
	}
	in := NewInput(strings.NewReader("y\nn: it deletes files\nmaybe\na\nq\n"), false, 0)
	a := NewApprover(in, nil, emit, true)
	steps := []struct {
		req    agent.ApprovalRequest
		ok     bool
		reason string
	}{
		{code, true, ""},
		{code, false, "it deletes files"},
		{web, false, "refused by the user: maybe"},
		{code, true, "approved for the session"},
		{code, true, "approved for the session"}, // asks no more for code
		{web, false, "refused by the user: q"},
		{web, false, "no answer from the user"},
	}
	for i, s := range steps {
		d, err := a.Approve(context.Background(), s.req)
		if err != nil || d.Approved != s.ok || d.Reason != s.reason {
			t.Errorf("step %d: %+v, %v; want approved=%v reason %q", i, d, err, s.ok, s.reason)
		}
	}
	if len(records) != len(steps) {
		t.Errorf("%d approval records, want one per request", len(records))
	}

	nobody := NewApprover(NewInput(strings.NewReader("y\n"), false, 0), nil, emit, false)
	d, _ := nobody.Approve(context.Background(), code)
	if d.Approved || !strings.Contains(d.Reason, "--yes") {
		t.Errorf("without a terminal: %+v, want a refusal naming --yes", d)
	}
}

// An approval prompt says when what it asks about holds characters the
// console will show escaped (P1: an ESC sequence hiding a line of code; P2:
// a button label rewriting the prompt), and says nothing otherwise.
func TestApprovalPromptWarnsOfHiddenCharacters(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		req  agent.ApprovalRequest
		warn string
	}{
		{agent.ApprovalRequest{Agent: agent.ComputerTerminalName, Kind: agent.ApproveCode, Action: "run python",
			Detail: "import os; os.system(\"id > f\") # \x1b[2K\x1b[1Gprint(\"hello\")"}, "⚠ this code contains hidden control characters"},
		{agent.ApprovalRequest{Agent: agent.ComputerTerminalName, Kind: agent.ApproveCode, Action: "run python",
			Detail: "print('\u202eevil')"}, "⚠ this code contains hidden control characters"},
		{agent.ApprovalRequest{Agent: agent.WebSurferName, Kind: agent.ApproveBrowser,
			Action: "click 'Transfer all funds\x1b[2K\x1b[1G\x1b[1A' (button 11)"}, "⚠ this action's text contains hidden control characters"},
		{agent.ApprovalRequest{Agent: agent.ComputerTerminalName, Kind: agent.ApproveCode, Action: "run python",
			Detail: "print('héllo')\r\n"}, ""},
	} {
		var prompts []string
		emit := func(e agent.Event) {
			if e.Type == agent.EventUserInput {
				prompts = append(prompts, e.Content)
			}
		}
		a := NewApprover(NewInput(strings.NewReader("y\n"), false, 0), nil, emit, true)
		if _, err := a.Approve(context.Background(), c.req); err != nil {
			t.Fatal(err)
		}
		if len(prompts) != 1 {
			t.Fatalf("%d prompts", len(prompts))
		}
		if c.warn == "" && strings.Contains(prompts[0], "⚠") || c.warn != "" && !strings.Contains(prompts[0], c.warn) {
			t.Errorf("prompt for %q:\n%s\nwant warning %q", c.req.Detail+c.req.Action, prompts[0], c.warn)
		}
		// The prompt event keeps the exact text; the console escapes it.
		if !strings.Contains(prompts[0], c.req.Detail) {
			t.Errorf("the prompt event lost the exact detail")
		}
	}
}
