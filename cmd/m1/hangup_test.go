package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/model/scripted"
	"github.com/m1-project/m1/session"
	"github.com/m1-project/m1/terminal"
)

// sessionContainers lists the containers, running or not, of one session.
func sessionContainers(t *testing.T, id string) []container.Summary {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	list, err := cli.ContainerList(context.Background(), container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", terminal.LabelSession+"="+id))})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// runsInContainer reports whether a process whose command line holds s
// runs in container id.
func runsInContainer(t *testing.T, id, s string) bool {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	top, err := cli.ContainerTop(context.Background(), id, nil)
	if err != nil {
		return false
	}
	for _, p := range top.Processes {
		if strings.Contains(strings.Join(p, " "), s) {
			return true
		}
	}
	return false
}

// TestHangupStopsSavesAndRemovesTheContainer closes m1's terminal (SIGHUP,
// as a closed window or a dropped ssh connection sends) while the model's
// code runs in Docker: m1 must stop as on Ctrl-C, save a checkpoint, record
// the session as cancelled and remove the container, rather than die and
// leave the code running.
func TestHangupStopsSavesAndRemovesTheContainer(t *testing.T) {
	requireDocker(t)
	srv := scripted.New(t, longCodeScenario(613))
	tmp := t.TempDir()
	work, state := filepath.Join(tmp, "work"), filepath.Join(tmp, "state")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"OPENAI_BASE_URL=" + srv.URL(), "OPENAI_API_KEY=k", "M1_MODEL=scripted", "XDG_STATE_HOME=" + state}
	cmd, out, errOut := m1Cmd(t, env, "--agents", "coder,terminal", "--work-dir", work, "--code-timeout", "10m", "Run the script")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })

	// Wait until the block's sleep runs in the session's container.
	var id, ctr string
	for ctr == "" {
		select {
		case err := <-exited:
			t.Fatalf("m1 exited before the code ran: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
		case <-time.After(50 * time.Millisecond):
		}
		if all, _ := session.List(filepath.Join(state, "m1", "sessions")); len(all) == 1 {
			id = all[0].ID
			for _, c := range sessionContainers(t, id) {
				if runsInContainer(t, c.ID, "sleep 613") {
					ctr = c.ID
				}
			}
		}
	}

	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	err := <-exited
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitInterrupt {
		t.Fatalf("exit = %v, want %d\nstdout:\n%s\nstderr:\n%s", err, exitInterrupt, out, errOut)
	}
	if !strings.Contains(errOut.String(), "hangup") || !strings.Contains(errOut.String(), "m1 resume "+id) {
		t.Errorf("stderr does not say what happened and how to go on:\n%s", errOut)
	}
	if left := sessionContainers(t, id); len(left) != 0 {
		t.Errorf("%d containers of session %s outlived the hangup (e.g. %s, state %s)", len(left), id, left[0].ID[:12], left[0].State)
	}
	dir := filepath.Join(state, "m1", "sessions", id)
	if _, err := os.Stat(filepath.Join(dir, session.CheckpointFile)); err != nil {
		t.Errorf("no checkpoint after the hangup: %v", err)
	}
	if m, err := session.Stat(filepath.Join(state, "m1", "sessions"), id); err != nil || m.Status != agent.StatusCancelled {
		t.Errorf("session after the hangup: %+v, %v; want cancelled", m, err)
	}
}
