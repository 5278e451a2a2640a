package scripted_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/m1-project/m1/model/scripted"
)

func chatBody(t *testing.T, req openai.ChatCompletionRequest) string {
	t.Helper()
	if req.Model == "" {
		req.Model = "gpt-4o"
	}
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// post sends a chat request and returns the status, headers and body.
func post(t *testing.T, ctx context.Context, srv *scripted.Server, body string) (int, http.Header, string, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL()+"/chat/completions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b), err
}

func msgs(system, last string) []openai.ChatCompletionMessage {
	return []openai.ChatCompletionMessage{
		{Role: openai.ChatMessageRoleSystem, Content: system},
		{Role: openai.ChatMessageRoleUser, Content: "earlier flaky words"},
		{Role: openai.ChatMessageRoleUser, Content: last},
	}
}

func content(t *testing.T, body string) string {
	t.Helper()
	var r openai.ChatCompletionResponse
	if err := json.Unmarshal([]byte(body), &r); err != nil || len(r.Choices) != 1 {
		t.Fatalf("body %q: %v", body, err)
	}
	return r.Choices[0].Message.Content
}

func TestMatching(t *testing.T) {
	t.Parallel()
	sc, err := scripted.LoadScenario("testdata/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	coderTool := []openai.Tool{{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{Name: "run_code"}}}
	type call struct {
		req        openai.ChatCompletionRequest
		status     int
		retryAfter string
		content    string
		rule       string
	}
	tests := []struct {
		name  string
		calls []call
	}{
		{"last message", []call{
			{req: openai.ChatCompletionRequest{Messages: msgs("sys", "List 1. GIVEN OR VERIFIED FACTS")}, status: 200, content: "1. GIVEN OR VERIFIED FACTS\n- The task asks why the sky is blue.\n", rule: "facts"},
		}},
		{"system and tools", []call{
			{req: openai.ChatCompletionRequest{Messages: msgs("You are the Coder.", "go"), Tools: coderTool}, status: 200, content: "", rule: "coder tool"},
		}},
		{"system without the tool falls through", []call{
			{req: openai.ChatCompletionRequest{Messages: msgs("You are the Coder.", "go")}, status: 500, rule: "flaky"},
		}},
		{"sequence, then the next rule once used up", []call{
			{req: openai.ChatCompletionRequest{Messages: msgs("s", "x")}, status: 500, rule: "flaky"},
			{req: openai.ChatCompletionRequest{Messages: msgs("s", "x")}, status: 429, retryAfter: "1", rule: "flaky"},
			{req: openai.ChatCompletionRequest{Messages: msgs("s", "x")}, status: 200, content: "finally", rule: "flaky"},
			{req: openai.ChatCompletionRequest{Messages: msgs("s", "x")}, status: 200, content: "I do not know.", rule: "fallback"},
			{req: openai.ChatCompletionRequest{Messages: msgs("s", "x")}, status: 200, content: "", rule: "fallback"},
			// The last reply repeats.
			{req: openai.ChatCompletionRequest{Messages: msgs("s", "x")}, status: 200, content: "", rule: "fallback"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := scripted.New(t, sc)
			for i, c := range tt.calls {
				status, h, body, err := post(t, t.Context(), srv, chatBody(t, c.req))
				if err != nil {
					t.Fatal(err)
				}
				if status != c.status || h.Get("Retry-After") != c.retryAfter {
					t.Fatalf("call %d: status %d retry-after %q, want %d %q; body %s", i, status, h.Get("Retry-After"), c.status, c.retryAfter, body)
				}
				if status == 200 {
					if got := content(t, body); got != c.content {
						t.Errorf("call %d: content %q, want %q", i, got, c.content)
					}
				}
				if got := srv.Requests()[i].Rule; got != c.rule {
					t.Errorf("call %d: served by %q, want %q", i, got, c.rule)
				}
			}
		})
	}
}

func TestNoMatch(t *testing.T) {
	t.Parallel()
	srv := scripted.New(t, &scripted.Scenario{Name: "strict", Rules: []scripted.Rule{{Match: "^never$", Replies: []scripted.Reply{scripted.Text("x")}}}})
	last := strings.Repeat("abcdefghij", 30)
	status, _, body, err := post(t, t.Context(), srv, chatBody(t, openai.ChatCompletionRequest{Messages: msgs("sys", last)}))
	if err != nil {
		t.Fatal(err)
	}
	if status != http.StatusBadRequest || !strings.Contains(body, "no rule matches") || !strings.Contains(body, `\"strict\"`) ||
		!strings.Contains(body, last[:200]) || strings.Contains(body, last[:201]) {
		t.Errorf("status %d body %s", status, body)
	}
	if r := srv.Requests(); len(r) != 1 || r[0].Rule != "" || len(r[0].Request.Messages) != 3 || !strings.Contains(string(r[0].Body), "abcdefghij") {
		t.Errorf("recorded %+v", r)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		reply scripted.Reply
		check func(t *testing.T, status int, h http.Header, body string, err error)
	}{
		{"status", scripted.Reply{Status: 503, Content: "overloaded"}, func(t *testing.T, status int, _ http.Header, body string, err error) {
			if err != nil || status != 503 || !strings.Contains(body, `"message":"overloaded"`) {
				t.Errorf("status %d body %s err %v", status, body, err)
			}
		}},
		{"error code", scripted.Reply{ErrorCode: "context_length_exceeded"}, func(t *testing.T, status int, _ http.Header, body string, err error) {
			if err != nil || status != 400 || !strings.Contains(body, `"code":"context_length_exceeded"`) {
				t.Errorf("status %d body %s err %v", status, body, err)
			}
		}},
		{"malformed", scripted.Reply{Content: "x", Malformed: true}, func(t *testing.T, status int, _ http.Header, body string, err error) {
			if err != nil || status != 200 || json.Valid([]byte(body)) {
				t.Errorf("status %d body %s err %v", status, body, err)
			}
		}},
		{"cut", scripted.Reply{Content: "a fairly long answer", Cut: true}, func(t *testing.T, status int, _ http.Header, body string, err error) {
			if !errors.Is(err, io.ErrUnexpectedEOF) || status != 200 || body == "" {
				t.Errorf("status %d body %q err %v, want part of a body then unexpected EOF", status, body, err)
			}
		}},
		{"reset", scripted.Reply{Reset: true}, func(t *testing.T, status int, _ http.Header, body string, err error) {
			if err == nil {
				t.Errorf("status %d body %q: want a connection error", status, body)
			}
		}},
		{"empty", scripted.Reply{Content: "ignored", Empty: true}, func(t *testing.T, status int, _ http.Header, body string, err error) {
			if err != nil || status != 200 || content(t, body) != "" {
				t.Errorf("status %d body %s err %v", status, body, err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := scripted.New(t, &scripted.Scenario{Rules: []scripted.Rule{{Replies: []scripted.Reply{tt.reply}}}})
			status, h, body, err := post(t, t.Context(), srv, chatBody(t, openai.ChatCompletionRequest{Messages: msgs("s", "hi")}))
			tt.check(t, status, h, body, err)
		})
	}
}

// A delayed reply and a running hook both end when the client goes away:
// Close, which waits for running handlers, does not block behind them.
func TestWaitsStopWhenClientLeaves(t *testing.T) {
	t.Parallel()
	for name, rep := range map[string]scripted.Reply{"delay": {Delay: time.Hour}, "run hook": {Run: "sleep 3600"}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := scripted.New(t, &scripted.Scenario{Rules: []scripted.Rule{{Replies: []scripted.Reply{rep}}}})
			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			defer cancel()
			if _, _, _, err := post(t, ctx, srv, chatBody(t, openai.ChatCompletionRequest{Messages: msgs("s", "hi")})); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v", err)
			}
			done := make(chan struct{})
			go func() { srv.Close(); close(done) }()
			select {
			case <-done:
			case <-time.After(time.Minute):
				t.Fatal("Close blocked behind a waiting reply")
			}
		})
	}
}

func TestStream(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		reply        scripted.Reply
		includeUsage bool
		wantUsage    bool
	}{
		{"with usage", scripted.Reply{Content: "one two three", Usage: &scripted.Usage{PromptTokens: 3, CompletionTokens: 4}}, true, true},
		{"without usage", scripted.Reply{Content: "one two three"}, false, false},
		{"tool call", scripted.Reply{ToolCalls: []scripted.ToolCall{{Name: "f", Arguments: `{"a":1}`}}}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := scripted.New(t, &scripted.Scenario{Rules: []scripted.Rule{{Replies: []scripted.Reply{tt.reply}}}})
			req := openai.ChatCompletionRequest{Messages: msgs("s", "hi"), Stream: true}
			if tt.includeUsage {
				req.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
			}
			status, h, body, err := post(t, t.Context(), srv, chatBody(t, req))
			if err != nil || status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/event-stream") {
				t.Fatalf("status %d, %v, %v", status, h, err)
			}
			var (
				text, args string
				usage      *openai.Usage
				finish     openai.FinishReason
				done       bool
			)
			sc := bufio.NewScanner(strings.NewReader(body))
			for sc.Scan() {
				line := sc.Text()
				if line == "" {
					continue
				}
				data, ok := strings.CutPrefix(line, "data: ")
				if !ok || done {
					t.Fatalf("unexpected line %q", line)
				}
				if data == "[DONE]" {
					done = true
					continue
				}
				var chunk openai.ChatCompletionStreamResponse
				if err := json.Unmarshal([]byte(data), &chunk); err != nil {
					t.Fatal(err)
				}
				if chunk.Usage != nil {
					usage = chunk.Usage
				}
				for _, c := range chunk.Choices {
					text += c.Delta.Content
					for _, tc := range c.Delta.ToolCalls {
						args += tc.Function.Arguments
					}
					if c.FinishReason != "" {
						finish = c.FinishReason
					}
				}
			}
			want := tt.reply.Content
			if text != want || !done || finish == "" {
				t.Errorf("text %q finish %q done %v", text, finish, done)
			}
			if len(tt.reply.ToolCalls) > 0 && (args != tt.reply.ToolCalls[0].Arguments || finish != openai.FinishReasonToolCalls) {
				t.Errorf("tool call args %q finish %q", args, finish)
			}
			if (usage != nil) != tt.wantUsage || (usage != nil && usage.TotalTokens == 0) {
				t.Errorf("usage %+v, want present: %v", usage, tt.wantUsage)
			}
		})
	}
}

