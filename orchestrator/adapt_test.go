package orchestrator

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/model"
	"github.com/m1-project/m1/model/scripted"
)

// TestAgentWithoutToolsLeavesTheTeam checks that an agent whose model
// refuses tools is taken off the team for the run, the thread says so,
// and the next ledger offers only the others.
func TestAgentWithoutToolsLeavesTheTeam(t *testing.T) {
	t.Parallel()
	toFile := strings.ReplaceAll(ledgerToCoder, `"answer": "Coder"`, `"answer": "FileSurfer"`)
	srv := scripted.New(t, &scripted.Scenario{Rules: rules(scripted.Text(toFile), scripted.Text(ledgerToCoder), scripted.Text(ledgerDone))})
	file := &echoAgent{name: agent.FileSurferName, err: fmt.Errorf("filesurfer: model call: %w", &model.Error{Kind: model.ErrToolsUnsupported})}
	coder := &echoAgent{name: agent.CoderName, reply: "42"}
	var rec recorder
	o := New(newClient(t, srv, model.Info{}), []agent.Agent{file, coder}, Options{Emit: rec.emit})
	res := o.Run(context.Background(), "What is 6*7?")
	if res.Status != agent.StatusSuccess || file.steps != 1 || coder.steps != 1 {
		t.Fatalf("result %+v, file steps %d, coder steps %d", res, file.steps, coder.steps)
	}
	if len(o.names) != 1 || o.names[0] != agent.CoderName {
		t.Errorf("team = %v", o.names)
	}
	var told bool
	for _, e := range rec.events {
		told = told || (e.Type == agent.EventWarning && strings.Contains(e.Content, "FileSurfer is taken off the team"))
	}
	if !told {
		t.Error("no warning names the agent taken off the team")
	}
	prompts := lastMessages(srv)
	if p := prompts[len(prompts)-2]; !strings.Contains(p, "(one of: Coder)") {
		t.Errorf("the ledger after the drop still offers the FileSurfer: %.300q", p)
	}
}

// TestStepErrorIsOneShortLine checks that a failed step puts one short
// line into the thread, without an echoed request or image data, however
// long the server's error.
func TestStepErrorIsOneShortLine(t *testing.T) {
	t.Parallel()
	srv := scripted.New(t, &scripted.Scenario{Rules: rules(scripted.Text(ledgerToCoder), scripted.Text(ledgerDone))})
	huge := "Failed to parse messages: Expected 'content'; messages = [" + strings.Repeat(`{"role":"user","content":"data:image/png;base64,AAAA"},`, 2000) + "]"
	failing := &echoAgent{name: agent.CoderName, err: fmt.Errorf("coder: %w", &model.Error{Kind: model.ErrRefused, StatusCode: 500, Err: fmt.Errorf("%s", huge)})}
	o := New(newClient(t, srv, model.Info{}), []agent.Agent{failing}, Options{})
	if res := o.Run(context.Background(), "x"); res.Status != agent.StatusSuccess {
		t.Fatalf("result %+v", res)
	}
	for _, m := range o.State().Thread {
		if len(m.Content) > 2000 && m.Source == agent.CoderName {
			t.Errorf("a %d-byte error went into the thread", len(m.Content))
		}
		if strings.Contains(m.Content, "base64") {
			t.Errorf("image data in the thread: %.200q", m.Content)
		}
	}
}

// TestHugeMessagesTakeAShareOfThePrompt checks that a 2 MB message takes
// at most its share of a prompt, in the ledger's and the agents' views.
func TestHugeMessagesTakeAShareOfThePrompt(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("x", 2<<20)
	thread := []agent.Message{
		agent.NewMessage(agent.OrchestratorName, "task ledger"),
		agent.NewMessage(agent.OrchestratorName, huge),
		agent.NewMessage(agent.CoderName, huge),
	}
	const budget = 96000
	for name, view := range map[string][]agent.Message{
		"ledger": ledgerView(thread, budget), "agent": agentView(thread, keepFull, budget), "thread": compact(thread, budget, keepFull),
	} {
		total := 0
		for _, m := range view {
			total += model.EstimateTokens(m.Content)
			if model.EstimateTokens(m.Content) > budget/messageShare+10 {
				t.Errorf("%s view: a message of %d tokens", name, model.EstimateTokens(m.Content))
			}
		}
		if total > budget {
			t.Errorf("%s view: %d tokens, over the budget", name, total)
		}
	}
	if len(thread[2].Content) != 2<<20 {
		t.Error("the thread itself was cut")
	}
}
