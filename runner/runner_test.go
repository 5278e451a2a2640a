package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/model/scripted"
	"github.com/m1-project/m1/session"
)

const testKey = "sk-test-SECRET-0123456789abcdef"

// leakScenario is a run whose Coder prints the API key it found and whose
// final answer repeats it, as code that reads /proc/<ppid>/environ could.
func leakScenario(t *testing.T) *scripted.Scenario {
	t.Helper()
	ledger := func(done bool, speaker, instr string) string {
		b, _ := json.Marshal(map[string]any{
			"is_request_satisfied":    map[string]any{"reason": "r", "answer": done},
			"is_in_loop":              map[string]any{"reason": "r", "answer": false},
			"is_progress_being_made":  map[string]any{"reason": "r", "answer": true},
			"next_speaker":            map[string]any{"reason": "r", "answer": speaker},
			"instruction_or_question": map[string]any{"reason": "r", "answer": instr},
		})
		return string(b)
	}
	sc, err := scripted.ParseScenario([]byte(`{"name": "leak", "api_key": "` + testKey + `", "rules": [
	  {"name": "facts", "match": "GIVEN OR VERIFIED FACTS", "replies": [{"content": "1. GIVEN OR VERIFIED FACTS\n- none"}]},
	  {"name": "plan", "match": "short (bullet )?plan", "replies": [{"content": "- Coder: answer"}]},
	  {"name": "ledger", "match": "is_request_satisfied", "replies": [
	    {"content": ` + jsonString(ledger(false, "Coder", "Say the key.")) + `},
	    {"content": ` + jsonString(ledger(true, "Coder", "None.")) + `}]},
	  {"name": "coder", "system": "You are the Coder", "replies": [{"content": "The key is ` + testKey + `."}]},
	  {"name": "final", "match": "final answer", "replies": [{"content": "It was ` + testKey + `"}]}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestRunRedactsKnownSecrets(t *testing.T) {
	t.Parallel()
	srv := scripted.New(t, leakScenario(t))
	state := t.TempDir()
	env := map[string]string{"OPENAI_API_KEY": testKey, "OPENAI_BASE_URL": srv.URL(), "M1_MODEL": "scripted"}
	var out bytes.Buffer
	var started Start
	opts := DefaultOptions()
	opts.Agents = []string{AgentCoder}
	opts.WorkDir = t.TempDir()
	res, err := Run(context.Background(), Env{
		Getenv:      func(k string) string { return env[k] },
		SessionRoot: state,
		Started:     func(s Start) { started = s },
		Output: func(e agent.Event) {
			b, _ := json.Marshal(e)
			out.Write(append(b, '\n'))
		},
	}, opts, "find the key")
	if err != nil {
		t.Fatal(err)
	}
	if res.Status() != agent.StatusSuccess || started.SessionID != res.SessionID || res.SessionID == "" {
		t.Fatalf("status %q, started %q, outcome %q", res.Status(), started.SessionID, res.SessionID)
	}
	if !strings.Contains(res.Result.FinalAnswer, redactedMark) {
		t.Errorf("final answer %q: want the key redacted", res.Result.FinalAnswer)
	}
	recorded := out.String()
	for _, name := range []string{session.TranscriptFile, session.CheckpointFile, session.MetaFile} {
		b, err := os.ReadFile(filepath.Join(res.SessionDir, name))
		if err != nil {
			t.Fatal(err)
		}
		recorded += string(b)
	}
	if strings.Contains(recorded, testKey) {
		t.Fatalf("the key reached the output or the session files")
	}
	if !strings.Contains(out.String(), "The key is "+redactedMark) {
		t.Errorf("the Coder's message was not kept with the key redacted:\n%s", out.String())
	}
}

func TestRunRefusesBadSettings(t *testing.T) {
	t.Parallel()
	opts := DefaultOptions()
	opts.WorkDir = t.TempDir()
	opts.Agents = []string{"coder", "painter"}
	// Agents are checked against the config, which may name MCP servers.
	getenv := func(k string) string { return map[string]string{"OPENAI_API_KEY": "sk-test"}[k] }
	_, err := Run(context.Background(), Env{SessionRoot: t.TempDir(), Getenv: getenv}, opts, "x")
	var ue *UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), `unknown agent "painter"`) {
		t.Fatalf("err = %v, want a usage error naming the agent", err)
	}
}
