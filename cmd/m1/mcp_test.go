package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/m1-project/m1/model/scripted"
)

// mcpDirEnv names the folder where .ci/run installs the reference MCP
// servers from npm (npm install --prefix DIR): the tests run
// DIR/node_modules/.bin/mcp-server-everything and mcp-server-filesystem.
const mcpDirEnv = "M1_TEST_MCP_DIR"

// mcpServerNames are the programs the [mcp] condition needs.
var mcpServerNames = []string{"mcp-server-everything", "mcp-server-filesystem"}

// mcpCondition answers [mcp]: whether the reference MCP servers are
// installed. In CI, which installs them, their absence is an error.
func mcpCondition() (bool, error) {
	dir := os.Getenv(mcpDirEnv)
	missing := dir == ""
	for _, name := range mcpServerNames {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", ".bin", name)); err != nil {
			missing = true
		}
	}
	if !missing {
		return true, nil
	}
	if os.Getenv("CI") != "" {
		return false, fmt.Errorf("the reference MCP servers are not installed in $%s=%q in CI (see .ci/run)", mcpDirEnv, dir)
	}
	return false, nil
}

// TestMCPServersEndWithM1 stops m1 while a run waits on the model, once
// with Ctrl-C (SIGINT) and once with kill -9, which leaves m1 no chance to
// clean up. Its stdio MCP server is m1 mcp (this binary) started by a
// shell that first leaves a child of its own running, as launchers such
// as npx and uvx do: the shell, the server and the child all go.
func TestMCPServersEndWithM1(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			srv := scripted.New(t, &scripted.Scenario{Rules: []scripted.Rule{
				{Name: "facts", Replies: []scripted.Reply{{Content: "1. GIVEN OR VERIFIED FACTS", Delay: 10 * time.Minute}}},
			}})
			tmp := t.TempDir()
			work := filepath.Join(tmp, "work")
			if err := os.Mkdir(work, 0o755); err != nil {
				t.Fatal(err)
			}
			cfg := filepath.Join(tmp, "config.yaml")
			body := fmt.Sprintf(`mcp_servers:
  helper:
    command: sh
    args: [-c, 'sleep 1000 & echo $$! > "$$0/child.pid"; echo $$$$ > "$$0/server.pid"; exec "$$1" mcp --agents coder', %q, %q]
    env: {M1_TEST_RUN_MAIN: "1", OPENAI_BASE_URL: "http://127.0.0.1:9/v1"}
`, tmp, os.Args[0])
			if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd, _, errOut := m1Cmd(t, []string{"OPENAI_BASE_URL=" + srv.URL(), "OPENAI_API_KEY=k", "M1_MODEL=scripted",
				"XDG_STATE_HOME=" + filepath.Join(tmp, "state")},
				"--config", cfg, "--agents", "coder,helper", "--work-dir", work, "Ask the helper.")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			// The server runs once the run asks the model for the facts.
			deadline := time.Now().Add(60 * time.Second)
			for len(srv.Requests()) == 0 {
				if time.Now().After(deadline) {
					t.Fatalf("the run never reached the model; stderr:\n%s", errOut)
				}
				time.Sleep(50 * time.Millisecond)
			}
			pids := map[string]int{}
			for _, name := range []string{"server", "child"} {
				b, err := os.ReadFile(filepath.Join(tmp, name+".pid"))
				if err != nil {
					t.Fatal(err)
				}
				if pids[name], err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil {
					t.Fatal(err)
				}
			}
			if n := processesUnder(tmp); n == 0 {
				t.Fatal("the server's supervisor does not show in the process list")
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			var exit *exec.ExitError
			if sig == syscall.SIGINT && (!errors.As(err, &exit) || exit.ExitCode() != exitInterrupt) {
				t.Errorf("after Ctrl-C m1 ended with %v, want exit %d; stderr:\n%s", err, exitInterrupt, errOut)
			}
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				left := processesUnder(tmp)
				for _, pid := range pids {
					if running(pid) {
						left++
					}
				}
				if left == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d processes of the MCP server outlive m1 (server %d, its child %d)", left, pids["server"], pids["child"])
				}
			}
		})
	}
}

// running reports whether pid is a live process (not a zombie).
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && len(s) > i+2 {
		return s[i+2] != 'Z'
	}
	return true
}
