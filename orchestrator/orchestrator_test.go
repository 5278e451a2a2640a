package orchestrator

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/model"
	"github.com/m1-project/m1/model/scripted"
)

// Regexps matching the orchestrator's prompts in the last message.
const (
	matchFacts    = `GIVEN OR VERIFIED FACTS`
	matchPlan     = `short (bullet )?plan`
	matchLedger   = `is_request_satisfied|could not be used`
	matchFinal    = `final answer`
	ledgerToCoder = `{"is_request_satisfied": {"reason": "no", "answer": false}, "is_in_loop": {"reason": "no", "answer": false}, "is_progress_being_made": {"reason": "yes", "answer": true}, "next_speaker": {"reason": "x", "answer": "Coder"}, "instruction_or_question": {"reason": "x", "answer": "Compute 6*7."}}`
	ledgerDone    = `{"is_request_satisfied": {"reason": "answered", "answer": true}, "is_in_loop": {"reason": "no", "answer": false}, "is_progress_being_made": {"reason": "yes", "answer": true}, "next_speaker": {"reason": "x", "answer": "Coder"}, "instruction_or_question": {"reason": "x", "answer": "none"}}`
	ledgerStuck   = `{"is_request_satisfied": {"reason": "no", "answer": false}, "is_in_loop": {"reason": "yes", "answer": true}, "is_progress_being_made": {"reason": "no", "answer": false}, "next_speaker": {"reason": "x", "answer": "Coder"}, "instruction_or_question": {"reason": "x", "answer": "Try again."}}`
)

// echoAgent is a team member without a model: it answers with a fixed
// text, or fails, and counts its turns.
type echoAgent struct {
	name, reply string
	err         error
	mu          sync.Mutex
	steps       int
	resets      int
	lastThread  []agent.Message
}

func (e *echoAgent) Name() string        { return e.name }
func (e *echoAgent) Description() string { return "answers " + e.reply }
func (e *echoAgent) Reset(context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.resets++
	return nil
}
func (e *echoAgent) Step(ctx context.Context, t agent.Turn) (agent.Message, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.steps++
	e.lastThread = t.Thread
	if e.err != nil {
		return agent.Message{}, e.err
	}
	m := agent.NewMessage(e.name, e.reply)
	m.Usage = &agent.Usage{PromptTokens: 10, CompletionTokens: 5}
	return m, nil
}

func newClient(t *testing.T, srv *scripted.Server, info model.Info) model.Client {
	t.Helper()
	info.Model = "scripted"
	c, err := model.New(model.Endpoint{Model: "scripted", BaseURL: srv.URL(), APIKey: "test-key", Info: info},
		model.WithBackoff(1, 1))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func rules(ledgers ...scripted.Reply) []scripted.Rule {
	return []scripted.Rule{
		{Name: "facts", Match: matchFacts, Replies: []scripted.Reply{scripted.Text("1. GIVEN OR VERIFIED FACTS\n- none\n2. FACTS TO LOOK UP\n- none\n3. FACTS TO DERIVE\n- 6*7\n4. EDUCATED GUESSES\n- 42")}},
		{Name: "plan", Match: matchPlan, Replies: []scripted.Reply{scripted.Text("- Coder: compute 6*7")}},
		{Name: "ledger", Match: matchLedger, Replies: ledgers},
		{Name: "final", Match: matchFinal, Replies: []scripted.Reply{scripted.Text("The answer is 42.")}},
	}
}

type recorder struct {
	mu     sync.Mutex
	events []agent.Event
}

func (r *recorder) emit(e agent.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) types() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		out = append(out, e.Type)
	}
	return out
}

func lastMessages(srv *scripted.Server) []string {
	var out []string
	for _, r := range srv.Requests() {
		msgs := r.Request.Messages
		out = append(out, msgs[len(msgs)-1].Content)
	}
	return out
}

