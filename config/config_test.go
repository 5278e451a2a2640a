package config_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/config"
	"github.com/m1-project/m1/model"
	"github.com/m1-project/m1/model/scripted"
)

const key = "sk-config-test-secret-42"

func envOf(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestMagenticOneConfig(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load("testdata/magentic-one.yaml", envOf(map[string]string{"OPENAI_API_KEY": key}))
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range config.Roles {
		ep, err := cfg.Endpoint(role)
		if err != nil {
			t.Fatal(err)
		}
		want := model.Endpoint{
			Provider: model.ProviderOpenAI, Model: "gpt-4o", BaseURL: model.DefaultBaseURL, APIKey: key, Role: role,
			Info: model.Info{Model: "gpt-4o", Vision: true, FunctionCalling: true, JSONOutput: true, StructuredOutput: true, ContextWindow: 128000},
		}
		if !reflect.DeepEqual(ep, want) {
			t.Errorf("%s: %#v, want %#v (keys equal: %v)", role, ep, want, ep.APIKey == key)
		}
	}
}

func TestAzure(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load("testdata/magentic-one-azure.yaml", envOf(map[string]string{"AZURE_KEY": key}))
	if err != nil {
		t.Fatal(err)
	}
	ep, err := cfg.Endpoint(config.RoleCoder)
	if err != nil {
		t.Fatal(err)
	}
	if ep.Provider != model.ProviderAzure || ep.BaseURL != "https://example-resource.openai.azure.com/" ||
		ep.AzureDeployment != "prod-gpt4o" || ep.APIVersion != "2024-06-01" || ep.APIKey != key || ep.Model != "gpt-4o" {
		t.Errorf("endpoint %#v", ep)
	}
	if _, err := model.New(ep); err != nil {
		t.Errorf("model.New: %v", err)
	}
}

func TestPerRole(t *testing.T) {
	t.Parallel()
	env := envOf(map[string]string{"OPENAI_API_KEY": key, "ORCH_KEY": "sk-orch-key-1234", "WS_CTX": "1000000", "M1_MODEL": "ignored-by-file"})
	tests := []struct {
		role, model, base, key string
		vision, structured     bool
		window                 int
		price                  bool
	}{
		{config.RoleOrchestrator, "o3-mini", model.DefaultBaseURL, "sk-orch-key-1234", false, true, 200000, false}, // o3-mini has no vision
		{config.RoleCoder, "llama3.1:8b", "http://localhost:11434/v1", config.NoKey, false, false, 32768, false},
		{config.RoleWebSurfer, "gpt-4.1", model.DefaultBaseURL, key, true, true, 1000000, false},
		{config.RoleFileSurfer, "gpt-4o-mini", model.DefaultBaseURL, key, true, true, 128000, true},
	}
	cfg, err := config.Load("testdata/roles.yaml", env)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.role, func(t *testing.T) {
			t.Parallel()
			ep, err := cfg.Endpoint(tt.role)
			if err != nil {
				t.Fatal(err)
			}
			if ep.Model != tt.model || ep.BaseURL != tt.base || ep.APIKey != tt.key || ep.Role != tt.role ||
				ep.Info.Vision != tt.vision || ep.Info.StructuredOutput != tt.structured || ep.Info.ContextWindow != tt.window {
				t.Errorf("got %v key=%v info=%+v", ep, ep.APIKey == tt.key, ep.Info)
			}
			if tt.role == config.RoleCoder && ep.Info.JSONOutput {
				t.Error("explicit json_output: false ignored")
			}
			if _, ok := cfg.Price(tt.role, agent.Usage{}); ok != tt.price {
				t.Errorf("price set = %v, want %v", ok, tt.price)
			}
		})
	}

	// --model wins for every role.
	over, err := config.Load("testdata/roles.yaml", env)
	if err != nil {
		t.Fatal(err)
	}
	over.Model = "gpt-4.1-mini"
	for _, role := range config.Roles {
		if ep, err := over.Endpoint(role); err != nil || ep.Model != "gpt-4.1-mini" {
			t.Errorf("%s with --model: %v, %v", role, ep, err)
		}
	}
	if _, err := cfg.Endpoint("navigator"); err == nil {
		t.Error("unknown role accepted")
	}
	// Prices are looked up by role or by agent name.
	for _, name := range []string{config.RoleFileSurfer, "FileSurfer"} {
		if cost, ok := cfg.Price(name, agent.Usage{PromptTokens: 1_000_000, CompletionTokens: 500_000}); !ok || fmt.Sprintf("%.4f", cost) != "0.4500" {
			t.Errorf("Price(%q) = %v, %v; want 0.45", name, cost, ok)
		}
	}
	if _, ok := cfg.Price("ComputerTerminal", agent.Usage{PromptTokens: 1}); ok {
		t.Error("ComputerTerminal has a price")
	}
}

