package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/m1-project/m1/console"
	"github.com/m1-project/m1/model/scripted"
)

// TestLongBrowsingRunStaysInBudget walks the WebSurfer through a 30-page
// trail in a real Chromium (testdata/scenarios/browse30.yaml) with a model
// whose context window is 16k tokens. Every prompt stays within it, and the
// progress-ledger prompt at turn 30 is at most twice its size at turn 5:
// the ledger sees a compact history, not the whole thread.
func TestLongBrowsingRunStaysInBudget(t *testing.T) {
	if ok, err := browserCondition(); err != nil {
		t.Fatal(err)
	} else if !ok {
		t.Skip("no Chrome or Chromium (in CI this fails instead)")
	}
	t.Parallel()
	site := httptest.NewServer(http.FileServer(http.Dir("../../testdata/sites")))
	defer site.Close()
	data, err := os.ReadFile("../../testdata/scenarios/browse30.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scripted.ParseScenario([]byte(strings.ReplaceAll(string(data), "${SITE}", site.URL)))
	if err != nil {
		t.Fatal(err)
	}
	srv := scripted.New(t, sc)

	const window = 16000
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	err = os.WriteFile(cfg, []byte(`client:
  config:
    model: scripted
    base_url: `+srv.URL()+`
    api_key: test-key
    model_info: {vision: true, function_calling: true, json_output: true, context_window: 16000}
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"XDG_STATE_HOME": filepath.Join(dir, "state"), "HOME": dir}
	streams, out, errOut := console.Test("")
	code := Main([]string{"--config", cfg, "--agents", "web", "--max-turns", "40", "--work-dir", dir,
		"--no-stream", "Walk the trail to its end and report the treasure code."}, streams, func(k string) string { return env[k] })
	if code != 0 || !strings.Contains(out.String(), "TRAIL-30-OK") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, tail(out.String(), 3000), errOut.String())
	}

	var ledger []int
	total := 0
	for _, r := range srv.Requests() {
		total += r.PromptTokens()
		if n := r.PromptTokens(); n > window {
			t.Errorf("a %s request of %d tokens overflows the %d-token window", r.Rule, n, window)
		}
		if r.Rule == "ledger" || r.Rule == "done" {
			ledger = append(ledger, r.PromptTokens())
		}
	}
	if len(ledger) < 31 {
		t.Fatalf("%d progress ledgers, want at least 31 (30 pages, then done)", len(ledger))
	}
	at5, at15, at30 := ledger[4], ledger[14], ledger[29]
	t.Logf("ledger prompt tokens: turn 5 %d, turn 15 %d, turn 30 %d; all prompts %d", at5, at15, at30, total)
	if at30 > 2*at5 {
		t.Errorf("ledger prompt grew from %d tokens at turn 5 to %d at turn 30: more than twice", at5, at30)
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
