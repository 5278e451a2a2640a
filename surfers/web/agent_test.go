package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/model"
)

// newAgent returns a surfer on the test site driven by fm.
func newAgent(t *testing.T, fm *fakeModel, opts ...Option) (*Surfer, string) {
	t.Helper()
	requireChrome(t)
	site := newSite(t)
	s := New(fm, append([]Option{WithSettleTimeout(5 * time.Second)}, opts...)...)
	closeAndCheck(t, s)
	return s, site.URL
}

// events collects what a step emits.
type events struct {
	mu  sync.Mutex
	evs []agent.Event
}

func (e *events) emit(ev agent.Event) {
	e.mu.Lock()
	e.evs = append(e.evs, ev)
	e.mu.Unlock()
}

func (e *events) of(typ string) []agent.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []agent.Event
	for _, ev := range e.evs {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

func instruction(text string) agent.Message {
	return agent.NewMessage(agent.OrchestratorName, text)
}

func TestStepClicksThroughToSecondPage(t *testing.T) {
	t.Parallel()
	var site string
	code := regexp.MustCompile(`\d{4}-ZETA`)
	fm := &fakeModel{answer: func(n int, req model.Request) (*model.Response, error) {
		last := lastText(req)
		switch {
		case code.MatchString(last):
			return &model.Response{Content: "The vault code is " + code.FindString(last) + "."}, nil
		case strings.Contains(last, `"name": "Vault"`):
			return call("click", map[string]any{"target_id": targetID(t, last, "Vault")}), nil
		default:
			return call("visit_url", map[string]any{"url": site + "/index.html"}), nil
		}
	}}
	s, url := newAgent(t, fm)
	site = url
	ev := &events{}
	thread := []agent.Message{instruction("Find the vault code on the test site at " + site)}
	var replies []agent.Message
	for range 3 {
		m, err := s.Step(context.Background(), agent.Turn{Thread: thread, Emit: ev.emit})
		if err != nil {
			t.Fatal(err)
		}
		replies = append(replies, m)
		thread = append(thread, m, instruction("Go on."))
	}
	mustContain(t, replies[0].Content, "I opened "+site+"/index.html", "[M1 Test Home]")
	mustNotContain(t, replies[0].Content, "4711-ZETA")
	mustContain(t, replies[1].Content, "I clicked 'Vault'", "4711-ZETA")
	if replies[2].Content != "The vault code is 4711-ZETA." {
		t.Fatalf("final reply %q", replies[2].Content)
	}
	for _, r := range replies {
		if r.Source != agent.WebSurferName || len(r.Images) != 0 || r.Usage == nil {
			t.Fatalf("reply %+v", r)
		}
	}

	reqs := fm.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d model calls, want 3", len(reqs))
	}
	// The second decision saw the labelled targets and the thread.
	mustContain(t, lastText(reqs[1]), "Interactive elements in the viewport", `"role": "link", "tools": ["click", "hover"]}`)
	if reqs[1].Messages[0].Role != openai.ChatMessageRoleSystem || !strings.Contains(reqs[1].Messages[1].Content, "Find the vault code") {
		t.Fatalf("prompt does not start with system and the thread: %+v", reqs[1].Messages[:2])
	}
	for _, tl := range reqs[1].Tools {
		if tl.Function.Name == "scroll_down" || tl.Function.Name == "switch_tab" {
			t.Fatalf("offered %s on a short single-tab page", tl.Function.Name)
		}
	}
	calls, results := ev.of(agent.EventToolCall), ev.of(agent.EventToolResult)
	if len(calls) != 2 || len(results) != 2 || calls[1].Tool.Name != "click" || !strings.Contains(results[1].Tool.Result, "4711-ZETA") {
		t.Fatalf("events: calls %+v results %+v", calls, results)
	}
}

