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

	"github.com/m1-project/m1/agent"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// sampleRun is a short run touching every kind of event the console shows.
func sampleRun() []agent.Event {
	at := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	ev := func(typ, src string, f func(*agent.Event)) agent.Event {
		e := agent.Event{Type: typ, ID: "id-" + typ + "-" + src, Time: at, Source: src}
		if f != nil {
			f(&e)
		}
		return e
	}
	ledger := &agent.Ledger{
		IsProgressBeingMade:   agent.LedgerBool{Answer: true},
		NextSpeaker:           agent.LedgerString{Answer: agent.CoderName},
		InstructionOrQuestion: agent.LedgerString{Answer: "Compute 6*7."},
	}
	return []agent.Event{
		ev(agent.EventTask, agent.UserName, func(e *agent.Event) { e.Content = "What is 6*7?" }),
		ev(agent.EventFacts, agent.OrchestratorName, func(e *agent.Event) { e.Content = "1. GIVEN OR VERIFIED FACTS\n- none" }),
		ev(agent.EventPlan, agent.OrchestratorName, func(e *agent.Event) { e.Content = "- Coder: compute it" }),
		ev(agent.EventLedger, agent.OrchestratorName, func(e *agent.Event) { e.Ledger = ledger; e.Turn = 1 }),
		ev(agent.EventMessage, agent.OrchestratorName, func(e *agent.Event) { e.Content = "Compute 6*7." }),
		ev(agent.EventDelta, agent.CoderName, func(e *agent.Event) { e.ID = "m1"; e.Content = "6*7 " }),
		ev(agent.EventDelta, agent.CoderName, func(e *agent.Event) { e.ID = "m1"; e.Content = "= 42" }),
		ev(agent.EventMessage, agent.CoderName, func(e *agent.Event) { e.ID = "m1"; e.Content = "6*7 = 42" }),
		ev(agent.EventCodeExecution, agent.ComputerTerminalName, func(e *agent.Event) {
			e.Code = &agent.CodeExecution{Language: "python", Executor: "docker", ExitCode: 1, TimedOut: true}
		}),
		ev(agent.EventToolCall, agent.WebSurferName, func(e *agent.Event) { e.Tool = &agent.ToolCall{Name: "click", Arguments: `{"target_id": 12}`} }),
		ev(agent.EventWarning, agent.OrchestratorName, func(e *agent.Event) { e.Content = "no usable progress ledger" }),
		ev(agent.EventReplan, agent.OrchestratorName, func(e *agent.Event) { e.Content = "stalled 3 times" }),
		ev(agent.EventError, agent.WebSurferName, func(e *agent.Event) { e.Content = "browser died" }),
		ev(agent.EventResult, agent.OrchestratorName, func(e *agent.Event) {
			e.Status, e.FinalAnswer, e.Turns, e.DurationMS, e.SessionID = agent.StatusSuccess, "42", 2, 1500, "s1"
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
	for _, want := range []string{"── Coder", "6*7 = 42\n", "▸ turn 1 · next Coder · stalls 0/3", "exit 1 (timed out)", "Final answer", "Orchestrator          100 + 20", "session  s1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Count(out.String(), "6*7 = 42") != 1 {
		t.Error("a streamed message must not be printed twice")
	}
	golden(t, "plain.golden", out.Bytes())
}

func TestRendererColor(t *testing.T) {
	t.Parallel()
	s, out, _ := Test("")
	s.OutTTY = true
	r := NewRenderer(s, 3)
	r.spin = false // the spinner's frames depend on timing
	for _, e := range sampleRun() {
		r.Handle(e)
	}
	if !bytes.Contains(out.Bytes(), []byte("\x1b[")) {
		t.Error("terminal output has no colour")
	}
	golden(t, "color.golden", out.Bytes())
}

func TestNoColorOnTerminal(t *testing.T) {
	t.Parallel()
	s, out, _ := Test("")
	s.OutTTY, s.NoColor = true, true
	r := NewRenderer(s, 3)
	for _, e := range sampleRun() {
		r.Handle(e)
	}
	r.Close()
	if bytes.Contains(out.Bytes(), []byte("\x1b")) {
		t.Error("NO_COLOR output holds escape codes")
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
	if want := len(sampleRun()) - 2; n != want {
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
var ownEscapes = regexp.MustCompile(`\x1b\[[0-9;]*m|\r\x1b\[K`)

func TestRendererEscapesHostileText(t *testing.T) {
	t.Parallel()
	for _, tty := range []bool{false, true} {
		s, out, _ := Test("")
		s.OutTTY = tty
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