func TestRunSucceeds(t *testing.T) {
	t.Parallel()
	srv := scripted.New(t, &scripted.Scenario{Rules: rules(scripted.Text(ledgerToCoder), scripted.Text(ledgerDone))})
	coder := &echoAgent{name: agent.CoderName, reply: "6*7 = 42"}
	var rec recorder
	var checkpoints int
	o := New(newClient(t, srv, model.Info{}), []agent.Agent{coder}, Options{Emit: rec.emit, Checkpoint: func(State) { checkpoints++ }})
	res := o.Run(context.Background(), "What is 6*7?")

	if res.Status != agent.StatusSuccess || res.FinalAnswer != "The answer is 42." {
		t.Fatalf("result = %+v", res)
	}
	if res.Turns != 2 || coder.steps != 1 || coder.resets != 1 {
		t.Errorf("turns = %d, coder steps = %d, resets = %d; want 2, 1, 1", res.Turns, coder.steps, coder.resets)
	}
	if res.Usage[agent.OrchestratorName].Total() == 0 || res.Usage[agent.CoderName].Total() != 15 {
		t.Errorf("usage = %+v: the orchestrator's own calls and the coder's must be counted", res.Usage)
	}
	if checkpoints < 4 {
		t.Errorf("%d checkpoints, want one after facts/plan and every turn", checkpoints)
	}
	prompts := lastMessages(srv)
	for _, h := range []string{headingGiven, headingLookUp, headingDerive, headingGuess} {
		if !strings.Contains(prompts[0], h) {
			t.Errorf("facts prompt lacks %q", h)
		}
	}
	if !strings.Contains(prompts[1], "plan") || !strings.Contains(prompts[1], "Coder: answers 6*7 = 42") {
		t.Errorf("plan prompt lacks the word plan or the team: %q", prompts[1])
	}
	if !strings.Contains(prompts[len(prompts)-1], "final answer") {
		t.Errorf("last prompt is not the final answer prompt: %q", prompts[len(prompts)-1])
	}
	// The coder saw the task ledger and its instruction.
	if n := len(coder.lastThread); n != 2 || !strings.Contains(coder.lastThread[0].Content, "- Coder: compute 6*7") || coder.lastThread[1].Content != "Compute 6*7." {
		t.Errorf("coder's thread = %+v", coder.lastThread)
	}
	want := []string{agent.EventTask, agent.EventFacts, agent.EventPlan, agent.EventMessage, agent.EventLedger, agent.EventMessage, agent.EventMessage, agent.EventLedger, agent.EventMessage}
	if got := rec.types(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("events = %v\nwant %v", got, want)
	}
}

func TestRunStopsAtTurnLimit(t *testing.T) {
	t.Parallel()
	srv := scripted.New(t, &scripted.Scenario{Rules: rules(scripted.Text(ledgerToCoder))})
	coder := &echoAgent{name: agent.CoderName, reply: "working"}
	o := New(newClient(t, srv, model.Info{}), []agent.Agent{coder}, Options{MaxTurns: 3})
	res := o.Run(context.Background(), "What is 6*7?")
	if res.Status != agent.StatusIncomplete || res.Turns != 3 || coder.steps != 3 {
		t.Fatalf("result = %+v, coder steps = %d; want incomplete after 3 turns", res, coder.steps)
	}
	if !strings.Contains(res.StopReason, "turn limit") || res.FinalAnswer == "" {
		t.Errorf("stop reason %q, answer %q", res.StopReason, res.FinalAnswer)
	}
	last := lastMessages(srv)
	if p := last[len(last)-1]; !strings.Contains(p, "has to stop before it is finished") {
		t.Errorf("limit answer prompt must not claim success: %q", p)
	}
}

func TestStallCounterResetsAfterReplan(t *testing.T) {
	t.Parallel()
	srv := scripted.New(t, &scripted.Scenario{Rules: rules(scripted.Text(ledgerStuck))})
	coder := &echoAgent{name: agent.CoderName, reply: "same again"}
	var rec recorder
	o := New(newClient(t, srv, model.Info{}), []agent.Agent{coder}, Options{MaxStalls: 2, MaxReplans: 1, MaxTurns: 20, Emit: rec.emit})
	res := o.Run(context.Background(), "What is 6*7?")
	// Turn 1 stalls once, turn 2 reaches 2 and replans with a clean count;
	// turns 3 and 4 stall again and hit the replan limit. Magentic-One's
	// bug would replan again at turn 3.
	if res.Status != agent.StatusIncomplete || res.Replans != 1 || res.Turns != 4 {
		t.Fatalf("result = %+v; want incomplete after 1 replan and 4 turns", res)
	}
	if !strings.Contains(res.StopReason, "replan limit") {
		t.Errorf("stop reason = %q", res.StopReason)
	}
	if coder.resets != 2 {
		t.Errorf("agents reset %d times, want 2 (start and replan)", coder.resets)
	}
	var updates int
	for _, p := range lastMessages(srv) {
		if strings.Contains(p, "Update the fact sheet") {
			updates++
			for _, h := range []string{headingGiven, headingLookUp, headingDerive, headingGuess} {
				if !strings.Contains(p, h) {
					t.Errorf("update facts prompt lacks %q", h)
				}
			}
		}
	}
	if updates != 1 {
		t.Errorf("%d fact updates, want 1", updates)
	}
}

