package config

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/m1-project/m1/agent"
)

// MCP transports, as `type:` names them.
const (
	MCPStdio = "stdio"
	MCPHTTP  = "http"
)

// MCPServer is one entry of mcp_servers: a Model Context Protocol server
// that joins the team as an agent named after its key. It is either a
// program m1 starts and talks to over stdin and stdout (command, args, env,
// cwd) or a streamable HTTP endpoint (url, headers), in the shape Claude
// Desktop, Cursor and Codex use for the same thing.
type MCPServer struct {
	// Name is the server's key in mcp_servers.
	Name string `yaml:"-"`
	// Type is "stdio" or "http" ("streamable-http" and "streamable_http"
	// are read as http); empty means stdio with a command, http with a url.
	Type    string            `yaml:"type,omitempty"`
	Command string            `yaml:"command,omitempty"`
	Args    []string          `yaml:"args,omitempty"`
	Env     map[string]string `yaml:"env,omitempty"`
	// Cwd is the directory the command starts in; empty means m1's own.
	Cwd     string            `yaml:"cwd,omitempty"`
	URL     string            `yaml:"url,omitempty"`
	Headers map[string]string `yaml:"headers,omitempty"`
	// Timeout is how many seconds one tool call may take (0: the mcp
	// package's default).
	Timeout float64 `yaml:"timeout,omitempty"`
	// StartupTimeout is how many seconds starting the server and listing
	// its tools may take (0: the mcp package's default).
	StartupTimeout float64 `yaml:"startup_timeout,omitempty"`
}

// Transport is MCPStdio or MCPHTTP.
func (s MCPServer) Transport() string {
	if s.URL != "" && s.Command == "" {
		return MCPHTTP
	}
	return MCPStdio
}

// CallTimeout is Timeout as a duration; zero when not set.
func (s MCPServer) CallTimeout() time.Duration { return seconds(s.Timeout) }

// StartTimeout is StartupTimeout as a duration; zero when not set.
func (s MCPServer) StartTimeout() time.Duration { return seconds(s.StartupTimeout) }

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// MCPServers is the mcp_servers mapping, in the order the file gives.
type MCPServers []MCPServer

// UnmarshalYAML keeps the servers in the file's order, which is the order
// the team is described in.
func (ms *MCPServers) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: mcp_servers must map each server's name to its settings", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		var s MCPServer
		if err := n.Content[i+1].Decode(&s); err != nil {
			return fmt.Errorf("mcp_servers: %s: %w", n.Content[i].Value, err)
		}
		s.Name = n.Content[i].Value
		*ms = append(*ms, s)
	}
	return nil
}

// MarshalYAML writes the servers back as a mapping, in order.
func (ms MCPServers) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for _, s := range ms {
		var v yaml.Node
		if err := v.Encode(s); err != nil {
			return nil, err
		}
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: s.Name}, &v)
	}
	return n, nil
}

