package temporal

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	sdktemporal "go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/model/scripted"
	"github.com/m1-project/m1/runner"
	"github.com/m1-project/m1/session"
)

const testKey = "sk-temporal-test-0123456789"

// twoTurns is a run of two Coder turns and a final answer.
const twoTurns = `
name: two turns
api_key: ` + testKey + `
rules:
  - name: facts
    match: GIVEN OR VERIFIED FACTS
    replies: [{content: "1. GIVEN OR VERIFIED FACTS\n- none"}]
  - name: plan
    match: short (bullet )?plan
    replies: [{content: "- Coder: compute, then check"}]
  - name: ledger
    match: is_request_satisfied
    replies:
      - content: '{"is_request_satisfied": {"reason": "no", "answer": false}, "is_in_loop": {"reason": "no", "answer": false}, "is_progress_being_made": {"reason": "x", "answer": true}, "next_speaker": {"reason": "x", "answer": "Coder"}, "instruction_or_question": {"reason": "x", "answer": "Compute 6*7."}}'
      - content: '{"is_request_satisfied": {"reason": "no", "answer": false}, "is_in_loop": {"reason": "no", "answer": false}, "is_progress_being_made": {"reason": "x", "answer": true}, "next_speaker": {"reason": "x", "answer": "Coder"}, "instruction_or_question": {"reason": "x", "answer": "Check it."}}'
      - content: '{"is_request_satisfied": {"reason": "done", "answer": true}, "is_in_loop": {"reason": "no", "answer": false}, "is_progress_being_made": {"reason": "x", "answer": true}, "next_speaker": {"reason": "x", "answer": "Coder"}, "instruction_or_question": {"reason": "x", "answer": "none"}}'
  - name: coder
    system: You are the Coder
    replies: [{content: "6*7 = 42, and the key here is ` + testKey + `"}]
  - name: final
    match: final answer
    replies: [{content: "FINAL ANSWER: 42"}]
`

// recorder is a Heartbeat that keeps what it was sent; fail, when set,
// decides the answer to each send.
type recorder struct {
	mu   sync.Mutex
	sent []Progress
	fail func(Progress) error
}

func (r *recorder) send(ctx context.Context, token []byte, p Progress) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		if err := r.fail(p); err != nil {
			return err
		}
	}
	r.sent = append(r.sent, p)
	return nil
}

func (r *recorder) last() Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sent[len(r.sent)-1]
}

// machine is one worker's host: its sessions, work dirs and environment.
type machine struct {
	acts *Activities
	rec  *recorder
	dir  string
}

func newMachine(t *testing.T, srv *scripted.Server) *machine {
	t.Helper()
	dir := t.TempDir()
	env := map[string]string{"OPENAI_API_KEY": testKey, "OPENAI_BASE_URL": srv.URL(), "M1_MODEL": "scripted", "HOME": dir}
	rec := &recorder{}
	m := &machine{rec: rec, dir: dir, acts: &Activities{
		Heartbeat:   rec.send,
		Getenv:      func(k string) string { return env[k] },
		SessionRoot: filepath.Join(dir, "sessions"),
		WorkRoot:    filepath.Join(dir, "work"),
		Identity:    "worker@" + filepath.Base(dir),
	}}
	return m
}

// run runs the activity on m, as attempt after the progress given (nil:
// the first).
func (m *machine) run(t *testing.T, in TaskInput, prev *Progress) (Output, error) {
	t.Helper()
	return m.runWith(t, in, prev, nil)
}

// runWith is run with the worker's stop channel.
func (m *machine) runWith(t *testing.T, in TaskInput, prev *Progress, stop chan struct{}) (Output, error) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	if stop != nil {
		env.SetWorkerStopChannel(stop)
	}
	env.SetTestTimeout(5 * time.Minute)
	env.RegisterActivityWithOptions(m.acts.RunTask, activity.RegisterOptions{Name: ActivityName})
	if prev != nil {
		env.SetHeartbeatDetails(*prev)
	}
	val, err := env.ExecuteActivity(ActivityName, in)
	var out Output
	if err == nil {
		err = val.Get(&out)
	}
	return out, err
}