func TestEnvironment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name               string
		env                map[string]string
		model, base, key   string
		vision, structured bool
	}{
		{"key only", map[string]string{"OPENAI_API_KEY": key}, "gpt-4o", model.DefaultBaseURL, key, true, true},
		{"local server without key", map[string]string{"OPENAI_BASE_URL": "http://127.0.0.1:8080/v1", "M1_MODEL": "qwen2.5:7b"}, "qwen2.5:7b", "http://127.0.0.1:8080/v1", config.NoKey, false, false},
		{"M1_MODEL", map[string]string{"OPENAI_API_KEY": key, "M1_MODEL": "gpt-4.1"}, "gpt-4.1", model.DefaultBaseURL, key, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := config.Load("", envOf(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			ep, err := cfg.Endpoint(config.RoleCoder)
			if err != nil {
				t.Fatal(err)
			}
			if ep.Model != tt.model || ep.BaseURL != tt.base || ep.APIKey != tt.key || ep.Info.Vision != tt.vision || ep.Info.StructuredOutput != tt.structured {
				t.Errorf("got %v info %+v", ep, ep.Info)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	t.Parallel()
	src := `
client:
  config:
    model: ${MODEL}-$SUFFIX
    base_url: http://${HOST}/v1
    api_key: pa$$word-${MISSING}
    model_info: {context_window: $CTX}
`
	cfg, err := config.Parse([]byte(src), "inline.yaml", envOf(map[string]string{"MODEL": "gpt", "SUFFIX": "4o", "HOST": "localhost:1234", "CTX": "64000"}))
	if err != nil {
		t.Fatal(err)
	}
	ep, err := cfg.Endpoint(config.RoleOrchestrator)
	if err != nil {
		t.Fatal(err)
	}
	if ep.Model != "gpt-4o" || ep.BaseURL != "http://localhost:1234/v1" || ep.APIKey != "pa$word-" || ep.Info.ContextWindow != 64000 {
		t.Errorf("got %#v key %q info %+v", ep, ep.APIKey, ep.Info)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name string
		path string
		env  map[string]string
		says []string
	}{
		{"no key, no file", "", nil, []string{"no API key", "gpt-4o at https://api.openai.com/v1", "OPENAI_API_KEY", "OPENAI_BASE_URL", "--config"}},
		{"no key in file", "testdata/magentic-one.yaml", nil, []string{"magentic-one.yaml", "client", "api_key", "OPENAI_API_KEY", "base_url"}},
		{"unknown provider", write("p.yaml", "client: {provider: autogen_ext.models.anthropic.AnthropicChatCompletionClient, config: {model: claude}}"), map[string]string{"OPENAI_API_KEY": key}, []string{"p.yaml", `unknown provider "autogen_ext.models.anthropic.AnthropicChatCompletionClient"`, "openai", "azure"}},
		{"unknown role provider", write("r.yaml", "coder_client: {provider: gemini}"), map[string]string{"OPENAI_API_KEY": key}, []string{"coder_client", `unknown provider "gemini"`}},
		{"bad yaml", write("b.yaml", "client: [unclosed"), nil, []string{"b.yaml", "not valid YAML"}},
		{"not a mapping", write("l.yaml", "- a\n- b\n"), nil, []string{"l.yaml", "mapping"}},
		{"wrong shape", write("s.yaml", "client: {config: [1, 2]}"), nil, []string{"s.yaml", "unexpected shape"}},
		{"missing file", filepath.Join(dir, "nope.yaml"), nil, []string{"nope.yaml", "cannot read", "--config"}},
		{"azure without endpoint", write("a.yaml", "client: {provider: azure, config: {model: gpt-4o, api_key: x}}"), nil, []string{"azure_endpoint", "AZURE_OPENAI_ENDPOINT"}},
		{"azure without key or token", write("ad.yaml", "client: {provider: AzureOpenAIChatCompletionClient, config: {model: gpt-4o, azure_endpoint: 'https://x.openai.azure.com/'}}"), nil, []string{"no API key or token", "AZURE_OPENAI_API_KEY", "azure_ad_token", "az login"}},
		{"misspelt key", write("k.yaml", "client:\n  config:\n    model: gpt-4o\n    baseurl: http://localhost:11434/v1\n"), map[string]string{"OPENAI_API_KEY": key}, []string{"k.yaml:4:", `unknown key "baseurl" in client.config`, `did you mean "base_url"?`, "allow_unknown_keys"}},
		{"key one level up", write("up.yaml", "client:\n  config: {model: gpt-4o}\n  max_retries: 3\n"), map[string]string{"OPENAI_API_KEY": key}, []string{"up.yaml:3:", `unknown key "max_retries" in client`, `did you mean "config.max_retries"?`}},
		{"unknown top-level key", write("top.yaml", "client: {config: {model: gpt-4o}}\nlog_dir: ./logs\n"), map[string]string{"OPENAI_API_KEY": key}, []string{"top.yaml:2:", `unknown key "log_dir" at the top`}},
		{"yaml error line", write("line.yaml", "client:\n  config:\n    model: gpt-4o\n   base_url: x\n"), nil, []string{"line.yaml:4:", "not valid YAML"}},
		{"bad base url", write("u.yaml", "client: {config: {base_url: 'not a url', api_key: "+key+"}}"), nil, []string{"not a URL"}},
		{"negative timeout", write("t.yaml", "coder_client: {config: {timeout: -1}}"), map[string]string{"OPENAI_API_KEY": key}, []string{"t.yaml", "coder_client", "timeout -1 is negative"}},
		{"negative max_retries", write("m.yaml", "client: {config: {max_retries: -2}}"), map[string]string{"OPENAI_API_KEY": key}, []string{"m.yaml", "max_retries -2 is negative"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Load(tt.path, envOf(tt.env))
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want *config.Error", err)
			}
			for _, s := range tt.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("err = %q, want it to say %q", err, s)
				}
			}
			if strings.Contains(err.Error(), key) {
				t.Errorf("err shows the key: %v", err)
			}
		})
	}
}

func TestSample(t *testing.T) {
	t.Parallel()
	env := envOf(map[string]string{"OPENAI_API_KEY": key, "AZURE_OPENAI_API_KEY": "az-key-123456"})
	cfg, err := config.Parse([]byte(config.Sample), "sample", env)
	if err != nil {
		t.Fatal(err)
	}
	if ep, _ := cfg.Endpoint(config.RoleCoder); ep.Model != "gpt-4o" || ep.APIKey != key {
		t.Errorf("sample endpoint %v", ep)
	}
	if _, ok := cfg.Price(agent.CoderName, agent.Usage{}); !ok {
		t.Error("sample has no price")
	}
	if _, err := config.Parse([]byte(config.Sample), "sample", envOf(nil)); err == nil || !strings.Contains(err.Error(), "OPENAI_API_KEY") {
		t.Errorf("sample without a key: %v", err)
	}

	// The commented per-role examples load too once uncommented.
	i := strings.Index(config.Sample, "# coder_client:")
	lines := strings.Split(config.Sample[i:], "\n")
	for j, l := range lines {
		lines[j] = strings.TrimPrefix(strings.TrimPrefix(l, "# "), "#")
	}
	cfg, err = config.Parse([]byte(config.Sample[:i]+strings.Join(lines, "\n")), "sample", env)
	if err != nil {
		t.Fatal(err)
	}
	coder, _ := cfg.Endpoint(config.RoleCoder)
	orch, _ := cfg.Endpoint(config.RoleOrchestrator)
	if coder.BaseURL != "http://localhost:11434/v1" || orch.Provider != model.ProviderAzure || orch.AzureDeployment != "gpt-4o" {
		t.Errorf("coder %v, orchestrator %v", coder, orch)
	}
}

func TestRedacted(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load("testdata/roles.yaml", envOf(map[string]string{"OPENAI_API_KEY": key, "ORCH_KEY": "sk-orch-key-1234", "WS_CTX": "1"}))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{cfg.String(), fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg)} {
		if strings.Contains(s, key) || strings.Contains(s, "sk-orch-key-1234") || !strings.Contains(s, "gpt-4o-mini") {
			t.Errorf("printed config shows a key or lost the model:\n%s", s)
		}
	}
	if cfg.Client.Config.APIKey != key {
		t.Error("Redacted changed the original")
	}
	if _, err := config.Parse([]byte(cfg.String()), "redacted", envOf(nil)); err != nil {
		t.Errorf("printed config does not load: %v", err)
	}
}

