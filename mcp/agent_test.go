package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/config"
	"github.com/m1-project/m1/model"
	"github.com/m1-project/m1/model/scripted"
)

// events records what a step emits.
type events struct {
	mu sync.Mutex
	l  []agent.Event
}

func (e *events) emit(ev agent.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.l = append(e.l, ev)
}

func (e *events) of(typ string) []agent.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []agent.Event
	for _, ev := range e.l {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// newAgent is the test server as an agent whose model replies with
// replies, in order.
func newAgent(t *testing.T, srv *Server, vision bool, replies []scripted.Reply, opts ...Option) (*Agent, *scripted.Server) {
	t.Helper()
	ms := scripted.New(t, &scripted.Scenario{Name: "mcp", Rules: []scripted.Rule{{Name: "agent", Replies: replies}}})
	c, err := model.New(model.Endpoint{Model: "test-model", BaseURL: ms.URL(), APIKey: "k",
		Info: model.Info{Vision: vision, FunctionCalling: true}}, model.WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	return New(srv, c, opts...), ms
}

func call(name, args string) scripted.Reply { return scripted.Call(name, args) }

// step runs one step on an instruction.
func step(t *testing.T, a *Agent, ev *events) (agent.Message, error) {
	t.Helper()
	return a.Step(t.Context(), agent.Turn{
		Thread: []agent.Message{agent.NewMessage(agent.OrchestratorName, "Do what the test needs.")},
		Emit:   ev.emit,
	})
}

// bodies returns the raw request bodies the model got.
func bodies(ms *scripted.Server) []string {
	var out []string
	for _, r := range ms.Requests() {
		out = append(out, string(r.Body))
	}
	return out
}

func TestStepCallsToolsAsTheServerGivesThem(t *testing.T) {
	t.Parallel()
	srv := connectTest(t, testServer("tester"))
	a, ms := newAgent(t, srv, false, []scripted.Reply{
		call("echo", `{"message": "hello"}`),
		scripted.Text("The server echoed hello."),
	})
	var ev events
	msg, err := step(t, a, &ev)
	if err != nil {
		t.Fatal(err)
	}
	if a.Name() != "tester" || msg.Source != "tester" {
		t.Errorf("name %q, source %q", a.Name(), msg.Source)
	}
	for _, want := range []string{`echo({"message":"hello"}) returned:`, "Echo: hello", "The server echoed hello."} {
		if !strings.Contains(msg.Content, want) {
			t.Errorf("reply lacks %q:\n%s", want, msg.Content)
		}
	}
	if msg.Usage == nil || msg.Usage.Total() == 0 {
		t.Error("the reply carries no usage")
	}
	b := bodies(ms)
	if len(b) != 2 {
		t.Fatalf("%d model calls, want 2", len(b))
	}
	// The tool as the server gives it: name, description, its own schema.
	for _, want := range []string{`"name":"echo","description":"Echoes the message back. Nothing else."`,
		`"message":{"description":"what to echo","type":"string"}`, `"required":["message"]`, `"name":"crash"`} {
		if !strings.Contains(b[0], want) {
			t.Errorf("first request lacks %s", want)
		}
	}
	if !strings.Contains(b[0], "Test server for m1") {
		t.Error("the server's instructions are not in the system prompt")
	}
	if !regexp.MustCompile(`"role":"tool","content":"Echo: hello[^"]*","name":"echo","tool_call_id":"[^"]+"`).MatchString(b[1]) {
		t.Errorf("second request lacks the tool's result:\n%s", b[1])
	}
	calls, results := ev.of(agent.EventToolCall), ev.of(agent.EventToolResult)
	if len(calls) != 1 || calls[0].Tool.Name != "echo" || len(results) != 1 || results[0].Tool.Error || !strings.Contains(results[0].Tool.Result, "Echo: hello") {
		t.Errorf("events: calls %+v results %+v", calls, results)
	}
	if d := a.Description(); !strings.Contains(d, `MCP server "tester" (m1-test-server 0.1)`) || !strings.Contains(d, "Test server for m1") || !strings.Contains(d, "echo (Echoes the message back)") {
		t.Errorf("description: %s", d)
	}
}

// Mistakes the model can fix come back to it as the tool's result, and
// the step goes on.
func TestStepReturnsMistakesToTheModel(t *testing.T) {
	t.Parallel()
	srv := connectTest(t, testServer("tester"))
	a, ms := newAgent(t, srv, false, []scripted.Reply{
		call("nosuch", `{}`),
		call("echo", `{"message": `),
		call("add", `{"a": "two", "b": 3}`),
		call("fail", `{}`),
		scripted.Text("I could not do it."),
	})
	var ev events
	msg, err := step(t, a, &ev)
	if err != nil {
		t.Fatal(err)
	}
	b := bodies(ms)
	if len(b) != 5 {
		t.Fatalf("%d model calls, want 5", len(b))
	}
	for i, want := range []string{
		`There is no tool \\"nosuch\\". The tools are: add, crash, echo`,
		`the arguments are not a JSON object`,
		`(The server refused the call|The tool reported an error).*a`,
		`The tool reported an error:\\ndisk quota exceeded on /data`,
	} {
		if !regexp.MustCompile(want).MatchString(b[i+1]) {
			t.Errorf("request %d lacks %s", i+2, want)
		}
	}
	res := ev.of(agent.EventToolResult)
	if len(res) != 4 {
		t.Fatalf("%d results", len(res))
	}
	for _, r := range res {
		if !r.Tool.Error {
			t.Errorf("%s: not flagged as an error", r.Tool.Name)
		}
	}
	if !strings.Contains(msg.Content, "disk quota exceeded") || !strings.Contains(msg.Content, "I could not do it.") {
		t.Errorf("reply:\n%s", msg.Content)
	}
}

// A server with resources lists them to the model, which reads one with
// the read_resource tool m1 adds.
func TestStepReadsResources(t *testing.T) {
	t.Parallel()
	srv := connectTest(t, testServer("tester"))
	a, ms := newAgent(t, srv, false, []scripted.Reply{
		call("read_resource", `{"uri": "test://notes/1"}`),
		call("read_resource", `{"uri": "test://nothing"}`),
		call("read_resource", `{}`),
		scripted.Text("The notes say NOTES-555."),
	})
	var ev events
	msg, err := step(t, a, &ev)
	if err != nil {
		t.Fatal(err)
	}
	b := bodies(ms)
	if !strings.Contains(b[0], "- test://notes/1 notes: The team's notes") || !strings.Contains(b[0], `"name":"read_resource"`) {
		t.Errorf("the first request does not list the resource or offer read_resource:\n%s", b[0])
	}
	for i, want := range []string{`[resource test://notes/1 (text/plain)]\nNOTES-555`, `The server could not read test://nothing`, `read_resource needs the resource's uri`} {
		if !strings.Contains(b[i+1], want) {
			t.Errorf("request %d lacks %s", i+2, want)
		}
	}
	if !strings.Contains(msg.Content, "NOTES-555") {
		t.Errorf("reply:\n%s", msg.Content)
	}
}

func TestStepImages(t *testing.T) {
	t.Parallel()
	for _, vision := range []bool{true, false} {
		t.Run("vision="+strconv.FormatBool(vision), func(t *testing.T) {
			t.Parallel()
			srv := connectTest(t, testServer("tester"))
			dir := t.TempDir()
			a, ms := newAgent(t, srv, vision, []scripted.Reply{call("picture", `{}`), scripted.Text("A dot.")}, WithImageDir(dir))
			var ev events
			msg, err := step(t, a, &ev)
			if err != nil {
				t.Fatal(err)
			}
			b := bodies(ms)
			sent := strings.Contains(b[1], `"image_url":{"url":"data:image/png;base64,`)
			if sent != vision {
				t.Errorf("vision %v: image sent to the model: %v", vision, sent)
			}
			if !vision && !strings.Contains(b[1], "which this model cannot see") {
				t.Error("a model without vision is not told about the picture")
			}
			if !strings.Contains(b[1], "[image 1: image/png, 70 bytes]") {
				t.Errorf("the tool's result does not stand for the picture:\n%s", b[1])
			}
			saved, _ := filepath.Glob(filepath.Join(dir, "tester-001.png"))
			if len(saved) != 1 {
				t.Error("the picture was not saved")
			}
			if got := len(msg.Images); vision && (got != 1 || msg.Images[0].Path != saved[0] || len(msg.Images[0].Data) == 0) || !vision && got != 0 {
				t.Errorf("vision %v: reply images %+v", vision, msg.Images)
			}
		})
	}
}

// approver records requests and refuses those of one tool.
type approver struct {
	mu     sync.Mutex
	asked  []agent.ApprovalRequest
	refuse string
}

func (ap *approver) Approve(_ context.Context, r agent.ApprovalRequest) (agent.Decision, error) {
	ap.mu.Lock()
	defer ap.mu.Unlock()
	ap.asked = append(ap.asked, r)
	if strings.Contains(r.Action, ap.refuse) {
		return agent.Decision{Reason: "not on a Friday"}, nil
	}
	return agent.Decision{Approved: true}, nil
}

// Tools the server marks read-only run without asking; others are asked
// for, and a refusal reaches the model.
func TestStepAsksBeforeToolsThatChangeThings(t *testing.T) {
	t.Parallel()
	srv := connectTest(t, testServer("tester"))
	ap := &approver{refuse: "write"}
	a, ms := newAgent(t, srv, false, []scripted.Reply{
		{ToolCalls: []scripted.ToolCall{{Name: "echo", Arguments: `{"message": "a"}`}, {Name: "write", Arguments: `{"message": "note"}`}}},
		scripted.Text("Refused."),
	}, WithApprover(ap))
	var ev events
	if _, err := step(t, a, &ev); err != nil {
		t.Fatal(err)
	}
	if len(ap.asked) != 1 {
		t.Fatalf("asked %d times, want once (for write only): %+v", len(ap.asked), ap.asked)
	}
	r := ap.asked[0]
	if r.Agent != "tester" || r.Kind != "mcp:tester" || r.Action != "call tester's tool write" || !strings.Contains(r.Detail, `message: "note"`) {
		t.Errorf("request %+v", r)
	}
	b := bodies(ms)
	if !strings.Contains(b[1], "The call was not approved: not on a Friday.") || !strings.Contains(b[1], "Echo: a") {
		t.Errorf("second request:\n%s", b[1])
	}
}

func TestStepTimeoutAndProgress(t *testing.T) {
	t.Parallel()
	srv := connectTest(t, testServer("tester"))
	a, ms := newAgent(t, srv, false, []scripted.Reply{
		call("slow", `{"seconds": 30}`),
		call("slow", `{"seconds": 1}`),
		scripted.Text("Done."),
	}, WithCallTimeout(3*time.Second))
	var ev events
	start := time.Now()
	if _, err := step(t, a, &ev); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the step took %s: the timeout did not end the call", d)
	}
	b := bodies(ms)
	if !strings.Contains(b[1], "The call was cancelled") || !strings.Contains(b[1], "timed out after 3s") {
		t.Errorf("the model was not told of the timeout:\n%s", b[1])
	}
	// The server is still usable, and its progress shows.
	if !strings.Contains(b[2], `"content":"slept"`) {
		t.Errorf("the next call failed:\n%s", b[2])
	}
	var prog []string
	for _, e := range ev.of(agent.EventProgress) {
		prog = append(prog, e.Tool.Name+" "+e.Content)
	}
	// The client handles notifications apart from replies, so the last
	// ones may arrive after the result, when the call is over and nobody
	// listens; on a busy machine more than the last.
	want := []string{"slow 1/4: step 1", "slow 2/4: step 2", "slow 3/4: step 3", "slow 4/4: step 4"}
	if len(prog) < 1 || len(prog) > len(want) || strings.Join(prog, "; ") != strings.Join(want[:len(prog)], "; ") {
		t.Errorf("progress events %q, want %q", prog, want)
	}
}

// A server that crashes is restarted once, and the model is told; after a
// second crash the step fails and so does every later one, at once.
func TestStepServerCrash(t *testing.T) {
	t.Parallel()
	srv := connectTest(t, testServer("tester"))
	a, ms := newAgent(t, srv, false, []scripted.Reply{
		call("crash", `{}`),
		call("echo", `{"message": "still there?"}`),
		scripted.Text("It restarted."),
		call("crash", `{}`),
	})
	var ev events
	msg, err := step(t, a, &ev)
	if err != nil {
		t.Fatal(err)
	}
	b := bodies(ms)
	if !strings.Contains(b[1], "The server stopped during the call (exit status 3; stderr: panic: simulated crash) and was restarted") {
		t.Errorf("the model was not told of the crash:\n%s", b[1])
	}
	if !strings.Contains(b[2], "Echo: still there?") {
		t.Errorf("the restarted server did not answer:\n%s", b[2])
	}
	w := ev.of(agent.EventWarning)
	if len(w) != 1 || !strings.Contains(w[0].Content, "mcp server tester stopped (exit status 3") || !strings.Contains(msg.Content, "Note: mcp server tester stopped") {
		t.Errorf("warnings %+v, reply:\n%s", w, msg.Content)
	}
	_, err = step(t, a, &ev)
	var se *StoppedError
	if !errors.As(err, &se) || se.Restarted || !strings.Contains(err.Error(), "again after a restart") {
		t.Fatalf("second crash: %v", err)
	}
	n := len(ms.Requests())
	start := time.Now()
	if _, err := step(t, a, &ev); !errors.As(err, &se) || time.Since(start) > 5*time.Second {
		t.Errorf("a step after the server is gone: %v after %s", err, time.Since(start))
	}
	if len(ms.Requests()) != n {
		t.Error("the model was asked although the server is gone")
	}
}

func TestStepStopsAfterMaxRounds(t *testing.T) {
	t.Parallel()
	srv := connectTest(t, testServer("tester"))
	a, ms := newAgent(t, srv, false, []scripted.Reply{call("echo", `{"message": "again"}`)}, WithMaxRounds(2))
	var ev events
	msg, err := step(t, a, &ev)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms.Requests()) != 2 || !strings.Contains(msg.Content, "stopped after 2 rounds of tool calls") {
		t.Errorf("%d model calls; reply:\n%s", len(ms.Requests()), msg.Content)
	}
}