func TestStreamCut(t *testing.T) {
	t.Parallel()
	srv := scripted.New(t, &scripted.Scenario{Rules: []scripted.Rule{{Replies: []scripted.Reply{{Content: "one two three four", Cut: true}}}}})
	_, _, body, err := post(t, t.Context(), srv, chatBody(t, openai.ChatCompletionRequest{Messages: msgs("s", "hi"), Stream: true}))
	if !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(body, "one") || strings.Contains(body, "[DONE]") || strings.Contains(body, "four") {
		t.Errorf("body %q err %v, want part of the stream then unexpected EOF", body, err)
	}
}

func TestModelsAndAuth(t *testing.T) {
	t.Parallel()
	srv := scripted.New(t, &scripted.Scenario{APIKey: "sk-good", Models: []string{"m1", "m2"}, Rules: []scripted.Rule{{Replies: []scripted.Reply{scripted.Text("ok")}}}})
	cfg := openai.DefaultConfig("sk-good")
	cfg.BaseURL = srv.URL()
	good := openai.NewClientWithConfig(cfg)
	list, err := good.ListModels(t.Context())
	if err != nil || len(list.Models) != 2 || list.Models[1].ID != "m2" {
		t.Errorf("models %+v, %v", list, err)
	}
	if _, err := good.CreateChatCompletion(t.Context(), openai.ChatCompletionRequest{Model: "m1", Messages: msgs("s", "hi")}); err != nil {
		t.Errorf("good key: %v", err)
	}
	cfg = openai.DefaultConfig("sk-bad")
	cfg.BaseURL = srv.URL()
	_, err = openai.NewClientWithConfig(cfg).CreateChatCompletion(t.Context(), openai.ChatCompletionRequest{Model: "m1", Messages: msgs("s", "hi")})
	var apiErr *openai.APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != 401 {
		t.Errorf("bad key: %v", err)
	}
	_, err = openai.NewClientWithConfig(cfg).ListModels(t.Context())
	if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != 401 {
		t.Errorf("bad key, models: %v", err)
	}
}

