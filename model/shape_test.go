package model_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/m1-project/m1/model"
	"github.com/m1-project/m1/model/scripted"
)

// sent decodes the bodies a scripted server received as generic JSON.
func sent(t *testing.T, srv *scripted.Server) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range srv.Requests() {
		var m map[string]any
		if err := json.Unmarshal(r.Body, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func okServer(t *testing.T, quirks ...string) *scripted.Server {
	return scripted.New(t, &scripted.Scenario{Quirks: quirks, Rules: []scripted.Rule{{Replies: []scripted.Reply{scripted.Text("ok")}}}})
}

func TestShapeToolTurns(t *testing.T) {
	t.Parallel()
	srv := okServer(t)
	c := newClient(t, srv.URL())
	noParams := model.Tool("page_down", "Scroll down.", struct{}{})
	msgs := append(userMsg("read it"),
		openai.ChatCompletionMessage{Role: "assistant", ToolCalls: []openai.ToolCall{{Type: "function", Function: openai.FunctionCall{Name: "page_down", Arguments: ""}}}},
		openai.ChatCompletionMessage{Role: "tool", Content: "scrolled"})
	if _, err := c.Complete(t.Context(), model.Request{Messages: msgs, Tools: []openai.Tool{noParams}, ToolChoice: "auto"}); err != nil {
		t.Fatal(err)
	}
	body := sent(t, srv)[0]
	params := body["tools"].([]any)[0].(map[string]any)["function"].(map[string]any)["parameters"].(map[string]any)
	if _, ok := params["properties"]; !ok {
		t.Errorf("a tool without parameters has no properties: %v", params)
	}
	wire := body["messages"].([]any)
	call := wire[2].(map[string]any)
	if content, ok := call["content"]; !ok || content != "" {
		t.Errorf(`tool-call turn content = %#v, want ""`, content)
	}
	tc := call["tool_calls"].([]any)[0].(map[string]any)
	id, _ := tc["id"].(string)
	if !regexp.MustCompile(`^[A-Za-z0-9]{9}$`).MatchString(id) || tc["function"].(map[string]any)["arguments"] != "{}" {
		t.Errorf("empty id or arguments not filled: %v", tc)
	}
	if got := wire[3].(map[string]any)["tool_call_id"]; got != id {
		t.Errorf("tool result answers %v, want the call's id %s", got, id)
	}
	// Servers other than OpenAI's default to one tool call per reply.
	if body["parallel_tool_calls"] != true {
		t.Errorf("parallel_tool_calls = %v", body["parallel_tool_calls"])
	}
	if _, ok := body["max_tokens"]; !ok {
		t.Error("no reply cap sent")
	}
}

func TestShapeMergedRoles(t *testing.T) {
	t.Parallel()
	srv := okServer(t, "gemma-alternation")
	c := newClient(t, srv.URL(), model.WithMergedRoles(true))
	msgs := []openai.ChatCompletionMessage{
		{Role: "system", Content: "You are a test."},
		{Role: "assistant", Content: "the task ledger"},
		{Role: "user", Content: "Coder:\n42"},
		{Role: "user", Content: "what next?"},
		{Role: "assistant", ToolCalls: []openai.ToolCall{{ID: "a", Type: "function", Function: openai.FunctionCall{Name: "f", Arguments: "{}"}}}},
		{Role: "tool", ToolCallID: "a", Content: "done"},
		{Role: "user", Content: "the page now"},
	}
	if _, err := c.Complete(t.Context(), model.Request{Messages: msgs}); err != nil {
		t.Fatalf("a merged request was refused: %v", err)
	}
	var roles []string
	for _, m := range sent(t, srv)[0]["messages"].([]any) {
		roles = append(roles, m.(map[string]any)["role"].(string))
	}
	if got := strings.Join(roles, ","); got != "system,user,assistant,tool" {
		t.Errorf("roles = %s", got)
	}
}

func TestShapeNoVision(t *testing.T) {
	t.Parallel()
	srv := okServer(t)
	c, _ := model.New(model.Endpoint{Model: "gpt-4o", BaseURL: srv.URL(), APIKey: testKey, Info: model.DefaultInfo("gpt-4o")})
	img := model.UserMessage("look", nil)
	img.MultiContent = []openai.ChatMessagePart{{Type: "text", Text: "look"}, {Type: "image_url", ImageURL: &openai.ChatMessageImageURL{URL: "data:image/png;base64,AAAA"}}}
	if _, err := c.Complete(t.Context(), model.Request{Messages: []openai.ChatCompletionMessage{img}}); err != nil {
		t.Fatal(err)
	}
	c2, _ := model.New(model.Endpoint{Model: "llama3.1", BaseURL: srv.URL(), APIKey: testKey, Info: model.DefaultInfo("llama3.1")})
	if _, err := c2.Complete(t.Context(), model.Request{Messages: []openai.ChatCompletionMessage{img}}); err != nil {
		t.Fatal(err)
	}
	bodies := srv.Requests()
	if !strings.Contains(string(bodies[0].Body), "image_url") {
		t.Error("a vision model's image was dropped")
	}
	if b := string(bodies[1].Body); strings.Contains(b, "image_url") || !strings.Contains(b, model.ImageOmitted) {
		t.Errorf("a text model got the image: %s", b)
	}
}

func TestPromptOverTheWindowIsNeverSent(t *testing.T) {
	t.Parallel()
	srv := okServer(t)
	c, _ := model.New(model.Endpoint{Model: "scripted", BaseURL: srv.URL(), APIKey: testKey,
		Info: model.Info{ContextWindow: 1000}, InfoStated: []string{"context_window"}})
	// A prompt its caller did not budget is fitted to the window.
	if _, err := c.Complete(t.Context(), model.Request{Messages: userMsg("HEAD " + strings.Repeat("word ", 1000) + " TAIL")}); err != nil {
		t.Fatal(err)
	}
	r := srv.Requests()[0]
	if n := r.PromptTokens(); n > 1000-256 || !strings.Contains(string(r.Body), "characters cut here") ||
		!strings.Contains(string(r.Body), "HEAD") || !strings.Contains(string(r.Body), "TAIL") {
		t.Errorf("sent a prompt of %d tokens: %.200s", n, r.Body)
	}
	// The cap fits what the window leaves.
	if cap := sent(t, srv)[0]["max_tokens"].(float64); cap > 1000-float64(r.PromptTokens()) || cap < 256 {
		t.Errorf("max_tokens = %v, want what the window leaves", cap)
	}
	// One that cannot be fitted (the tools alone fill the window) is not
	// sent at all.
	var tools []openai.Tool
	for i := range 40 {
		tools = append(tools, model.Tool(fmt.Sprintf("tool_%d", i), strings.Repeat("A long description. ", 10), struct {
			A string `json:"a" description:"a long parameter description"`
		}{}))
	}
	_, err := c.Complete(t.Context(), model.Request{Messages: userMsg("hi"), Tools: tools})
	if !errors.Is(err, model.ErrContextLength) || !strings.Contains(err.Error(), "it was not sent") {
		t.Fatalf("err = %v", err)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("%d requests sent", n)
	}
}

func TestReplyShapes(t *testing.T) {
	t.Parallel()
	tool := model.Tool("open_path", "Open.", struct {
		Path string `json:"path"`
		Page int    `json:"page"`
	}{})
	call := scripted.Call("open_path", `{"path": "a.txt", "page": 2}`)
	tests := []struct {
		quirk     string
		reply     scripted.Reply
		content   string
		reasoning string
		args      string
	}{
		{"r1-think", scripted.Text("the answer"), "the answer", "Let me draft an answer first", ""},
		{"reasoning-content", scripted.Text("the answer"), "the answer", "REASONING-TRACE", ""},
		{"content-parts", scripted.Text("the answer"), "the answer", "REASONING-TRACE", ""},
		{"args-as-object", call, "", "", `{"page":2,"path":"a.txt"}`},
		{"empty-ids", call, "", "", `{"path": "a.txt", "page": 2}`},
		{"text-tool-calls", call, "", "", `{"page":"2","path":"a.txt"}`},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			t.Run(tt.quirk+map[bool]string{true: " streamed"}[stream], func(t *testing.T) {
				t.Parallel()
				srv := scripted.New(t, &scripted.Scenario{Quirks: []string{tt.quirk}, Rules: []scripted.Rule{{Replies: []scripted.Reply{tt.reply}}}})
				c := newClient(t, srv.URL())
				req := model.Request{Messages: userMsg("go"), Tools: []openai.Tool{tool}}
				if stream {
					req.OnDelta = func(string) {}
				}
				resp, err := c.Complete(t.Context(), req)
				if err != nil {
					t.Fatal(err)
				}
				if resp.Content != tt.content || !strings.Contains(resp.Reasoning, tt.reasoning) {
					t.Errorf("content %q reasoning %q", resp.Content, resp.Reasoning)
				}
				if tt.args == "" {
					return
				}
				if len(resp.ToolCalls) != 1 || resp.ToolCalls[0].Function.Arguments != tt.args || resp.ToolCalls[0].ID == "" {
					t.Fatalf("tool calls = %+v", resp.ToolCalls)
				}
				var p struct {
					Path string `json:"path"`
					Page int    `json:"page"`
				}
				if err := model.DecodeArgs(resp.ToolCalls[0].Function.Arguments, &p); err != nil || p.Page != 2 {
					t.Errorf("DecodeArgs = %+v, %v", p, err)
				}
			})
		}
	}
}

func TestStreamErrorLine(t *testing.T) {
	t.Parallel()
	srv := scripted.New(t, &scripted.Scenario{Quirks: []string{"llamacpp-stream-error"}, Context: 20000,
		Rules: []scripted.Rule{{Replies: []scripted.Reply{scripted.Text("ok")}}}})
	c := newClient(t, srv.URL())
	// 16k tokens by m1's count fit the window; the server counts more.
	_, err := c.Complete(t.Context(), model.Request{Messages: userMsg(strings.Repeat("word ", 13000)), OnDelta: func(string) {}})
	var me *model.Error
	if !errors.Is(err, model.ErrContextLength) || !errors.As(err, &me) || me.StatusCode != 400 ||
		!strings.Contains(err.Error(), "exceeds the available context size") {
		t.Fatalf("err = %v", err)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("%d requests: a context error is not retried as it was", n)
	}
}

func TestErrorTextIsBounded(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("x", 5000)
	srv := scripted.New(t, &scripted.Scenario{Quirks: []string{"llamacpp-no-vision"}, Rules: []scripted.Rule{
		{Replies: []scripted.Reply{{Status: 400, Content: "Failed to parse tools", Echo: true}}}}})
	c := newClient(t, srv.URL(), model.WithMaxRetries(0))
	img := openai.ChatCompletionMessage{Role: "user", Content: huge}
	_, err := c.Complete(t.Context(), model.Request{Messages: []openai.ChatCompletionMessage{img, {Role: "user", MultiContent: []openai.ChatMessagePart{
		{Type: "text", Text: "see"}, {Type: "image_url", ImageURL: &openai.ChatMessageImageURL{URL: "data:image/png;base64," + strings.Repeat("A", 4000)}}}}}})
	if err == nil {
		t.Fatal("no error")
	}
	for _, s := range []string{err.Error(), model.Cause(err)} {
		if len(s) > model.CauseLen+300 || strings.Contains(s, "messages =") || strings.Contains(s, "AAAA") || strings.Contains(s, "xxxx") {
			t.Errorf("error text not bounded (%d bytes): %.400s", len(s), s)
		}
	}
}
