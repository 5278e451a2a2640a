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

// requireDocker skips without a Docker engine or the test image — except
// in CI, where that fails.
func requireDocker(t *testing.T) {
	t.Helper()
	ok, err := dockerCondition()
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Skipf("no Docker engine, or no image %s: make sandbox-image builds it (in CI this fails instead)", testImage())
	}
}

// m1Containers counts the containers, running or not, that the m1
// processes pids made (by their m1.pid label): other tests and other m1
// runs on the same engine are none of this test's business.
func m1Containers(t *testing.T, pids ...int) int {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	n := 0
	for _, pid := range pids {
		list, err := cli.ContainerList(context.Background(), container.ListOptions{All: true,
			Filters: filters.NewArgs(filters.Arg("label", terminal.LabelManaged+"=true"),
				filters.Arg("label", fmt.Sprintf("%s=%d", terminal.LabelPID, pid)))})
		if err != nil {
			t.Fatal(err)
		}
		n += len(list)
	}
	return n
}

// child is an m1 process a test started and waits on.
type child struct {
	cmd         *exec.Cmd
	out, errOut *syncBuffer
	exited      chan struct{}
	err         error // set when exited closes
}

// startM1 starts cmd (made by m1Cmd) and waits for it in the background,
// so the test notices at once when it exits.
func startM1(t *testing.T, cmd *exec.Cmd, out, errOut *syncBuffer) *child {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, out: out, errOut: errOut, exited: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-c.exited:
		default:
			_ = cmd.Process.Kill()
			<-c.exited
		}
	})
	return c
}

// waitFor polls until cond holds. It fails the test at once if m1 exits
// first, and after two minutes if m1 hangs.
func (c *child) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(2 * time.Minute)
	for !cond() {
		select {
		case <-c.exited:
			t.Fatalf("m1 exited (%v) before %s\nstdout:\n%s\nstderr:\n%s", c.err, what, c.out, c.errOut)
		case <-deadline:
			t.Fatalf("m1 still runs but %s has not happened after two minutes\nstdout:\n%s\nstderr:\n%s", what, c.out, c.errOut)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// wait waits for m1 to exit and returns how it did.
func (c *child) wait() error {
	<-c.exited
	return c.err
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
	run := startM1(t, cmd, out, errOut)
	pid := cmd.Process.Pid
	// Wait until the code runs in its container, then interrupt.
	run.waitFor(t, "the code runs in its container", func() bool {
		return strings.Contains(out.String(), "Run it.") && m1Containers(t, pid) > 0
	})
	time.Sleep(time.Second) // the exec inside the container is under way
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := run.wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitInterrupt {
		t.Fatalf("exit = %v, want %d\nstdout:\n%s\nstderr:\n%s", err, exitInterrupt, out, errOut)
	}
	if !strings.Contains(errOut.String(), "m1 resume") {
		t.Errorf("stderr does not say how to resume:\n%s", errOut)
	}
	if n := m1Containers(t, pid); n != 0 {
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
	if err := startM1(t, cmd, out, errOut).wait(); err != nil {
		t.Fatalf("resume: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	resumed := cmd.Process.Pid
	if !strings.Contains(out.String(), "status  success") || !strings.Contains(out.String(), "Open 9 to 5.") {
		t.Errorf("resumed run did not succeed:\n%s", out)
	}
	for _, r := range srv.Requests()[before:] {
		if r.Rule == "facts" || r.Rule == "plan" || r.Rule == "web" || r.Rule == "coder" {
			t.Errorf("resume redid %s", r.Rule)
		}
	}
	if n := m1Containers(t, pid, resumed); n != 0 {
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

// longCodeScenario has the Coder write a shell block that prints
// "started" and then sleeps for seconds, for the ComputerTerminal to run
// while a test stops m1.
func longCodeScenario(seconds int) *scripted.Scenario {
	return &scripted.Scenario{Rules: []scripted.Rule{
		{Name: "facts", Match: "GIVEN OR VERIFIED FACTS", Replies: []scripted.Reply{scripted.Text("1. GIVEN OR VERIFIED FACTS\n- none")}},
		{Name: "plan", Match: "short (bullet )?plan", Replies: []scripted.Reply{scripted.Text("- Coder: script\n- ComputerTerminal: run")}},
		{Name: "ledger", Match: "is_request_satisfied|could not be used", Replies: []scripted.Reply{
			ledgerTo("Coder", "Write the script."),
			ledgerTo("ComputerTerminal", "Run it."),
			ledgerSatisfied,
		}},
		{Name: "coder", System: "You are the Coder", Replies: []scripted.Reply{scripted.Text(fmt.Sprintf("```sh\necho started\nsleep %d\n```", seconds))}},
		{Name: "final", Match: "final answer", Replies: []scripted.Reply{scripted.Text("It ran.")}},
	}}
}

// TestKillThenResume kills m1 with SIGKILL while its code runs: nothing can
// clean up, yet the transcript and checkpoint on disk must be enough to
// resume, and the orphaned container is removed when m1 next starts.
func TestKillThenResume(t *testing.T) {
	requireDocker(t)
	srv := scripted.New(t, longCodeScenario(600))
	tmp := t.TempDir()
	work := filepath.Join(tmp, "work")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"OPENAI_BASE_URL=" + srv.URL(), "OPENAI_API_KEY=k", "M1_MODEL=scripted",
		"XDG_STATE_HOME=" + filepath.Join(tmp, "state")}
	cmd, out, errOut := m1Cmd(t, env, "--agents", "coder,terminal", "--work-dir", work, "Run the script")
	run := startM1(t, cmd, out, errOut)
	killed := cmd.Process.Pid
	run.waitFor(t, "the code runs in its container", func() bool {
		return strings.Contains(out.String(), "Run it.") && m1Containers(t, killed) > 0
	})
	time.Sleep(500 * time.Millisecond)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = run.wait()
	transcript, err := filepath.Glob(filepath.Join(tmp, "state", "m1", "sessions", "*", "transcript.jsonl"))
	if err != nil || len(transcript) != 1 {
		t.Fatalf("transcripts: %v %v", transcript, err)
	}
	b, _ := os.ReadFile(transcript[0])
	if !bytes.Contains(b, []byte(`"content":"Run it."`)) {
		t.Errorf("the transcript lost what was said before the kill:\n%s", b)
	}

	cmd, out, errOut = m1Cmd(t, env, "resume", "--last")
	if err := startM1(t, cmd, out, errOut).wait(); err != nil {
		t.Fatalf("resume: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	if !strings.Contains(out.String(), "status  success") {
		t.Errorf("resumed run did not succeed:\n%s", out)
	}
	// The container the killed m1 left is removed when m1 next starts.
	if n := m1Containers(t, killed, cmd.Process.Pid); n != 0 {
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