// mcpName is what a server may be called: a word the ledger can name and
// --agents can list.
var mcpName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,63}$`)

// reservedNames are the team's own members and the short names of --agents;
// a server of the same name would be ambiguous. "mcp" stands for every
// configured server in --agents.
var reservedNames = []string{"orchestrator", "coder", "computerterminal", "websurfer", "filesurfer", "user",
	"terminal", "web", "file", "mcp"}

// Servers returns the MCP servers of the file, from mcp_servers (or
// mcpServers, as Claude Desktop and Cursor write it), in order.
func (c *Config) Servers() MCPServers {
	if len(c.MCPServers) > 0 {
		return c.MCPServers
	}
	return c.MCPServersCamel
}

// Server returns the MCP server called name (case-insensitively).
func (c *Config) Server(name string) (MCPServer, bool) {
	for _, s := range c.Servers() {
		if strings.EqualFold(s.Name, name) {
			return s, true
		}
	}
	return MCPServer{}, false
}

// ServerNames lists the names of the MCP servers, in order.
func (c *Config) ServerNames() []string {
	var names []string
	for _, s := range c.Servers() {
		names = append(names, s.Name)
	}
	return names
}

// MCPPrice is the cost in US dollars of usage u by an MCP agent, priced
// by the client MCP agents think with (client); false when it has no
// price.
func (c *Config) MCPPrice(u agent.Usage) (float64, bool) {
	cc, _, err := c.client("")
	if err != nil || cc.Price == nil {
		return 0, false
	}
	return cc.Price.Cost(u), true
}

// checkMCP reports the first mistake in the MCP servers' settings.
func (c *Config) checkMCP() error {
	if len(c.MCPServers) > 0 && len(c.MCPServersCamel) > 0 {
		return &Error{Path: c.Path, Msg: "both mcp_servers and mcpServers are set: keep one"}
	}
	var seen []string
	for _, s := range c.Servers() {
		fail := func(format string, args ...any) error {
			return &Error{Path: c.Path, Role: "mcp_servers: " + s.Name, Msg: fmt.Sprintf(format, args...)}
		}
		low := strings.ToLower(s.Name)
		switch {
		case !mcpName.MatchString(s.Name):
			return fail("the name must start with a letter and hold only letters, digits, _ and - (it names the agent in --agents and in the ledger)")
		case slices.Contains(reservedNames, low):
			return fail("%q is the name of one of m1's own agents; call the server something else", s.Name)
		case slices.Contains(seen, low):
			return fail("two servers are called %q (names are compared ignoring case)", s.Name)
		}
		seen = append(seen, low)
		switch strings.ToLower(strings.NewReplacer("-", "", "_", "").Replace(s.Type)) {
		case "":
		case "stdio":
			if s.Command == "" {
				return fail("type stdio needs a command")
			}
		case "http", "streamablehttp":
			if s.URL == "" {
				return fail("type http needs a url")
			}
		case "sse":
			return fail("the SSE transport is not supported: use the server's streamable HTTP endpoint (often /mcp instead of /sse)")
		default:
			return fail("unknown type %q: use stdio (command, args, env) or http (url, headers)", s.Type)
		}
		switch {
		case s.Command == "" && s.URL == "":
			return fail("set command (a program m1 starts, with args and env) or url (a streamable HTTP endpoint)")
		case s.Command != "" && s.URL != "":
			return fail("set command or url, not both")
		case s.URL != "":
			u, err := url.Parse(s.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fail("url %q is not an http or https URL", s.URL)
			}
		}
		if s.Timeout < 0 || s.StartupTimeout < 0 {
			return fail("timeouts are seconds and cannot be negative")
		}
	}
	return nil
}

// secretWords mark the env and header names whose values are secrets.
var secretWords = []string{"key", "token", "secret", "pass", "auth", "credential", "cookie"}

func isSecretName(name string) bool {
	low := strings.ToLower(name)
	return slices.ContainsFunc(secretWords, func(w string) bool { return strings.Contains(low, w) })
}

// MCPSecrets returns the values of the MCP servers' env variables and
// headers whose names say they hold a credential (API_KEY, Authorization,
// ...), so a run can keep them out of what it records. A bearer token is
// given both whole and without its scheme.
func (c *Config) MCPSecrets() []string {
	var out []string
	add := func(name, v string) {
		if !isSecretName(name) || v == "" {
			return
		}
		out = append(out, v)
		if scheme, rest, ok := strings.Cut(v, " "); ok && !strings.ContainsAny(scheme, "=:") {
			out = append(out, strings.TrimSpace(rest))
		}
	}
	for _, s := range c.Servers() {
		for k, v := range s.Env {
			add(k, v)
		}
		for k, v := range s.Headers {
			add(k, v)
		}
	}
	return out
}

// redacted returns a copy of ms with secret env values and headers
// replaced.
func (ms MCPServers) redacted() MCPServers {
	if ms == nil {
		return nil
	}
	out := make(MCPServers, len(ms))
	hide := func(m map[string]string) map[string]string {
		if m == nil {
			return nil
		}
		c := make(map[string]string, len(m))
		for k, v := range m {
			if isSecretName(k) && v != "" {
				v = redactedKey
			}
			c[k] = v
		}
		return c
	}
	for i, s := range ms {
		s.Env, s.Headers = hide(s.Env), hide(s.Headers)
		out[i] = s
	}
	return out
}
