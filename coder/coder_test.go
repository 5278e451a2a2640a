package coder

import (
	"fmt"
	"strings"
	"testing"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/model"
	"github.com/m1-project/m1/model/scripted"
)

// TestEmptyReply checks that a reply without content becomes a step reply
// that says so, streamed or not, rather than an empty message: one would
// go back to the model as an assistant turn without content.
func TestEmptyReply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		reply scripted.Reply
		want  string
	}{
		{"empty", scripted.Reply{Empty: true}, "The Coder's model returned an empty reply: there is no answer for this step."},
		{"blank", scripted.Text(" \n "), "The Coder's model returned an empty reply: there is no answer for this step."},
		{"text", scripted.Text("6*7 = 42"), "6*7 = 42"},
		{"tool call", scripted.Call("run_python", `{"code": "print(6*7)"}`), `The Coder's model called the tool "run_python", but the Coder has no tools: there is no answer for this step.`},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", tt.name, stream), func(t *testing.T) {
				t.Parallel()
				srv := scripted.New(t, &scripted.Scenario{Rules: []scripted.Rule{{Replies: []scripted.Reply{tt.reply}}}})
				client, err := model.New(model.Endpoint{Model: "test-model", BaseURL: srv.URL(), APIKey: "test"}, model.WithMaxRetries(0))
				if err != nil {
					t.Fatal(err)
				}
				c := New(client, WithStreaming(stream))
				msg, err := c.Step(t.Context(), agent.Turn{Thread: []agent.Message{agent.NewMessage(agent.OrchestratorName, "Compute 6*7.")}})
				if err != nil {
					t.Fatalf("Step: %v", err)
				}
				if msg.Content != tt.want || msg.Source != agent.CoderName {
					t.Errorf("reply %q from %s, want %q", msg.Content, msg.Source, tt.want)
				}
				if strings.TrimSpace(msg.Content) == "" {
					t.Error("empty step reply")
				}
			})
		}
	}
}

func TestFinishNote(t *testing.T) {
	t.Parallel()
	for reason, want := range map[string]string{"": "", "stop": "", "length": " (finish reason: length)", "content_filter": " (finish reason: content_filter)"} {
		if got := finishNote(reason); got != want {
			t.Errorf("finishNote(%q) = %q, want %q", reason, got, want)
		}
	}
}
