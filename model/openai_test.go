package model_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/m1-project/m1/model"
	"github.com/m1-project/m1/model/scripted"
)

const testKey = "sk-test-0123456789abcdef"

// sleeps records the waits between retries instead of spending them.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

func newClient(t *testing.T, url string, opts ...model.Option) model.Client {
	t.Helper()
	c, err := model.New(model.Endpoint{Model: "gpt-4o", BaseURL: url, APIKey: testKey}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func userMsg(s string) []openai.ChatCompletionMessage {
	return []openai.ChatCompletionMessage{
		{Role: openai.ChatMessageRoleSystem, Content: "You are a test."},
		{Role: openai.ChatMessageRoleUser, Content: s},
	}
}

func TestComplete(t *testing.T) {
	t.Parallel()
	sc := &scripted.Scenario{Rules: []scripted.Rule{
		{Match: "weather", Tools: []string{"get_weather"}, Replies: []scripted.Reply{{
			Content:   "Let me look.",
			ToolCalls: []scripted.ToolCall{{Name: "get_weather", Arguments: `{"city":"Paris"}`}, {Name: "get_time", Arguments: `{}`}},
			Usage:     &scripted.Usage{PromptTokens: 42, CompletionTokens: 7},
		}}},
		{Replies: []scripted.Reply{{Content: "The sky is blue because of Rayleigh scattering.", Usage: &scripted.Usage{PromptTokens: 11, CompletionTokens: 9}}}},
	}}
	tools := []openai.Tool{
		model.Tool("get_weather", "Weather.", struct {
			City string `json:"city"`
		}{}),
		model.Tool("get_time", "Time.", struct{}{}),
	}
	tests := []struct {
		name      string
		stream    bool
		prompt    string
		tools     []openai.Tool
		content   string
		calls     []string // name(args)
		usage     [2]int
		finish    string
		wantDelta bool
	}{
		{"plain text", false, "why is the sky blue", nil, "The sky is blue because of Rayleigh scattering.", nil, [2]int{11, 9}, "stop", false},
		{"streamed text", true, "why is the sky blue", nil, "The sky is blue because of Rayleigh scattering.", nil, [2]int{11, 9}, "stop", true},
		{"plain tool calls", false, "weather in Paris", tools, "Let me look.", []string{`get_weather({"city":"Paris"})`, `get_time({})`}, [2]int{42, 7}, "tool_calls", false},
		{"streamed tool calls", true, "weather in Paris", tools, "Let me look.", []string{`get_weather({"city":"Paris"})`, `get_time({})`}, [2]int{42, 7}, "tool_calls", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := scripted.New(t, sc)
			c := newClient(t, srv.URL())
			var deltas []string
			req := model.Request{Messages: userMsg(tt.prompt), Tools: tt.tools}
			if tt.stream {
				req.OnDelta = func(d string) { deltas = append(deltas, d) }
			}
			resp, err := c.Complete(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Content != tt.content {
				t.Errorf("content = %q, want %q", resp.Content, tt.content)
			}
			var calls []string
			for _, tc := range resp.ToolCalls {
				if tc.ID == "" || tc.Type != openai.ToolTypeFunction {
					t.Errorf("tool call %+v lacks id or type", tc)
				}
				calls = append(calls, tc.Function.Name+"("+tc.Function.Arguments+")")
			}
			if strings.Join(calls, ";") != strings.Join(tt.calls, ";") {
				t.Errorf("tool calls = %v, want %v", calls, tt.calls)
			}
			if got := [2]int{resp.Usage.PromptTokens, resp.Usage.CompletionTokens}; got != tt.usage {
				t.Errorf("usage = %v, want %v", got, tt.usage)
			}
			if resp.FinishReason != tt.finish || resp.Cached {
				t.Errorf("finish = %q cached = %v", resp.FinishReason, resp.Cached)
			}
			if tt.wantDelta && (len(deltas) < 2 || strings.Join(deltas, "") != tt.content) {
				t.Errorf("deltas = %q, want pieces of %q", deltas, tt.content)
			}
			reqs := srv.Requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			sent := reqs[0].Request
			if sent.Stream != tt.stream || (tt.stream && (sent.StreamOptions == nil || !sent.StreamOptions.IncludeUsage)) {
				t.Errorf("stream = %v, stream_options = %+v", sent.Stream, sent.StreamOptions)
			}
			if sent.Model != "gpt-4o" || len(sent.Messages) != 2 || len(sent.Tools) != len(tt.tools) {
				t.Errorf("sent %+v", sent)
			}
			if got := reqs[0].Header.Get("Authorization"); got != "Bearer "+testKey {
				t.Errorf("authorization = %q", got)
			}
		})
	}
}

func TestRetries(t *testing.T) {
	t.Parallel()
	ok := scripted.Text("recovered")
	tests := []struct {
		name    string
		stream  bool
		replies []scripted.Reply
		opts    []model.Option
		// wantWaits, when set, are the exact waits expected (Retry-After).
		wantWaits []time.Duration
	}{
		{name: "500 then ok", replies: []scripted.Reply{scripted.Fault(500, "boom"), ok}},
		{name: "502 503 then ok streamed", stream: true, replies: []scripted.Reply{scripted.Fault(502, "bad gateway"), scripted.Fault(503, "busy"), ok}},
		{name: "429 retry-after", replies: []scripted.Reply{{Status: 429, RetryAfter: 7}, ok}, wantWaits: []time.Duration{7 * time.Second}},
		{name: "429 retry-after streamed", stream: true, replies: []scripted.Reply{{Status: 429, RetryAfter: 3}, ok}, wantWaits: []time.Duration{3 * time.Second}},
		{name: "reset", replies: []scripted.Reply{{Reset: true}, ok}},
		{name: "reset streamed", stream: true, replies: []scripted.Reply{{Reset: true}, ok}},
		{name: "cut body", replies: []scripted.Reply{{Content: "a long answer that gets cut", Cut: true}, ok}},
		{name: "cut stream", stream: true, replies: []scripted.Reply{{Content: "a long answer that gets cut off", Cut: true}, ok}},
		{name: "malformed", replies: []scripted.Reply{{Malformed: true}, ok}},
		{name: "malformed stream", stream: true, replies: []scripted.Reply{{Malformed: true}, ok}},
		{name: "stalled server", replies: []scripted.Reply{{Delay: time.Minute}, ok}, opts: []model.Option{model.WithTimeout(300 * time.Millisecond)}},
		{name: "stalled stream", stream: true, replies: []scripted.Reply{{Delay: time.Minute}, ok}, opts: []model.Option{model.WithTimeout(300 * time.Millisecond)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := scripted.New(t, &scripted.Scenario{Rules: []scripted.Rule{{Replies: tt.replies}}})
			var sl sleeps
			var retries []model.Retry
			opts := append([]model.Option{model.WithSleep(sl.sleep), model.WithOnRetry(func(r model.Retry) { retries = append(retries, r) })}, tt.opts...)
			c := newClient(t, srv.URL(), opts...)
			var streamed strings.Builder
			req := model.Request{Messages: userMsg("hello")}
			if tt.stream {
				req.OnDelta = func(d string) { streamed.WriteString(d) }
			}
			resp, err := c.Complete(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Content != "recovered" {
				t.Errorf("content = %q", resp.Content)
			}
			if n := len(srv.Requests()); n != len(tt.replies) {
				t.Errorf("%d requests, want %d", n, len(tt.replies))
			}
			if len(retries) != len(tt.replies)-1 {
				t.Errorf("%d retries reported, want %d", len(retries), len(tt.replies)-1)
			}
			for _, r := range retries {
				if strings.Contains(r.Err.Error(), testKey) {
					t.Errorf("retry error shows the key: %v", r.Err)
				}
			}
			if tt.wantWaits != nil {
				if got := sl.waits(); len(got) != len(tt.wantWaits) || got[0] != tt.wantWaits[0] {
					t.Errorf("waits = %v, want %v", got, tt.wantWaits)
				}
			}
			for _, r := range srv.Requests() {
				if r.Request.Stream != tt.stream {
					t.Errorf("a retry changed stream to %v", r.Request.Stream)
				}
			}
		})
	}
}

func TestBackoffGrows(t *testing.T) {
	t.Parallel()
	srv := scripted.New(t, &scripted.Scenario{Rules: []scripted.Rule{{Replies: []scripted.Reply{scripted.Fault(500, "down")}}}})
	var sl sleeps
	c := newClient(t, srv.URL(), model.WithSleep(sl.sleep), model.WithMaxRetries(4), model.WithBackoff(time.Second, 5*time.Second))
	_, err := c.Complete(t.Context(), model.Request{Messages: userMsg("hi")})
	if !errors.Is(err, model.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), "after 5 attempts") {
		t.Errorf("err = %v, want attempts named", err)
	}
	w := sl.waits()
	if len(w) != 4 {
		t.Fatalf("waits = %v, want 4", w)
	}
	// Jitter keeps each wait within [d/2, d] of base*2^n capped at max.
	for i, d := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second} {
		if w[i] < d/2 || w[i] > d {
			t.Errorf("wait %d = %v, want within [%v, %v]", i, w[i], d/2, d)
		}
	}
}

func TestMalformedGivesUp(t *testing.T) {
	t.Parallel()
	srv := scripted.New(t, &scripted.Scenario{Rules: []scripted.Rule{{Replies: []scripted.Reply{{Malformed: true}}}}})
	var sl sleeps
	c := newClient(t, srv.URL(), model.WithSleep(sl.sleep), model.WithMaxRetries(2))
	_, err := c.Complete(t.Context(), model.Request{Messages: userMsg("hi")})
	if !errors.Is(err, model.ErrMalformed) {
		t.Fatalf("err = %v, want ErrMalformed", err)
	}
	if n := len(srv.Requests()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
	for _, want := range []string{"malformed reply", "after 3 attempts", srv.URL(), "gpt-4o"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %q, want it to say %q", err, want)
		}
	}
}

// TestStallGivesUp checks that a server that never answers ends in an
// error that names the timeout and says how to allow more time.
func TestStallGivesUp(t *testing.T) {
	t.Parallel()
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			t.Parallel()
			srv := scripted.New(t, &scripted.Scenario{Rules: []scripted.Rule{{Replies: []scripted.Reply{{Delay: time.Minute}}}}})
			var sl sleeps
			c := newClient(t, srv.URL(), model.WithSleep(sl.sleep), model.WithMaxRetries(1), model.WithTimeout(300*time.Millisecond))
			req := model.Request{Messages: userMsg("hi")}
			if stream {
				req.OnDelta = func(string) {}
			}
			_, err := c.Complete(t.Context(), req)
			if !errors.Is(err, model.ErrUnavailable) {
				t.Fatalf("err = %v, want ErrUnavailable", err)
			}
			for _, want := range []string{"after 2 attempts", "300ms", "--request-timeout", "timeout: in the config"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err = %q, want it to say %q", err, want)
				}
			}
			if n := len(srv.Requests()); n != 2 {
				t.Errorf("%d requests, want 2", n)
			}
		})
	}
}

func TestFatalErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		sc     scripted.Scenario
		kind   error
		status int
		says   string
	}{
		{"wrong key", scripted.Scenario{APIKey: "sk-the-right-one", Rules: []scripted.Rule{{Replies: []scripted.Reply{ok()}}}}, model.ErrAuth, 401, "check the API key"},
		{"forbidden echoing the key", scripted.Scenario{Rules: []scripted.Rule{{Replies: []scripted.Reply{scripted.Fault(403, "key "+testKey+" may not use gpt-4o")}}}}, model.ErrAuth, 403, "[redacted]"},
		{"unknown model", scripted.Scenario{Rules: []scripted.Rule{{Replies: []scripted.Reply{{Status: 404, ErrorCode: "model_not_found", Content: "The model `gpt-4o` does not exist"}}}}}, model.ErrModelNotFound, 404, "check the model name"},
		{"ollama model not found", scripted.Scenario{Rules: []scripted.Rule{{Replies: []scripted.Reply{scripted.Fault(400, `model "gpt-4o" not found, try pulling it first`)}}}}, model.ErrModelNotFound, 400, "check the model name"},
		{"context length", scripted.Scenario{Rules: []scripted.Rule{{Replies: []scripted.Reply{{ErrorCode: "context_length_exceeded", Content: "This model's maximum context length is 128000 tokens."}}}}}, model.ErrContextLength, 400, "shorten"},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			t.Run(tt.name+map[bool]string{true: " streamed"}[stream], func(t *testing.T) {
				t.Parallel()
				srv := scripted.New(t, &tt.sc)
				var sl sleeps
				c := newClient(t, srv.URL(), model.WithSleep(sl.sleep))
				req := model.Request{Messages: userMsg("hi")}
				if stream {
					req.OnDelta = func(string) {}
				}
				_, err := c.Complete(t.Context(), req)
				if !errors.Is(err, tt.kind) {
					t.Fatalf("err = %v, want %v", err, tt.kind)
				}
				var me *model.Error
				if !errors.As(err, &me) || me.StatusCode != tt.status {
					t.Errorf("err = %#v, want *model.Error with status %d", err, tt.status)
				}
				msg := err.Error()
				if strings.Contains(msg, testKey) {
					t.Errorf("error shows the key: %s", msg)
				}
				for _, want := range []string{srv.URL(), "gpt-4o", tt.says} {
					if !strings.Contains(msg, want) {
						t.Errorf("err = %q, want it to say %q", msg, want)
					}
				}
				if n := len(srv.Requests()); n != 1 || len(sl.waits()) != 0 {
					t.Errorf("%d requests, %d waits; want 1 request and no retry", n, len(sl.waits()))
				}
			})
		}
	}
}

