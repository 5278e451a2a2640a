package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/m1-project/m1/model/scripted"
	"github.com/m1-project/m1/session"
)

// hiddenCodeScenario is P1 of the security review: a Coder block whose
// line erases itself (ESC[2K ESC[1G) on a terminal, showing only
// print("hello") while os.system runs.
const hiddenCodeScenario = `
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
      - content: '{"is_request_satisfied": {"reason": "no", "answer": false}, "is_in_loop": {"reason": "no", "answer": false}, "is_progress_being_made": {"reason": "x", "answer": true}, "next_speaker": {"reason": "x", "answer": "Coder"}, "instruction_or_question": {"reason": "x", "answer": "Say hello."}}'
      - content: '{"is_request_satisfied": {"reason": "no", "answer": false}, "is_in_loop": {"reason": "no", "answer": false}, "is_progress_being_made": {"reason": "x", "answer": true}, "next_speaker": {"reason": "x", "answer": "ComputerTerminal"}, "instruction_or_question": {"reason": "x", "answer": "Run it."}}'
      - content: '{"is_request_satisfied": {"reason": "done", "answer": true}, "is_in_loop": {"reason": "no", "answer": false}, "is_progress_being_made": {"reason": "x", "answer": true}, "next_speaker": {"reason": "x", "answer": "Coder"}, "instruction_or_question": {"reason": "x", "answer": "none"}}'
  - name: coder
    system: You are the Coder
    replies:
      - content: "` + "```" + `python\nimport os; os.system(\"id > pwned.txt\") # \x1b[2K\x1b[1Gprint(\"hello\")\n` + "```" + `"
  - name: final
    match: final answer
    replies: [{content: "Said hello."}]
`