func TestProvider(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]string{
		"": model.ProviderOpenAI, "openai": model.ProviderOpenAI, "OpenAIChatCompletionClient": model.ProviderOpenAI,
		"autogen_ext.models.openai.OpenAIChatCompletionClient": model.ProviderOpenAI,
		"azure": model.ProviderAzure, "autogen_ext.models.openai.AzureOpenAIChatCompletionClient": model.ProviderAzure,
		"AzureOpenAIChatCompletionClient": model.ProviderAzure, "ollama": "", "autogen_ext.models.ollama.OllamaChatCompletionClient": "",
	} {
		got, ok := config.Provider(name)
		if got != want || ok != (want != "") {
			t.Errorf("Provider(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
}

// FuzzParse checks that no config file, however broken, panics the loader
// or leaks a key into an error.
func FuzzParse(f *testing.F) {
	for _, p := range []string{"testdata/magentic-one.yaml", "testdata/magentic-one-azure.yaml", "testdata/roles.yaml"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(config.Sample))
	env := envOf(map[string]string{"OPENAI_API_KEY": key})
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := config.Parse(data, "fuzz.yaml", env)
		if err != nil && strings.Contains(err.Error(), key) {
			t.Errorf("error shows the key: %v", err)
		}
	})
}

// TestModelOptions checks that AutoGen's timeout and max_retries settings
// reach the model client: against a server that stalls, a call made with
// them gives up after one short attempt.
func TestModelOptions(t *testing.T) {
	t.Parallel()
	srv := scripted.New(t, &scripted.Scenario{Rules: []scripted.Rule{{Replies: []scripted.Reply{{Delay: time.Minute}}}}})
	env := envOf(map[string]string{"OPENAI_API_KEY": key, "OPENAI_BASE_URL": srv.URL()})
	cfg, err := config.Parse([]byte("client: {config: {model: scripted}}\ncoder_client: {config: {model: scripted, timeout: 0.2, max_retries: 0}}"), "t.yaml", env)
	if err != nil {
		t.Fatal(err)
	}
	// A client without settings gets only the run's shared endpoints.
	if opts := cfg.ModelOptions(config.RoleOrchestrator); len(opts) != 1 {
		t.Errorf("a client without settings has %d options", len(opts))
	}
	ep, err := cfg.Endpoint(config.RoleCoder)
	if err != nil {
		t.Fatal(err)
	}
	c, err := model.New(ep, cfg.ModelOptions(config.RoleCoder)...)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.Complete(context.Background(), model.Request{Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}}})
	var me *model.Error
	if !errors.As(err, &me) || me.Attempts != 1 || !strings.Contains(err.Error(), "200ms") {
		t.Fatalf("err = %v, want one attempt that timed out after 200ms", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the call took %s", d)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("server got %d requests, want 1", n)
	}
}

