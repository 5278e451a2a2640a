package orchestrator

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/model"
	"github.com/m1-project/m1/model/scripted"
)

// browsingThread is a task ledger followed by turns of instruction and a
// long WebSurfer observation.
func browsingThread(turns int) []agent.Message {
	th := []agent.Message{agent.NewMessage(agent.OrchestratorName, "We are working on the request. "+strings.Repeat("fact ", 300))}
	for i := 1; i <= turns; i++ {
		th = append(th,
			agent.NewMessage(agent.OrchestratorName, "Follow the Next link and read the new page."),
			agent.Message{Source: agent.WebSurferName, Content: fmt.Sprintf("I clicked 'Next'. Page %d says: %s", i, strings.Repeat("words of the page ", 200)),
				Images: []agent.Image{{MIME: "image/png", Data: []byte("png")}}})
	}
	return th
}

func tokens(th []agent.Message) int {
	n := 0
	for _, m := range th {
		n += model.EstimateTokens(m.Content)
	}
	return n
}

func TestLedgerViewStaysBoundedAsTheRunGrows(t *testing.T) {
	at5 := tokens(ledgerView(browsingThread(5), 100000))
	at30 := tokens(ledgerView(browsingThread(30), 100000))
	at300 := tokens(ledgerView(browsingThread(300), 100000))
	if at30 > 2*at5 || at300 > 2*at5 {
		t.Errorf("ledger view grew from %d tokens (turn 5) to %d (turn 30) and %d (turn 300)", at5, at30, at300)
	}
	whole := tokens(browsingThread(30))
	if at30*3 > whole {
		t.Errorf("ledger view at turn 30 is %d tokens of the thread's %d: not compact", at30, whole)
	}
}

func TestLedgerViewKeepsTheLedgerAndTheLatestMessagesWhole(t *testing.T) {
	th := browsingThread(30)
	v := ledgerView(th, 100000)
	if len(v) != keepFull+2 {
		t.Fatalf("view has %d messages, want %d", len(v), keepFull+2)
	}
	if v[0].Content != th[0].Content {
		t.Error("the task ledger is not whole")
	}
	if v[1].Source != HistorySource || !strings.Contains(v[1].Content, "- WebSurfer ← Follow the Next link and read the new page. ⇒ I clicked 'Next'. Page ") {
		t.Errorf("history message = %q", cutRunes(v[1].Content, 300))
	}
	for i, m := range v[2:] {
		if want := th[len(th)-keepFull+i]; m.Content != want.Content || len(m.Images) != len(want.Images) {
			t.Errorf("recent message %d changed", i)
		}
	}
}

func TestHistoryMergesInstructionsWithTheirRepliesAndCapsItself(t *testing.T) {
	h := history(browsingThread(3)[1:])
	lines := strings.Split(h, "\n")
	if len(lines) != 4 {
		t.Fatalf("history has %d lines, want a header and 3 turns:\n%s", len(lines), h)
	}
	if !strings.HasPrefix(lines[1], "- WebSurfer ← Follow the Next link and read the new page. ⇒ I clicked 'Next'. Page 1 says") {
		t.Errorf("first turn = %q", lines[1])
	}
	if !strings.Contains(lines[2], "← (the same instruction) ⇒") {
		t.Errorf("a repeated instruction is written out again: %q", lines[2])
	}
	long := history(browsingThread(500)[1:])
	if n := model.EstimateTokens(long); n > historyCap+200 {
		t.Errorf("history of 500 turns is %d tokens, cap %d", n, historyCap)
	}
	if !strings.Contains(long, "older steps left out") || !strings.Contains(long, "Page 500 says") {
		t.Errorf("capped history must count the oldest and keep the newest:\n%s", cutRunes(long, 400))
	}
}