func TestConcurrent(t *testing.T) {
	t.Parallel()
	const n = 20
	var replies []scripted.Reply
	for i := range n {
		replies = append(replies, scripted.Text(fmt.Sprint(i)))
	}
	f := false
	srv := scripted.New(t, &scripted.Scenario{Rules: []scripted.Rule{{Replies: replies, Repeat: &f}}})
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seen = map[string]bool{}
	)
	for range n {
		wg.Go(func() {
			_, _, body, err := post(t, t.Context(), srv, chatBody(t, openai.ChatCompletionRequest{Messages: msgs("s", "hi")}))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			seen[content(t, body)] = true
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(seen) != n || len(srv.Requests()) != n {
		t.Errorf("%d distinct replies, %d requests; want each of %d replies once", len(seen), len(srv.Requests()), n)
	}
}

func TestParseScenarioErrors(t *testing.T) {
	t.Parallel()
	for _, src := range []string{
		"rules: [{match: '(', replies: [{content: x}]}]",
		"rules: [{match: x}]",
		"rules: [{replies: [{contnet: x}]}]",
		"rules: [{replies: [{delay: soon}]}]",
	} {
		if _, err := scripted.ParseScenario([]byte(src)); err == nil {
			t.Errorf("ParseScenario(%q) succeeded", src)
		}
	}
	if _, err := scripted.LoadScenario("testdata/missing.yaml"); err == nil {
		t.Error("missing file loaded")
	}
}

func TestRunHook(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := func(name string) string { return filepath.Join(dir, name) }
	tests := []struct {
		name  string
		run   string
		check func(t *testing.T, status int, body string)
	}{
		{"runs before the reply", "echo ran > " + file("sync"), func(t *testing.T, status int, body string) {
			b, err := os.ReadFile(file("sync"))
			if status != 200 || content(t, body) != "after" || err != nil || string(b) != "ran\n" {
				t.Errorf("status %d body %s; file %q, %v", status, body, b, err)
			}
		}},
		{"failure is a 500 with the output", "echo the cause; exit 3", func(t *testing.T, status int, body string) {
			if status != 500 || !strings.Contains(body, "the cause") || !strings.Contains(body, "exit status 3") {
				t.Errorf("status %d body %s", status, body)
			}
		}},
		{"background jobs run on after the reply", "(while [ ! -e " + file("go") + " ]; do sleep 0.05; done; echo late; touch " + file("done") + ") &",
			func(t *testing.T, status int, body string) {
				// The job waits for a file the test makes only now: had
				// the server waited for it, the reply would never come.
				if status != 200 || content(t, body) != "after" {
					t.Fatalf("status %d body %s", status, body)
				}
				if err := os.WriteFile(file("go"), nil, 0o644); err != nil {
					t.Fatal(err)
				}
				for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
					if _, err := os.Stat(file("done")); err == nil {
						return
					}
				}
				t.Error("the background job never finished")
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := scripted.New(t, &scripted.Scenario{Rules: []scripted.Rule{{Replies: []scripted.Reply{{Run: tt.run, Content: "after"}}}}})
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			status, _, body, err := post(t, ctx, srv, chatBody(t, openai.ChatCompletionRequest{Messages: msgs("s", "hi")}))
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, status, body)
		})
	}
}
