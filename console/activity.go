package console

import (
	"regexp"
	"strings"

	"github.com/m1-project/m1/agent"
)

// The spinner names who is working and at what. Nothing announces that an
// agent's model call or a code run has started, so the renderer follows
// the run as the orchestrator drives it: the ledger names the next
// speaker, the instruction that follows hands it the turn, and the
// ComputerTerminal runs the code blocks of the latest message that has
// any, in order.

// flow is what the renderer remembers of the run to say who works next.
type flow struct {
	next        string   // the next speaker the last ledger named
	instructing bool     // the last event was a ledger handing the turn on
	satisfied   bool     // the last ledger found the request satisfied
	blocks      []string // languages of the code blocks the terminal will run
	ran         int      // how many of them have run
}

// fence finds the language tag of each opening code fence.
var fence = regexp.MustCompile("(?m)^[ \t]*```[ \t]*([A-Za-z0-9_+.-]*)")

// codeBlocks lists the languages of text's fenced code blocks (every other
// fence opens one), or nil when it has none.
func codeBlocks(text string) []string {
	var langs []string
	for i, m := range fence.FindAllStringSubmatch(text, -1) {
		if i%2 == 0 {
			lang := strings.ToLower(m[1])
			if lang == "" {
				lang = "code"
			}
			langs = append(langs, lang)
		}
	}
	return langs
}

// activity returns what the spinner says after e ("Coder is thinking"),
// "" when nobody works (a person is asked, the run is over), or keep when
// the last activity goes on. It updates f.
func (f *flow) activity(e agent.Event) (label string, keep bool) {
	instructing := f.instructing
	f.instructing = false
	switch e.Type {
	case agent.EventTask:
		return agent.OrchestratorName + " is gathering facts", false
	case agent.EventFacts:
		return agent.OrchestratorName + " is planning", false
	case agent.EventPlan, agent.EventError:
		return agent.OrchestratorName + " is thinking", false
	case agent.EventReplan:
		return agent.OrchestratorName + " is replanning", false
	case agent.EventLedger:
		if e.Ledger == nil {
			return "", true
		}
		f.satisfied = e.Ledger.IsRequestSatisfied.Answer
		if f.satisfied {
			return agent.OrchestratorName + " is writing the final answer", false
		}
		f.next, f.instructing = e.Ledger.NextSpeaker.Answer, true
		return agent.OrchestratorName + " is thinking", false
	case agent.EventMessage:
		if blocks := codeBlocks(e.Content); len(blocks) > 0 && e.Source != agent.ComputerTerminalName {
			f.blocks, f.ran = blocks, 0
		}
		if e.Source != agent.OrchestratorName || !instructing {
			if f.satisfied && e.Source == agent.OrchestratorName {
				return "", false // the final answer: the result follows
			}
			return agent.OrchestratorName + " is thinking", false
		}
		if strings.EqualFold(f.next, agent.ComputerTerminalName) {
			f.ran = 0 // each turn runs the latest blocks from the first
		}
		return f.working(f.next), false
	case agent.EventToolCall:
		if e.Tool != nil {
			return e.Source + " running " + e.Tool.Name, false
		}
		return e.Source + " is working", false
	case agent.EventToolResult, agent.EventScreenshot:
		return e.Source + " is working", false
	case agent.EventCodeExecution:
		f.ran++
		if f.ran < len(f.blocks) {
			return agent.ComputerTerminalName + " running " + f.blocks[f.ran], false
		}
		return agent.ComputerTerminalName + " is working", false
	case agent.EventApproval:
		if e.Approval != nil && e.Approval.Approved && e.Approval.Kind == agent.ApproveCode {
			return f.working(agent.ComputerTerminalName), false
		}
		return e.Source + " is working", false
	case agent.EventWarning:
		return "", true // a retry, a notice: the same work goes on
	}
	return "", false // a question to the person, the result
}

// working says what the named agent does when handed the turn.
func (f *flow) working(name string) string {
	switch {
	case name == "" || strings.EqualFold(name, agent.UserName):
		return "" // the person is asked; the prompt says so
	case strings.EqualFold(name, agent.ComputerTerminalName):
		if f.ran < len(f.blocks) {
			return agent.ComputerTerminalName + " running " + f.blocks[f.ran]
		}
		return agent.ComputerTerminalName + " running code"
	}
	return canonical(name) + " is thinking"
}

// canonical spells a speaker's name as the team does ("coder" -> "Coder"):
// the orchestrator matches names case-insensitively.
func canonical(name string) string {
	for _, n := range []string{agent.OrchestratorName, agent.CoderName, agent.ComputerTerminalName, agent.WebSurferName, agent.FileSurferName, agent.UserName} {
		if strings.EqualFold(n, name) {
			return n
		}
	}
	return name
}
