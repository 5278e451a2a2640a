package agent

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

func schema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	sch, err := c.Compile("../docs/events.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// oneOfEach is an event of every type, each with its zeros where a zero
// is the truth (no stalls, an empty tool result).
func oneOfEach() []Event {
	at := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	ev := func(typ, src string, f func(*Event)) Event {
		e := Event{Type: typ, ID: "id-" + typ, Time: at, Source: src, SessionID: "20261121-120000-abcdef"}
		f(&e)
		return e
	}
	l := &Ledger{NextSpeaker: LedgerString{Answer: CoderName}}
	return []Event{
		ev(EventTask, UserName, func(e *Event) { e.Content = "What is 6*7?" }),
		ev(EventFacts, OrchestratorName, func(e *Event) { e.Content = "facts" }),
		ev(EventPlan, OrchestratorName, func(e *Event) { e.Content = "plan" }),
		ev(EventLedger, OrchestratorName, func(e *Event) { e.Ledger, e.Turn = l, 1 }),
		ev(EventMessage, OrchestratorName, func(e *Event) { e.Content = "task ledger" }),
		ev(EventMessage, CoderName, func(e *Event) {
			e.Content = "42"
			e.ModelsUsage = &Usage{PromptTokens: 10, CompletionTokens: 2}
			e.Turn = 1
		}),
		ev(EventToolCall, FileSurferName, func(e *Event) { e.Tool = &ToolCall{Name: "open_path", Arguments: ` {"path": "a.txt"} `} }),
		ev(EventToolCall, FileSurferName, func(e *Event) { e.Tool = &ToolCall{Name: "open_path", Arguments: `{"path": `} }),
		ev(EventToolResult, FileSurferName, func(e *Event) { e.Tool = &ToolCall{Name: "open_path"} }),
		ev(EventProgress, "everything", func(e *Event) { e.Tool, e.Content = &ToolCall{Name: "trigger-long-running-operation"}, "1/2" }),
		ev(EventCodeExecution, ComputerTerminalName, func(e *Event) {
			e.Code = &CodeExecution{Language: "python", Code: "print(1)", Executor: "docker"}
		}),
		ev(EventScreenshot, WebSurferName, func(e *Event) { e.Images = []Image{{Path: "s.png"}} }),
		ev(EventReplan, OrchestratorName, func(e *Event) { e.Content = "stalled" }),
		ev(EventWarning, OrchestratorName, func(e *Event) { e.Content = "careful" }),
		ev(EventError, WebSurferName, func(e *Event) { e.Content = "browser died" }),
		ev(EventUserInput, UserName, func(e *Event) { e.Content = "Which one?" }),
		ev(EventApproval, ComputerTerminalName, func(e *Event) {
			e.Approval = &ApprovalRecord{ApprovalRequest: ApprovalRequest{Agent: ComputerTerminalName, Kind: ApproveCode, Action: "run python"}}
		}),
		ev(EventResult, OrchestratorName, func(e *Event) { e.Status, e.StopReason = StatusSuccess, "request satisfied" }),
	}
}

// Every event type is written as docs/events.schema.json says, with the
// fields a type always carries present even when zero.
func TestEventsFollowTheSchema(t *testing.T) {
	t.Parallel()
	sch := schema(t)
	for _, e := range oneOfEach() {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(inst); err != nil {
			t.Errorf("%s does not follow the schema: %v\n%s", e.Type, err, b)
		}
		for _, want := range map[string][]string{
			EventLedger:        {`"turn":1`, `"stalls":0`},
			EventMessage:       {`"turn":`},
			EventToolResult:    {`"result":""`, `"error":false`, `"duration_ms":0`},
			EventResult:        {`"final_answer":""`, `"turns":0`, `"replans":0`, `"usage":{}`, `"duration_ms":0`},
			EventCodeExecution: {`"timed_out":false`},
		}[e.Type] {
			if !strings.Contains(string(b), want) {
				t.Errorf("%s lacks %s: %s", e.Type, want, b)
			}
		}
		if !bytes.HasPrefix(b, []byte(`{"type":"`+e.Type+`","id":"id-`+e.Type+`","time":"2026-11-21T12:00:00Z","source":"`+e.Source+`","session_id":"20261121-`)) {
			t.Errorf("the common fields do not lead: %s", b)
		}
	}
}

// A tool's arguments are the object the model sent, or its exact text
// when that is not JSON; both read back as they were, and so do the
// string arguments of schema 1 transcripts.
func TestToolArguments(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ args, json, back string }{
		{`{"path": "a.txt", "n": 2}`, `"arguments":{"path":"a.txt","n":2}`, `{"path":"a.txt","n":2}`},
		{`{"path": `, `"arguments":"{\"path\": "`, `{"path": `},
		{`["a"]`, `"arguments":"[\"a\"]"`, `["a"]`},
		{``, ``, ``},
	} {
		e := Event{Type: EventToolCall, ID: "x", Source: FileSurferName, Tool: &ToolCall{Name: "open_path", Arguments: c.args}}
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if c.json != "" && !strings.Contains(string(b), c.json) || c.json == "" && strings.Contains(string(b), "arguments") {
			t.Errorf("%q written as %s, want %s", c.args, b, c.json)
		}
		var back Event
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if back.Tool.Arguments != c.back {
			t.Errorf("%q read back as %q, want %q", c.args, back.Tool.Arguments, c.back)
		}
	}
	var old Event
	if err := json.Unmarshal([]byte(`{"type":"tool_call","tool":{"name":"open_path","arguments":"{\"path\": \"a.txt\"}"}}`), &old); err != nil || old.Tool.Arguments != `{"path": "a.txt"}` {
		t.Errorf("a schema 1 event reads as %+v, %v", old.Tool, err)
	}
}

// What is written reads back the same, so m1 show and resume see the run
// as it was.
func TestEventsRoundTrip(t *testing.T) {
	t.Parallel()
	for _, e := range oneOfEach() {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		var back Event
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if e.Tool != nil && e.Tool.Arguments != "" {
			var c bytes.Buffer
			if json.Compact(&c, []byte(e.Tool.Arguments)) == nil {
				e.Tool.Arguments = c.String()
			}
		}
		if e.Type == EventResult && e.Usage == nil {
			e.Usage = map[string]Usage{}
		}
		if !reflect.DeepEqual(e, back) {
			t.Errorf("%s reads back as\n%+v\nwant\n%+v", e.Type, back, e)
		}
	}
}
