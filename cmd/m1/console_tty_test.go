package main

import (
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// consoleScenario is a short run whose waits are long enough to watch:
// the Coder's model call takes 2 s, its code sleeps 2 s, and the final
// answer is markdown with a sentence too long for 60 columns.
const consoleScenario = `
rules:
  - name: facts
    match: GIVEN OR VERIFIED FACTS
    replies: [{content: "1. GIVEN OR VERIFIED FACTS\n- none"}]
  - name: plan
    match: short (bullet )?plan
    replies: [{content: "- Coder: write it\n- ComputerTerminal: run it"}]
  - name: ledger
    match: is_request_satisfied|could not be used
    replies:
      - content: '{"is_request_satisfied": {"reason": "no", "answer": false}, "is_in_loop": {"reason": "no", "answer": false}, "is_progress_being_made": {"reason": "x", "answer": true}, "next_speaker": {"reason": "x", "answer": "User"}, "instruction_or_question": {"reason": "x", "answer": "Should the number be printed in decimal or in hex?"}}'
      - content: '{"is_request_satisfied": {"reason": "no", "answer": false}, "is_in_loop": {"reason": "no", "answer": false}, "is_progress_being_made": {"reason": "x", "answer": true}, "next_speaker": {"reason": "x", "answer": "Coder"}, "instruction_or_question": {"reason": "x", "answer": "Write the script."}}'
      - content: '{"is_request_satisfied": {"reason": "no", "answer": false}, "is_in_loop": {"reason": "no", "answer": false}, "is_progress_being_made": {"reason": "x", "answer": true}, "next_speaker": {"reason": "x", "answer": "ComputerTerminal"}, "instruction_or_question": {"reason": "x", "answer": "Run it."}}'
      - content: '{"is_request_satisfied": {"reason": "done", "answer": true}, "is_in_loop": {"reason": "no", "answer": false}, "is_progress_being_made": {"reason": "x", "answer": true}, "next_speaker": {"reason": "x", "answer": "Coder"}, "instruction_or_question": {"reason": "x", "answer": "none"}}'
  - name: coder
    system: You are the Coder
    replies:
      - delay: 2s
        content: "I will **print** it after a pause:\n` + "```" + `python\nimport time\ntime.sleep(2)\nprint(6*7)\n` + "```" + `"
  - name: final
    match: final answer
    replies:
      - content: "The answer is **42**, printed in decimal by the script after a pause of two seconds, as you asked.\n\n- checked once\n- checked twice"
`

// spinnerLine is a line the spinner draws: a frame, who works, the time.
var spinnerLine = regexp.MustCompile(`[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] (.*)… (\d+)s`)

// checkLayout fails when a line of screen is wider than cols, when the
// final answer's box is broken or does not follow the width, when a word
// is cut, or when the answer shows raw markdown or twice. Without colour
// (ascii) markdown is rendered with glamour's ASCII style, which keeps
// "**" around strong text as the only way left to show it.
func checkLayout(t *testing.T, screen string, cols int, ascii bool) {
	t.Helper()
	for i, line := range strings.Split(screen, "\n") {
		if n := utf8.RuneCountInString(line); n > cols {
			t.Errorf("line %d is %d columns wide: %q", i+1, n, line)
		}
	}
	top, bottom := strings.Index(screen, "╭"), strings.LastIndex(screen, "╯")
	if top < 0 || bottom < top {
		t.Fatalf("no final answer box:\n%s", screen)
	}
	box := strings.Split(screen[top:bottom+len("╯")], "\n")
	width := utf8.RuneCountInString(box[0])
	for _, row := range box {
		row = strings.TrimRight(row, " ")
		first, _ := utf8.DecodeRuneInString(row)
		last, _ := utf8.DecodeLastRuneInString(row)
		if utf8.RuneCountInString(row) != width || !strings.ContainsRune("╭│╰", first) || !strings.ContainsRune("╮│╯", last) {
			t.Errorf("broken box row %q (the box is %d wide):\n%s", row, width, strings.Join(box, "\n"))
			break
		}
	}
	if n := strings.Count(screen, "The answer is"); n != 1 {
		t.Errorf("the final answer is shown %d times:\n%s", n, screen)
	}
	if n := strings.Count(screen, "Should the number be printed in decimal or in hex?"); n != 1 {
		t.Errorf("the question is shown %d times:\n%s", n, screen)
	}
	// Words are wrapped whole, and a window wide enough for the answer's
	// first sentence shows it on one line: the box follows the width
	// rather than a fixed one.
	sentence := "The answer is 42, printed in decimal by the script after a pause of two seconds, as you asked."
	if ascii {
		sentence = strings.Replace(sentence, "42", "**42**", 1)
	}
	for _, word := range strings.Fields(sentence) {
		if !strings.Contains(screen, word) {
			t.Errorf("the word %q is split or missing:\n%s", word, screen)
		}
	}
	if oneLine := strings.Contains(screen, sentence); oneLine != (cols >= len(sentence)+4) {
		t.Errorf("at %d columns the answer's first sentence is on one line: %v, want %v:\n%s", cols, oneLine, !oneLine, screen)
	}
	for _, raw := range []string{"**42**", "**print**", "```python"} {
		if strings.Contains(screen, raw) && !(ascii && strings.HasPrefix(raw, "**")) {
			t.Errorf("markdown shown raw (%s):\n%s", raw, screen)
		}
	}
}

// TestConsoleOnTerminal runs m1 in terminals 60 and 120 columns wide: the
// spinner names the Coder while its model call runs and the
// ComputerTerminal while the code runs, with the seconds spent; markdown
// is rendered; the final answer's box, the headings and the wrapped text
// fit the width; the answer and the person's question show once.
func TestConsoleOnTerminal(t *testing.T) {
	t.Parallel()
	for _, cols := range []int{60, 120} {
		t.Run(strconv.Itoa(cols)+"cols", func(t *testing.T) {
			t.Parallel()
			srv := scenario(t, consoleScenario)
			dir := t.TempDir()
			tm := startTerm(t, cols, 60, ttyEnv(srv, dir), "--hil", "--yes", "--executor", "local", "--agents", "coder,terminal", "--work-dir", dir, "What is 6*7?")
			tm.waitFor(`Review the plan`)
			tm.send("Enter")
			tm.waitFor(`Answer the question above`)
			tm.send("decimal", "Enter")
			for _, want := range []string{"Coder is thinking", "ComputerTerminal running python"} {
				tm.waitFor(regexp.QuoteMeta(want) + `… [1-9]\d*s`)
			}
			code, screen := tm.wait()
			if code != 0 {
				t.Fatalf("exit %d:\n%s", code, screen)
			}
			checkLayout(t, screen, cols, false)
			if spinnerLine.MatchString(screen) {
				t.Errorf("a spinner line stayed on screen:\n%s", screen)
			}
		})
	}
}

// TestConsoleFollowsResize: the width is read again at each event, so a
// window made narrower mid-run gets a layout that fits it.
func TestConsoleFollowsResize(t *testing.T) {
	t.Parallel()
	srv := scenario(t, consoleScenario)
	dir := t.TempDir()
	tm := startTerm(t, 120, 60, ttyEnv(srv, dir), "--hil", "--yes", "--executor", "local", "--agents", "coder,terminal", "--work-dir", dir, "What is 6*7?")
	tm.waitFor(`Review the plan`)
	if err := tm.tmux("resize-window", "-t", "m1", "-x", "60", "-y", "60"); err != nil {
		t.Fatal(err)
	}
	tm.send("Enter")
	tm.waitFor(`Answer the question above`)
	tm.send("decimal", "Enter")
	code, screen := tm.wait()
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, screen)
	}
	// What came after the resize fits in 60 columns.
	checkLayout(t, screen[strings.Index(screen, "Review the plan"):], 60, false)
}

