// Package config loads m1's model configuration: which model serves each
// role of the team, where, and with which key. It reads Magentic-One's
// config.yaml unchanged, expands ${VAR} from the environment, falls back to
// OPENAI_API_KEY, OPENAI_BASE_URL and M1_MODEL, and turns each role's
// settings into a model.Endpoint.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/model"
)

// Roles that may have their own client; any other role uses Client.
const (
	RoleOrchestrator = "orchestrator"
	RoleCoder        = "coder"
	RoleWebSurfer    = "web_surfer"
	RoleFileSurfer   = "file_surfer"
)

// Roles lists every role, in the order the team is described.
var Roles = []string{RoleOrchestrator, RoleCoder, RoleWebSurfer, RoleFileSurfer}

// Defaults used when neither the file nor the environment says otherwise.
const (
	DefaultModel = "gpt-4o"
	// DefaultAzureAPIVersion is the Azure api-version used when none is
	// configured: the first GA version with structured outputs (Azure
	// refuses json_schema before 2024-08-01-preview).
	DefaultAzureAPIVersion = model.DefaultAzureAPIVersion
	// NoKey is sent to servers that need no key (a local Ollama, vLLM or
	// llama.cpp), since some clients and proxies insist on one.
	NoKey = "no-key"
)

// Config is m1's model configuration. A key m1 does not know is an error
// naming the nearest known one, so a typo (baseurl: for base_url:) never
// sends a task to the wrong server; keys AutoGen, Magentic-One and
// Magentic-UI define are known, and a top-level key that only holds a
// YAML anchor for the clients to share is allowed.
type Config struct {
	// Client serves every role without a client of its own.
	Client             *ClientConfig `yaml:"client,omitempty"`
	OrchestratorClient *ClientConfig `yaml:"orchestrator_client,omitempty"`
	CoderClient        *ClientConfig `yaml:"coder_client,omitempty"`
	WebSurferClient    *ClientConfig `yaml:"web_surfer_client,omitempty"`
	FileSurferClient   *ClientConfig `yaml:"file_surfer_client,omitempty"`

	// AllowUnknownKeys turns unknown keys from errors into Warnings.
	AllowUnknownKeys bool `yaml:"allow_unknown_keys,omitempty"`

	// MCPServers join the team as agents (config/mcp.go); MCPServersCamel
	// is the same under Claude Desktop's and Cursor's key.
	MCPServers      MCPServers `yaml:"mcp_servers,omitempty"`
	MCPServersCamel MCPServers `yaml:"mcpServers,omitempty"`

	// Model, when set, is the model of every role whatever the file says:
	// the --model flag.
	Model string `yaml:"-"`
	// Path is the file the config came from; empty when it came from the
	// environment alone.
	Path string `yaml:"-"`
	// Source says how Path was found: "--config", "M1_CONFIG", or the
	// default place ($XDG_CONFIG_HOME/m1/config.yaml).
	Source string `yaml:"-"`
	// Warnings are keys that were ignored, with where they are.
	Warnings []string `yaml:"-"`

	env func(string) string
	// endpoints is shared by every client made with ModelOptions, so a
	// refusal is learnt once per endpoint for the run.
	endpoints *model.Endpoints
}

// ClientConfig is one model client in AutoGen's component form: a provider
// and its settings.
type ClientConfig struct {
	// Provider is "openai" or "azure", or AutoGen's class name
	// (autogen_ext.models.openai.OpenAIChatCompletionClient,
	// AzureOpenAIChatCompletionClient). Empty means openai.
	Provider string         `yaml:"provider,omitempty"`
	Config   ClientSettings `yaml:"config"`
	// Price, when set, lets m1 report the cost of a run.
	Price *Price `yaml:"price,omitempty"`
}

// autogenComponentKeys are keys of AutoGen's component form that m1 reads
// past.
var autogenComponentKeys = []string{"component_type", "version", "component_version", "description", "label"}

