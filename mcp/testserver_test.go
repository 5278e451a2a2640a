package mcp

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/m1-project/m1/config"
)

// testServerEnv makes this test binary an MCP server over stdio (see
// TestMain): a real process speaking the protocol through the SDK, with
// tools that stage what third-party servers do (pictures, errors, slow
// calls with progress, crashes, children of their own).
const testServerEnv = "M1_MCP_TEST_SERVER"

func TestMain(m *testing.M) {
	if os.Getenv(testServerEnv) == "1" {
		if err := runTestServer(); err != nil {
			fmt.Fprintln(os.Stderr, "test server:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// pngPixel is a 1x1 PNG.
var pngPixel, _ = base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")

type echoArgs struct {
	Message string `json:"message" jsonschema:"what to echo"`
}

type addArgs struct {
	A float64 `json:"a"`
	B float64 `json:"b"`
}

type slowArgs struct {
	Seconds float64 `json:"seconds"`
}

type noArgs struct{}

func ro() *sdk.ToolAnnotations { return &sdk.ToolAnnotations{ReadOnlyHint: true} }

func text(s string) *sdk.CallToolResult {
	return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: s}}}
}

func runTestServer() error {
	if d := os.Getenv("M1_MCP_TEST_DELAY"); d != "" {
		// A server that is slow to start.
		secs, _ := strconv.ParseFloat(d, 64)
		time.Sleep(time.Duration(secs * float64(time.Second)))
	}
	if os.Getenv("M1_MCP_TEST_DIE") == "1" {
		fmt.Fprintln(os.Stderr, "fatal: missing configuration file")
		os.Exit(4)
	}
	s := sdk.NewServer(&sdk.Implementation{Name: "m1-test-server", Version: "0.1"},
		&sdk.ServerOptions{Instructions: "Test server for m1: it echoes, adds and misbehaves on request."})
	sdk.AddTool(s, &sdk.Tool{Name: "echo", Description: "Echoes the message back. Nothing else.", Annotations: ro()},
		func(_ context.Context, _ *sdk.CallToolRequest, a echoArgs) (*sdk.CallToolResult, any, error) {
			return text("Echo: " + a.Message + " (env " + os.Getenv("M1_MCP_TEST_SEEN") + ")"), nil, nil
		})
	sdk.AddTool(s, &sdk.Tool{Name: "add", Description: "Adds two numbers.", Annotations: ro()},
		func(_ context.Context, _ *sdk.CallToolRequest, a addArgs) (*sdk.CallToolResult, any, error) {
			return text(fmt.Sprintf("The sum of %v and %v is %v.", a.A, a.B, a.A+a.B)), nil, nil
		})
	sdk.AddTool(s, &sdk.Tool{Name: "picture", Description: "Returns a tiny picture.", Annotations: ro()},
		func(context.Context, *sdk.CallToolRequest, noArgs) (*sdk.CallToolResult, any, error) {
			return &sdk.CallToolResult{Content: []sdk.Content{
				&sdk.TextContent{Text: "Here is the picture:"},
				&sdk.ImageContent{MIMEType: "image/png", Data: pngPixel},
			}}, nil, nil
		})
	sdk.AddTool(s, &sdk.Tool{Name: "fail", Description: "Always fails.", Annotations: ro()},
		func(context.Context, *sdk.CallToolRequest, noArgs) (*sdk.CallToolResult, any, error) {
			return nil, nil, errors.New("disk quota exceeded on /data")
		})
	sdk.AddTool(s, &sdk.Tool{Name: "slow", Description: "Sleeps, reporting progress.", Annotations: ro()},
		func(ctx context.Context, req *sdk.CallToolRequest, a slowArgs) (*sdk.CallToolResult, any, error) {
			steps := 4
			for i := 1; i <= steps; i++ {
				select {
				case <-ctx.Done():
					return nil, nil, ctx.Err()
				case <-time.After(time.Duration(a.Seconds * float64(time.Second) / float64(steps))):
				}
				if tok := req.Params.GetProgressToken(); tok != nil {
					_ = req.Session.NotifyProgress(ctx, &sdk.ProgressNotificationParams{ProgressToken: tok,
						Progress: float64(i), Total: float64(steps), Message: fmt.Sprintf("step %d", i)})
				}
			}
			return text("slept"), nil, nil
		})
	sdk.AddTool(s, &sdk.Tool{Name: "write", Description: "Writes a note (changes things)."},
		func(_ context.Context, _ *sdk.CallToolRequest, a echoArgs) (*sdk.CallToolResult, any, error) {
			return text("wrote " + a.Message), nil, nil
		})
	sdk.AddTool(s, &sdk.Tool{Name: "crash", Description: "Exits the server at once."},
		func(context.Context, *sdk.CallToolRequest, noArgs) (*sdk.CallToolResult, any, error) {
			fmt.Fprintln(os.Stderr, "panic: simulated crash")
			os.Exit(3)
			return nil, nil, nil
		})
	sdk.AddTool(s, &sdk.Tool{Name: "getenv", Description: "Returns an environment variable of the server.", Annotations: ro()},
		func(_ context.Context, _ *sdk.CallToolRequest, a echoArgs) (*sdk.CallToolResult, any, error) {
			return text(a.Message + "=" + os.Getenv(a.Message)), nil, nil
		})
	sdk.AddTool(s, &sdk.Tool{Name: "spawn", Description: "Starts a child process that outlives the call.", Annotations: ro()},
		func(context.Context, *sdk.CallToolRequest, noArgs) (*sdk.CallToolResult, any, error) {
			cmd := exec.Command("sleep", "1000")
			if err := cmd.Start(); err != nil {
				return nil, nil, err
			}
			return text(strconv.Itoa(cmd.Process.Pid)), nil, nil
		})
	s.AddResource(&sdk.Resource{URI: "test://notes/1", Name: "notes", Description: "The team's notes. Updated daily.", MIMEType: "text/plain"},
		func(_ context.Context, req *sdk.ReadResourceRequest) (*sdk.ReadResourceResult, error) {
			return &sdk.ReadResourceResult{Contents: []*sdk.ResourceContents{{URI: req.Params.URI, MIMEType: "text/plain", Text: "NOTES-555"}}}, nil
		})
	return s.Run(context.Background(), &sdk.StdioTransport{})
}

// testServer is the config of the test binary as a stdio server.
func testServer(name string, env ...string) config.MCPServer {
	exe, err := os.Executable()
	if err != nil {
		panic(err)
	}
	s := config.MCPServer{Name: name, Command: exe, Env: map[string]string{testServerEnv: "1"}}
	for i := 0; i+1 < len(env); i += 2 {
		s.Env[env[i]] = env[i+1]
	}
	return s
}

// connectTest starts the test server, closing it when the test ends.
func connectTest(t *testing.T, s config.MCPServer) *Server {
	t.Helper()
	srv, err := Connect(t.Context(), s, os.Getenv, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}