func ok() scripted.Reply { return scripted.Text("ok") }

func TestCancel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		reply scripted.Reply
	}{
		{"during backoff", scripted.Reply{Status: 503, RetryAfter: 3600}},
		{"during a slow reply", scripted.Reply{Delay: time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := scripted.New(t, &scripted.Scenario{Rules: []scripted.Rule{{Replies: []scripted.Reply{tt.reply}}}})
			c := newClient(t, srv.URL())
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := c.Complete(ctx, model.Request{Messages: userMsg("hi")})
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want a deadline error", err)
			}
			// Loose on purpose: without cancellation this would take an hour.
			if d := time.Since(start); d > time.Minute {
				t.Errorf("returned after %v", d)
			}
			if !strings.Contains(err.Error(), "gpt-4o") {
				t.Errorf("err = %v, want the endpoint named", err)
			}
		})
	}
}

func TestStreamFallback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		sc   scripted.Scenario
		// streams are the stream flags of the requests the two calls make.
		streams []bool
	}{
		// The JSON reply is used as it is: no second request.
		{"json reply to a stream request", scripted.Scenario{NoStream: true}, []bool{true, false}},
		{"stream request rejected", scripted.Scenario{StreamError: true}, []bool{true, false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.sc.Rules = []scripted.Rule{{Replies: []scripted.Reply{scripted.Text("plain answer"), scripted.Text("second")}}}
			srv := scripted.New(t, &tt.sc)
			c := newClient(t, srv.URL())
			for i, want := range []string{"plain answer", "second"} {
				var got strings.Builder
				resp, err := c.Complete(t.Context(), model.Request{Messages: userMsg("hi"), OnDelta: func(d string) { got.WriteString(d) }})
				if err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
				if resp.Content != want || got.String() != want {
					t.Errorf("call %d: content %q, deltas %q, want %q", i, resp.Content, got.String(), want)
				}
			}
			var streams []bool
			for _, r := range srv.Requests() {
				streams = append(streams, r.Request.Stream)
			}
			// The first call tries to stream; the client remembers it cannot.
			if !slices.Equal(streams, tt.streams) {
				t.Errorf("stream flags = %v, want %v", streams, tt.streams)
			}
		})
	}
}