// ClientSettings are a client's settings, named as AutoGen names them.
type ClientSettings struct {
	Model string `yaml:"model,omitempty"`
	// BaseURL of an OpenAI-compatible server; defaults to OPENAI_BASE_URL,
	// then OpenAI's own.
	BaseURL string `yaml:"base_url,omitempty"`
	// APIKey defaults to OPENAI_API_KEY (AZURE_OPENAI_API_KEY for Azure),
	// except when BaseURL names a server other than OpenAI's: a key from
	// the environment is not sent to a server it was not meant for. Such a
	// server gets NoKey unless api_key is set (e.g. api_key: ${MY_KEY}).
	APIKey string `yaml:"api_key,omitempty"`
	// AzureEndpoint is the Azure resource URL (https://NAME.openai.azure.com/);
	// defaults to AZURE_OPENAI_ENDPOINT.
	AzureEndpoint   string `yaml:"azure_endpoint,omitempty"`
	AzureDeployment string `yaml:"azure_deployment,omitempty"`
	// APIVersion is Azure's api-version; defaults to OPENAI_API_VERSION,
	// then DefaultAzureAPIVersion.
	APIVersion string     `yaml:"api_version,omitempty"`
	ModelInfo  *ModelInfo `yaml:"model_info,omitempty"`
	// AzureADToken is an Entra ID bearer token for Azure (default
	// AZURE_OPENAI_AD_TOKEN), for resources with key authentication off.
	AzureADToken string `yaml:"azure_ad_token,omitempty"`
	// AzureADTokenProvider, AutoGen's token provider, makes m1 take tokens
	// from the Azure CLI (az account get-access-token), as
	// DefaultAzureCredential does after az login.
	AzureADTokenProvider map[string]any `yaml:"azure_ad_token_provider,omitempty"`
	// Timeout is how many seconds one attempt of a call may take before it
	// is abandoned (default model.DefaultTimeout, 600). The
	// --request-timeout flag overrides it.
	Timeout float64 `yaml:"timeout,omitempty"`
	// MaxRetries is how many times a failed call is retried (default
	// model.DefaultMaxRetries).
	MaxRetries *int `yaml:"max_retries,omitempty"`

	// Temperature, TopP and Seed are sent as they are.
	Temperature *float64 `yaml:"temperature,omitempty"`
	TopP        *float64 `yaml:"top_p,omitempty"`
	Seed        *int     `yaml:"seed,omitempty"`
	// ReasoningEffort is sent as reasoning_effort (o-series, gpt-5).
	ReasoningEffort string `yaml:"reasoning_effort,omitempty"`
	// MaxTokens and MaxCompletionTokens cap every reply (AutoGen's keys);
	// MaxTokensPerCall caps each kind of call. The cap goes out as
	// max_tokens, or max_completion_tokens for OpenAI's reasoning models.
	MaxTokens           int       `yaml:"max_tokens,omitempty"`
	MaxCompletionTokens int       `yaml:"max_completion_tokens,omitempty"`
	MaxTokensPerCall    *CallCaps `yaml:"max_tokens_per_call,omitempty"`
	// ExtraBody is merged into every request body (vLLM's
	// chat_template_kwargs, Groq's reasoning_format, ...).
	ExtraBody map[string]any `yaml:"extra_body,omitempty"`
	// MergeRoles merges same-role turns and starts every prompt with a
	// user turn from the first call, for servers whose templates demand
	// it (Gemma, Mistral); otherwise m1 does so after the first refusal.
	MergeRoles *bool `yaml:"merge_roles,omitempty"`
}

// CallCaps are reply caps in tokens per kind of call; a zero field takes
// model.DefaultReplyCaps.
type CallCaps struct {
	Ledger int `yaml:"ledger,omitempty"`
	Text   int `yaml:"text,omitempty"`
	Agent  int `yaml:"agent,omitempty"`
	Final  int `yaml:"final,omitempty"`
}

// autogenSettingKeys are AutoGen client settings m1 reads past: they
// change nothing m1 does, or m1 decides them per call.
var autogenSettingKeys = []string{"organization", "frequency_penalty", "presence_penalty", "logit_bias", "n", "stop", "user",
	"default_headers", "model_capabilities", "add_name_prefixes", "include_name_in_message", "parallel_tool_calls",
	"response_format", "stream_options", "extra_create_args"}

