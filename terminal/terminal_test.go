package terminal

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/m1-project/m1/agent"
)

// fakeExec is an Executor that records blocks and returns scripted results.
type fakeExec struct {
	mu      sync.Mutex
	runs    []CodeBlock
	limits  []Limits
	results []Result // by call; missing entries succeed silently
	err     error
	closed  int
}

var _ Executor = (*fakeExec)(nil)

func (f *fakeExec) Run(_ context.Context, b CodeBlock, l Limits) (Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runs = append(f.runs, b)
	f.limits = append(f.limits, l)
	if f.err != nil {
		return Result{}, f.err
	}
	if i := len(f.runs) - 1; i < len(f.results) {
		return f.results[i], nil
	}
	return Result{}, nil
}

func (f *fakeExec) Describe() string { return "fake box" }

func (f *fakeExec) Close() error {
	f.mu.Lock()
	f.closed++
	f.mu.Unlock()
	return nil
}

// approverFunc adapts a function to agent.Approver.
type approverFunc func(context.Context, agent.ApprovalRequest) (agent.Decision, error)

func (f approverFunc) Approve(ctx context.Context, r agent.ApprovalRequest) (agent.Decision, error) {
	return f(ctx, r)
}

// step runs one turn of term on a thread whose Coder message is code, and
// returns the reply and the emitted events.
func step(t *testing.T, ctx context.Context, term *Terminal, code string) (agent.Message, []agent.Event, error) {
	t.Helper()
	var (
		mu     sync.Mutex
		events []agent.Event
	)
	turn := agent.Turn{
		Thread: []agent.Message{
			agent.NewMessage(agent.UserName, "Do the task."),
			agent.NewMessage(agent.CoderName, code),
			agent.NewMessage(agent.OrchestratorName, "ComputerTerminal, please run the code above."),
		},
		Emit: func(e agent.Event) {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		},
	}
	msg, err := term.Step(ctx, turn)
	mu.Lock()
	defer mu.Unlock()
	return msg, events, err
}

func TestTerminalIdentity(t *testing.T) {
	t.Parallel()
	f := &fakeExec{}
	term := New(f)
	if term.Name() != agent.ComputerTerminalName {
		t.Errorf("Name = %q", term.Name())
	}
	if !strings.Contains(term.Description(), "```python") || !strings.Contains(term.Description(), "```sh") {
		t.Errorf("Description does not say how to quote code: %q", term.Description())
	}
	if err := term.Reset(context.Background()); err != nil {
		t.Error(err)
	}
	if err := term.Close(); err != nil || f.closed != 1 {
		t.Errorf("Close = %v, executor closed %d times", err, f.closed)
	}
}

func TestTerminalNoCode(t *testing.T) {
	t.Parallel()
	f := &fakeExec{}
	msg, events, err := step(t, context.Background(), New(f), "I think we should compute it by hand.")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg.Content, "No code blocks found") || !strings.Contains(msg.Content, "```python") {
		t.Errorf("reply = %q, want advice on quoting code", msg.Content)
	}
	if msg.Source != agent.ComputerTerminalName {
		t.Errorf("Source = %q", msg.Source)
	}
	if len(f.runs) != 0 || len(events) != 0 {
		t.Errorf("ran %d blocks, emitted %d events", len(f.runs), len(events))
	}
}