func TestStepMalformedToolCallsGoBackToModel(t *testing.T) {
	t.Parallel()
	var site string
	fm := &fakeModel{answer: func(n int, req model.Request) (*model.Response, error) {
		switch n {
		case 0:
			return callRaw("click", `{"target_id": "twelve"`), nil
		case 1:
			return callRaw("teleport", `{"reasoning": "x"}`), nil
		case 2:
			return callRaw("click", `{"reasoning": "x"}`), nil
		default:
			return call("visit_url", map[string]any{"url": site + "/vault.html"}), nil
		}
	}}
	s, url := newAgent(t, fm)
	site = url
	m, err := s.Step(context.Background(), agent.Turn{Thread: []agent.Message{instruction("open the vault")}})
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, m.Content, "4711-ZETA")
	reqs := fm.requests()
	if len(reqs) != 4 {
		t.Fatalf("%d model calls, want 4", len(reqs))
	}
	toolMsg := func(req model.Request) string {
		for i := len(req.Messages) - 1; i >= 0; i-- {
			if req.Messages[i].Role == openai.ChatMessageRoleTool {
				return req.Messages[i].Content
			}
		}
		return ""
	}
	mustContain(t, toolMsg(reqs[1]), "Error: ", "not valid JSON")
	mustContain(t, toolMsg(reqs[2]), `there is no tool named "teleport"`)
	mustContain(t, toolMsg(reqs[3]), "target_id is required")
}

func TestStepGivesUpAfterRepeatedMalformedCalls(t *testing.T) {
	t.Parallel()
	fm := &fakeModel{answer: func(n int, req model.Request) (*model.Response, error) {
		return callRaw("visit_url", `[1, 2`), nil
	}}
	s, _ := newAgent(t, fm)
	m, err := s.Step(context.Background(), agent.Turn{Thread: []agent.Message{instruction("go")}})
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, m.Content, "I could not make a valid browser action", "The web browser is open to the page")
	if n := len(fm.requests()); n != maxArgRetries+1 {
		t.Fatalf("%d model calls", n)
	}
}

func TestStepTextAnswer(t *testing.T) {
	t.Parallel()
	fm := &fakeModel{answer: func(n int, req model.Request) (*model.Response, error) {
		return &model.Response{Content: "Paris is the capital of France.", Usage: agent.Usage{PromptTokens: 10, CompletionTokens: 5}}, nil
	}}
	s, _ := newAgent(t, fm)
	m, err := s.Step(context.Background(), agent.Turn{Thread: []agent.Message{instruction("What is the capital of France?")}})
	if err != nil {
		t.Fatal(err)
	}
	if m.Content != "Paris is the capital of France." || m.Usage.Total() != 15 {
		t.Fatalf("reply %+v", m)
	}
}

func TestStepChainsActionsUpToMaxSteps(t *testing.T) {
	t.Parallel()
	var site string
	fm := &fakeModel{answer: func(n int, req model.Request) (*model.Response, error) {
		last := lastText(req)
		switch n {
		case 0:
			return call("visit_url", map[string]any{"url": site + "/index.html"}), nil
		case 1:
			return call("click", map[string]any{"target_id": targetID(t, last, "Vault")}), nil
		default:
			return &model.Response{Content: "Found it."}, nil
		}
	}}
	s, url := newAgent(t, fm, WithMaxSteps(3))
	site = url
	m, err := s.Step(context.Background(), agent.Turn{Thread: []agent.Message{instruction("find the code")}})
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, m.Content, "4711-ZETA", "Found it.")
	reqs := fm.requests()
	// The third call carries both actions as tool results.
	var tools int
	for _, msg := range reqs[2].Messages {
		if msg.Role == openai.ChatMessageRoleTool {
			tools++
		}
	}
	if len(reqs) != 3 || tools != 2 {
		t.Fatalf("%d calls, %d tool results in the last", len(reqs), tools)
	}
}