// ModelInfo states what a model can do. Fields left out take the defaults
// of model.DefaultInfo for the model's name.
type ModelInfo struct {
	Vision           *bool `yaml:"vision,omitempty"`
	FunctionCalling  *bool `yaml:"function_calling,omitempty"`
	JSONOutput       *bool `yaml:"json_output,omitempty"`
	StructuredOutput *bool `yaml:"structured_output,omitempty"`
	ContextWindow    int   `yaml:"context_window,omitempty"`
	// Family is accepted from AutoGen configs and not used.
	Family string `yaml:"family,omitempty"`
	// MultipleSystemMessages is accepted from AutoGen configs and not used.
	MultipleSystemMessages *bool `yaml:"multiple_system_messages,omitempty"`
}

// Price is what a model costs, in US dollars per million tokens.
type Price struct {
	PromptPerMillion     float64 `yaml:"prompt_per_million"`
	CompletionPerMillion float64 `yaml:"completion_per_million"`
	// CachedPromptPerMillion prices prompt tokens the server read from its
	// cache (OpenAI and Azure bill them at 10-50%); zero means the prompt
	// price.
	CachedPromptPerMillion float64 `yaml:"cached_prompt_per_million,omitempty"`
}

// Cost is the price of u in US dollars.
func (p Price) Cost(u agent.Usage) float64 {
	cached := min(u.CachedPromptTokens, u.PromptTokens)
	cachedPrice := p.CachedPromptPerMillion
	if cachedPrice == 0 {
		cachedPrice = p.PromptPerMillion
	}
	return (float64(u.PromptTokens-cached)*p.PromptPerMillion + float64(cached)*cachedPrice +
		float64(u.CompletionTokens)*p.CompletionPerMillion) / 1e6
}

// Error is a configuration the user must fix; the CLI exits with status 2
// on it. Its text never contains an API key.
type Error struct {
	// Path is the config file, empty when there is none.
	Path string
	// Line is the line of the file the error is about, 0 when unknown.
	Line int
	// Role is the client the error is about, if any ("client", "coder_client").
	Role string
	Msg  string
	Err  error
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config")
	if e.Path != "" {
		b.WriteString(" " + e.Path)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
	}
	if e.Role != "" {
		b.WriteString(": " + e.Role)
	}
	b.WriteString(": " + e.Msg)
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// LoadOption changes how a config is loaded.
type LoadOption func(*loadOptions)

type loadOptions struct{ allowUnknown bool }

// AllowUnknownKeys makes unknown keys warnings (Config.Warnings) rather
// than errors, for a flag such as --allow-unknown-config-keys.
func AllowUnknownKeys() LoadOption { return func(o *loadOptions) { o.allowUnknown = true } }

// DefaultPath is where m1 looks for a config file when none is named:
// $M1_CONFIG, else $XDG_CONFIG_HOME/m1/config.yaml (default
// ~/.config/m1/config.yaml) when it exists. It returns "" when there is
// none, and says which way it was found.
func DefaultPath(env func(string) string) (path, source string) {
	if env == nil {
		env = os.Getenv
	}
	if p := env("M1_CONFIG"); p != "" {
		return p, "M1_CONFIG"
	}
	dir := env("XDG_CONFIG_HOME")
	if dir == "" {
		home := env("HOME")
		if home == "" {
			return "", ""
		}
		dir = filepath.Join(home, ".config")
	}
	p := filepath.Join(dir, "m1", "config.yaml")
	if _, err := os.Stat(p); err != nil {
		return "", ""
	}
	return p, "$XDG_CONFIG_HOME/m1/config.yaml"
}

// Load reads the config file at path. With path empty it reads the file
// DefaultPath finds, if any, and otherwise builds the config from the
// environment alone. env looks up environment variables (nil means
// os.Getenv). Every role is resolved, so a missing key or unknown provider
// is reported here, as an *Error.
func Load(path string, env func(string) string, opts ...LoadOption) (*Config, error) {
	source := "--config"
	if path == "" {
		path, source = DefaultPath(env)
	}
	var data []byte
	if path != "" {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			msg := "cannot read the file; check the --config path"
			if source == "M1_CONFIG" {
				msg = "cannot read the file M1_CONFIG names; fix or unset M1_CONFIG"
			}
			return nil, &Error{Path: path, Msg: msg, Err: errors.Unwrap(err)}
		}
	}
	cfg, err := Parse(data, path, env, opts...)
	if cfg != nil && path != "" {
		cfg.Source = source
	}
	return cfg, err
}

