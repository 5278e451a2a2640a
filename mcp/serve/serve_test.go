package serve

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/m1-project/m1/model/scripted"
	"github.com/m1-project/m1/runner"
	"github.com/m1-project/m1/session"
	"github.com/m1-project/m1/surfers/file"
)

// fixture is an m1 MCP server connected in memory to the Go SDK's client,
// its runs served by a scripted model.
type fixture struct {
	cs       *sdk.ClientSession
	model    *scripted.Server
	work     string
	sessions string

	mu       sync.Mutex
	progress []*sdk.ProgressNotificationParams
}

func newFixture(t *testing.T, sc *scripted.Scenario) *fixture {
	t.Helper()
	f := &fixture{model: scripted.New(t, sc), work: t.TempDir(), sessions: t.TempDir()}
	env := map[string]string{"OPENAI_BASE_URL": f.model.URL(), "OPENAI_API_KEY": "k", "M1_MODEL": "scripted"}
	opts := runner.DefaultOptions()
	opts.Agents = []string{runner.AgentCoder}
	opts.WorkDir = f.work
	opts.NoStream = true
	s := New(Options{Run: opts, Getenv: func(k string) string { return env[k] }, SessionRoot: f.sessions, Version: "test"})
	ct, st := sdk.NewInMemoryTransports()
	ss, err := s.MCP().Connect(t.Context(), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ss.Close() })
	c := sdk.NewClient(&sdk.Implementation{Name: "test-client", Version: "1"}, &sdk.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, r *sdk.ProgressNotificationClientRequest) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.progress = append(f.progress, r.Params)
		},
	})
	if f.cs, err = c.Connect(t.Context(), ct, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.cs.Close() })
	return f
}

func (f *fixture) call(ctx context.Context, t *testing.T, name string, args map[string]any) *sdk.CallToolResult {
	t.Helper()
	p := &sdk.CallToolParams{Name: name, Arguments: args}
	p.SetProgressToken("tok-" + name)
	res, err := f.cs.CallTool(ctx, p)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res
}