func TestDefaultPath(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	xdg := t.TempDir()
	write := func(dir, body string) string {
		p := filepath.Join(dir, "m1", "config.yaml")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	homeFile := write(filepath.Join(home, ".config"), "client: {config: {model: from-home, base_url: 'http://localhost:1/v1'}}")
	xdgFile := write(xdg, "client: {config: {model: from-xdg, base_url: 'http://localhost:1/v1'}}")
	named := filepath.Join(t.TempDir(), "named.yaml")
	if err := os.WriteFile(named, []byte("client: {config: {model: from-m1-config, base_url: 'http://localhost:1/v1'}}"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		env          map[string]string
		path, source string
		model        string
	}{
		{"home", map[string]string{"HOME": home}, homeFile, "$XDG_CONFIG_HOME/m1/config.yaml", "from-home"},
		{"xdg", map[string]string{"HOME": home, "XDG_CONFIG_HOME": xdg}, xdgFile, "$XDG_CONFIG_HOME/m1/config.yaml", "from-xdg"},
		{"M1_CONFIG wins", map[string]string{"HOME": home, "XDG_CONFIG_HOME": xdg, "M1_CONFIG": named}, named, "M1_CONFIG", "from-m1-config"},
		{"none", map[string]string{"HOME": t.TempDir(), "OPENAI_API_KEY": key}, "", "", "gpt-4o"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := config.Load("", envOf(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			ep, _ := cfg.Endpoint(config.RoleCoder)
			if cfg.Path != tt.path || cfg.Source != tt.source || ep.Model != tt.model {
				t.Errorf("path %q source %q model %q; want %q %q %q", cfg.Path, cfg.Source, ep.Model, tt.path, tt.source, tt.model)
			}
		})
	}
	if _, err := config.Load("", envOf(map[string]string{"M1_CONFIG": filepath.Join(home, "missing.yaml")})); err == nil || !strings.Contains(err.Error(), "M1_CONFIG") {
		t.Errorf("missing M1_CONFIG file: %v", err)
	}
}

func TestAllowUnknownKeys(t *testing.T) {
	t.Parallel()
	env := envOf(map[string]string{"OPENAI_API_KEY": key})
	src := []byte("client:\n  config:\n    model: gpt-4o\n    baseurl: http://x/v1\nlog_dir: ./logs\n")
	if _, err := config.Parse(src, "u.yaml", env); err == nil {
		t.Fatal("unknown keys accepted")
	}
	for _, cfg := range []func() (*config.Config, error){
		func() (*config.Config, error) { return config.Parse(src, "u.yaml", env, config.AllowUnknownKeys()) },
		func() (*config.Config, error) {
			return config.Parse(append([]byte("allow_unknown_keys: true\n"), src...), "u.yaml", env)
		},
	} {
		c, err := cfg()
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Warnings) != 2 || !strings.Contains(c.Warnings[0], `"baseurl"`) || !strings.Contains(c.Warnings[0], `"base_url"`) {
			t.Errorf("warnings = %q", c.Warnings)
		}
	}
	// AutoGen's own keys load without a word.
	autogen := []byte(`client:
  provider: autogen_ext.models.openai.OpenAIChatCompletionClient
  component_type: model
  version: 1
  component_version: 1
  description: a client
  label: OpenAIChatCompletionClient
  config:
    model: gpt-4o
    frequency_penalty: 0
    stop: ["END"]
    parallel_tool_calls: false
    model_info: {family: gpt-4o, multiple_system_messages: true, vision: true}
`)
	if c, err := config.Parse(autogen, "a.yaml", env); err != nil || len(c.Warnings) != 0 {
		t.Errorf("AutoGen config: %v %v", err, c)
	}
}

// TestSettingsReachTheWire checks that a client's settings go out with
// every request: temperature, seed, reasoning effort, extra_body, and the
// reply cap per kind of call.
func TestSettingsReachTheWire(t *testing.T) {
	t.Parallel()
	srv := scripted.New(t, &scripted.Scenario{Rules: []scripted.Rule{{Replies: []scripted.Reply{scripted.Text("ok")}}}})
	env := envOf(map[string]string{"OPENAI_BASE_URL": srv.URL()})
	cfg, err := config.Parse([]byte(`client:
  config:
    model: scripted
    temperature: 0.2
    seed: 7
    reasoning_effort: low
    max_tokens: 999
    max_tokens_per_call: {ledger: 321}
    extra_body: {chat_template_kwargs: {enable_thinking: false}}
`), "s.yaml", env)
	if err != nil {
		t.Fatal(err)
	}
	ep, _ := cfg.Endpoint(config.RoleOrchestrator)
	c, err := model.New(ep, cfg.ModelOptions(config.RoleOrchestrator)...)
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []model.CallKind{model.CallLedger, model.CallAgent} {
		if _, err := c.Complete(t.Context(), model.Request{Kind: kind, Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}}}); err != nil {
			t.Fatal(err)
		}
	}
	reqs := srv.Requests()
	for i, want := range []string{`"max_tokens":321`, `"max_tokens":999`} {
		body := string(reqs[i].Body)
		for _, w := range []string{want, `"temperature":0.2`, `"seed":7`, `"reasoning_effort":"low"`, `"chat_template_kwargs":{"enable_thinking":false}`} {
			if !strings.Contains(body, w) {
				t.Errorf("request %d lacks %s: %s", i, w, body)
			}
		}
	}
}