// Parse is Load for a config already in memory; path is used in messages
// only.
func Parse(data []byte, path string, env func(string) string, opts ...LoadOption) (*Config, error) {
	if env == nil {
		env = os.Getenv
	}
	var lo loadOptions
	for _, o := range opts {
		o(&lo)
	}
	cfg := &Config{Path: path, env: env, endpoints: &model.Endpoints{}}
	if err := cfg.parse(data, lo); err != nil {
		return nil, err
	}
	for _, role := range Roles {
		if _, err := cfg.Endpoint(role); err != nil {
			return nil, err
		}
	}
	if err := cfg.checkMCP(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func (c *Config) parse(data []byte, lo loadOptions) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		// The line is named once, the real one (syntaxLine).
		why := yamlPrefix.ReplaceAllString(err.Error(), "")
		return &Error{Path: c.Path, Line: syntaxLine(data, err), Msg: "not valid YAML", Err: errors.New(why)}
	}
	if len(doc.Content) == 0 {
		return nil // an empty file: defaults and environment
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return &Error{Path: c.Path, Line: root.Line, Msg: "want a mapping with a client: key at the top"}
	}
	expand(root, c.env)
	if err := root.Decode(c); err != nil {
		return &Error{Path: c.Path, Line: yamlLine(err), Msg: "unexpected shape", Err: err}
	}
	unknown := checkKeys(root)
	if len(unknown) == 0 {
		return nil
	}
	if lo.allowUnknown || c.AllowUnknownKeys {
		for _, u := range unknown {
			c.Warnings = append(c.Warnings, u.String())
		}
		return nil
	}
	u := unknown[0]
	return &Error{Path: c.Path, Line: u.line, Msg: u.String() +
		"; m1 --sample-config shows every key (allow_unknown_keys: true at the top, or --allow-unknown-config-keys, ignores keys m1 does not know)"}
}

// lineRe finds the line yaml.v3 names in its errors; yamlPrefix is the
// "yaml: line N: " it starts them with.
var (
	lineRe     = regexp.MustCompile(`line (\d+)`)
	yamlPrefix = regexp.MustCompile(`^yaml: (line \d+: )?`)
)

// syntaxLine is the line a YAML syntax error is really on. yaml.v3 names
// the line where the enclosing block starts ("line 1: did not find
// expected key" for a bad indent on line 4), so the file is parsed line by
// line until the first prefix that fails: its last line is the culprit.
func syntaxLine(data []byte, err error) int {
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines) > 5000 {
		return yamlLine(err)
	}
	var prefix []byte
	for i, l := range lines {
		prefix = append(prefix, l...)
		var n yaml.Node
		if yaml.Unmarshal(prefix, &n) != nil {
			return i + 1
		}
	}
	return yamlLine(err)
}

func yamlLine(err error) int {
	if m := lineRe.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

// expand replaces $VAR and ${VAR} in every string value; $$ is a literal $.
func expand(n *yaml.Node, env func(string) string) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" && strings.Contains(n.Value, "$") {
		v := os.Expand(n.Value, func(name string) string {
			if name == "$" {
				return "$"
			}
			return env(name)
		})
		if v != n.Value && n.Style == 0 {
			n.Tag = "" // let "${CTX}" become a number again
		}
		n.Value = v
	}
	for _, child := range n.Content {
		expand(child, env)
	}
}

