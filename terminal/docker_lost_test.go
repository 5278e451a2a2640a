package terminal

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/m1-project/m1/agent"
)

// killContainer kills the one container of session, as `docker kill` does,
// and returns its id. It may run on any goroutine.
func killContainer(cli *client.Client, session string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := cli.ContainerList(ctx, container.ListOptions{
		Filters: filters.NewArgs(filters.Arg("label", LabelSession+"="+session)),
	})
	if err != nil {
		return "", err
	}
	if len(list) != 1 {
		return "", fmt.Errorf("%d running containers for the session, want 1", len(list))
	}
	return list[0].ID, cli.ContainerKill(ctx, list[0].ID, "KILL")
}

// TestDockerContainerKilled kills the sandbox between two blocks and during
// one: the terminal says so, the next block runs in a fresh container, and
// the dead one is removed.
func TestDockerContainerKilled(t *testing.T) {
	t.Parallel()
	cli, img := requireDocker(t)
	tests := []struct {
		name string
		// code runs while the container is killed; empty kills it before
		// the block.
		code     string
		wantCode string
		wantNote string
	}{
		{"between blocks", "", "exited with code 0. Output:\nafter", noteReplaced},
		{"during a block", "```sh\necho begins\ntouch started\nsleep 60\necho ends\n```", "exited with code 137. Output:\nbegins", noteLostMidRun},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			session := "test-" + agent.NewID()
			work := t.TempDir()
			d, err := NewDocker(WithImage(img), WithWorkDir(work), WithSessionID(session))
			if err != nil {
				t.Fatal(err)
			}
			term := New(d)
			defer term.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if _, _, err := step(t, ctx, term, "```sh\necho before\n```"); err != nil {
				t.Fatal(err)
			}
			var killed string
			kill := make(chan error, 1)
			code := tt.code
			if code == "" {
				killed, err = killContainer(cli, session)
				if err != nil {
					t.Fatal(err)
				}
				code = "```sh\necho after\n```"
				kill <- nil
			} else {
				go func() {
					for ctx.Err() == nil {
						if _, err := os.Stat(filepath.Join(work, "started")); err == nil {
							break
						}
						time.Sleep(20 * time.Millisecond)
					}
					_, err := killContainer(cli, session)
					kill <- err
				}()
			}
			msg, events, err := step(t, ctx, term, code)
			if err := <-kill; err != nil {
				t.Fatalf("kill: %v", err)
			}
			if err != nil {
				t.Fatalf("Step = %v, want a reply that reports the dead container", err)
			}
			if !strings.Contains(msg.Content, tt.wantCode) || !strings.Contains(msg.Content, tt.wantNote) {
				t.Errorf("reply = %q, want %q and the note %q", msg.Content, tt.wantCode, tt.wantNote)
			}
			if strings.Contains(msg.Content, "ends") {
				t.Errorf("reply = %q: the block went on after its container died", msg.Content)
			}
			if len(events) != 1 || events[0].Code == nil {
				t.Errorf("events = %+v, want one code execution", events)
			}

			// The next block runs, in a fresh container, without a note.
			msg, _, err = step(t, ctx, term, "```sh\necho again\n```")
			if err != nil || !strings.Contains(msg.Content, "exited with code 0. Output:\nagain") || strings.Contains(msg.Content, "sandbox") {
				t.Fatalf("next Step = %q, %v", msg.Content, err)
			}
			list := sessionContainers(t, cli, session)
			if len(list) != 1 || list[0].State != container.StateRunning {
				t.Fatalf("containers after the kill = %+v, want the one fresh container", list)
			}
			if tt.code == "" && list[0].ID == killed {
				t.Error("the killed container is still the session's")
			}
			if err := term.Close(); err != nil {
				t.Fatal(err)
			}
			if n := len(sessionContainers(t, cli, session)); n != 0 {
				t.Errorf("%d containers left after Close", n)
			}
		})
	}
}