func TestVisionModelGetsLatestScreenshotOnly(t *testing.T) {
	t.Parallel()
	var site string
	fm := &fakeModel{info: model.Info{Vision: true}, answer: func(n int, req model.Request) (*model.Response, error) {
		return call("visit_url", map[string]any{"url": site + "/index.html"}), nil
	}}
	dir := t.TempDir()
	s, url := newAgent(t, fm, WithScreenshotDir(dir))
	site = url
	ev := &events{}
	thread := []agent.Message{instruction("open the site")}
	m, err := s.Step(context.Background(), agent.Turn{Thread: thread, Emit: ev.emit})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Images) != 1 || len(m.Images[0].Data) == 0 || m.Images[0].MIME != "image/png" {
		t.Fatalf("reply images %+v", m.Images)
	}
	img, err := png.Decode(bytes.NewReader(m.Images[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 1224 || b.Dy() != 765 {
		t.Fatalf("model image is %v, want 1224x765", b)
	}
	if saved, err := os.ReadFile(m.Images[0].Path); err != nil || !bytes.Equal(saved, m.Images[0].Data) {
		t.Fatalf("screenshot not saved at %q: %v", m.Images[0].Path, err)
	}
	shots := ev.of(agent.EventScreenshot)
	if len(shots) != 2 || shots[1].Images[0].Path != m.Images[0].Path || shots[1].Images[0].Data != nil {
		t.Fatalf("screenshot events %+v", shots)
	}

	// The next step sends the fresh screenshot; the one in the thread is
	// replaced by a placeholder.
	thread = append(thread, m, instruction("go on"))
	if _, err := s.Step(context.Background(), agent.Turn{Thread: thread}); err != nil {
		t.Fatal(err)
	}
	reqs := fm.requests()
	last := reqs[len(reqs)-1]
	images := 0
	for i, msg := range last.Messages {
		for _, p := range msg.MultiContent {
			if p.Type == openai.ChatMessagePartTypeImageURL {
				images++
				if i != len(last.Messages)-1 {
					t.Fatalf("image in message %d of %d", i, len(last.Messages))
				}
			}
		}
	}
	if images != 1 {
		t.Fatalf("%d images sent, want 1", images)
	}
}

func TestTextModelGetsNoImage(t *testing.T) {
	t.Parallel()
	var site string
	fm := &fakeModel{answer: func(n int, req model.Request) (*model.Response, error) {
		return call("visit_url", map[string]any{"url": site + "/index.html"}), nil
	}}
	s, url := newAgent(t, fm)
	site = url
	m, err := s.Step(context.Background(), agent.Turn{Thread: []agent.Message{instruction("open the site")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Images) != 0 {
		t.Fatalf("text model got %d images", len(m.Images))
	}
	for _, req := range fm.requests() {
		for _, msg := range req.Messages {
			if len(msg.MultiContent) > 0 {
				t.Fatal("multi-part (image) message sent to a text model")
			}
		}
	}
}

func TestAnswerQuestionReadsWholePageInChunks(t *testing.T) {
	t.Parallel()
	var site string
	fm := &fakeModel{info: model.Info{ContextWindow: 1000}}
	fm.answer = func(n int, req model.Request) (*model.Response, error) {
		last := lastText(req)
		switch {
		case n == 0:
			return call("visit_url", map[string]any{"url": site + "/long.html"}), nil
		case n == 1:
			return call("answer_question", map[string]any{"question": "What is the last marker on the page?"}), nil
		case strings.Contains(last, "These are the notes taken"):
			i := strings.Index(last, "END-OF-")
			if i < 0 {
				return &model.Response{Content: "unknown"}, nil
			}
			return &model.Response{Content: "The last marker is " + last[i:i+len("END-OF-LONG-PAGE")] + "."}, nil
		case strings.Contains(last, "END-OF-LONG-PAGE"):
			return &model.Response{Content: "This part ends with END-OF-LONG-PAGE."}, nil
		default:
			return &model.Response{Content: "nothing relevant"}, nil
		}
	}
	s, url := newAgent(t, fm)
	site = url
	if _, err := s.Step(context.Background(), agent.Turn{Thread: []agent.Message{instruction("open the long page")}}); err != nil {
		t.Fatal(err)
	}
	m, err := s.Step(context.Background(), agent.Turn{Thread: []agent.Message{instruction("what is the last marker?")}})
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, m.Content, "The last marker is END-OF-LONG-PAGE.", "positioned at the top of the page")
	reqs := fm.requests()
	chunks := 0
	for _, r := range reqs {
		if strings.Contains(lastText(r), "is too long to read at once") {
			chunks++
		}
	}
	if chunks < 5 {
		t.Fatalf("page read in %d chunks, want several (context window 1000 tokens)", chunks)
	}
	mustContain(t, lastText(reqs[len(reqs)-1]), fmt.Sprintf("was read in %d parts", chunks))
}

// refuser refuses every approval request and records them.
type refuser struct {
	mu   sync.Mutex
	reqs []agent.ApprovalRequest
}

func (r *refuser) Approve(ctx context.Context, req agent.ApprovalRequest) (agent.Decision, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.mu.Unlock()
	return agent.Decision{Approved: false, Reason: "not today"}, nil
}

func TestApprovalRefusalGoesBackToModel(t *testing.T) {
	t.Parallel()
	ap := &refuser{}
	h := newHarness(t, WithApprover(ap))
	_, obs := h.visit("/search.html")
	state, _ := h.do("input_text", map[string]any{"input_field_id": h.id(obs, "Live filter"), "text_value": "secret", "press_enter": false})
	mustContain(t, state, "The user did not approve the action", "not today", "Live: (empty)")

	state, _ = h.do("click", map[string]any{"target_id": h.id(obs, "Go")})
	mustContain(t, state, "The user did not approve", "[Search]")

	// A plain link is asked for too: any click can run the page's scripts.
	_, obs = h.visit("/index.html")
	state, _ = h.do("click", map[string]any{"target_id": h.id(obs, "Vault")})
	mustContain(t, state, "The user did not approve")
	mustNotContain(t, state, "4711-ZETA")

	if len(ap.reqs) != 3 || ap.reqs[0].Kind != agent.ApproveBrowser || ap.reqs[0].Detail != "secret" ||
		!strings.Contains(ap.reqs[1].Detail, "submits a form") || !strings.Contains(ap.reqs[2].Detail, "opens "+h.site.URL+"/vault.html") {
		t.Fatalf("approval requests %+v", ap.reqs)
	}
}

func TestSaveAndLoadState(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.visit("/vault.html")
	raw, err := h.s.SaveState()
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, string(raw), h.site.URL+"/vault.html")

	s2 := New(&fakeModel{}, WithSettleTimeout(5*time.Second))
	closeAndCheck(t, s2)
	if err := s2.LoadState(context.Background(), raw); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	o, err := s2.look(context.Background(), false, func(agent.Event) {})
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, o.stateText(), "4711-ZETA")
}

func TestResetGoesBackToStartPage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, obs := h.visit("/newtab.html")
	h.do("click", map[string]any{"target_id": h.id(obs, "Open the vault in a new tab")})
	if err := h.s.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	o, err := h.s.look(context.Background(), false, func(agent.Event) {})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.s.chrome.tabs) != 1 || o.URL != "about:blank" {
		t.Fatalf("after reset: %d tabs, url %s", len(h.s.chrome.tabs), o.URL)
	}
}