// client returns the client config of role and the key it was found under.
func (c *Config) client(role string) (*ClientConfig, string, error) {
	var cc *ClientConfig
	switch role {
	case RoleOrchestrator:
		cc = c.OrchestratorClient
	case RoleCoder:
		cc = c.CoderClient
	case RoleWebSurfer:
		cc = c.WebSurferClient
	case RoleFileSurfer:
		cc = c.FileSurferClient
	case "", "client":
	default:
		return nil, "", fmt.Errorf("config: unknown role %q (want one of %s)", role, strings.Join(Roles, ", "))
	}
	if cc != nil {
		return cc, role + "_client", nil
	}
	if c.Client != nil {
		return c.Client, "client", nil
	}
	return &ClientConfig{}, "client", nil
}

// Endpoint resolves the model endpoint of role (one of Roles), falling
// back to Client, then to the environment. Precedence, highest first:
// Config.Model (the --model flag); the file; OPENAI_API_KEY,
// OPENAI_BASE_URL and M1_MODEL; DefaultModel and OpenAI's base URL.
func (c *Config) Endpoint(role string) (model.Endpoint, error) {
	cc, key, err := c.client(role)
	if err != nil {
		return model.Endpoint{}, err
	}
	env := c.env
	if env == nil {
		env = os.Getenv
	}
	fail := func(format string, args ...any) (model.Endpoint, error) {
		return model.Endpoint{}, &Error{Path: c.Path, Role: key, Msg: fmt.Sprintf(format, args...)}
	}
	provider, ok := Provider(cc.Provider)
	if !ok {
		return fail("unknown provider %q: use openai (any OpenAI-compatible server: OpenAI, Ollama, vLLM, llama.cpp) or azure", cc.Provider)
	}
	s := cc.Config
	ep := model.Endpoint{
		Provider: provider,
		Model:    first(c.Model, s.Model, env("M1_MODEL"), DefaultModel),
		Role:     role,
	}
	switch provider {
	case model.ProviderOpenAI:
		ep.BaseURL = first(s.BaseURL, env("OPENAI_BASE_URL"), model.DefaultBaseURL)
		ep.APIKey = s.APIKey
		// OPENAI_API_KEY goes with OPENAI_BASE_URL or OpenAI itself, never
		// to another server a file names: that one's key must be named too.
		if ep.APIKey == "" && (s.BaseURL == "" || isOpenAI(s.BaseURL)) {
			ep.APIKey = env("OPENAI_API_KEY")
		}
		if ep.APIKey == "" {
			if isOpenAI(ep.BaseURL) {
				if c.Path == "" {
					return fail("no API key for %s: set OPENAI_API_KEY (or OPENAI_BASE_URL for a local OpenAI-compatible server such as Ollama), or pass --config FILE", ep)
				}
				return fail("no API key for %s: set api_key in the file (e.g. api_key: ${OPENAI_API_KEY}) or OPENAI_API_KEY, or set base_url to a local OpenAI-compatible server", ep)
			}
			ep.APIKey = NoKey
		}
	case model.ProviderAzure:
		ep.BaseURL = first(s.AzureEndpoint, s.BaseURL, env("AZURE_OPENAI_ENDPOINT"))
		ep.APIKey = first(s.APIKey, env("AZURE_OPENAI_API_KEY"))
		ep.APIVersion = first(s.APIVersion, env("OPENAI_API_VERSION"), DefaultAzureAPIVersion)
		ep.AzureDeployment = s.AzureDeployment
		if ep.BaseURL == "" {
			return fail("azure client for %s has no endpoint: set azure_endpoint (https://NAME.openai.azure.com/) or AZURE_OPENAI_ENDPOINT", ep.Model)
		}
		if ep.APIKey == "" && s.AzureADTokenProvider == nil && first(s.AzureADToken, env("AZURE_OPENAI_AD_TOKEN")) == "" {
			return fail("no API key or token for %s: set api_key or AZURE_OPENAI_API_KEY, or for Entra ID azure_ad_token (AZURE_OPENAI_AD_TOKEN) or azure_ad_token_provider (tokens from az login)", ep)
		}
	}
	if _, err := url.ParseRequestURI(ep.BaseURL); err != nil {
		return fail("base URL %q is not a URL", ep.BaseURL)
	}
	if s.Timeout < 0 {
		return fail("timeout %v is negative: give the seconds one model call may take, e.g. timeout: 120", s.Timeout)
	}
	if s.MaxRetries != nil && *s.MaxRetries < 0 {
		return fail("max_retries %d is negative: give how many times a failed call is retried, e.g. max_retries: 5", *s.MaxRetries)
	}
	if s.Temperature != nil && (*s.Temperature < 0 || *s.Temperature > 2) {
		return fail("temperature %v is out of range: give a value from 0 to 2", *s.Temperature)
	}
	for _, v := range []int{s.MaxTokens, s.MaxCompletionTokens} {
		if v < 0 {
			return fail("max_tokens %d is negative: give the most tokens a reply may have", v)
		}
	}
	ep.Info = resolveInfo(ep.Model, s.ModelInfo)
	ep.InfoStated = stated(s.ModelInfo)
	return ep, nil
}