func TestTerminalReplies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		code     string
		results  []Result
		opts     []Option
		wantRuns int
		want     []string
		dontWant []string
	}{
		{
			name:     "output",
			code:     "```python\nprint(42)\n```",
			results:  []Result{{Output: "42\n"}},
			wantRuns: 1,
			want:     []string{"Block 1 (python) exited with code 0. Output:\n42"},
		},
		{
			name:     "printed nothing",
			code:     "```sh\ntrue\n```",
			wantRuns: 1,
			want:     []string{"exited with code 0. The script ran but printed nothing."},
		},
		{
			name:     "timeout",
			code:     "```sh\nsleep 600\n```",
			results:  []Result{{ExitCode: 124, TimedOut: true}},
			wantRuns: 1,
			want:     []string{"Timed out after 60s; the process was killed."},
		},
		{
			name:     "timeout with custom limit and output",
			code:     "```sh\necho a; sleep 600\n```",
			opts:     []Option{WithTimeout(2 * time.Second)},
			results:  []Result{{ExitCode: 124, TimedOut: true, Output: "a\n"}},
			wantRuns: 1,
			want:     []string{"Timed out after 2s; the process was killed. Output before that:\na"},
		},
		{
			name:     "stops at the first failure",
			code:     "```sh\necho one\n```\n```sh\nexit 3\n```\n```python\nprint('three')\n```\n```sh\necho four\n```",
			results:  []Result{{Output: "one\n"}, {ExitCode: 3}},
			wantRuns: 2,
			want:     []string{"Block 2 (sh) exited with code 3.", "2 blocks after it were not run"},
			dontWant: []string{"Block 3 (", "Block 4 ("},
		},
		{
			name:     "not runnable blocks reported, the rest run",
			code:     "```\nuntagged\n```\n```go\npackage main\n```\n```python\nprint(1)\n```",
			results:  []Result{{Output: "1\n"}},
			wantRuns: 1,
			want:     []string{"Block 1 was not run: it has no language tag", `Block 2 was not run: "go" is not a language`, "Block 3 (python) exited with code 0"},
		},
		{
			name:     "unclosed block",
			code:     "```python\nprint(1)\n",
			wantRuns: 0,
			want:     []string{"never closed"},
		},
		{
			name:     "filename shown",
			code:     "```python\n# filename: calc.py\nprint(1)\n```",
			results:  []Result{{Output: "1\n"}},
			wantRuns: 1,
			want:     []string{"Block 1 (python, saved as calc.py) exited with code 0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeExec{results: tt.results}
			msg, events, err := step(t, context.Background(), New(f, tt.opts...), tt.code)
			if err != nil {
				t.Fatal(err)
			}
			if len(f.runs) != tt.wantRuns {
				t.Errorf("ran %d blocks, want %d", len(f.runs), tt.wantRuns)
			}
			if len(events) != tt.wantRuns {
				t.Errorf("emitted %d events, want %d", len(events), tt.wantRuns)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg.Content, w) {
					t.Errorf("reply lacks %q:\n%s", w, msg.Content)
				}
			}
			for _, w := range tt.dontWant {
				if strings.Contains(msg.Content, w) {
					t.Errorf("reply has %q:\n%s", w, msg.Content)
				}
			}
		})
	}
}

func TestTerminalPassesLimitsAndEmitsEvents(t *testing.T) {
	t.Parallel()
	f := &fakeExec{results: []Result{{ExitCode: 0, Output: "hi\n"}}}
	term := New(f, WithTimeout(5*time.Second), WithOutputCap(123))
	_, events, err := step(t, context.Background(), term, "```bash\n# filename: x.sh\necho hi\n```")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.limits) != 1 || f.limits[0] != (Limits{Timeout: 5 * time.Second, OutputCap: 123}) {
		t.Errorf("limits = %+v", f.limits)
	}
	if len(events) != 1 {
		t.Fatalf("events = %d, want 1", len(events))
	}
	e := events[0]
	want := agent.CodeExecution{Language: LangBash, Code: "# filename: x.sh\necho hi\n", Filename: "x.sh", Executor: "fake box", Output: "hi\n"}
	if e.Type != agent.EventCodeExecution || e.Source != agent.ComputerTerminalName || e.Code == nil || *e.Code != want {
		t.Errorf("event = %+v (code %+v), want code %+v", e, e.Code, want)
	}
}

func TestTerminalExecutorErrorIsAnError(t *testing.T) {
	t.Parallel()
	boom := errors.New("daemon went away")
	_, _, err := step(t, context.Background(), New(&fakeExec{err: boom}), "```sh\nls\n```")
	if !errors.Is(err, boom) {
		t.Errorf("Step error = %v, want it to wrap %v", err, boom)
	}
}

