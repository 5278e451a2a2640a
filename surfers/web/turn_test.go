package web

import (
	"context"
	"os"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/model"
)

// TestOneLookPerTurn: the observation that ends a step is shown at the
// next one while the page has not changed (no second screenshot), and
// taken afresh when it has.
func TestOneLookPerTurn(t *testing.T) {
	t.Parallel()
	var site string
	fm := &fakeModel{info: model.Info{Vision: true}, answer: func(n int, req model.Request) (*model.Response, error) {
		switch n {
		case 0:
			return call("visit_url", map[string]any{"url": site + "/late.html"}), nil
		case 1:
			return call("visit_url", map[string]any{"url": site + "/vault.html"}), nil
		default:
			return &model.Response{Content: "done"}, nil
		}
	}}
	dir := t.TempDir()
	s, url := newAgent(t, fm, WithScreenshotDir(dir))
	site = url
	ev := &events{}
	step := func() {
		t.Helper()
		if _, err := s.Step(context.Background(), agent.Turn{Thread: []agent.Message{instruction("go")}, Emit: ev.emit}); err != nil {
			t.Fatal(err)
		}
	}
	step() // look at about:blank, visit late.html, look
	before := len(ev.of(agent.EventScreenshot))
	step() // late.html unchanged: no look before the model call
	if got := len(ev.of(agent.EventScreenshot)) - before; got != 1 {
		t.Fatalf("%d screenshots in a step on an unchanged page, want 1 (after the action only)", got)
	}
	mustContain(t, lastText(fm.requests()[1]), "[Late updates]")

	// The page changes between steps: looked at again.
	tb := s.chrome.activeTab()
	if _, err := tb.mainWorld().eval(context.Background(), `document.body.append("CHANGED-SINCE"); ""`, false); err != nil {
		t.Fatal(err)
	}
	before = len(ev.of(agent.EventScreenshot))
	step()
	if got := len(ev.of(agent.EventScreenshot)) - before; got != 1 {
		t.Fatalf("%d screenshots, want 1 (a fresh look)", got)
	}
	mustContain(t, lastText(fm.requests()[2]), "CHANGED-SINCE")
}

// TestTextModelTakesNoScreenshots: a text model's steps take no
// screenshot, even with a screenshot folder, unless asked for the
// transcript.
func TestTextModelTakesNoScreenshots(t *testing.T) {
	t.Parallel()
	var site string
	answer := func(n int, req model.Request) (*model.Response, error) {
		return call("visit_url", map[string]any{"url": site + "/index.html"}), nil
	}
	for _, keep := range []bool{false, true} {
		dir := t.TempDir()
		s, url := newAgent(t, &fakeModel{answer: answer}, WithScreenshotDir(dir), WithTextScreenshots(keep))
		site = url
		ev := &events{}
		m, err := s.Step(context.Background(), agent.Turn{Thread: []agent.Message{instruction("open the site")}, Emit: ev.emit})
		if err != nil {
			t.Fatal(err)
		}
		files, _ := os.ReadDir(dir)
		shots := len(ev.of(agent.EventScreenshot))
		if keep && (len(files) == 0 || shots == 0) || !keep && (len(files) != 0 || shots != 0) {
			t.Fatalf("TextScreenshots %v: %d files, %d events", keep, len(files), shots)
		}
		if len(m.Images) != 0 {
			t.Fatalf("a text model's reply carries %d images", len(m.Images))
		}
	}
}

// TestPromptFitsTheContextWindow: with a small window the decision prompt
// (page text, targets, the team's thread) stays within it, on a page of
// 5,000 links after a long thread.
func TestPromptFitsTheContextWindow(t *testing.T) {
	t.Parallel()
	var site string
	fm := &fakeModel{info: model.Info{ContextWindow: 8000}, answer: func(n int, req model.Request) (*model.Response, error) {
		if n == 0 {
			return call("visit_url", map[string]any{"url": site + "/links5000.html"}), nil
		}
		return &model.Response{Content: "done"}, nil
	}}
	s, url := newAgent(t, fm)
	site = url
	thread := []agent.Message{instruction("Task: " + strings.Repeat("find the link. ", 2000))}
	for i := range 20 {
		thread = append(thread, agent.NewMessage(agent.CoderName, strings.Repeat("x", 3000)), instruction("step "+strings.Repeat("y", i)))
	}
	thread = append(thread, instruction("Open the page of links."))
	for range 2 {
		if _, err := s.Step(context.Background(), agent.Turn{Thread: thread}); err != nil {
			t.Fatal(err)
		}
	}
	for i, req := range fm.requests() {
		n := 0
		for _, m := range req.Messages {
			n += len(m.Content)
		}
		for _, tl := range req.Tools {
			n += len(tl.Function.Description) + 200
		}
		if tokens := n / bytesPerToken; tokens > 8000*3/4 {
			t.Fatalf("request %d: about %d tokens for an 8000-token window", i, tokens)
		}
		last := req.Messages[len(req.Messages)-1].Content
		if i == 1 {
			mustContain(t, last, "Link number 1", "not listed")
		}
		mustContain(t, allContent(req.Messages), "Open the page of links.", "earlier messages of the team are left out")
	}
}

func allContent(msgs []openai.ChatCompletionMessage) string {
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString(m.Content + "\n")
	}
	return b.String()
}

func TestBudgetFor(t *testing.T) {
	t.Parallel()
	big, small, tiny := budgetFor(128000), budgetFor(8000), budgetFor(2000)
	if big.text != maxViewportText || big.inView != maxInViewBytes || big.offScreen != maxOffScreenBytes {
		t.Errorf("128k: %+v", big)
	}
	if small.text >= big.text || small.history >= big.history || small.inView > big.inView {
		t.Errorf("8k %+v not below 128k %+v", small, big)
	}
	for _, b := range []budget{big, small, tiny} {
		if b.text < minPart || b.inView < minPart || b.offScreen < minPart || b.history < minPart {
			t.Errorf("a part below the minimum: %+v", b)
		}
	}
	if d := budgetFor(0); d != budgetFor(model.DefaultContextWindow) {
		t.Errorf("no window: %+v", d)
	}
}

func TestFitHistory(t *testing.T) {
	t.Parallel()
	msgs := []openai.ChatCompletionMessage{{Role: "user", Content: strings.Repeat("task ", 1000)}}
	for i := range 30 {
		msgs = append(msgs, openai.ChatCompletionMessage{Role: "user", Content: strings.Repeat("m", 500) + string(rune('A'+i%26))})
	}
	msgs = append(msgs, openai.ChatCompletionMessage{Role: "user", Content: "the latest instruction"})
	got := fitHistory(msgs, 4000)
	n := 0
	for _, m := range got {
		n += len(m.Content)
	}
	if n > 4000+200 {
		t.Fatalf("%d bytes kept of a 4000 budget", n)
	}
	if got[len(got)-1].Content != "the latest instruction" || !strings.HasPrefix(got[0].Content, "task task") {
		t.Fatalf("first or last lost: %q ... %q", got[0].Content[:20], got[len(got)-1].Content)
	}
	mustContain(t, allContent(got), "earlier messages of the team are left out", "cut to fit")
	if same := fitHistory(msgs[:3], 1<<20); len(same) != 3 {
		t.Fatalf("a thread within budget was changed")
	}
}