// stated lists the model_info fields the config gives.
func stated(mi *ModelInfo) []string {
	if mi == nil {
		return nil
	}
	var out []string
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"vision", mi.Vision != nil}, {"function_calling", mi.FunctionCalling != nil}, {"json_output", mi.JSONOutput != nil},
		{"structured_output", mi.StructuredOutput != nil}, {"context_window", mi.ContextWindow > 0},
	} {
		if f.set {
			out = append(out, f.name)
		}
	}
	return out
}

// ModelOptions returns the call settings role's client states in the file
// as options for model.New: timeout, max_retries, temperature, top_p,
// seed, reasoning_effort, the reply caps, extra_body, merge_roles and the
// Entra ID token. Settings left out are not in the list, so the client's
// defaults apply. Options a caller appends after these win over them.
func (c *Config) ModelOptions(role string) []model.Option {
	cc, _, err := c.client(role)
	if err != nil {
		return nil
	}
	env := c.env
	if env == nil {
		env = os.Getenv
	}
	if c.endpoints == nil {
		c.endpoints = &model.Endpoints{}
	}
	opts := []model.Option{model.WithEndpoints(c.endpoints)}
	s := cc.Config
	if s.Timeout > 0 {
		opts = append(opts, model.WithTimeout(time.Duration(s.Timeout*float64(time.Second))))
	}
	if s.MaxRetries != nil {
		opts = append(opts, model.WithMaxRetries(*s.MaxRetries))
	}
	if s.Temperature != nil || s.TopP != nil || s.Seed != nil || s.ReasoningEffort != "" || len(s.ExtraBody) > 0 {
		opts = append(opts, model.WithSettings(model.Settings{Temperature: s.Temperature, TopP: s.TopP, Seed: s.Seed,
			ReasoningEffort: s.ReasoningEffort, ExtraBody: s.ExtraBody}))
	}
	if caps, ok := replyCaps(s); ok {
		opts = append(opts, model.WithReplyCaps(caps))
	}
	if s.MergeRoles != nil {
		opts = append(opts, model.WithMergedRoles(*s.MergeRoles))
	}
	if p, _ := Provider(cc.Provider); p == model.ProviderAzure {
		switch {
		case s.APIKey != "" || (s.AzureADToken == "" && s.AzureADTokenProvider == nil && env("AZURE_OPENAI_API_KEY") != ""):
			// A key wins, as AutoGen's client does.
		case first(s.AzureADToken, env("AZURE_OPENAI_AD_TOKEN")) != "":
			opts = append(opts, model.WithTokenSource(model.StaticToken(first(s.AzureADToken, env("AZURE_OPENAI_AD_TOKEN")))))
		case s.AzureADTokenProvider != nil:
			opts = append(opts, model.WithTokenSource(&model.AzCLIToken{}))
		}
	}
	return opts
}