func TestCache(t *testing.T) {
	t.Parallel()
	srv := scripted.New(t, &scripted.Scenario{Rules: []scripted.Rule{
		{Match: "one", Replies: []scripted.Reply{{Content: "first", Usage: &scripted.Usage{PromptTokens: 5, CompletionTokens: 3}}, scripted.Text("not cached")}},
		{Replies: []scripted.Reply{scripted.Text("other")}},
	}})
	dir := t.TempDir()
	c := newClient(t, srv.URL(), model.WithCache(dir))

	first, err := c.Complete(t.Context(), model.Request{Messages: userMsg("one")})
	if err != nil {
		t.Fatal(err)
	}
	// A second client on the same directory, streaming this time: the
	// stream flag is not part of the key.
	c2 := newClient(t, srv.URL(), model.WithCache(dir))
	var deltas strings.Builder
	again, err := c2.Complete(t.Context(), model.Request{Messages: userMsg("one"), OnDelta: func(d string) { deltas.WriteString(d) }})
	if err != nil {
		t.Fatal(err)
	}
	// A cached reply spent nothing, so it counts no tokens.
	if first.Cached || !again.Cached || again.Content != "first" || again.Usage.Total() != 0 || first.Usage.Total() == 0 || deltas.String() != "first" {
		t.Errorf("first %+v, again %+v, deltas %q", first, again, deltas.String())
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("%d requests, want 1 (the second answered from the cache)", n)
	}
	other, err := c.Complete(t.Context(), model.Request{Messages: userMsg("two")})
	if err != nil || other.Cached || other.Content != "other" {
		t.Errorf("different request: %+v, %v", other, err)
	}
	if n := len(srv.Requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestUsageEstimated(t *testing.T) {
	t.Parallel()
	srv := scripted.New(t, &scripted.Scenario{Rules: []scripted.Rule{{Replies: []scripted.Reply{{Content: strings.Repeat("word ", 40), Usage: &scripted.Usage{}}}}}})
	for _, stream := range []bool{false, true} {
		c := newClient(t, srv.URL())
		req := model.Request{Messages: userMsg(strings.Repeat("prompt ", 100))}
		if stream {
			req.OnDelta = func(string) {}
		}
		resp, err := c.Complete(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Usage.PromptTokens < 150 || resp.Usage.CompletionTokens < 40 {
			t.Errorf("stream=%v: usage = %+v, want an estimate near 4 chars a token", stream, resp.Usage)
		}
	}
}

// refusedAddr is a loopback address nothing listens on.
func refusedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestConnectionRefused(t *testing.T) {
	t.Parallel()
	var sl sleeps
	c := newClient(t, "http://"+refusedAddr(t)+"/v1", model.WithSleep(sl.sleep))
	_, err := c.Complete(t.Context(), model.Request{Messages: userMsg("hi")})
	if !errors.Is(err, model.ErrUnavailable) || !strings.Contains(err.Error(), "is the server running") {
		t.Fatalf("err = %v", err)
	}
	if n := len(sl.waits()); n != 2 {
		t.Errorf("%d retries, want 2: refused connections are retried only briefly", n)
	}
}

func TestAzure(t *testing.T) {
	t.Parallel()
	srv := scripted.New(t, &scripted.Scenario{APIKey: testKey, Rules: []scripted.Rule{{Replies: []scripted.Reply{scripted.Text("from azure")}}}})
	c, err := model.New(model.Endpoint{
		Provider: model.ProviderAzure, Model: "gpt-4o", AzureDeployment: "my-deploy",
		BaseURL: strings.TrimSuffix(srv.URL(), "/v1"), APIKey: testKey, APIVersion: "2024-06-01",
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Complete(t.Context(), model.Request{Messages: userMsg("hi")})
	if err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	if resp.Content != "from azure" || len(reqs) != 1 {
		t.Fatalf("resp %+v, %d requests", resp, len(reqs))
	}
	if reqs[0].Path != "/openai/deployments/my-deploy/chat/completions" || reqs[0].Header.Get("api-key") != testKey {
		t.Errorf("path %q, api-key header set: %v", reqs[0].Path, reqs[0].Header.Get("api-key") != "")
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	for _, ep := range []model.Endpoint{
		{Provider: "anthropic", Model: "x"},
		{Model: ""},
		{Provider: model.ProviderAzure, Model: "gpt-4o"},
	} {
		if _, err := model.New(ep); err == nil {
			t.Errorf("New(%v) succeeded", ep)
		}
	}
}

func TestEndpointString(t *testing.T) {
	t.Parallel()
	ep := model.Endpoint{Model: "gpt-4o", APIKey: testKey, BaseURL: "http://user:pass@localhost:11434/v1"}
	for _, s := range []string{ep.String(), fmtAll(ep)} {
		if strings.Contains(s, testKey) || strings.Contains(s, "pass@") {
			t.Errorf("%q shows a secret", s)
		}
	}
}

func TestInfo(t *testing.T) {
	t.Parallel()
	c := newClient(t, "http://127.0.0.1:1/v1")
	if info := c.Info(); info.Model != "gpt-4o" || info.ContextWindow != model.DefaultContextWindow {
		t.Errorf("Info() = %+v", info)
	}
	tests := []struct {
		model              string
		vision, structured bool
	}{
		{"gpt-4o", true, true}, {"gpt-4o-mini", true, true}, {"gpt-4.1-nano", true, true},
		{"o3-mini", false, true}, {"o1-mini", false, false}, {"openai/gpt-4o", true, true},
		{"gpt-4o-2024-05-13", true, false}, {"claude-sonnet-4", true, false}, {"gemini-2.5-pro", true, false},
		{"qwen2.5vl:7b", true, false}, {"llama3.2-vision", true, false},
		{"llama3.1:8b", false, false}, {"qwen2.5", false, false},
	}
	for _, tt := range tests {
		got := model.DefaultInfo(tt.model)
		if got.Vision != tt.vision || got.StructuredOutput != tt.structured || !got.FunctionCalling || !got.JSONOutput || got.ContextWindow == 0 {
			t.Errorf("DefaultInfo(%q) = %+v", tt.model, got)
		}
	}
}

func fmtAll(ep model.Endpoint) string { return fmt.Sprintf("%v %+v %#v %s", ep, ep, ep, ep) }

// TestRateLimitWaitsMinutes checks that 429s are waited out for minutes in
// all, not seconds (real-model.md row 11: a busy Azure deployment asks for
// a minute at a time), and that a client still limited after
// DefaultRateLimitWait gives up saying how long it waited.
func TestRateLimitWaitsMinutes(t *testing.T) {
	t.Parallel()
	limited := scripted.Reply{Status: 429, RetryAfter: 60, Content: "Requests to the ChatCompletions_Create Operation have exceeded call rate limit. Please retry after 60 seconds."}
	t.Run("recovers after four minutes", func(t *testing.T) {
		t.Parallel()
		srv := scripted.New(t, &scripted.Scenario{Rules: []scripted.Rule{{Replies: []scripted.Reply{limited, limited, limited, limited, scripted.Text("recovered")}}}})
		var sl sleeps
		c := newClient(t, srv.URL(), model.WithSleep(sl.sleep))
		resp, err := c.Complete(t.Context(), model.Request{Messages: userMsg("hello")})
		if err != nil {
			t.Fatalf("gave up within %v of waits: %v", sl.waits(), err)
		}
		if resp.Content != "recovered" {
			t.Errorf("content = %q", resp.Content)
		}
		var total time.Duration
		for _, w := range sl.waits() {
			total += w
		}
		if total != 4*time.Minute {
			t.Errorf("waited %v in all (%v), want the 4m the server asked", total, sl.waits())
		}
	})
	t.Run("gives up after the wait allowed", func(t *testing.T) {
		t.Parallel()
		srv := scripted.New(t, &scripted.Scenario{Rules: []scripted.Rule{{Replies: []scripted.Reply{limited}}}})
		var sl sleeps
		c := newClient(t, srv.URL(), model.WithSleep(sl.sleep))
		_, err := c.Complete(t.Context(), model.Request{Messages: userMsg("hello")})
		if err == nil || !strings.Contains(err.Error(), "rate-limiting this key; m1 waited 5m0s") {
			t.Fatalf("err = %v, want the wait said", err)
		}
		if n := len(srv.Requests()); n != 6 {
			t.Errorf("%d requests, want 6 (five waits of a minute)", n)
		}
	})
}
