package console

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/m1-project/m1/agent"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// sampleRun is a short run touching every kind of event the console shows:
// markdown from the Coder (streamed) and in the final answer, a line too
// long for 60 columns, a question to the person, a retry, and the final
// answer sent first as the Orchestrator's message.
func sampleRun() []agent.Event {
	at := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	ev := func(typ, src string, f func(*agent.Event)) agent.Event {
		e := agent.Event{Type: typ, ID: "id-" + typ + "-" + src, Time: at, Source: src}
		if f != nil {
			f(&e)
		}
		return e
	}
	ledger := func(next, instr string, done bool) *agent.Ledger {
		return &agent.Ledger{
			IsRequestSatisfied:    agent.LedgerBool{Answer: done, Reason: "the user has the number they asked for"},
			IsProgressBeingMade:   agent.LedgerBool{Answer: true},
			NextSpeaker:           agent.LedgerString{Answer: next},
			InstructionOrQuestion: agent.LedgerString{Answer: instr},
		}
	}
	const answer = "The answer is **42**, printed by the script below; it was checked twice, once by multiplying and once by adding seven six times:\n\n```\n42\n```"
	const question = "Should the result be printed in decimal or in hex?"
	return []agent.Event{
		ev(agent.EventTask, agent.UserName, func(e *agent.Event) { e.Content = "What is 6*7?" }),
		ev(agent.EventFacts, agent.OrchestratorName, func(e *agent.Event) { e.Content = "1. GIVEN OR VERIFIED FACTS\n- none" }),
		ev(agent.EventPlan, agent.OrchestratorName, func(e *agent.Event) { e.Content = "- Coder: compute it\n- ComputerTerminal: run it" }),
		ev(agent.EventLedger, agent.OrchestratorName, func(e *agent.Event) { e.Ledger = ledger("User", question, false); e.Turn = 1 }),
		ev(agent.EventMessage, agent.OrchestratorName, func(e *agent.Event) { e.ID = "q"; e.Content = question }),
		ev(agent.EventUserInput, agent.UserName, func(e *agent.Event) { e.Content = question }),
		ev(agent.EventMessage, agent.UserName, func(e *agent.Event) { e.Content = "decimal" }),
		ev(agent.EventLedger, agent.OrchestratorName, func(e *agent.Event) { e.Ledger = ledger("coder", "Compute 6*7.", false); e.Turn = 2 }),
		ev(agent.EventMessage, agent.OrchestratorName, func(e *agent.Event) { e.ID = "i2"; e.Content = "Compute 6*7." }),
		ev(agent.EventDelta, agent.CoderName, func(e *agent.Event) { e.ID = "m1"; e.Content = "I will **print** it:\n```py" }),
		ev(agent.EventDelta, agent.CoderName, func(e *agent.Event) { e.ID = "m1"; e.Content = "thon\nprint(6*7)\n```" }),
		ev(agent.EventMessage, agent.CoderName, func(e *agent.Event) { e.ID = "m1"; e.Content = "I will **print** it:\n```python\nprint(6*7)\n```" }),
		ev(agent.EventWarning, agent.CoderName, func(e *agent.Event) {
			e.Content = `model call failed (model gpt-4o at http://127.0.0.1:1/v1: server unavailable (HTTP 503): Post "http://127.0.0.1:1/v1/chat/completions": upstream down; is the server running? check the base URL); retry 1 in 641ms`
		}),
		ev(agent.EventCodeExecution, agent.ComputerTerminalName, func(e *agent.Event) {
			e.Code = &agent.CodeExecution{Language: "python", Executor: "docker", ExitCode: 1, TimedOut: true}
		}),
		ev(agent.EventMessage, agent.ComputerTerminalName, func(e *agent.Event) {
			e.Content = "Block 1 (python) exited with code 0. Output:\n# 42 is the answer, and this line is long enough to wrap at sixty columns"
		}),
		ev(agent.EventToolCall, agent.WebSurferName, func(e *agent.Event) { e.Tool = &agent.ToolCall{Name: "click", Arguments: `{"target_id": 12}`} }),
		ev(agent.EventWarning, agent.OrchestratorName, func(e *agent.Event) { e.Content = "no usable progress ledger" }),
		ev(agent.EventReplan, agent.OrchestratorName, func(e *agent.Event) { e.Content = "stalled 3 times" }),
		ev(agent.EventError, agent.WebSurferName, func(e *agent.Event) { e.Content = "browser died" }),
		ev(agent.EventLedger, agent.OrchestratorName, func(e *agent.Event) { e.Ledger = ledger("Coder", "none", true); e.Turn = 3 }),
		ev(agent.EventMessage, agent.OrchestratorName, func(e *agent.Event) { e.ID = "final"; e.Content = answer }),
		ev(agent.EventResult, agent.OrchestratorName, func(e *agent.Event) {
			e.Status, e.FinalAnswer, e.Turns, e.DurationMS, e.SessionID = agent.StatusSuccess, answer, 3, 1500, "s1"
			e.Usage = map[string]agent.Usage{agent.OrchestratorName: {PromptTokens: 100, CompletionTokens: 20}, agent.CoderName: {PromptTokens: 50, CompletionTokens: 5}}
		}),
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	// ANSI escapes are stored escaped, so the golden file reads as text.
	text := []byte(strings.ReplaceAll(strconv.Quote(string(got)), `\n`, "\\n\n"))
	if *update {
		if err := os.WriteFile(path, text, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./console -update)", err)
	}
	if !bytes.Equal(want, text) {
		t.Errorf("%s differs from the output; rerun with -update if the change is intended.\ngot:\n%s", name, text)
	}
}

func TestRendererPlain(t *testing.T) {
	t.Parallel()
	s, out, _ := Test("")
	r := NewRenderer(s, 3)
	for _, e := range sampleRun() {
		r.Handle(e)
	}
	r.Close()
	if bytes.Contains(out.Bytes(), []byte("\x1b")) {
		t.Error("plain output holds escape codes")
	}
	text := out.String()
	for _, want := range []string{"── Coder", "I will **print** it:\n```python\nprint(6*7)\n```\n", "▸ turn 2 · next Coder · stalls 0/3",
		"exit 1 (timed out)", "Final answer", "Orchestrator          100 + 20", "session  s1", "3 turns, 0 replans",
		"model call failed (server unavailable (HTTP 503)); retry 1 in 641ms", "Answer the question above (Enter to skip):"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// Markdown and long lines are left as written in a pipe...
	if !strings.Contains(text, "# 42 is the answer, and this line is long enough to wrap at sixty columns") {
		t.Error("a pipe must get lines as written")
	}
	// ...and nothing is said twice.
	for _, once := range []string{"I will **print** it", "The answer is **42**", "Should the result be printed in decimal or in hex?", "upstream down"} {
		if n := strings.Count(text, once); n != 1 && once != "upstream down" || once == "upstream down" && n != 0 {
			t.Errorf("%q shown %d times", once, n)
		}
	}
	golden(t, "plain.golden", out.Bytes())
}

// renderTTY renders the sample run on a terminal cols columns wide.
func renderTTY(cols int, noColor bool) string {
	s, out, _ := Test("")
	s.OutTTY, s.NoColor, s.Columns, s.Rows = true, noColor, cols, 40
	r := NewRenderer(s, 3, WithoutSpinner()) // the spinner's frames depend on timing
	for _, e := range sampleRun() {
		r.Handle(e)
	}
	r.Close()
	return out.String()
}

// On a terminal the layout follows its width: headings, wrapped text and
// the final answer's box fit in 60 columns as in 120, and markdown is
// rendered.
func TestRendererTerminalWidths(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		cols    int
		noColor bool
		golden  string
	}{{60, false, "tty60.golden"}, {120, false, "tty120.golden"}, {60, true, "tty60-nocolor.golden"}} {
		got := renderTTY(c.cols, c.noColor)
		golden(t, c.golden, []byte(got))
		if c.noColor && strings.Contains(got, "\x1b[") && regexp.MustCompile(`\x1b\[[0-9;]*m`).MatchString(got) {
			t.Errorf("%s: NO_COLOR output holds colour codes", c.golden)
		}
		plain := ansiCodes.ReplaceAllString(onScreen(got), "")
		for i, line := range strings.Split(plain, "\n") {
			if w := ansi.StringWidth(line); w > c.cols {
				t.Errorf("%s line %d is %d columns wide: %q", c.golden, i+1, w, line)
			}
		}
		// Without colour, glamour's plain style keeps emphasis as ** (there
		// is no bold to show it); fences are rendered either way.
		if !c.noColor && (strings.Contains(plain, "**42**") || strings.Contains(plain, "**print**")) || strings.Contains(plain, "```python") {
			t.Errorf("%s: markdown shown raw:\n%s", c.golden, plain)
		}
		if n := strings.Count(plain, "The answer is"); n != 1 {
			t.Errorf("%s: the final answer is shown %d times", c.golden, n)
		}
		// The box is whole: every row between its corners starts and ends
		// with a border.
		box := plain[strings.Index(plain, "╭"):strings.Index(plain, "╯")]
		for _, row := range strings.Split(box, "\n")[1:] {
			if !strings.HasPrefix(row, "│") && !strings.HasPrefix(row, "╰") || !strings.HasSuffix(row, "│") && !strings.HasPrefix(row, "╰") {
				t.Errorf("%s: broken box row %q", c.golden, row)
			}
		}
	}
}

// onScreen returns what stays on screen of out: a streamed message drawn
// again (cursor up n rows, erase below) loses its raw rows. Lines are
// short enough here for a row to be a line.
func onScreen(out string) string {
	redraw := regexp.MustCompile(`\r(?:\x1b\[(\d+)A)?\x1b\[J`)
	for {
		m := redraw.FindStringSubmatchIndex(out)
		if m == nil {
			return out
		}
		up := 0
		if m[2] >= 0 {
			up, _ = strconv.Atoi(out[m[2]:m[3]])
		}
		head := out[:m[0]]
		cut := strings.LastIndex(head, "\n")
		for ; up > 0 && cut >= 0; up-- {
			cut = strings.LastIndex(head[:cut], "\n")
		}
		out = head[:cut+1] + out[m[1]:]
	}
}

// ansiCodes matches what the renderer writes to style text and to redraw
// a streamed message.
var ansiCodes = regexp.MustCompile(`\x1b\[[0-9;]*[mAJK]|\r`)

func TestNoColorOnTerminal(t *testing.T) {
	t.Parallel()
	if got := renderTTY(80, true); regexp.MustCompile(`\x1b\[[0-9;]*m`).MatchString(got) {
		t.Error("NO_COLOR output holds colour codes")
	}
}

func TestJSONLines(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	j := NewJSON(&buf)
	for _, e := range sampleRun() {
		j.Handle(e)
	}
	sc := bufio.NewScanner(&buf)
	n := 0
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d is not JSON: %v", n+1, err)
		}
		for _, k := range []string{"type", "id", "time", "source"} {
			if _, ok := m[k]; !ok {
				t.Errorf("line %d lacks %q", n+1, k)
			}
		}
		if m["type"] == agent.EventDelta {
			t.Error("deltas must not be in the JSON stream")
		}
		n++
	}
	if want := len(sampleRun()) - 2; n != want { // two deltas
		t.Errorf("%d lines, want %d", n, want)
	}
}

