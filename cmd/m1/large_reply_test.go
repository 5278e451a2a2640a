package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/m1-project/m1/model/scripted"
)

// TestHugeRepliesStayBounded has the model send 2 MB replies — the Coder's
// answers, a ledger's instruction and the final answer — and checks that
// no prompt outgrows the model's window and that m1's memory stays
// modest. Each message takes at most a quarter of any prompt; the
// transcript keeps it whole. (Before, prompts reached 7.3 M tokens and m1
// 312 MB.)
func TestHugeRepliesStayBounded(t *testing.T) {
	t.Parallel()
	const size = 2 << 20
	ledger := func(speaker, instr string, done bool) scripted.Reply {
		sat := "false"
		if done {
			sat = "true"
		}
		return scripted.Reply{Pad: size / 2, Content: `{"is_request_satisfied": {"reason": "x", "answer": ` + sat + `}, "is_in_loop": {"reason": "no", "answer": false}, "is_progress_being_made": {"reason": "x", "answer": true}, "next_speaker": {"reason": "x", "answer": "` + speaker + `"}, "instruction_or_question": {"reason": "x", "answer": "` + instr + ` {{pad}}"}}`}
	}
	srv := scripted.New(t, &scripted.Scenario{Rules: []scripted.Rule{
		{Name: "ledger", Match: "Is the request fully satisfied|That reply could not be used", Replies: []scripted.Reply{
			ledger("Coder", "Write the first part.", false), ledger("Coder", "Write the second part.", false),
			ledger("Coder", "Write the third part.", false), ledger("Coder", "none", true)}},
		{Name: "final", Match: "write the final answer", Replies: []scripted.Reply{{Content: "HUGE-ANSWER-START", Pad: size}}},
		{Name: "plan", Match: "Write a short plan", Replies: []scripted.Reply{scripted.Text("- Coder: write it")}},
		{Name: "facts", Match: "write a short fact sheet", Replies: []scripted.Reply{scripted.Text("1. GIVEN OR VERIFIED FACTS\n- none")}},
		{Name: "coder", System: "You are the Coder", Replies: []scripted.Reply{{Content: "PART", Pad: size}}},
	}})
	dir := t.TempDir()
	cmd, out, errOut := m1Cmd(t, []string{"OPENAI_BASE_URL=" + srv.URL(), "M1_MODEL=scripted", "OPENAI_API_KEY=test-key",
		"XDG_STATE_HOME=" + filepath.Join(dir, "state"), "HOME=" + dir, "NO_COLOR=1"},
		"--agents", "coder", "--no-stream", "--json", "--work-dir", dir, "Write a long report.")
	if err := cmd.Run(); err != nil {
		t.Fatalf("m1: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), `"status":"success"`) {
		t.Fatalf("the run did not succeed:\n%.2000s", out.String())
	}
	// --json: the JSON stream, like the transcript, keeps every message
	// whole. The window is 128k tokens (m1's default for an unknown model).
	for i, r := range srv.Requests() {
		if n := r.PromptTokens(); n > 128000 {
			t.Errorf("request %d (%s): a prompt of about %d tokens, over the 128k window", i+1, r.Rule, n)
		}
	}
	rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss / 1024
	t.Logf("peak RSS %d MB, stdout %d KB, %d requests", rss, len(out.String())/1024, len(srv.Requests()))
	if rss > 200 && !raceEnabled {
		t.Errorf("m1 peaked at %d MB of memory for 2 MB replies", rss)
	}
	// The transcript keeps every reply whole.
	matches, _ := filepath.Glob(filepath.Join(dir, "state", "m1", "sessions", "*", "transcript.jsonl"))
	if len(matches) != 1 {
		t.Fatalf("transcripts: %v", matches)
	}
	if fi, err := os.Stat(matches[0]); err != nil || fi.Size() < 5*size {
		t.Errorf("the transcript does not keep the replies whole: %v bytes", fi.Size())
	}
}