// TestSpinnerClearedOnCtrlC: Ctrl-C while code runs leaves no spinner line
// behind ("⠋ ComputerTerminal running python…^C").
func TestSpinnerClearedOnCtrlC(t *testing.T) {
	t.Parallel()
	for _, cols := range []int{60, 120} {
		t.Run(strconv.Itoa(cols)+"cols", func(t *testing.T) {
			t.Parallel()
			srv := scenario(t, strings.Replace(consoleScenario, "time.sleep(2)", "time.sleep(60)", 1))
			dir := t.TempDir()
			tm := startTerm(t, cols, 60, ttyEnv(srv, dir), "--hil", "--yes", "--executor", "local", "--agents", "coder,terminal", "--work-dir", dir, "What is 6*7?")
			tm.waitFor(`Review the plan`)
			tm.send("Enter")
			tm.waitFor(`Answer the question above`)
			tm.send("decimal", "Enter")
			tm.waitFor(`ComputerTerminal running python… \d+s`)
			tm.send("C-c")
			code, screen := tm.wait()
			if code != 130 {
				t.Fatalf("exit %d, want 130:\n%s", code, screen)
			}
			if !strings.Contains(screen, "interrupted: stopping and saving") {
				t.Errorf("no interrupt notice:\n%s", screen)
			}
			if spinnerLine.MatchString(screen) || strings.Contains(screen, "…^C") {
				t.Errorf("the spinner line stayed on screen:\n%s", screen)
			}
		})
	}
}