func taskInput() TaskInput {
	o := runner.DefaultOptions()
	o.Agents = []string{runner.AgentCoder}
	return TaskInput{ID: "t1", Prompt: "What is 6*7?", Options: Portable(o)}
}

func count(srv *scripted.Server, rule string) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Rule == rule {
			n++
		}
	}
	return n
}

func parse(t *testing.T, yaml string) *scripted.Scenario {
	t.Helper()
	sc, err := scripted.ParseScenario([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// Every checkpoint goes out as a heartbeat, in order, before the run goes
// on; the last one holds the answer.
func TestRunTaskHeartbeatsEveryTurn(t *testing.T) {
	t.Parallel()
	srv := scripted.New(t, parse(t, twoTurns))
	m := newMachine(t, srv)
	out, err := m.run(t, taskInput(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if out.Result.Status != agent.StatusSuccess || out.Result.FinalAnswer != "FINAL ANSWER: 42" || out.Result.Turns != 3 || out.Worker != m.acts.Identity {
		t.Fatalf("output %+v", out)
	}
	turns := map[int]bool{}
	prevTurn := 0
	for _, p := range m.rec.sent {
		if p.Turn < prevTurn {
			t.Fatalf("progress went back from turn %d to %d", prevTurn, p.Turn)
		}
		prevTurn = p.Turn
		if len(p.Checkpoint) > 0 {
			cp, err := unpackCheckpoint(p.Checkpoint)
			if err != nil || len(cp.Orchestrator) == 0 {
				t.Fatalf("checkpoint of turn %d: %v", p.Turn, err)
			}
			// The Coder said the key; the checkpoint holds what it said,
			// redacted.
			all, _ := json.Marshal(cp)
			if strings.Contains(string(all), testKey) {
				t.Fatalf("the key is in the checkpoint of turn %d", p.Turn)
			}
			if p.Turn >= 1 && !strings.Contains(string(all), "6*7 = 42, and the key here is [redacted]") {
				t.Fatalf("the checkpoint of turn %d lacks the Coder's reply", p.Turn)
			}
			turns[p.Turn] = true
		}
	}
	if !turns[1] || !turns[2] || !turns[3] {
		t.Fatalf("checkpoints of turns %v, want 1, 2 and 3", turns)
	}
	if last := m.rec.last(); last.Status != agent.StatusSuccess || last.SessionID != out.Result.SessionID {
		t.Fatalf("last progress %+v", last)
	}
	// The work dir is the workflow's own.
	if _, err := os.Stat(filepath.Join(m.acts.WorkRoot, "default-test-workflow-id", "work")); err != nil {
		t.Fatal(err)
	}
}

// A worker that loses its attempt stops; another machine goes on from the
// last checkpoint Temporal has, under the same session id, without asking
// for facts or a plan again, and the answer is asked for once.
func TestRunTaskGoesOnElsewhereFromTheLastHeartbeat(t *testing.T) {
	t.Parallel()
	srv := scripted.New(t, parse(t, twoTurns))
	first := newMachine(t, srv)
	first.rec.fail = func(p Progress) error {
		if p.Turn >= 2 {
			return serviceerror.NewNotFound("workflow execution already completed")
		}
		return nil
	}
	_, err := first.run(t, taskInput(), nil)
	var app *sdktemporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != ErrTypeWorkerStopped {
		t.Fatalf("first attempt: %v", err)
	}
	kept := first.rec.last()
	if kept.Turn != 1 || len(kept.Checkpoint) == 0 {
		t.Fatalf("kept progress %+v", kept)
	}

	second := newMachine(t, srv)
	var starts []TaskEvent
	second.acts.Events = func(e TaskEvent) { starts = append(starts, e) }
	out, err := second.run(t, taskInput(), &kept)
	if err != nil {
		t.Fatal(err)
	}
	// Turn 2 is done again (its checkpoint never reached Temporal); the
	// scenario's ledger is satisfied then.
	if out.Result.Status != agent.StatusSuccess || out.Result.SessionID != kept.SessionID || out.Result.Turns != 2 {
		t.Fatalf("output %+v", out)
	}
	if count(srv, "facts") != 1 || count(srv, "plan") != 1 || count(srv, "final") != 1 {
		t.Fatalf("facts %d, plan %d, final %d requests; want 1 each", count(srv, "facts"), count(srv, "plan"), count(srv, "final"))
	}
	if len(starts) != 2 || starts[0].FromTurn != 1 || starts[1].Status != agent.StatusSuccess {
		t.Fatalf("events %+v", starts)
	}
	s, err := session.Open(second.acts.SessionRoot, kept.SessionID)
	if err != nil {
		t.Fatalf("the session was not imported on the second machine: %v", err)
	}
	defer s.Close()
	if s.Meta().Status != agent.StatusSuccess {
		t.Fatalf("imported session %+v", s.Meta())
	}
}

// An attempt whose last heartbeat holds the answer (its worker died before
// reporting it) returns that answer without running anything.
func TestRunTaskDoesNotAnswerTwice(t *testing.T) {
	t.Parallel()
	srv := scripted.New(t, parse(t, twoTurns))
	first := newMachine(t, srv)
	done, err := first.run(t, taskInput(), nil)
	if err != nil {
		t.Fatal(err)
	}
	final := first.rec.last()
	before := len(srv.Requests())
	second := newMachine(t, srv)
	out, err := second.run(t, taskInput(), &final)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Requests()) - before; n != 0 {
		t.Fatalf("%d model requests for a task already answered", n)
	}
	if out.Result.FinalAnswer != done.Result.FinalAnswer || out.Result.Status != agent.StatusSuccess || out.Result.Turns != 3 {
		t.Fatalf("output %+v", out)
	}
}

// A cancelled task stops at its next step and reports its progress.
func TestRunTaskCancelled(t *testing.T) {
	t.Parallel()
	srv := scripted.New(t, parse(t, twoTurns))
	m := newMachine(t, srv)
	m.rec.fail = func(p Progress) error {
		if p.Turn >= 1 {
			// Temporal keeps the details it is sent with a cancellation.
			m.rec.sent = append(m.rec.sent, p)
			return sdktemporal.NewCanceledError()
		}
		return nil
	}
	_, err := m.run(t, taskInput(), nil)
	var app *sdktemporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != ErrTypeCancelled {
		t.Fatalf("err = %v", err)
	}
	var p Progress
	if err := app.Details(&p); err != nil || p.Turn < 1 || len(p.Checkpoint) == 0 || p.SessionID == "" {
		t.Fatalf("progress %+v (%v)", p, err)
	}
	if count(srv, "final") != 0 {
		t.Fatal("a cancelled task was answered")
	}
}

// A worker runs code on its own machine only when it was started to.
func TestRunTaskRefusesTheLocalExecutor(t *testing.T) {
	t.Parallel()
	srv := scripted.New(t, parse(t, twoTurns))
	m := newMachine(t, srv)
	in := taskInput()
	in.Options.Team.Executor = runner.ExecutorLocal
	_, err := m.run(t, in, nil)
	var app *sdktemporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != ErrTypeRefused || !strings.Contains(app.Message(), "--allow-local-executor") {
		t.Fatalf("err = %v", err)
	}
	if len(srv.Requests()) != 0 {
		t.Fatal("a refused task ran")
	}
}

// A worker that shuts down stops its task at the next step; the error
// says another worker goes on, and the progress Temporal has is the last
// checkpoint.
func TestRunTaskStopsWithTheWorker(t *testing.T) {
	t.Parallel()
	sc := parse(t, strings.Replace(twoTurns, `    replies: [{content: "6*7 = 42`, `    replies: [{delay: 5m, content: "6*7 = 42`, 1))
	srv := scripted.New(t, sc)
	m := newMachine(t, srv)
	stop := make(chan struct{})
	go func() {
		for count(srv, "coder") == 0 {
			time.Sleep(20 * time.Millisecond)
		}
		close(stop)
	}()
	_, err := m.runWith(t, taskInput(), nil, stop)
	var app *sdktemporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != ErrTypeWorkerStopped || app.NonRetryable() {
		t.Fatalf("err = %v", err)
	}
	if last := m.rec.last(); last.SessionID == "" || last.Status != agent.StatusCancelled {
		t.Fatalf("last progress %+v", last)
	}
}