// The server sees only the variables it needs and those its config
// gives: m1's keys stay with m1.
func TestServerEnvironment(t *testing.T) {
	t.Parallel()
	getenv := func(k string) string {
		return map[string]string{"PATH": os.Getenv("PATH"), "HOME": "/home/someone", "OPENAI_API_KEY": "sk-secret-of-m1"}[k]
	}
	srv, err := Connect(t.Context(), testServer("tester", "M1_MCP_TEST_SEEN", "given"), getenv, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for name, want := range map[string]string{"OPENAI_API_KEY": "OPENAI_API_KEY=", "HOME": "HOME=/home/someone", "M1_MCP_TEST_SEEN": "M1_MCP_TEST_SEEN=given"} {
		args, _ := json.Marshal(map[string]string{"message": name})
		res, err := srv.Call(t.Context(), "getenv", args, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := convert(res).text; got != want {
			t.Errorf("%s: server sees %q, want %q", name, got, want)
		}
	}
}

// Close ends the server and every process it started, at once.
func TestCloseEndsTheProcessTree(t *testing.T) {
	t.Parallel()
	srv := connectTest(t, testServer("tester"))
	res, err := srv.Call(t.Context(), "spawn", []byte(`{}`), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	child, err := strconv.Atoi(convert(res).text)
	if err != nil {
		t.Fatal(err)
	}
	server := srv.cur.proc.cmd.Process.Pid
	start := time.Now()
	srv.Close()
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("Close took %s", d)
	}
	for _, pid := range []int{server, child} {
		if !gone(pid, 5*time.Second) {
			t.Errorf("process %d outlives Close", pid)
		}
	}
}

// gone waits until pid no longer runs (a zombie counts as gone).
func gone(pid int, wait time.Duration) bool {
	for deadline := time.Now().Add(wait); ; time.Sleep(20 * time.Millisecond) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil || strings.Contains(string(b), ") Z ") {
			return true
		}
		if syscall.Kill(pid, 0) != nil {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

func TestConnectFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		srv   config.MCPServer
		start time.Duration
		says  []string
	}{
		{"no such command", config.MCPServer{Name: "x", Command: "m1-no-such-server"}, 0,
			[]string{"mcp server x", `command "m1-no-such-server" not found in PATH`}},
		{"exits at once", testServer("x", "M1_MCP_TEST_DIE", "1"), 0,
			[]string{"mcp server x: connect", "exit status 4", "stderr: fatal: missing configuration file"}},
		{"never answers", testServer("x", "M1_MCP_TEST_DELAY", "60"), 300 * time.Millisecond,
			[]string{"no answer within 300ms", "startup_timeout"}},
		{"nothing listens", config.MCPServer{Name: "x", URL: "http://127.0.0.1:1/mcp"}, 0,
			[]string{"mcp server x: connect"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			srv, err := Connect(t.Context(), tt.srv, os.Getenv, tt.start)
			if err == nil {
				srv.Close()
				t.Fatal("connected")
			}
			for _, s := range tt.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
			if d := time.Since(start); d > 15*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
}