func scenario(t *testing.T, yaml string) *scripted.Server {
	t.Helper()
	sc, err := scripted.ParseScenario([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return scripted.New(t, sc)
}

// ttyEnv is the environment of a run against srv with its state in dir.
func ttyEnv(srv *scripted.Server, dir string) []string {
	return []string{"OPENAI_BASE_URL=" + srv.URL(), "OPENAI_API_KEY=test-key", "M1_MODEL=scripted",
		"XDG_STATE_HOME=" + filepath.Join(dir, "state"), "HOME=" + filepath.Join(dir, "home")}
}

// TestApprovalPromptOnTerminal stages P1 on a real terminal: the approval
// prompt, as the screen shows it, holds the whole line with its hidden
// part escaped and a warning; answering y runs exactly that; and no byte
// m1 sent to the terminal was a control code of the model's.
func TestApprovalPromptOnTerminal(t *testing.T) {
	t.Parallel()
	srv := scenario(t, hiddenCodeScenario)
	dir := t.TempDir()
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	tm := startTerm(t, 120, 50, ttyEnv(srv, dir),
		"--approve", "--executor", "local", "--agents", "coder,terminal", "--work-dir", work, "Say hello")
	screen := tm.waitFor(`\[y/n/a\] >`)
	prompt := screen[strings.LastIndex(screen, "Approve?"):]
	for _, want := range []string{
		"⚠ this code contains hidden control characters, shown escaped",
		`import os; os.system("id > pwned.txt") # \x1b[2K\x1b[1Gprint("hello")`,
	} {
		if !strings.Contains(prompt, want) {
			t.Errorf("the prompt on screen lacks %q:\n%s", want, prompt)
		}
	}
	if regexp.MustCompile(`(?m)^\s*print\("hello"\)\s*$`).MatchString(screen) {
		t.Errorf("the screen shows the harmless part alone:\n%s", screen)
	}
	tm.send("y", "Enter")
	if code, screen := tm.wait(); code != 0 {
		t.Fatalf("exit %d:\n%s", code, screen)
	}
	if _, err := os.Stat(filepath.Join(work, "pwned.txt")); err != nil {
		t.Errorf("the approved code did not run: %v", err)
	}
	if bad := foreignCodes(tm.rawOutput()); bad != "" {
		t.Errorf("m1 sent the terminal %s", bad)
	}
}

// TestHostileTextOnTerminal stages T1 and T3 on a real terminal: a page,
// the container's output and the final answer hold OSC 52 (clipboard),
// OSC 0 (title), clear screen and conceal. None of it reaches the terminal
// raw — not during the run, nor from `m1 show` and `m1 sessions` — and the
// screen shows it escaped.
func TestHostileTextOnTerminal(t *testing.T) {
	t.Parallel()
	requireBrowser(t)
	requireDocker(t)
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<!doctype html><html><head><title>News</title></head><body><h1>News</h1>"+
			"<p>Copy this: \x1b]52;c;cm0gLXJmIH4vCg==\x07 and the title \x1b]0;pwned-by-page\x07 then clear\x1b[2J and hide \x1b[8mSECRET\x1b[0m.</p></body></html>")
	}))
	defer site.Close()
	srv := scripted.New(t, &scripted.Scenario{Rules: []scripted.Rule{
		{Name: "facts", Match: "GIVEN OR VERIFIED FACTS", Replies: []scripted.Reply{scripted.Text("1. GIVEN OR VERIFIED FACTS\n- none")}},
		{Name: "plan", Match: "short (bullet )?plan", Replies: []scripted.Reply{scripted.Text("- WebSurfer: read\n- Coder: print\n- ComputerTerminal: run")}},
		{Name: "ledger", Match: "is_request_satisfied|could not be used", Replies: []scripted.Reply{
			ledgerTo("WebSurfer", "Open the page."), ledgerTo("Coder", "Print the banner."), ledgerTo("ComputerTerminal", "Run it."), ledgerSatisfied,
		}},
		{Name: "web", Tools: []string{"visit_url"}, Replies: []scripted.Reply{
			{ToolCalls: []scripted.ToolCall{{Name: "visit_url", Arguments: fmt.Sprintf(`{"reasoning": "read", "url": %q}`, site.URL)}}},
		}},
		{Name: "coder", System: "You are the Coder", Replies: []scripted.Reply{
			// The escapes are made at run time, so only the output holds them.
			scripted.Text("```python\nE, B = chr(27), chr(7)\nprint('output: ' + E + ']52;c;b3V0cHV0' + B + E + ']0;pwned-by-output' + B + E + '[2J')\n```"),
		}},
		{Name: "final", Match: "final answer", Replies: []scripted.Reply{scripted.Text("The answer \x1b]52;c;YW5zd2Vy\x07\x1b]0;pwned-by-answer\x07\x1b[2J is in.")}},
	}})
	dir := t.TempDir()
	env := ttyEnv(srv, dir)
	tm := startTerm(t, 120, 50, env, "--yes", "--agents", "coder,terminal,web", "--work-dir", dir, "Read the news \x1b]52;c;dGFzaw==\x07 page")
	code, screen := tm.wait()
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, screen)
	}
	for _, want := range []string{`Copy this: \x1b]52;c;cm0gLXJmIH4vCg==\x07`, `output: \x1b]52;c;b3V0cHV0\x07\x1b]0;pwned-by-output\x07\x1b[2J`,
		`The answer \x1b]52;c;YW5zd2Vy\x07\x1b]0;pwned-by-answer\x07\x1b[2J is in.`, `Read the news \x1b]52;c;dGFzaw==\x07 page`} {
		if !strings.Contains(screen, want) {
			t.Errorf("the screen does not show %q", want)
		}
	}
	if bad := foreignCodes(tm.rawOutput()); bad != "" {
		t.Errorf("the run sent the terminal %s", bad)
	}
	for _, args := range [][]string{{"show", lastSession(t, filepath.Join(dir, "state"))}, {"sessions"}} {
		tm := startTerm(t, 120, 50, env, args...)
		code, screen := tm.wait()
		if code != 0 {
			t.Fatalf("m1 %s: exit %d:\n%s", args[0], code, screen)
		}
		if !strings.Contains(screen, `\x1b]52;c;dGFzaw==\x07`) {
			t.Errorf("m1 %s does not show the task escaped:\n%s", args[0], screen)
		}
		if bad := foreignCodes(tm.rawOutput()); bad != "" {
			t.Errorf("m1 %s sent the terminal %s", args[0], bad)
		}
	}
}

// lastSession is the id of the newest session under the state dir.
func lastSession(t *testing.T, state string) string {
	t.Helper()
	id, err := session.Last(filepath.Join(state, "m1", "sessions"))
	if err != nil {
		t.Fatal(err)
	}
	return id
}