func TestCompactShortensOldestFirstAndOnlyWhenOverBudget(t *testing.T) {
	th := browsingThread(10)
	if got := compact(th, tokens(th), keepFull); len(got) != len(th) || got[3].Content != th[3].Content {
		t.Fatal("a thread within budget was changed")
	}
	budget := tokens(th) / 2
	got := compact(th, budget, keepFull)
	if tokens(got) > budget {
		t.Errorf("compacted to %d tokens, budget %d", tokens(got), budget)
	}
	if !strings.Contains(got[2].Content, "shortened from") || got[2].Images != nil {
		t.Errorf("the oldest observation was not shortened: %q", cutRunes(got[2].Content, 100))
	}
	if got[0].Content != th[0].Content || got[len(got)-1].Content != th[len(th)-1].Content {
		t.Error("the ledger or the latest message was shortened")
	}
	if th[2].Images == nil || strings.Contains(th[2].Content, "shortened") {
		t.Error("compact changed the thread it was given")
	}
}

// tooLongAgent fails with a context-length error until it is given a
// thread of at most limit tokens.
type tooLongAgent struct {
	limit int
	sizes []int
}

func (a *tooLongAgent) Name() string                { return agent.WebSurferName }
func (a *tooLongAgent) Description() string         { return "reads pages" }
func (a *tooLongAgent) Reset(context.Context) error { return nil }
func (a *tooLongAgent) Step(_ context.Context, t agent.Turn) (agent.Message, error) {
	n := tokens(t.Thread)
	a.sizes = append(a.sizes, n)
	if n > a.limit {
		return agent.Message{}, fmt.Errorf("web surfer: %w", model.ErrContextLength)
	}
	return agent.NewMessage(agent.WebSurferName, "I read the page. "+strings.Repeat("text ", 2000)), nil
}

func TestAgentContextLengthErrorRetriesOnceWithATighterView(t *testing.T) {
	t.Parallel()
	toWeb := strings.ReplaceAll(ledgerToCoder, `"answer": "Coder"`, `"answer": "WebSurfer"`)
	srv := scripted.New(t, &scripted.Scenario{Rules: rules(scripted.Text(toWeb), scripted.Text(toWeb), scripted.Text(toWeb), scripted.Text(toWeb), scripted.Text(ledgerDone))})
	web := &tooLongAgent{limit: 6000}
	rec := &recorder{}
	o := New(newClient(t, srv, model.Info{ContextWindow: 40000}), []agent.Agent{web}, Options{Emit: rec.emit})
	res := o.Run(context.Background(), "Read four pages.")
	if res.Status != agent.StatusSuccess {
		t.Fatalf("result = %+v", res)
	}
	// Turns 1-3 fit; at turn 4 the thread is over the agent's limit, so the
	// step fails once and is retried with a tighter view that fits.
	if len(web.sizes) != 5 || web.sizes[3] <= web.limit || web.sizes[4] > web.limit {
		t.Errorf("thread sizes seen by the agent = %v (limit %d)", web.sizes, web.limit)
	}
	warned := false
	for _, e := range rec.events {
		warned = warned || (e.Type == agent.EventWarning && strings.Contains(e.Content, "too long"))
		if e.Type == agent.EventError {
			t.Errorf("error event %q: the retry should have hidden the failure", e.Content)
		}
	}
	if !warned {
		t.Error("no warning about the retry")
	}
}

func TestLedgerContextLengthErrorShrinksAndRetries(t *testing.T) {
	t.Parallel()
	srv := scripted.New(t, &scripted.Scenario{Rules: rules(
		scripted.Reply{ErrorCode: "context_length_exceeded", Content: "maximum context length exceeded"},
		scripted.Text(ledgerToCoder), scripted.Text(ledgerDone))})
	coder := &echoAgent{name: agent.CoderName, reply: "42"}
	o := New(newClient(t, srv, model.Info{}), []agent.Agent{coder}, Options{})
	if res := o.Run(context.Background(), "What is 6*7?"); res.Status != agent.StatusSuccess || res.Err != nil {
		t.Fatalf("result = %+v", res)
	}
	if coder.steps != 1 {
		t.Errorf("coder steps = %d, want 1", coder.steps)
	}
}