func TestMalformedLedgerIsRetriedWithTheError(t *testing.T) {
	t.Parallel()
	srv := scripted.New(t, &scripted.Scenario{Rules: rules(
		scripted.Text("Sure! The Coder should go next."),
		scripted.Text(strings.Replace(ledgerToCoder, `"Coder"`, `"Janitor"`, 1)),
		scripted.Text("```json\n"+ledgerToCoder+"\n```"),
		scripted.Text(ledgerDone))})
	coder := &echoAgent{name: agent.CoderName, reply: "42"}
	o := New(newClient(t, srv, model.Info{}), []agent.Agent{coder}, Options{})
	res := o.Run(context.Background(), "What is 6*7?")
	if res.Status != agent.StatusSuccess || coder.steps != 1 {
		t.Fatalf("result = %+v, steps %d", res, coder.steps)
	}
	var feedback []string
	for _, p := range lastMessages(srv) {
		if strings.HasPrefix(p, "That reply could not be used") {
			feedback = append(feedback, p)
		}
	}
	if len(feedback) != 2 || !strings.Contains(feedback[0], "no JSON object") || !strings.Contains(feedback[1], "Janitor") {
		t.Errorf("retry prompts = %q", feedback)
	}
}

func TestUnusableLedgerCountsAsStall(t *testing.T) {
	t.Parallel()
	srv := scripted.New(t, &scripted.Scenario{Rules: rules(scripted.Text("no idea"))})
	coder := &echoAgent{name: agent.CoderName, reply: "42"}
	var rec recorder
	o := New(newClient(t, srv, model.Info{}), []agent.Agent{coder}, Options{MaxStalls: 2, MaxReplans: 0, MaxJSONRetries: 2, Emit: rec.emit})
	res := o.Run(context.Background(), "What is 6*7?")
	if res.Status != agent.StatusIncomplete || res.Turns != 2 || coder.steps != 0 {
		t.Fatalf("result = %+v, coder steps %d; want incomplete after 2 stalled turns", res, coder.steps)
	}
	warnings := 0
	for _, typ := range rec.types() {
		if typ == agent.EventWarning {
			warnings++
		}
	}
	if warnings != 2 {
		t.Errorf("%d warnings, want one per unusable ledger", warnings)
	}
}

func TestAgentFailureIsReportedAndRunGoesOn(t *testing.T) {
	t.Parallel()
	srv := scripted.New(t, &scripted.Scenario{Rules: rules(scripted.Text(ledgerToCoder), scripted.Text(ledgerDone))})
	coder := &echoAgent{name: agent.CoderName, err: errors.New("browser died")}
	o := New(newClient(t, srv, model.Info{}), []agent.Agent{coder}, Options{})
	res := o.Run(context.Background(), "What is 6*7?")
	if res.Status != agent.StatusSuccess {
		t.Fatalf("result = %+v", res)
	}
	st := o.State()
	if got := st.Thread[len(st.Thread)-2].Content; !strings.Contains(got, "browser died") {
		t.Errorf("failure not in thread: %q", got)
	}
}

func TestStructuredOutputAsksForSchema(t *testing.T) {
	t.Parallel()
	srv := scripted.New(t, &scripted.Scenario{Rules: rules(scripted.Text(ledgerDone))})
	o := New(newClient(t, srv, model.Info{StructuredOutput: true, JSONOutput: true}), []agent.Agent{&echoAgent{name: agent.CoderName}}, Options{})
	if res := o.Run(context.Background(), "x"); res.Status != agent.StatusSuccess {
		t.Fatalf("result = %+v", res)
	}
	var found bool
	for _, r := range srv.Requests() {
		if f := r.Request.ResponseFormat; f != nil {
			found = true
			if f.Type != "json_schema" || f.JSONSchema == nil || f.JSONSchema.Name != "progress_ledger" {
				t.Errorf("response_format = %+v", f)
			}
		}
	}
	if !found {
		t.Error("no request asked for structured output")
	}
}

