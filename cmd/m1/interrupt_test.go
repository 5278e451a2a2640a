package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/m1-project/m1/model/scripted"
	"github.com/m1-project/m1/terminal"
)

func ledgerTo(speaker, instruction string) scripted.Reply {
	return scripted.Text(fmt.Sprintf(`{"is_request_satisfied": {"reason": "no", "answer": false}, "is_in_loop": {"reason": "no", "answer": false}, "is_progress_being_made": {"reason": "x", "answer": true}, "next_speaker": {"reason": "x", "answer": %q}, "instruction_or_question": {"reason": "x", "answer": %q}}`, speaker, instruction))
}

var ledgerSatisfied = scripted.Text(`{"is_request_satisfied": {"reason": "done", "answer": true}, "is_in_loop": {"reason": "no", "answer": false}, "is_progress_being_made": {"reason": "x", "answer": true}, "next_speaker": {"reason": "x", "answer": "Coder"}, "instruction_or_question": {"reason": "x", "answer": "none"}}`)

// syncBuffer is a buffer the child process writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// m1Cmd runs this test binary as m1 with env.
func m1Cmd(t *testing.T, env []string, args ...string) (*exec.Cmd, *syncBuffer, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), append([]string{"M1_TEST_RUN_MAIN=1", "M1_IMAGE=" + testImage()}, env...)...)
	out, errOut := &syncBuffer{}, &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, errOut
	return cmd, out, errOut
}

func requireDocker(t *testing.T) {
	t.Helper()
	ok, err := dockerCondition()
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Skip("no Docker engine (in CI this fails instead)")
	}
}

func m1Containers(t *testing.T) int {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	list, err := cli.ContainerList(context.Background(), container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", terminal.LabelManaged+"=true"))})
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

// processesUnder counts running processes whose command line mentions dir.
func processesUnder(dir string) int {
	n := 0
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte(dir)) {
			n++
		}
	}
	return n
}

