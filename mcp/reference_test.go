package mcp

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/m1-project/m1/config"
)

// referenceServer is one of the reference MCP servers from npm that
// .ci/run installs under $M1_TEST_MCP_DIR. Without them the test skips,
// except in CI.
func referenceServer(t *testing.T, name string, args ...string) config.MCPServer {
	t.Helper()
	bin := filepath.Join(os.Getenv("M1_TEST_MCP_DIR"), "node_modules", ".bin", "mcp-server-"+name)
	if _, err := os.Stat(bin); err != nil || os.Getenv("M1_TEST_MCP_DIR") == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("the reference MCP server %s is not installed in $M1_TEST_MCP_DIR (see .ci/run)", name)
		}
		t.Skip("no reference MCP servers: set M1_TEST_MCP_DIR (in CI this fails instead)")
	}
	return config.MCPServer{Name: name, Command: bin, Args: args}
}

func TestServerEverything(t *testing.T) {
	t.Parallel()
	srv, err := Connect(t.Context(), referenceServer(t, "everything"), os.Getenv, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if !strings.Contains(describe(srv.Name(), srv.Implementation(), srv.Instructions(), srv.Tools()), "get-sum (Returns the sum of two numbers)") {
		t.Error("the description lacks get-sum")
	}
	var mu sync.Mutex
	var progress []string
	onProgress := func(p *sdk.ProgressNotificationParams) {
		mu.Lock()
		defer mu.Unlock()
		progress = append(progress, progressText(p))
	}
	tests := []struct {
		tool, args string
		text       string
		images     int
		isErr      bool
	}{
		{"get-sum", `{"a": 1234, "b": 8765}`, "The sum of 1234 and 8765 is 9999.", 0, false},
		{"get-tiny-image", `{}`, "[image 1: image/png,", 1, false},
		{"get-resource-reference", `{"resourceType": "Text", "resourceId": 2}`, "[resource demo://resource/dynamic/text/2 (text/plain)]\nResource 2: This is a plaintext resource", 0, false},
		{"get-resource-links", `{"count": 1}`, "[resource link: ", 0, false},
		{"get-structured-content", `{"location": "Chicago"}`, `"temperature"`, 0, false},
		{"echo", `{"text": "wrong argument"}`, "The tool reported an error:", 0, true},
		{"trigger-long-running-operation", `{"duration": 1, "steps": 2}`, "Long running operation completed", 0, false},
	}
	for _, tt := range tests {
		res, err := srv.Call(t.Context(), tt.tool, []byte(tt.args), 0, onProgress)
		if err != nil {
			t.Errorf("%s: %v", tt.tool, err)
			continue
		}
		r := convert(res)
		if !strings.Contains(r.text, tt.text) || len(r.images) != tt.images || r.isError != tt.isErr {
			t.Errorf("%s: %q, %d images, error %v", tt.tool, r.text, len(r.images), r.isError)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(progress) == 0 || progress[0] != "1/2" {
		t.Errorf("progress %q", progress)
	}
}

func TestServerFilesystem(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "code.txt"), []byte("The code is PLUM-4711.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv, err := Connect(t.Context(), referenceServer(t, "filesystem", dir), os.Getenv, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, tt := range []struct {
		path, text string
		isErr      bool
	}{
		{filepath.Join(dir, "code.txt"), "The code is PLUM-4711.", false},
		{"/etc/hostname", "Access denied", true},
	} {
		res, err := srv.Call(t.Context(), "read_text_file", []byte(fmt.Sprintf(`{"path": %q}`, tt.path)), 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r := convert(res); !strings.Contains(r.text, tt.text) || r.isError != tt.isErr {
			t.Errorf("%s: %q, error %v", tt.path, r.text, r.isError)
		}
	}
	ts := newToolset(srv.Tools(), srv.HasResources())
	if !readOnly(ts.byName["read_text_file"]) || readOnly(ts.byName["write_file"]) {
		t.Error("read_text_file should be read-only and write_file not, as the server marks them")
	}
}