// TestSpinnerWithNoColor: NO_COLOR turns colour off, not the spinner.
func TestSpinnerWithNoColor(t *testing.T) {
	t.Parallel()
	for _, cols := range []int{60, 120} {
		t.Run(strconv.Itoa(cols)+"cols", func(t *testing.T) {
			t.Parallel()
			srv := scenario(t, consoleScenario)
			dir := t.TempDir()
			tm := startTerm(t, cols, 60, append(ttyEnv(srv, dir), "NO_COLOR=1"), "--hil", "--yes", "--executor", "local", "--agents", "coder,terminal", "--work-dir", dir, "What is 6*7?")
			tm.waitFor(`Review the plan`)
			tm.send("Enter")
			tm.waitFor(`Answer the question above`)
			tm.send("decimal", "Enter")
			tm.waitFor(`Coder is thinking… [1-9]\d*s`)
			code, screen := tm.wait()
			if code != 0 {
				t.Fatalf("exit %d:\n%s", code, screen)
			}
			if sgr := regexp.MustCompile(`\x1b\[[0-9;]*m`).FindString(tm.rawOutput()); sgr != "" {
				t.Errorf("NO_COLOR output holds the colour code %q", sgr)
			}
			checkLayout(t, screen, cols, true)
		})
	}
}

// TestRefusedEndpointOnTerminal: a model server that refuses connections
// gives short retry lines and the full cause once, not five times.
func TestRefusedEndpointOnTerminal(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now: connections are refused
	for _, cols := range []int{60, 120} {
		t.Run(strconv.Itoa(cols)+"cols", func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			tm := startTerm(t, cols, 40, []string{"OPENAI_BASE_URL=http://" + addr + "/v1", "OPENAI_API_KEY=test-key", "M1_MODEL=scripted",
				"XDG_STATE_HOME=" + dir + "/state", "HOME=" + dir}, "--agents", "coder", "--work-dir", dir, "hi")
			code, screen := tm.wait()
			if code != 1 {
				t.Fatalf("exit %d, want 1:\n%s", code, screen)
			}
			// The terminal wraps long lines: join them back before counting.
			joined := strings.ReplaceAll(screen, "\n", "")
			if n := strings.Count(joined, "connection refused"); n != 1 {
				t.Errorf("the cause is shown %d times, want once:\n%s", n, screen)
			}
			if n := strings.Count(joined, "model call failed (server unavailable"); n < 1 {
				t.Errorf("no short retry line:\n%s", screen)
			}
			for _, line := range strings.Split(screen, "\n") {
				if strings.HasPrefix(line, "! model call failed") && utf8.RuneCountInString(line) > 90 {
					t.Errorf("a long retry line: %q", line)
				}
			}
		})
	}
}
