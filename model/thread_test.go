package model_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/model"
)

// TestThreadMessagesEmptyOwnReply checks that an agent's own empty message
// goes back with content: go-openai leaves an empty content out, and the
// OpenAI API refuses an assistant message with neither content nor tool
// calls.
func TestThreadMessagesEmptyOwnReply(t *testing.T) {
	t.Parallel()
	thread := []agent.Message{
		agent.NewMessage(agent.OrchestratorName, "Compute 6*7."),
		agent.NewMessage(agent.CoderName, ""),
		agent.NewMessage(agent.OrchestratorName, "Try again."),
		agent.NewMessage(agent.CoderName, " \n"),
		agent.NewMessage(agent.CoderName, "42"),
	}
	msgs := model.ThreadMessages(thread, agent.CoderName, false)
	if len(msgs) != len(thread) {
		t.Fatalf("%d messages, want %d", len(msgs), len(thread))
	}
	for _, i := range []int{1, 3} {
		if msgs[i].Role != "assistant" || msgs[i].Content != model.EmptyReplyPlaceholder {
			t.Errorf("message %d = %+v, want the placeholder", i, msgs[i])
		}
	}
	if msgs[4].Content != "42" {
		t.Errorf("a reply with text changed: %+v", msgs[4])
	}
	b, err := json.Marshal(msgs)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `{"role":"assistant"}`) {
		t.Errorf("an assistant message without content: %s", b)
	}
}