func TestAzureEntraToken(t *testing.T) {
	t.Parallel()
	srv := scripted.New(t, &scripted.Scenario{APIKey: "entra-token-123", Quirks: []string{"azure-entra"},
		Rules: []scripted.Rule{{Replies: []scripted.Reply{scripted.Text("ok")}}}})
	root := strings.TrimSuffix(srv.URL(), "/v1")
	for _, src := range []string{
		"client: {provider: azure, config: {model: gpt-4o, azure_endpoint: '" + root + "', azure_ad_token: entra-token-123}}",
		"client: {provider: azure, config: {model: gpt-4o, azure_endpoint: '" + root + "'}}",
	} {
		cfg, err := config.Parse([]byte(src), "e.yaml", envOf(map[string]string{"AZURE_OPENAI_AD_TOKEN": "entra-token-123"}))
		if err != nil {
			t.Fatal(err)
		}
		ep, _ := cfg.Endpoint(config.RoleCoder)
		c, err := model.New(ep, cfg.ModelOptions(config.RoleCoder)...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Complete(t.Context(), model.Request{Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}}}); err != nil {
			t.Fatalf("%s: %v", src, err)
		}
	}
}

func TestCachedPrice(t *testing.T) {
	t.Parallel()
	p := config.Price{PromptPerMillion: 2, CachedPromptPerMillion: 1, CompletionPerMillion: 10}
	got := p.Cost(agent.Usage{PromptTokens: 1_000_000, CachedPromptTokens: 500_000, CompletionTokens: 100_000})
	if fmt.Sprintf("%.2f", got) != "2.50" {
		t.Errorf("cost = %v, want 2.50 (half the prompt at the cached price)", got)
	}
}
