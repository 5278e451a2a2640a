package console

import (
	"testing"

	"github.com/m1-project/m1/agent"
)

// The spinner names who is working at each point of a run, including the
// two longest waits: an agent's model call after the Orchestrator's
// instruction, and a code block running.
func TestSpinnerNamesWhoWorks(t *testing.T) {
	t.Parallel()
	ledger := func(next string, done bool) agent.Event {
		return agent.Event{Type: agent.EventLedger, Source: agent.OrchestratorName, Ledger: &agent.Ledger{
			IsRequestSatisfied: agent.LedgerBool{Answer: done}, NextSpeaker: agent.LedgerString{Answer: next}}}
	}
	msg := func(src, text string) agent.Event {
		return agent.Event{Type: agent.EventMessage, Source: src, Content: text}
	}
	const keep = "(same)"
	steps := []struct {
		e    agent.Event
		want string
	}{
		{agent.Event{Type: agent.EventTask, Source: agent.UserName}, "Orchestrator is gathering facts"},
		{agent.Event{Type: agent.EventFacts, Source: agent.OrchestratorName}, "Orchestrator is planning"},
		{agent.Event{Type: agent.EventPlan, Source: agent.OrchestratorName}, "Orchestrator is thinking"},
		{msg(agent.OrchestratorName, "We are working on the task..."), "Orchestrator is thinking"},
		{ledger("coder", false), "Orchestrator is thinking"},
		{msg(agent.OrchestratorName, "Write the script."), "Coder is thinking"},
		{agent.Event{Type: agent.EventWarning, Source: agent.CoderName, Content: "model call failed (x); retry 1 in 1s"}, keep},
		{msg(agent.CoderName, "```python\nprint(1)\n```\nthen\n```sh\nls\n```"), "Orchestrator is thinking"},
		{ledger("ComputerTerminal", false), "Orchestrator is thinking"},
		{msg(agent.OrchestratorName, "Run it."), "ComputerTerminal running python"},
		{agent.Event{Type: agent.EventCodeExecution, Source: agent.ComputerTerminalName}, "ComputerTerminal running sh"},
		{agent.Event{Type: agent.EventCodeExecution, Source: agent.ComputerTerminalName}, "ComputerTerminal is working"},
		{msg(agent.ComputerTerminalName, "Block 1 (python) exited with code 0."), "Orchestrator is thinking"},
		{ledger("ComputerTerminal", false), "Orchestrator is thinking"},
		{msg(agent.OrchestratorName, "Run it again."), "ComputerTerminal running python"},
		{agent.Event{Type: agent.EventUserInput, Source: agent.ComputerTerminalName, Content: "Approve? run python"}, ""},
		{agent.Event{Type: agent.EventApproval, Source: agent.ComputerTerminalName, Approval: &agent.ApprovalRecord{
			ApprovalRequest: agent.ApprovalRequest{Kind: agent.ApproveCode}, Decision: agent.Decision{Approved: true}}}, "ComputerTerminal running python"},
		{ledger("WebSurfer", false), "Orchestrator is thinking"},
		{msg(agent.OrchestratorName, "Open the page."), "WebSurfer is thinking"},
		{agent.Event{Type: agent.EventToolCall, Source: agent.WebSurferName, Tool: &agent.ToolCall{Name: "visit_url"}}, "WebSurfer running visit_url"},
		{agent.Event{Type: agent.EventScreenshot, Source: agent.WebSurferName}, "WebSurfer is working"},
		{msg(agent.WebSurferName, "The page says..."), "Orchestrator is thinking"},
		{ledger("User", false), "Orchestrator is thinking"},
		{msg(agent.OrchestratorName, "Which one?"), ""},
		{agent.Event{Type: agent.EventUserInput, Source: agent.UserName, Content: "Which one?"}, ""},
		{msg(agent.UserName, "the first"), "Orchestrator is thinking"},
		{agent.Event{Type: agent.EventReplan, Source: agent.OrchestratorName}, "Orchestrator is replanning"},
		{ledger("Coder", true), "Orchestrator is writing the final answer"},
		{msg(agent.OrchestratorName, "The answer is 42."), ""},
		{agent.Event{Type: agent.EventResult, Source: agent.OrchestratorName}, ""},
	}
	var f flow
	for i, s := range steps {
		got, kept := f.activity(s.e)
		if kept {
			got = keep
		}
		if got != s.want {
			t.Errorf("step %d (%s from %s): spinner says %q, want %q", i, s.e.Type, s.e.Source, got, s.want)
		}
	}
}