func TestCancelStopsTheRun(t *testing.T) {
	t.Parallel()
	srv := scripted.New(t, &scripted.Scenario{Rules: rules(scripted.Text(ledgerToCoder))})
	ctx, cancel := context.WithCancel(context.Background())
	coder := &cancelAgent{cancel: cancel}
	o := New(newClient(t, srv, model.Info{}), []agent.Agent{coder}, Options{})
	res := o.Run(ctx, "x")
	if res.Status != agent.StatusCancelled || !errors.Is(res.Err, context.Canceled) {
		t.Fatalf("result = %+v", res)
	}
	if st := o.State(); st.Status != agent.StatusCancelled || st.Turns != 1 {
		t.Errorf("state = %+v", st)
	}
}

type cancelAgent struct{ cancel func() }

func (c *cancelAgent) Name() string                { return agent.CoderName }
func (c *cancelAgent) Description() string         { return "cancels" }
func (c *cancelAgent) Reset(context.Context) error { return nil }
func (c *cancelAgent) Step(ctx context.Context, _ agent.Turn) (agent.Message, error) {
	c.cancel()
	<-ctx.Done()
	return agent.Message{}, ctx.Err()
}

func TestResumeCountsLimitsFromTheResume(t *testing.T) {
	t.Parallel()
	srv := scripted.New(t, &scripted.Scenario{Rules: rules(scripted.Text(ledgerToCoder), scripted.Text(ledgerToCoder), scripted.Text(ledgerDone))})
	coder := &echoAgent{name: agent.CoderName, reply: "working"}
	c := newClient(t, srv, model.Info{})
	first := New(c, []agent.Agent{coder}, Options{MaxTurns: 2})
	if res := first.Run(context.Background(), "x"); res.Status != agent.StatusIncomplete {
		t.Fatalf("first run = %+v", res)
	}
	before := len(srv.Requests())
	second := New(c, []agent.Agent{coder}, Options{MaxTurns: 2})
	res := second.Resume(context.Background(), first.State(), "")
	if res.Status != agent.StatusSuccess || res.Turns != 3 {
		t.Fatalf("resumed run = %+v; want success at turn 3", res)
	}
	for _, p := range lastMessages(srv)[before:] {
		if strings.Contains(p, headingGiven) {
			t.Error("resume re-planned from scratch")
		}
	}
}

func TestEmptyRepliesAreAskedAgainNeverSentBackEmpty(t *testing.T) {
	t.Parallel()
	rs := rules(scripted.Reply{Empty: true}, scripted.Text(ledgerToCoder), scripted.Text(ledgerDone))
	rs[0].Replies = append([]scripted.Reply{{Empty: true}}, rs[0].Replies...)
	srv := scripted.New(t, &scripted.Scenario{Rules: rs})
	o := New(newClient(t, srv, model.Info{}), []agent.Agent{&echoAgent{name: agent.CoderName, reply: "42"}}, Options{})
	if res := o.Run(context.Background(), "What is 6*7?"); res.Status != agent.StatusSuccess {
		t.Fatalf("result = %+v", res)
	}
	if st := o.State(); strings.TrimSpace(st.Facts) == "" {
		t.Error("blank facts were kept")
	}
	for _, r := range srv.Requests() {
		for _, m := range r.Request.Messages {
			if m.Role == "assistant" && m.Content == "" && len(m.MultiContent) == 0 {
				t.Fatalf("a %s request sent an empty assistant message", r.Rule)
			}
		}
	}
}

func TestEmptyFinalAnswerIsAnErrorNotASuccess(t *testing.T) {
	t.Parallel()
	rs := rules(scripted.Text(ledgerDone))
	rs[3].Replies = []scripted.Reply{{Empty: true}}
	srv := scripted.New(t, &scripted.Scenario{Rules: rs})
	o := New(newClient(t, srv, model.Info{}), []agent.Agent{&echoAgent{name: agent.CoderName, reply: "42"}}, Options{})
	res := o.Run(context.Background(), "What is 6*7?")
	if res.Status != agent.StatusError || !strings.Contains(res.StopReason, "empty reply") {
		t.Fatalf("result = %+v", res)
	}
	if n := len(srv.Requests()); n != 5 {
		t.Errorf("%d requests, want facts, plan, ledger and the final answer twice", n)
	}
}