// hostileRun is a run whose every text holds what a page, a file or a
// container could put there: OSC 52 (clipboard), OSC 0 (window title),
// clear screen, line erase, a carriage return, invalid UTF-8 and a bidi
// override.
func hostileRun() []agent.Event {
	const trap = "\x1b]52;c;cm0gLXJmIH4=\x07\x1b]0;pwned\x07\x1b[2J\x1b[2K\rX\xff\u202e"
	var out []agent.Event
	for _, e := range sampleRun() {
		e.Content += trap
		e.Source += trap
		if e.Ledger != nil {
			l := *e.Ledger
			l.NextSpeaker.Answer += trap
			l.IsRequestSatisfied.Reason += trap
			e.Ledger = &l
		}
		if e.Tool != nil {
			e.Tool = &agent.ToolCall{Name: e.Tool.Name + trap, Arguments: e.Tool.Arguments + trap, Result: trap, Error: true}
		}
		if e.Code != nil {
			c := *e.Code
			c.Output, c.Language = trap, c.Language+trap
			e.Code = &c
		}
		e.FinalAnswer += trap
		e.StopReason += trap
		out = append(out, e)
	}
	at := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	out = append(out[:len(out)-1],
		agent.Event{Type: agent.EventDelta, ID: "m9", Time: at, Source: agent.CoderName, Content: "streamed \x1b]52;c;"},
		agent.Event{Type: agent.EventDelta, ID: "m9", Time: at, Source: agent.CoderName, Content: "eA==\x07 \xe6\x97"},
		agent.Event{Type: agent.EventDelta, ID: "m9", Time: at, Source: agent.CoderName, Content: "\xa5 done"},
		agent.Event{Type: agent.EventMessage, ID: "m9", Time: at, Source: agent.CoderName, Content: "streamed \x1b]52;c;eA==\x07 日 done"},
		agent.Event{Type: agent.EventApproval, ID: "a1", Time: at, Source: agent.WebSurferName, Approval: &agent.ApprovalRecord{
			ApprovalRequest: agent.ApprovalRequest{Action: "click 'Transfer all funds" + trap + "'"}, Decision: agent.Decision{Reason: trap}}},
		out[len(out)-1])
	return out
}

