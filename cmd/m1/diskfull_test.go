package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/model/scripted"
	"github.com/m1-project/m1/session"
)

// mountTmpfs mounts a tmpfs of size (e.g. "200k") on dir for the test, or
// skips where mounting is not allowed (not root, no CAP_SYS_ADMIN).
func mountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
}

// TestDiskFullFailsTheRunAndLeavesAReadableSession keeps the sessions on a
// 200 KiB tmpfs while each turn writes 40 KB: the run must fail (exit 1,
// saying the transcript could not be written), never end in "success";
// once there is room again the session resumes and shows, with no torn
// line in its transcript.
func TestDiskFullFailsTheRunAndLeavesAReadableSession(t *testing.T) {
	big := strings.Repeat("All work and no play makes a long reply. ", 1000) // 41 KB
	srv := scripted.New(t, &scripted.Scenario{Rules: []scripted.Rule{
		{Name: "facts", Match: "GIVEN OR VERIFIED FACTS", Replies: []scripted.Reply{scripted.Text("1. GIVEN OR VERIFIED FACTS\n- none")}},
		{Name: "plan", Match: "short (bullet )?plan", Replies: []scripted.Reply{scripted.Text("- Coder: write")}},
		{Name: "ledger", Match: "is_request_satisfied|could not be used", Replies: []scripted.Reply{ledgerTo("Coder", "Write more.")}},
		{Name: "coder", System: "You are the Coder", Replies: []scripted.Reply{scripted.Text(big)}},
		{Name: "limit", Match: "has to stop before it is finished", Replies: []scripted.Reply{scripted.Text("Stopped here.")}},
		{Name: "final", Match: "final answer", Replies: []scripted.Reply{scripted.Text("Done.")}},
	}})
	tmp := t.TempDir()
	state := filepath.Join(tmp, "state")
	if err := os.MkdirAll(state, 0o755); err != nil {
		t.Fatal(err)
	}
	mountTmpfs(t, state, "200k")
	env := []string{"OPENAI_BASE_URL=" + srv.URL(), "OPENAI_API_KEY=k", "M1_MODEL=scripted", "XDG_STATE_HOME=" + state}

	cmd, out, errOut := m1Cmd(t, env, "--agents", "coder", "--work-dir", tmp, "--max-turns", "20", "Write a lot")
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitRuntime {
		t.Fatalf("exit = %v, want %d\nstderr:\n%s", err, exitRuntime, errOut)
	}
	if !strings.Contains(errOut.String(), "could not write the transcript") || !strings.Contains(errOut.String(), "no space left on device") ||
		!strings.Contains(errOut.String(), "m1 resume ") {
		t.Errorf("stderr does not say the transcript could not be written and how to go on:\n%s", errOut)
	}
	if strings.Contains(out.String(), "status  success") {
		t.Errorf("the run claims success:\n%s", out)
	}

	// Room again: the session resumes from its last checkpoint and shows.
	if out, err := exec.Command("mount", "-o", "remount,size=20m", state).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v: %s", err, out)
	}
	cmd, out, errOut = m1Cmd(t, env, "resume", "--last", "--max-turns", "1")
	err = cmd.Run()
	if !errors.As(err, &exit) || exit.ExitCode() != exitLimit {
		t.Fatalf("resume: exit %v, want %d\nstdout:\n%s\nstderr:\n%s", err, exitLimit, out, errOut)
	}
	cmd, out, errOut = m1Cmd(t, env, "show", "--last")
	if err := cmd.Run(); err != nil || !strings.Contains(out.String(), "Stopped here.") || strings.Contains(errOut.String(), "warning") {
		t.Errorf("show: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	root := filepath.Join(state, "m1", "sessions")
	all, _ := session.List(root)
	if len(all) != 1 || all[0].Status != agent.StatusIncomplete {
		t.Fatalf("sessions: %+v", all)
	}
	f, err := os.Open(filepath.Join(root, all[0].ID, session.TranscriptFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	bad, err := session.ReadTranscript(f, func(agent.Event) error { return nil })
	if err != nil || len(bad) != 0 {
		t.Errorf("transcript: bad lines %v, %v", bad, err)
	}
}
