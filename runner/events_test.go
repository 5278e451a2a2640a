package runner

import (
	"context"
	"os"
	"testing"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/model/scripted"
	"github.com/m1-project/m1/session"
)

// runEvents runs task with opts against srv and returns the events the
// caller got and those the transcript holds.
func runEvents(t *testing.T, srv *scripted.Server, opts Options, task string) (Outcome, []agent.Event, []agent.Event, error) {
	t.Helper()
	env := map[string]string{"OPENAI_API_KEY": testKey, "OPENAI_BASE_URL": srv.URL(), "M1_MODEL": "scripted"}
	var got []agent.Event
	state := t.TempDir()
	out, err := Run(context.Background(), Env{
		Getenv:      func(k string) string { return env[k] },
		SessionRoot: state,
		Output:      func(e agent.Event) { got = append(got, e) },
	}, opts, task)
	var recorded []agent.Event
	if out.SessionID != "" {
		path, perr := session.TranscriptPath(state, out.SessionID)
		if perr != nil {
			t.Fatal(perr)
		}
		if rerr := readTranscript(path, &recorded); rerr != nil {
			t.Fatal(rerr)
		}
	}
	return out, got, recorded, err
}

// The stream starts with the task even when the set-up had something to
// say first (the local executor's notice), and every event names the
// session.
func TestStreamStartsWithTaskAndNamesTheSession(t *testing.T) {
	t.Parallel()
	srv := scripted.New(t, leakScenario(t))
	opts := DefaultOptions()
	opts.Agents = []string{AgentCoder, AgentTerminal}
	opts.Team.Executor, opts.Team.Yes = ExecutorLocal, true
	opts.WorkDir = t.TempDir()
	out, got, recorded, err := runEvents(t, srv, opts, "find the key")
	if err != nil {
		t.Fatal(err)
	}
	for name, events := range map[string][]agent.Event{"stream": got, "transcript": recorded} {
		if len(events) < 3 || events[0].Type != agent.EventTask || events[1].Type != agent.EventWarning || events[len(events)-1].Type != agent.EventResult {
			t.Errorf("%s: want task, the set-up's warning, ..., result; got %v", name, types(events))
		}
		for _, e := range events {
			if e.SessionID != out.SessionID {
				t.Errorf("%s: a %s event has session_id %q, want %q", name, e.Type, e.SessionID, out.SessionID)
			}
		}
	}
}

// A run that fails once it has a session (no Docker daemon, or no such
// image) still says what was asked and ends with a result, in the stream
// and the transcript.
func TestFailedStartEndsWithResult(t *testing.T) {
	t.Parallel()
	srv := scripted.New(t, leakScenario(t))
	opts := DefaultOptions()
	opts.Agents = []string{AgentCoder, AgentTerminal}
	opts.Team.Image = "m1-test/no-such-image:never"
	opts.WorkDir = t.TempDir()
	out, got, recorded, err := runEvents(t, srv, opts, "find the key")
	if err == nil {
		t.Fatal("a run without Docker started")
	}
	if out.Result.Type != agent.EventResult || out.Result.Status != agent.StatusError || out.Result.StopReason != err.Error() {
		t.Errorf("outcome result = %+v, want an error result with the cause", out.Result)
	}
	for name, events := range map[string][]agent.Event{"stream": got, "transcript": recorded} {
		if len(events) != 2 || events[0].Type != agent.EventTask || events[0].Content != "find the key" || events[1].Type != agent.EventResult || events[1].SessionID != out.SessionID {
			t.Errorf("%s: want task then result with the session, got %+v", name, events)
		}
	}
}

func types(events []agent.Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.Type)
	}
	return out
}

func readTranscript(path string, into *[]agent.Event) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return session.ReadEvents(f, func(e agent.Event) error {
		*into = append(*into, e)
		return nil
	})
}
