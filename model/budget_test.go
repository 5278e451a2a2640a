package model_test

import (
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/m1-project/m1/model"
)

func TestFitText(t *testing.T) {
	t.Parallel()
	s := "HEAD " + strings.Repeat("middle ", 10000) + " TAIL"
	got := model.FitText(s, 500)
	if n := model.EstimateTokens(got); n > 500 || !strings.HasPrefix(got, "HEAD") || !strings.HasSuffix(got, "TAIL") || !strings.Contains(got, "characters cut here") {
		t.Errorf("FitText: %d tokens, %.80q ... %.80q", n, got, got[len(got)-80:])
	}
	if model.FitText("short", 500) != "short" {
		t.Error("a text that fits was changed")
	}
}

func TestFitMessages(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("word ", 4000) // about 5000 tokens
	msgs := []openai.ChatCompletionMessage{
		{Role: "system", Content: "You are a test."},
		{Role: "user", Content: "old " + big},
		{Role: "assistant", ToolCalls: []openai.ToolCall{{ID: "a", Type: "function", Function: openai.FunctionCall{Name: "f", Arguments: "{}"}}}},
		{Role: "tool", ToolCallID: "a", Content: big},
		{Role: "user", Content: "the latest instruction " + big},
	}
	out := model.FitMessages(msgs, 6000)
	if n := model.EstimateMessages(out); n > 6000 {
		t.Errorf("FitMessages left %d tokens", n)
	}
	if out[0].Role != "system" || !strings.HasPrefix(out[len(out)-1].Content, "the latest instruction") {
		t.Errorf("the system prompt or the latest message was lost: %+v", out[0])
	}
	for i, m := range out {
		if m.Role == "tool" && (i == 0 || len(out[i-1].ToolCalls) == 0) {
			t.Errorf("a tool result without its call at %d", i)
		}
	}
	if len(msgs[1].Content) < 20000 {
		t.Error("FitMessages changed its input")
	}
	// A budget of a few hundred tokens still keeps the newest message's head.
	tiny := model.FitMessages(msgs, 400)
	if n := model.EstimateMessages(tiny); n > 1000 || !strings.Contains(tiny[len(tiny)-1].Content, "the latest instruction") {
		t.Errorf("tiny budget: %d tokens", n)
	}
}
