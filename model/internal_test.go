package model

import (
	"net/http"
	"slices"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{"1.5", 1500 * time.Millisecond},
		{"-3", 0},
		{now.Add(90 * time.Second).Format(http1123), 90 * time.Second},
		{now.Add(-time.Hour).Format(http1123), 0},
		{"soon", 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

const http1123 = "Mon, 02 Jan 2006 15:04:05 GMT"

func TestMergeToolCalls(t *testing.T) {
	t.Parallel()
	idx := func(i int) *int { return &i }
	tests := []struct {
		name   string
		deltas [][]openai.ToolCall
		want   []string
	}{
		{"by index, interleaved", [][]openai.ToolCall{
			{{Index: idx(0), ID: "a", Function: openai.FunctionCall{Name: "f", Arguments: `{"x":`}}},
			{{Index: idx(1), ID: "b", Function: openai.FunctionCall{Name: "g", Arguments: `{`}}},
			{{Index: idx(0), Function: openai.FunctionCall{Arguments: `1}`}}},
			{{Index: idx(1), Function: openai.FunctionCall{Arguments: `}`}}},
		}, []string{`a f {"x":1}`, `b g {}`}},
		{"no index", [][]openai.ToolCall{
			{{ID: "a", Function: openai.FunctionCall{Name: "f", Arguments: `{"x"`}}},
			{{Function: openai.FunctionCall{Arguments: `:2}`}}},
			{{ID: "b", Function: openai.FunctionCall{Name: "g", Arguments: `{}`}}},
		}, []string{`a f {"x":2}`, `b g {}`}},
	}
	for _, tt := range tests {
		var calls []openai.ToolCall
		for _, d := range tt.deltas {
			calls = mergeToolCalls(calls, d)
		}
		if len(calls) != len(tt.want) {
			t.Fatalf("%s: %d calls, want %d", tt.name, len(calls), len(tt.want))
		}
		for i, c := range calls {
			if got := c.ID + " " + c.Function.Name + " " + c.Function.Arguments; got != tt.want[i] {
				t.Errorf("%s: call %d = %q, want %q", tt.name, i, got, tt.want[i])
			}
		}
	}
}

func TestDeltaSink(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		attempts [][]string
		want     []string
	}{
		{"one attempt", [][]string{{"a ", "b ", "c"}}, []string{"a ", "b ", "c"}},
		{"retry repeats the same text", [][]string{{"hello ", "wor"}, {"hel", "lo w", "orld", "!"}}, []string{"hello ", "wor", "ld", "!"}},
		{"retry differs", [][]string{{"hello ", "wor"}, {"hel", "p me"}}, []string{"hello ", "wor", "help me"}},
		{"retry shorter", [][]string{{"hello world"}, {"hi"}}, []string{"hello world", "hi"}},
	}
	for _, tt := range tests {
		var got []string
		s := &deltaSink{f: func(d string) { got = append(got, d) }}
		for _, a := range tt.attempts {
			s.start()
			for _, d := range a {
				s.write(d)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: deltas %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestRetryHint(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i+1 < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	tests := []struct {
		name string
		h    http.Header
		msg  string
		want time.Duration
	}{
		{"azure retry-after-ms", h("retry-after-ms", "1500", "Retry-After", "2"), "", 1500 * time.Millisecond},
		{"retry-after", h("Retry-After", "7"), "", 7 * time.Second},
		{"openai words", nil, "Rate limit reached for gpt-4o. Please try again in 20s. Visit ...", 20 * time.Second},
		{"openai go duration", nil, "Please try again in 6m0s.", 6 * time.Minute},
		{"openai ms", nil, "Please try again in 120ms.", 120 * time.Millisecond},
		{"azure words", nil, "Please retry after 3 seconds.", 3 * time.Second},
		{"reset headers, the longer", h("x-ratelimit-reset-requests", "1s", "x-ratelimit-reset-tokens", "6m0s"), "", 6 * time.Minute},
		{"nothing said", nil, "slow down", 0},
	}
	for _, tt := range tests {
		if got := retryHint(tt.h, tt.msg, now); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	// Gemini puts the wait in the body.
	e := parseAPIError(429, []byte(`[{"error": {"code": 429, "message": "Resource has been exhausted", "status": "RESOURCE_EXHAUSTED", "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "21s"}]}}]`))
	if e.retryDelay != 21*time.Second || e.code != "RESOURCE_EXHAUSTED" {
		t.Errorf("gemini error = %+v", e)
	}
}

func TestParseAPIErrorShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body, msg, typ string
	}{
		{`{"error": {"message": "bad thing", "type": "invalid_request_error", "code": "x"}}`, "bad thing", "invalid_request_error"},
		{`{"error": "'response_format.type' must be 'json_schema' or 'text'"}`, "'response_format.type' must be 'json_schema' or 'text'", ""},
		{`{"object": "error", "message": "vllm says no", "type": "BadRequestError", "code": 400}`, "vllm says no", "BadRequestError"},
		{`{"detail": "fastapi says no"}`, "fastapi says no", ""},
		{`{"error": {"code": 500, "message": "llama says no", "type": "server_error"}}`, "llama says no", "server_error"},
		{`upstream connect error`, "upstream connect error", ""},
	}
	for _, tt := range tests {
		e := parseAPIError(400, []byte(tt.body))
		if e.message != tt.msg || e.typ != tt.typ {
			t.Errorf("%s: message %q type %q", tt.body, e.message, e.typ)
		}
	}
}

func TestSplitThink(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, rest, think string }{
		{"<think>draft</think>\n\nanswer", "answer", "draft"},
		{"  <thinking>draft</thinking>answer", "answer", "draft"},
		{"<think>cut while thinking", "", "cut while thinking"},
		{"the template opened it</think>\nanswer", "answer", "the template opened it"},
		{"plain answer", "plain answer", ""},
		{"answer with a <think> in the middle", "answer with a <think> in the middle", ""},
	}
	for _, tt := range tests {
		rest, think := SplitThink(tt.in)
		if rest != tt.rest || think != tt.think {
			t.Errorf("SplitThink(%q) = %q, %q", tt.in, rest, think)
		}
	}
}

func TestTextToolCalls(t *testing.T) {
	t.Parallel()
	own := func(s string) string { return s }
	offered := []string{"open_path", "find"}
	tests := []struct {
		content string
		calls   []string
		rest    string
		cut     bool
	}{
		{`Sure.<tool_call>{"name": "open_path", "arguments": {"path": "a"}}</tool_call>`, []string{`open_path {"path":"a"}`}, "Sure.", false},
		{"```json\n{\"name\": \"find\", \"parameters\": {\"q\": \"x\"}}\n```", []string{`find {"q":"x"}`}, "", false},
		{`[TOOL_CALLS][{"name": "find", "arguments": {}}]`, []string{`find {}`}, "", false},
		{`{"name": "delete_everything", "arguments": {}}`, nil, `{"name": "delete_everything", "arguments": {}}`, false},
		{`{"answer": 42}`, nil, `{"answer": 42}`, false},
		{`Opening it. <tool_call>{"name": "open_path", "argu`, nil, "Opening it.", true},
	}
	for _, tt := range tests {
		calls, rest, cut := textToolCalls(tt.content, offered, own)
		var got []string
		for _, c := range calls {
			got = append(got, c.Function.Name+" "+c.Function.Arguments)
		}
		if !slices.Equal(got, tt.calls) || rest != tt.rest || cut != tt.cut {
			t.Errorf("%q: calls %v rest %q cut %v", tt.content, got, rest, cut)
		}
	}
}
