package config_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/config"
)

func TestMCPServers(t *testing.T) {
	t.Parallel()
	const file = `
client: {config: {model: gpt-4o}, price: {prompt_per_million: 2, completion_per_million: 10}}
mcp_servers:
  zeta:
    command: npx
    args: [-y, "@modelcontextprotocol/server-filesystem", "${NOTES}"]
    env: {API_KEY: "${ZKEY}", LOG_LEVEL: debug}
    cwd: /tmp
    timeout: 90
  alpha:
    url: https://mcp.example.com/mcp
    headers:
      Authorization: Bearer ${TOKEN}
      Accept-Language: en
    startup_timeout: 5
  beta:
    type: streamable-http
    url: http://127.0.0.1:8080/mcp
`
	env := envOf(map[string]string{"OPENAI_API_KEY": key, "NOTES": "/home/me/notes", "ZKEY": "zeta-secret-value", "TOKEN": "tok-123456789"})
	cfg, err := config.Parse([]byte(file), "m.yaml", env)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.ServerNames(); !slices.Equal(got, []string{"zeta", "alpha", "beta"}) {
		t.Fatalf("names %v: want the file's order", got)
	}
	z, ok := cfg.Server("ZETA")
	if !ok || z.Transport() != config.MCPStdio || z.Args[2] != "/home/me/notes" || z.Env["API_KEY"] != "zeta-secret-value" ||
		z.Cwd != "/tmp" || z.CallTimeout() != 90*time.Second || z.StartTimeout() != 0 {
		t.Errorf("zeta = %+v", z)
	}
	a, _ := cfg.Server("alpha")
	if a.Transport() != config.MCPHTTP || a.Headers["Authorization"] != "Bearer tok-123456789" || a.StartTimeout() != 5*time.Second {
		t.Errorf("alpha = %+v", a)
	}
	if b, _ := cfg.Server("beta"); b.Transport() != config.MCPHTTP {
		t.Errorf("beta = %+v", b)
	}
	secrets := cfg.MCPSecrets()
	for _, want := range []string{"zeta-secret-value", "Bearer tok-123456789", "tok-123456789"} {
		if !slices.Contains(secrets, want) {
			t.Errorf("secrets %q lack %q", secrets, want)
		}
	}
	if slices.Contains(secrets, "debug") || slices.Contains(secrets, "en") {
		t.Errorf("secrets %q hold ordinary values", secrets)
	}
	printed := cfg.String()
	for _, s := range []string{"zeta-secret-value", "tok-123456789"} {
		if strings.Contains(printed, s) {
			t.Errorf("printed config shows %q:\n%s", s, printed)
		}
	}
	if !strings.Contains(printed, "LOG_LEVEL: debug") || strings.Index(printed, "zeta:") > strings.Index(printed, "alpha:") {
		t.Errorf("printed config lost a setting or the order:\n%s", printed)
	}
	if z.Env["API_KEY"] != "zeta-secret-value" {
		t.Error("String changed the config")
	}
	// MCP agents are priced by the client they think with.
	if c, ok := cfg.MCPPrice(agent.Usage{PromptTokens: 1e6, CompletionTokens: 1e5}); !ok || c != 3 {
		t.Errorf("MCPPrice = %v, %v; want 3", c, ok)
	}
}

// Claude Desktop's and Cursor's file, pasted as it is, loads.
func TestMCPServersClaudeDesktopShape(t *testing.T) {
	t.Parallel()
	const file = `{
  "mcpServers": {
    "everything": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-everything"]},
    "remote": {"type": "http", "url": "https://example.com/mcp", "headers": {"X-Api-Key": "abc-123456789"}}
  }
}`
	cfg, err := config.Parse([]byte(file), "claude_desktop_config.json", envOf(map[string]string{"OPENAI_API_KEY": key}))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.ServerNames(); !slices.Equal(got, []string{"everything", "remote"}) {
		t.Fatalf("names %v", got)
	}
	if !slices.Contains(cfg.MCPSecrets(), "abc-123456789") {
		t.Error("X-Api-Key is not a secret")
	}
}

func TestMCPServerErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, servers, says string }{
		{"no command or url", "s: {args: [x]}", "set command"},
		{"both", "s: {command: x, url: 'http://h/mcp'}", "not both"},
		{"bad url", "s: {url: 'ftp://h/mcp'}", "not an http or https URL"},
		{"bad name", "'my server': {command: x}", "letters, digits"},
		{"reserved name", "Coder: {command: x}", "one of m1's own agents"},
		{"reserved short name", "web: {command: x}", "one of m1's own agents"},
		{"the pseudo-name", "mcp: {command: x}", "one of m1's own agents"},
		{"same name", "a: {command: x}\n  A: {command: y}", "two servers"},
		{"sse", "s: {type: sse, url: 'http://h/sse'}", "SSE transport is not supported"},
		{"unknown type", "s: {type: websocket, url: 'http://h/'}", "unknown type"},
		{"stdio without command", "s: {type: stdio, url: 'http://h/'}", "needs a command"},
		{"negative timeout", "s: {command: x, timeout: -1}", "negative"},
		{"not a mapping", "[a, b]", "mcp_servers must map"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := "mcp_servers:\n  " + tt.servers + "\n"
			if strings.HasPrefix(tt.servers, "[") {
				body = "mcp_servers: " + tt.servers + "\n"
			}
			_, err := config.Parse([]byte(body), "m.yaml", envOf(map[string]string{"OPENAI_API_KEY": key}))
			var ce *config.Error
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.says) || !strings.Contains(err.Error(), "m.yaml") {
				t.Fatalf("err = %v, want a config error in m.yaml saying %q", err, tt.says)
			}
		})
	}
	both := "mcp_servers: {a: {command: x}}\nmcpServers: {b: {command: y}}\n"
	if _, err := config.Parse([]byte(both), "m.yaml", envOf(map[string]string{"OPENAI_API_KEY": key})); err == nil || !strings.Contains(err.Error(), "keep one") {
		t.Errorf("both keys: %v", err)
	}
}

// The sample's commented mcp_servers block loads once uncommented.
func TestSampleMCP(t *testing.T) {
	t.Parallel()
	start := strings.Index(config.Sample, "# mcp_servers:")
	end := strings.Index(config.Sample[start:], "\n\n")
	if start < 0 || end < 0 {
		t.Fatal("the sample has no mcp_servers block")
	}
	var lines []string
	for _, l := range strings.Split(config.Sample[start:start+end], "\n") {
		lines = append(lines, strings.TrimPrefix(strings.TrimPrefix(l, "# "), "#"))
	}
	cfg, err := config.Parse([]byte(strings.Join(lines, "\n")), "sample", envOf(map[string]string{"OPENAI_API_KEY": key}))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.ServerNames(); !slices.Equal(got, []string{"files", "tracker"}) {
		t.Errorf("sample servers %v", got)
	}
}
