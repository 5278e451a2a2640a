package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/m1-project/m1/config"
	"github.com/m1-project/m1/orchestrator"
	"github.com/m1-project/m1/surfers/file"
	"github.com/m1-project/m1/surfers/web"
	"github.com/m1-project/m1/terminal"
)

// Short names of the agents, as --agents takes them.
const (
	AgentCoder    = "coder"
	AgentTerminal = "terminal"
	AgentWeb      = "web"
	AgentFile     = "file"
	// AgentMCP stands for every server of the config's mcp_servers; a
	// server's own name (its key) picks that one alone.
	AgentMCP = "mcp"
)

// AllAgents lists the built-in agents in the order the team is built.
func AllAgents() []string { return []string{AgentCoder, AgentTerminal, AgentWeb, AgentFile} }

// DefaultAgents is the team when --agents is not given: the built-in
// agents and every configured MCP server.
func DefaultAgents() []string { return append(AllAgents(), AgentMCP) }

// Executors of the ComputerTerminal.
const (
	ExecutorDocker = "docker"
	ExecutorLocal  = "local"
)

// Options are the settings of a run. They are saved with every checkpoint,
// so a resumed run (on this machine or another worker) keeps them. Nothing
// secret belongs here: keys come from the config and the environment of the
// machine that runs the task.
type Options struct {
	Config     string        `json:"config,omitempty"`
	Model      string        `json:"model,omitempty"`
	Cache      string        `json:"cache,omitempty"`
	NoStream   bool          `json:"no_stream,omitempty"`
	MaxTurns   int           `json:"max_turns"`
	MaxStalls  int           `json:"max_stalls"`
	MaxReplans int           `json:"max_replans"`
	MaxTokens  int           `json:"max_tokens,omitempty"`
	Timeout    time.Duration `json:"timeout,omitempty"`
	WorkDir    string        `json:"work_dir"`
	Agents     []string      `json:"agents"`
	Team       TeamOptions   `json:"team"`

	// AllowUnknownConfigKeys reads a config file with keys m1 does not
	// know, warning about each, instead of refusing it.
	AllowUnknownConfigKeys bool `json:"allow_unknown_config_keys,omitempty"`

	// RequestTimeout bounds one attempt of a model call; zero means the
	// config's timeout, else the model package's default.
	RequestTimeout time.Duration `json:"request_timeout,omitempty"`
}

// TeamOptions are the settings of the agents themselves and of the
// person's part in the run.
type TeamOptions struct {
	Executor     string        `json:"executor"`
	Image        string        `json:"image,omitempty"`
	NoNetwork    bool          `json:"no_network,omitempty"`
	CodeTimeout  time.Duration `json:"code_timeout"`
	Memory       string        `json:"memory,omitempty"`
	CPUs         float64       `json:"cpus,omitempty"`
	Pids         int64         `json:"pids,omitempty"`
	BrowserPath  string        `json:"browser_path,omitempty"`
	CDP          string        `json:"cdp,omitempty"`
	SearchEngine string        `json:"search_engine,omitempty"`
	AllowDomains []string      `json:"allow_domains,omitempty"`
	BlockDomains []string      `json:"block_domains,omitempty"`
	AllowPaths   []string      `json:"allow_paths,omitempty"`
	Viewport     int           `json:"viewport,omitempty"`
	HIL          bool          `json:"hil,omitempty"`
	HILTimeout   time.Duration `json:"hil_timeout,omitempty"`
	Approve      bool          `json:"approve,omitempty"`
	Yes          bool          `json:"yes,omitempty"`
}

// DefaultOptions returns the settings of a run when no flag changes them:
// Magentic-One's limits, the whole team, code in Docker.
func DefaultOptions() Options {
	d := orchestrator.DefaultOptions
	return Options{
		MaxTurns: d.MaxTurns, MaxStalls: d.MaxStalls, MaxReplans: d.MaxReplans,
		Agents: DefaultAgents(),
		Team: TeamOptions{
			Executor:     ExecutorDocker,
			CodeTimeout:  60 * time.Second,
			Memory:       "2g",
			CPUs:         terminal.DefaultCPUs(),
			Pids:         256,
			SearchEngine: web.DefaultOptions().SearchEngine,
			Viewport:     file.DefaultViewportSize,
			HILTimeout:   10 * time.Minute,
		},
	}
}

// Validate checks the settings and makes the work dir absolute. A mistake
// is a *UsageError.
func (o *Options) Validate() error {
	switch {
	case o.MaxTurns < 1:
		return Usagef("--max-turns must be at least 1")
	case o.MaxStalls < 1:
		return Usagef("--max-stalls must be at least 1")
	case o.MaxReplans < 0:
		return Usagef("--max-replans cannot be negative")
	case o.MaxTokens < 0:
		return Usagef("--max-tokens cannot be negative")
	case o.Timeout < 0:
		return Usagef("--timeout cannot be negative")
	}
	if o.WorkDir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return fmt.Errorf("find the working directory: %w", err)
		}
		o.WorkDir = wd
	}
	abs, err := filepath.Abs(o.WorkDir)
	if err != nil {
		return Usagef("--work-dir %s: %v", o.WorkDir, err)
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return Usagef("--work-dir %s is not a directory", o.WorkDir)
	}
	o.WorkDir = abs
	// The agents are checked with the config, which names the MCP
	// servers (see loadConfig).
	if len(o.Agents) == 0 {
		return ValidateAgents(o.Agents)
	}
	return ValidateExecutor(o.Team.Executor)
}

// ValidateAgents checks the names given to --agents: the built-in agents,
// AgentMCP, and the names of the configured MCP servers (servers; case
// does not matter for them).
func ValidateAgents(names []string, servers ...string) error {
	choices := strings.Join(DefaultAgents(), ",")
	if len(servers) > 0 {
		choices += " or an MCP server: " + strings.Join(servers, ",")
	}
	if len(names) == 0 {
		return Usagef("--agents is empty: name at least one of %s", choices)
	}
	for _, n := range names {
		if !slices.Contains(DefaultAgents(), n) && !slices.ContainsFunc(servers, func(s string) bool { return strings.EqualFold(s, n) }) {
			hint := ""
			if len(servers) == 0 {
				hint = "; MCP servers are named in the config's mcp_servers"
			}
			return Usagef("--agents: unknown agent %q (choose from %s%s)", n, choices, hint)
		}
	}
	return nil
}

// ValidateExecutor checks the name given to --executor.
func ValidateExecutor(name string) error {
	if name != ExecutorDocker && name != ExecutorLocal {
		return Usagef("--executor %q: choose %s or %s", name, ExecutorDocker, ExecutorLocal)
	}
	return nil
}

// ConfigOptions are how the config file is read with these settings, for
// a caller that loads it itself (m1 doctor).
func (o *Options) ConfigOptions() []config.LoadOption {
	if o.AllowUnknownConfigKeys {
		return []config.LoadOption{config.AllowUnknownKeys()}
	}
	return nil
}

// Has reports whether the team includes the agent with short name n.
func (o *Options) Has(n string) bool { return slices.Contains(o.Agents, n) }

// NamesServer reports whether --agents names the MCP server called name
// itself, rather than through AgentMCP.
func (o *Options) NamesServer(name string) bool {
	return slices.ContainsFunc(o.Agents, func(a string) bool { return strings.EqualFold(a, name) })
}