func TestCancelledStepLeavesNoChrome(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	// A model that honours the context, as the real client does.
	block := &ctxModel{started: started}
	s, _ := newAgent(t, &fakeModel{})
	s.client = block
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := s.Step(ctx, agent.Turn{Thread: []agent.Message{instruction("go")}})
		done <- err
	}()
	<-started
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("step error %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("step did not end after cancel")
	}
	// closeAndCheck verifies that Close leaves no process behind.
}

// ctxModel blocks until the request's context ends.
type ctxModel struct{ started chan struct{} }

func (m *ctxModel) Complete(ctx context.Context, req model.Request) (*model.Response, error) {
	close(m.started)
	<-ctx.Done()
	return nil, ctx.Err()
}

func (m *ctxModel) Info() model.Info { return model.Info{} }

func TestLaunchFailureIsTypedError(t *testing.T) {
	t.Parallel()
	s := New(&fakeModel{}, WithBrowserPath("/nonexistent/chromium"))
	defer s.Close()
	_, err := s.Step(context.Background(), agent.Turn{Thread: []agent.Message{instruction("go")}})
	var le *LaunchError
	if !errors.As(err, &le) {
		t.Fatalf("error %v (%T), want *LaunchError", err, err)
	}
	mustContain(t, err.Error(), "install chromium", "--browser-path")
}