func textOf(res *sdk.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(*sdk.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

func sixBySeven(t *testing.T) *scripted.Scenario {
	t.Helper()
	sc, err := scripted.LoadScenario("../../testdata/scenarios/sixbyseven.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func TestToolsListed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, sixBySeven(t))
	res, err := f.cs.ListTools(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	if strings.Join(names, ",") != "read_file,resume_session,run_task" {
		t.Errorf("tools %v", names)
	}
	if init := f.cs.InitializeResult(); init.ServerInfo.Name != "m1" || !strings.Contains(init.Instructions, "run_task") {
		t.Errorf("server %+v", init)
	}
}

// run_task runs a whole session and returns its answer, status and id,
// with a progress notification per turn.
func TestRunTask(t *testing.T) {
	t.Parallel()
	f := newFixture(t, sixBySeven(t))
	res := f.call(t.Context(), t, "run_task", map[string]any{"task": "What is 6*7?"})
	if res.IsError {
		t.Fatalf("error: %s", textOf(res))
	}
	out, _ := res.StructuredContent.(map[string]any)
	if out["final_answer"] != "The answer is 42." || out["status"] != "success" || out["turns"] != float64(3) {
		t.Errorf("structured content %v", res.StructuredContent)
	}
	id, _ := out["session_id"].(string)
	if !strings.HasPrefix(textOf(res), "The answer is 42.") || !strings.Contains(textOf(res), "session "+id) {
		t.Errorf("text %q", textOf(res))
	}
	sess, err := session.Open(f.sessions, id)
	if err != nil {
		t.Fatalf("session %q: %v", id, err)
	}
	defer sess.Close()
	if sess.Meta().Status != "success" {
		t.Errorf("session status %q", sess.Meta().Status)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var msgs []string
	for _, p := range f.progress {
		msgs = append(msgs, p.Message)
		if p.ProgressToken != "tok-run_task" || p.Total != 20 {
			t.Errorf("progress %+v", p)
		}
	}
	want := []string{"turn 1: Coder — Compute 6*7.", "turn 2: Coder — Check the result another way.", "turn 3: the request is satisfied; writing the final answer"}
	if strings.Join(msgs, "|") != strings.Join(want, "|") {
		t.Errorf("progress %q, want %q", msgs, want)
	}
}

// A client that cancels its call stops the run, which is saved as
// cancelled.
func TestRunTaskCancelled(t *testing.T) {
	t.Parallel()
	sc := sixBySeven(t)
	for i := range sc.Rules {
		if sc.Rules[i].Name == "coder" {
			sc.Rules[i].Replies[0].Delay = 10 * time.Minute
		}
	}
	f := newFixture(t, sc)
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		// Cancel once the Coder waits for its model.
		for {
			for _, r := range f.model.Requests() {
				if r.Rule == "coder" {
					cancel()
					return
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	start := time.Now()
	_, err := f.cs.CallTool(ctx, &sdk.CallToolParams{Name: "run_task", Arguments: map[string]any{"task": "What is 6*7?"}})
	if err == nil {
		t.Fatal("the cancelled call returned a result")
	}
	// The run notices and records its end.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		all, _ := session.List(f.sessions)
		if len(all) == 1 && all[0].Status == "cancelled" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sessions %+v: the run was not cancelled", all)
		}
	}
	if d := time.Since(start); d > time.Minute {
		t.Errorf("took %s", d)
	}
}

func TestRunTaskMistakes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, sixBySeven(t))
	for _, tt := range []struct {
		args map[string]any
		says string
	}{
		{map[string]any{"task": " "}, "task is empty"},
		{map[string]any{"task": "x", "agents": []string{"painter"}}, `unknown agent "painter"`},
		{map[string]any{"task": "x", "work_dir": "/etc"}, "outside the folders m1 may use"},
		{map[string]any{"task": "x", "work_dir": "nope"}, "work_dir"},
		{map[string]any{"task": "x", "max_turns": -1}, "negative"},
	} {
		res := f.call(t.Context(), t, "run_task", tt.args)
		if !res.IsError || !strings.Contains(textOf(res), tt.says) {
			t.Errorf("%v: error %v %q, want %q", tt.args, res.IsError, textOf(res), tt.says)
		}
	}
	if n := len(f.model.Requests()); n != 0 {
		t.Errorf("%d model requests for calls that should not start", n)
	}
}

// resume_session gives a finished session a follow-up in the same context.
func TestResumeSession(t *testing.T) {
	t.Parallel()
	f := newFixture(t, sixBySeven(t))
	first := f.call(t.Context(), t, "run_task", map[string]any{"task": "What is 6*7?"})
	id := first.StructuredContent.(map[string]any)["session_id"].(string)
	res := f.call(t.Context(), t, "resume_session", map[string]any{"session_id": "last", "follow_up": "And 7*6?"})
	out, _ := res.StructuredContent.(map[string]any)
	if res.IsError || out["session_id"] != id || out["status"] != "success" {
		t.Errorf("resume: %v %q", res.StructuredContent, textOf(res))
	}
	bad := f.call(t.Context(), t, "resume_session", map[string]any{"session_id": "20990101-000000-000000"})
	if !bad.IsError {
		t.Errorf("unknown session: %q", textOf(bad))
	}
}

// read_file returns what m1 read prints, for files inside the work dir
// only.
func TestReadFile(t *testing.T) {
	t.Parallel()
	f := newFixture(t, sixBySeven(t))
	src, err := os.ReadFile("../../testdata/files/memo.docx")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.work, "memo.docx"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := file.Render(t.Context(), filepath.Join(f.work, "memo.docx"), &want); err != nil {
		t.Fatal(err)
	}
	res := f.call(t.Context(), t, "read_file", map[string]any{"path": "memo.docx"})
	if res.IsError || textOf(res) != want.String() {
		t.Errorf("read_file = %q, want what m1 read prints: %q", textOf(res), want.String())
	}
	if res := f.call(t.Context(), t, "read_file", map[string]any{"path": "."}); res.IsError || !strings.Contains(textOf(res), "| memo.docx |") {
		t.Errorf("folder: %q", textOf(res))
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(f.work, "link")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/etc/passwd", "../../../../etc/passwd", "link", "missing.txt"} {
		res := f.call(t.Context(), t, "read_file", map[string]any{"path": p})
		if !res.IsError || strings.Contains(textOf(res), "root:") {
			t.Errorf("%s: %q", p, textOf(res))
		}
	}
}