func TestTerminalApproval(t *testing.T) {
	t.Parallel()
	l := newLocal(t)
	var reqs []agent.ApprovalRequest
	deny := approverFunc(func(_ context.Context, r agent.ApprovalRequest) (agent.Decision, error) {
		reqs = append(reqs, r)
		return agent.Decision{Approved: false, Reason: "not on my machine"}, nil
	})
	code := "```python\nopen('pwned.txt', 'w').write('x')\n```\n```sh\ntouch second.txt\n```"
	var events []agent.Event
	msg, err := New(l, WithApprover(deny)).Step(context.Background(), agent.Turn{
		Thread: []agent.Message{agent.NewMessage(agent.CoderName, code)},
		Emit:   func(e agent.Event) { events = append(events, e) },
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"pwned.txt", "second.txt"} {
		if _, err := os.Stat(filepath.Join(l.WorkDir(), name)); err == nil {
			t.Errorf("%s exists: denied code ran", name)
		}
	}
	if entries, _ := os.ReadDir(l.WorkDir()); len(entries) != 0 {
		t.Errorf("work dir not empty after a denial: %v", entries)
	}
	if !strings.Contains(msg.Content, "refused") || !strings.Contains(msg.Content, "not on my machine") {
		t.Errorf("reply = %q, want the refusal and its reason", msg.Content)
	}
	if !strings.Contains(msg.Content, "1 block after it was not run either") {
		t.Errorf("reply does not say the second block did not run: %q", msg.Content)
	}
	if len(events) != 0 {
		t.Errorf("emitted %d code events for denied code", len(events))
	}
	if len(reqs) != 1 {
		t.Fatalf("asked %d times, want once (the denial stops the rest)", len(reqs))
	}
	want := agent.ApprovalRequest{
		Agent:  agent.ComputerTerminalName,
		Kind:   agent.ApproveCode,
		Action: "run python in local host",
		Detail: "open('pwned.txt', 'w').write('x')\n",
	}
	if reqs[0] != want {
		t.Errorf("request = %+v, want %+v", reqs[0], want)
	}
}

func TestTerminalApprovalGranted(t *testing.T) {
	t.Parallel()
	l := newLocal(t)
	n := 0
	allow := approverFunc(func(context.Context, agent.ApprovalRequest) (agent.Decision, error) {
		n++
		return agent.Decision{Approved: true}, nil
	})
	msg, _, err := step(t, context.Background(), New(l, WithApprover(allow)),
		"```python\nprint('one')\n```\n```sh\necho two\n```")
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("asked %d times, want once per block", n)
	}
	if !strings.Contains(msg.Content, "one") || !strings.Contains(msg.Content, "two") {
		t.Errorf("reply = %q", msg.Content)
	}
}

func TestTerminalApprovalError(t *testing.T) {
	t.Parallel()
	f := &fakeExec{}
	broken := approverFunc(func(context.Context, agent.ApprovalRequest) (agent.Decision, error) {
		return agent.Decision{}, context.Canceled
	})
	_, _, err := step(t, context.Background(), New(f, WithApprover(broken)), "```sh\nls\n```")
	if !errors.Is(err, context.Canceled) || len(f.runs) != 0 {
		t.Errorf("Step = %v with %d runs, want the approver's error and no run", err, len(f.runs))
	}
}

// TestTerminalLocalEndToEnd drives the terminal with the local executor
// through the cases the Docker tests cover, so they hold without Docker too.
func TestTerminalLocalEndToEnd(t *testing.T) {
	t.Parallel()
	l := newLocal(t)
	// A generous limit for the run that must finish (python may take a
	// while to start on a loaded machine), a short one for the one that
	// must time out.
	term := New(l, WithTimeout(time.Minute))
	ctx := context.Background()

	msg, _, err := step(t, ctx, term, "```python\n# filename: w.py\nopen('result.txt', 'w').write('6*7=' + str(6*7))\nprint('wrote')\n```")
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(l.WorkDir(), "result.txt")); err != nil || string(b) != "6*7=42" {
		t.Errorf("result.txt = %q, %v", b, err)
	}
	if !strings.Contains(msg.Content, "saved as w.py) exited with code 0. Output:\nwrote") {
		t.Errorf("reply = %q", msg.Content)
	}

	msg, _, err = step(t, ctx, New(l, WithTimeout(time.Second)), "```sh\nsleep 600\n```")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg.Content, "Timed out after 1s; the process was killed.") {
		t.Errorf("reply = %q", msg.Content)
	}
}

func TestTerminalRefusesEscapingFilenames(t *testing.T) {
	t.Parallel()
	f := newEscapeFixture(t)
	l, err := NewLocal(f.work)
	if err != nil {
		t.Fatal(err)
	}
	testRefusesEscapingFilenames(t, l, f)
}

// testRefusesEscapingFilenames checks, for any executor working in f.work,
// that every escaping name is refused in the reply and nothing is written or
// run.
func testRefusesEscapingFilenames(t *testing.T, exec Executor, f escapeFixture) {
	t.Helper()
	term := New(exec)
	for name, filename := range f.escapeNames() {
		code := "```python\n# filename: " + filename + "\nopen('ran.txt', 'w').write('ran')\n```\n```sh\ntouch after.txt\n```"
		msg, events, err := step(t, context.Background(), term, code)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !strings.Contains(msg.Content, "refused filename") || !strings.Contains(msg.Content, "Nothing was written") {
			t.Errorf("%s: reply = %q, want a refusal", name, msg.Content)
		}
		if len(events) != 0 {
			t.Errorf("%s: %d code events for refused code", name, len(events))
		}
		for _, marker := range []string{"ran.txt", "after.txt"} {
			if _, err := os.Stat(filepath.Join(f.work, marker)); err == nil {
				t.Fatalf("%s: %s exists: the refused code ran", name, marker)
			}
		}
	}
	f.assertOutsideUntouched(t)
}
