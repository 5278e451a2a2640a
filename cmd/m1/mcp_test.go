package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/m1-project/m1/model/scripted"
)

// mcpDirEnv names the folder where .ci/run installs the reference MCP
// servers and the MCP Inspector's CLI from npm (npm ci --prefix DIR, from
// .ci/mcp): the tests run their programs from DIR/node_modules/.bin.
const mcpDirEnv = "M1_TEST_MCP_DIR"

// mcpPrograms are the programs the [mcp] condition needs.
var mcpPrograms = []string{"mcp-server-everything", "mcp-server-filesystem", "mcp-inspector-cli"}

// mcpCondition answers [mcp]: whether the reference MCP servers and the
// Inspector are installed. In CI, which installs them, their absence is an error.
func mcpCondition() (bool, error) {
	dir := os.Getenv(mcpDirEnv)
	missing := dir == ""
	for _, name := range mcpPrograms {
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

// TestMCPServeOverStdioAndHTTP runs `m1 mcp` as a real process and drives
// it with the Go SDK's client, over stdio and over streamable HTTP: a
// task runs to its answer, and read_file reads the work dir.
func TestMCPServeOverStdioAndHTTP(t *testing.T) {
	t.Parallel()
	sc, err := scripted.LoadScenario("../../testdata/scenarios/sixbyseven.yaml")
	if err != nil {
		t.Fatal(err)
	}
	srv := scripted.New(t, sc)
	tmp := t.TempDir()
	work := filepath.Join(tmp, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "note.txt"), []byte("NOTE-1234"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"OPENAI_BASE_URL=" + srv.URL(), "OPENAI_API_KEY=k", "M1_MODEL=scripted", "XDG_STATE_HOME=" + filepath.Join(tmp, "state")}
	args := []string{"mcp", "--agents", "coder", "--work-dir", work}

	check := func(t *testing.T, cs *sdk.ClientSession) {
		t.Helper()
		res, err := cs.CallTool(t.Context(), &sdk.CallToolParams{Name: "run_task", Arguments: map[string]any{"task": "What is 6*7?"}})
		if err != nil {
			t.Fatal(err)
		}
		out, _ := res.StructuredContent.(map[string]any)
		if res.IsError || out["final_answer"] != "The answer is 42." || out["status"] != "success" || out["session_id"] == "" {
			t.Errorf("run_task: %+v", res.StructuredContent)
		}
		res, err = cs.CallTool(t.Context(), &sdk.CallToolParams{Name: "read_file", Arguments: map[string]any{"path": "note.txt"}})
		if err != nil || res.IsError || !strings.Contains(res.Content[0].(*sdk.TextContent).Text, "NOTE-1234") {
			t.Errorf("read_file: %v %+v", err, res)
		}
	}
	client := sdk.NewClient(&sdk.Implementation{Name: "test", Version: "1"}, nil)

	t.Run("stdio", func(t *testing.T) {
		cmd, _, errOut := m1Cmd(t, env, args...)
		cmd.Stdout = nil
		cs, err := client.Connect(t.Context(), &sdk.CommandTransport{Command: cmd}, nil)
		if err != nil {
			t.Fatalf("%v; stderr:\n%s", err, errOut)
		}
		check(t, cs)
		if err := cs.Close(); err != nil {
			t.Errorf("m1 mcp did not end cleanly when its stdin closed: %v; stderr:\n%s", err, errOut)
		}
	})

	t.Run("http", func(t *testing.T) {
		cmd, _, errOut := m1Cmd(t, env, append(args, "--http", "127.0.0.1:0")...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()
		re := regexp.MustCompile(`at (http://127\.0\.0\.1:[0-9]+/mcp)`)
		var url string
		for deadline := time.Now().Add(30 * time.Second); url == ""; time.Sleep(20 * time.Millisecond) {
			if m := re.FindStringSubmatch(errOut.String()); m != nil {
				url = m[1]
			} else if time.Now().After(deadline) {
				t.Fatalf("m1 mcp --http did not say where it listens; stderr:\n%s", errOut)
			}
		}
		cs, err := client.Connect(t.Context(), &sdk.StreamableClientTransport{Endpoint: url}, nil)
		if err != nil {
			t.Fatal(err)
		}
		check(t, cs)
		cs.Close()
		// Ctrl-C stops the server.
		_ = cmd.Process.Signal(syscall.SIGINT)
		if err := cmd.Wait(); err != nil {
			t.Errorf("m1 mcp --http after Ctrl-C: %v; stderr:\n%s", err, errOut)
		}
	})

	t.Run("remote address refused", func(t *testing.T) {
		cmd, _, errOut := m1Cmd(t, env, append(args, "--http", "0.0.0.0:8765")...)
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != exitUsage || !strings.Contains(errOut.String(), "loopback only") {
			t.Errorf("exit %v; stderr:\n%s", err, errOut)
		}
	})
}