// ownEscapes are the escape codes the renderer itself writes: colours and
// the spinner's line erase.
var ownEscapes = regexp.MustCompile(`\x1b\[[0-9;]*m|\r\x1b\[K|\r(\x1b\[[0-9]+A)?\x1b\[J`)

func TestRendererEscapesHostileText(t *testing.T) {
	t.Parallel()
	for _, tty := range []bool{false, true} {
		s, out, _ := Test("")
		s.OutTTY, s.Columns = tty, 1000 // no wrapping to split what is looked for
		r := NewRenderer(s, 3)
		r.spin = false
		for _, e := range hostileRun() {
			r.Handle(e)
		}
		r.Close()
		text := ownEscapes.ReplaceAllString(out.String(), "")
		if u := unsafeIn(text); u != "" {
			t.Errorf("tty=%v: the output holds %s:\n%q", tty, u, text)
		}
		for _, want := range []string{`\x1b]52;c;cm0gLXJmIH4=\x07`, `\x1b]0;pwned\x07`, `\x1b[2J`, `\x0dX\xff\u202e`, `streamed \x1b]52;c;eA==\x07 日 done`, "Transfer all funds"} {
			if !strings.Contains(text, want) {
				t.Errorf("tty=%v: the output does not show %q escaped", tty, want)
			}
		}
	}
}