// TestInterruptThenResume sends Ctrl-C (SIGINT) to a run while its code
// runs in a container and its browser is open: the run must exit 130 with
// the session saved, leave no container and no Chrome behind, and then
// `m1 resume` must finish it without redoing the work already done.
func TestInterruptThenResume(t *testing.T) {
	requireDocker(t)
	requireBrowser(t)
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<html><head><title>Opening hours</title></head><body><h1>Open 9 to 5</h1></body></html>`)
	}))
	defer site.Close()
	srv := scripted.New(t, &scripted.Scenario{Rules: []scripted.Rule{
		{Name: "facts", Match: "GIVEN OR VERIFIED FACTS", Replies: []scripted.Reply{scripted.Text("1. GIVEN OR VERIFIED FACTS\n- none")}},
		{Name: "plan", Match: "short (bullet )?plan", Replies: []scripted.Reply{scripted.Text("- WebSurfer: read the page\n- Coder: script\n- ComputerTerminal: run")}},
		{Name: "ledger", Match: "is_request_satisfied|could not be used", Replies: []scripted.Reply{
			ledgerTo("WebSurfer", "Open the page."),
			ledgerTo("Coder", "Write the script."),
			ledgerTo("ComputerTerminal", "Run it."),
			ledgerSatisfied,
		}},
		{Name: "web", Tools: []string{"visit_url"}, Replies: []scripted.Reply{
			scripted.Call("visit_url", fmt.Sprintf(`{"reasoning": "read it", "url": %q}`, site.URL)),
			scripted.Text("The page says: Open 9 to 5."),
		}},
		{Name: "coder", System: "You are the Coder", Replies: []scripted.Reply{scripted.Text("```sh\necho started\nsleep 600\n```")}},
		{Name: "final", Match: "final answer", Replies: []scripted.Reply{scripted.Text("Open 9 to 5.")}},
	}})
	tmp := t.TempDir()
	state := filepath.Join(tmp, "state")
	work := filepath.Join(tmp, "work")
	chromeTmp := filepath.Join(tmp, "chrome-tmp")
	for _, d := range []string{work, chromeTmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"OPENAI_BASE_URL=" + srv.URL(), "OPENAI_API_KEY=k", "M1_MODEL=scripted",
		"XDG_STATE_HOME=" + state, "TMPDIR=" + chromeTmp}

	cmd, out, errOut := m1Cmd(t, env, "--agents", "coder,terminal,web", "--work-dir", work, "--code-timeout", "10m", "When is the shop open?")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the code runs in its container, then interrupt.
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) && !strings.Contains(out.String(), "Run it.") {
		time.Sleep(50 * time.Millisecond)
	}
	for time.Now().Before(deadline) && m1Containers(t) == 0 {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second) // the exec inside the container is under way
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitInterrupt {
		t.Fatalf("exit = %v, want %d\nstdout:\n%s\nstderr:\n%s", err, exitInterrupt, out, errOut)
	}
	if !strings.Contains(errOut.String(), "m1 resume") {
		t.Errorf("stderr does not say how to resume:\n%s", errOut)
	}
	if n := m1Containers(t); n != 0 {
		t.Errorf("%d m1 containers outlived the interrupted run", n)
	}
	if n := processesUnder(chromeTmp); n != 0 {
		t.Errorf("%d browser processes outlived the interrupted run", n)
	}
	if !strings.Contains(out.String(), "status  cancelled") {
		t.Errorf("no cancelled summary:\n%s", out)
	}

	// Resume finishes the run; nothing done before is asked again.
	before := len(srv.Requests())
	cmd, out, errOut = m1Cmd(t, env, "resume", "--last")
	if err := cmd.Run(); err != nil {
		t.Fatalf("resume: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	if !strings.Contains(out.String(), "status  success") || !strings.Contains(out.String(), "Open 9 to 5.") {
		t.Errorf("resumed run did not succeed:\n%s", out)
	}
	for _, r := range srv.Requests()[before:] {
		if r.Rule == "facts" || r.Rule == "plan" || r.Rule == "web" || r.Rule == "coder" {
			t.Errorf("resume redid %s", r.Rule)
		}
	}
	if n := m1Containers(t); n != 0 {
		t.Errorf("%d m1 containers remain", n)
	}
	if n := processesUnder(chromeTmp); n != 0 {
		t.Errorf("%d browser processes remain", n)
	}
}

// requireBrowser skips without Chrome or Chromium — except in CI.
func requireBrowser(t *testing.T) {
	t.Helper()
	ok, err := browserCondition()
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Skip("no Chrome or Chromium in PATH (in CI this fails instead)")
	}
}

// TestKillThenResume kills m1 with SIGKILL while its code runs: nothing can
// clean up, yet the transcript and checkpoint on disk must be enough to
// resume, and the orphaned container is removed when m1 next starts.
func TestKillThenResume(t *testing.T) {
	requireDocker(t)
	srv := scripted.New(t, &scripted.Scenario{Rules: []scripted.Rule{
		{Name: "facts", Match: "GIVEN OR VERIFIED FACTS", Replies: []scripted.Reply{scripted.Text("1. GIVEN OR VERIFIED FACTS\n- none")}},
		{Name: "plan", Match: "short (bullet )?plan", Replies: []scripted.Reply{scripted.Text("- Coder: script\n- ComputerTerminal: run")}},
		{Name: "ledger", Match: "is_request_satisfied|could not be used", Replies: []scripted.Reply{
			ledgerTo("Coder", "Write the script."),
			ledgerTo("ComputerTerminal", "Run it."),
			ledgerSatisfied,
		}},
		{Name: "coder", System: "You are the Coder", Replies: []scripted.Reply{scripted.Text("```sh\necho started\nsleep 600\n```")}},
		{Name: "final", Match: "final answer", Replies: []scripted.Reply{scripted.Text("It ran.")}},
	}})
	tmp := t.TempDir()
	work := filepath.Join(tmp, "work")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"OPENAI_BASE_URL=" + srv.URL(), "OPENAI_API_KEY=k", "M1_MODEL=scripted",
		"XDG_STATE_HOME=" + filepath.Join(tmp, "state")}
	cmd, out, errOut := m1Cmd(t, env, "--agents", "coder,terminal", "--work-dir", work, "Run the script")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) && (!strings.Contains(out.String(), "Run it.") || m1Containers(t) == 0) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	transcript, err := filepath.Glob(filepath.Join(tmp, "state", "m1", "sessions", "*", "transcript.jsonl"))
	if err != nil || len(transcript) != 1 {
		t.Fatalf("transcripts: %v %v", transcript, err)
	}
	b, _ := os.ReadFile(transcript[0])
	if !bytes.Contains(b, []byte(`"content":"Run it."`)) {
		t.Errorf("the transcript lost what was said before the kill:\n%s", b)
	}

	cmd, out, errOut = m1Cmd(t, env, "resume", "--last")
	if err := cmd.Run(); err != nil {
		t.Fatalf("resume: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	if !strings.Contains(out.String(), "status  success") {
		t.Errorf("resumed run did not succeed:\n%s", out)
	}
	if n := m1Containers(t); n != 0 {
		t.Errorf("%d m1 containers remain after the resumed run", n)
	}
	if got := len(srv.Requests()); got == 0 {
		t.Fatal("no requests")
	}
	facts := 0
	for _, r := range srv.Requests() {
		if r.Rule == "facts" {
			facts++
		}
	}
	if facts != 1 {
		t.Errorf("facts asked %d times; resume must not re-plan", facts)
	}
}
