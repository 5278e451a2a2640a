package orchestrator

import (
	"fmt"
	"strings"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/model"
)

// How a thread is kept within a model's context. Magentic-One sends the
// whole thread to every call, so a long run's cost grows with the square of
// its length until the context overflows. m1 bounds each call instead; the
// transcript keeps every message whole.
const (
	// keepFull is how many of the latest messages always stay whole.
	keepFull = 6
	// shortenedLen is how many bytes of an older message survive
	// compaction.
	shortenedLen = 600
	// historyLineLen is how many bytes of a message its line in the
	// compact history holds.
	historyLineLen = 160
	// instructionLineLen is the same for an instruction.
	instructionLineLen = 100
	// historyCap bounds the compact history, in tokens; the oldest lines
	// are counted rather than shown beyond it.
	historyCap = 1200
)

// HistorySource is the source of the message that holds the compact
// history of the earlier turns in a progress-ledger prompt.
const HistorySource = "History"

// messageShare is the part of the budget one message may take in any
// prompt: a 2 MB reply must not make every later prompt 2 MB (the
// transcript keeps it whole).
const messageShare = 4

// capMessages cuts every message larger than budget/messageShare tokens to
// its head and tail. A budget of 0 leaves the thread as it is.
func capMessages(thread []agent.Message, budget int) []agent.Message {
	limit := budget / messageShare
	if limit <= 0 {
		return thread
	}
	var out []agent.Message
	for i, m := range thread {
		if model.EstimateTokens(m.Content) <= limit {
			continue
		}
		if out == nil {
			out = make([]agent.Message, len(thread))
			copy(out, thread)
		}
		out[i].Content = model.FitText(m.Content, limit)
	}
	if out == nil {
		return thread
	}
	return out
}

// compact keeps a thread within budget tokens: no message takes more than
// its share of the budget, the first message (the task ledger) and the
// latest keep messages stay otherwise whole, older ones are cut to their
// head, oldest first, until the estimate fits. Images of shortened
// messages are dropped; only the latest picture matters to the model.
func compact(thread []agent.Message, budget, keep int) []agent.Message {
	thread = capMessages(thread, budget)
	total := 0
	for _, m := range thread {
		total += model.EstimateTokens(m.Content)
	}
	if total <= budget || len(thread) <= keep+1 {
		return thread
	}
	out := make([]agent.Message, len(thread))
	copy(out, thread)
	for i := 1; i < len(out)-keep && total > budget; i++ {
		m := out[i]
		if len(m.Content) <= shortenedLen {
			continue
		}
		before := model.EstimateTokens(m.Content)
		m.Content = fmt.Sprintf("%s\n[... shortened from %d characters; the full text is in the transcript]", cutRunes(m.Content, shortenedLen), len(m.Content))
		m.Images = nil
		total += model.EstimateTokens(m.Content) - before
		out[i] = m
	}
	return out
}

// agentView is the thread as an agent sees it when it acts: the task
// ledger and the latest keep messages whole (each within its share of
// budget), every older message cut to its head without its images. An
// agent acts on the latest instruction and what just happened; the task
// ledger carries the facts and the plan. Each agent also fits its own
// prompt to its own model's window (model.FitMessages).
func agentView(thread []agent.Message, keep, budget int) []agent.Message {
	return compact(capMessages(thread, budget), 0, keep)
}

// ledgerView is the thread as the progress ledger sees it on every turn:
// the task ledger, one message with a compact history of the older turns
// (who said what, in a line each), and the latest keepFull messages whole.
// Its size depends on the run's length only through the history, which is
// capped, so the ledger prompt at turn 30 is about the size of turn 5's.
func ledgerView(thread []agent.Message, budget int) []agent.Message {
	if len(thread) <= keepFull+1 {
		return compact(thread, budget, keepFull)
	}
	recent := thread[len(thread)-keepFull:]
	out := make([]agent.Message, 0, keepFull+2)
	out = append(out, thread[0], agent.Message{Source: HistorySource, Content: history(thread[1 : len(thread)-keepFull])})
	out = append(out, recent...)
	return compact(out, budget, keepFull)
}

// history renders older messages compactly, newest last, within
// historyCap tokens; the oldest beyond it are only counted. An instruction
// and the reply to it share a step's line: "Agent ← instruction ⇒ reply",
// and an instruction repeated from the step before is not written again.
func history(msgs []agent.Message) string {
	type step struct{ who, instr, reply string }
	var steps []step
	for i := 0; i < len(msgs); i++ {
		m := msgs[i]
		if m.Source == agent.OrchestratorName && i+1 < len(msgs) && msgs[i+1].Source != agent.OrchestratorName {
			steps = append(steps, step{msgs[i+1].Source, oneLine(m.Content, instructionLineLen), oneLine(msgs[i+1].Content, historyLineLen)})
			i++
			continue
		}
		steps = append(steps, step{who: m.Source, reply: oneLine(m.Content, historyLineLen)})
	}
	line := func(i int) string {
		s := steps[i]
		switch {
		case s.instr == "":
			return fmt.Sprintf("- %s: %s", s.who, s.reply)
		case i > 0 && s.instr == steps[i-1].instr:
			return fmt.Sprintf("- %s ← (the same instruction) ⇒ %s", s.who, s.reply)
		}
		return fmt.Sprintf("- %s ← %s ⇒ %s", s.who, s.instr, s.reply)
	}
	first, size := len(steps), 0
	for first > 0 {
		n := model.EstimateTokens(line(first-1)) + 1
		if size+n > historyCap {
			break
		}
		size += n
		first--
	}
	var b strings.Builder
	b.WriteString("Earlier in this task (who was asked what ⇒ what they answered; the full text is in the transcript):")
	if first > 0 {
		fmt.Fprintf(&b, "\n- (%d older steps left out)", first)
	}
	if first > 0 {
		// The first line shown writes its instruction out, even when it
		// repeats one that was left out.
		steps[first-1] = step{}
	}
	for i := first; i < len(steps); i++ {
		b.WriteString("\n" + line(i))
	}
	return b.String()
}

// oneLine is s with its whitespace collapsed, cut to about n bytes.
func oneLine(s string, n int) string {
	// Only the head can show; do not split a long page into words.
	head := strings.Join(strings.Fields(cutRunes(s, 4*n)), " ")
	if len(head) <= n {
		if len(s) > 4*n {
			head += " …"
		}
		return head
	}
	return cutRunes(head, n) + " …"
}

// cutRunes returns the longest prefix of s of at most n bytes that ends on a
// rune boundary.
func cutRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n]
}