// replyCaps are the caps a client's settings give: max_tokens_per_call by
// kind, max_completion_tokens or max_tokens for every kind.
func replyCaps(s ClientSettings) (model.ReplyCaps, bool) {
	all := s.MaxCompletionTokens
	if all == 0 {
		all = s.MaxTokens
	}
	var caps model.ReplyCaps
	if all > 0 {
		caps = model.ReplyCaps{Ledger: all, Text: all, Agent: all, Final: all}
	}
	if p := s.MaxTokensPerCall; p != nil {
		for _, f := range []struct {
			v   int
			dst *int
		}{{p.Ledger, &caps.Ledger}, {p.Text, &caps.Text}, {p.Agent, &caps.Agent}, {p.Final, &caps.Final}} {
			if f.v > 0 {
				*f.dst = f.v
			}
		}
	}
	return caps, caps != (model.ReplyCaps{})
}

// Price returns the cost in US dollars of usage u by name, a role
// ("web_surfer") or an agent's name ("WebSurfer"), priced by that role's
// client; false when no price is configured for it.
func (c *Config) Price(name string, u agent.Usage) (float64, bool) {
	role, ok := roleOf(name)
	if !ok {
		return 0, false
	}
	cc, _, err := c.client(role)
	if err != nil || cc.Price == nil {
		return 0, false
	}
	return cc.Price.Cost(u), true
}

// roleOf maps a role or an agent's name to its role.
func roleOf(name string) (string, bool) {
	key := strings.ToLower(strings.ReplaceAll(name, "_", ""))
	for _, r := range Roles {
		if strings.ReplaceAll(r, "_", "") == key {
			return r, true
		}
	}
	return "", false
}

// Provider maps a provider name, m1's or AutoGen's, to model.ProviderOpenAI
// or model.ProviderAzure; false when it is neither.
func Provider(name string) (string, bool) {
	short := name[strings.LastIndex(name, ".")+1:]
	switch strings.ToLower(short) {
	case "", "openai", "openaichatcompletionclient":
		return model.ProviderOpenAI, true
	case "azure", "azureopenai", "azureopenaichatcompletionclient":
		return model.ProviderAzure, true
	}
	return "", false
}

// resolveInfo starts from the defaults for the model's name and applies
// what the config states.
func resolveInfo(name string, mi *ModelInfo) model.Info {
	info := model.DefaultInfo(name)
	if mi == nil {
		return info
	}
	set := func(dst *bool, src *bool) {
		if src != nil {
			*dst = *src
		}
	}
	set(&info.Vision, mi.Vision)
	set(&info.FunctionCalling, mi.FunctionCalling)
	set(&info.JSONOutput, mi.JSONOutput)
	set(&info.StructuredOutput, mi.StructuredOutput)
	if mi.ContextWindow > 0 {
		info.ContextWindow = mi.ContextWindow
	}
	return info
}

// isOpenAI reports whether base is OpenAI's own API, which needs a key.
func isOpenAI(base string) bool {
	u, err := url.Parse(base)
	return err == nil && strings.EqualFold(u.Hostname(), "api.openai.com")
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// redactedKey replaces API keys in printed configs.
const redactedKey = "[redacted]"

// Redacted returns a copy of c with every API key replaced, fit to print.
func (c *Config) Redacted() *Config {
	out := *c
	out.MCPServers, out.MCPServersCamel = c.MCPServers.redacted(), c.MCPServersCamel.redacted()
	for _, p := range []**ClientConfig{&out.Client, &out.OrchestratorClient, &out.CoderClient, &out.WebSurferClient, &out.FileSurferClient} {
		if *p == nil {
			continue
		}
		cc := **p
		if cc.Config.APIKey != "" {
			cc.Config.APIKey = redactedKey
		}
		*p = &cc
	}
	return &out
}

// String renders c as YAML without its keys.
func (c *Config) String() string {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(c.Redacted()); err != nil {
		return "config: " + err.Error()
	}
	return b.String()
}

// GoString keeps %#v from printing keys.
func (c *Config) GoString() string { return c.String() }
