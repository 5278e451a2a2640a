package runner

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/config"
)

// redactedMark replaces a secret in everything a run records.
const redactedMark = "[redacted]"

// secretEnv names variables that hold credentials m1 or the code it runs
// may see, besides the keys the config resolves to.
var secretEnv = []string{
	"OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_AD_TOKEN", "M1_AZURE_AD_TOKEN",
	"ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "GROQ_API_KEY", "OPENROUTER_API_KEY",
	"MISTRAL_API_KEY", "DEEPSEEK_API_KEY", "TOGETHER_API_KEY", "HF_TOKEN",
}

// minSecret is the shortest value treated as a secret: shorter ones would
// blank out ordinary words.
const minSecret = 8

// redactor removes known secrets from every event before it is recorded
// or shown. Code the run executes may find a key (on the host, m1's own
// environment is readable by processes of the same user), and a page or a
// tool may echo it; whatever the path, the transcript, the checkpoint's
// events, --json and the console never carry it.
type redactor struct {
	plain   []string // the secrets as they appear in text
	escaped [][]byte // and as they appear inside JSON strings
}

func newRedactor(cfg *config.Config, getenv func(string) string) *redactor {
	var secrets []string
	add := func(s string) {
		s = strings.TrimSpace(s)
		if len(s) >= minSecret && !slices.Contains(secrets, s) {
			secrets = append(secrets, s)
		}
	}
	for _, role := range config.Roles {
		if ep, err := cfg.Endpoint(role); err == nil {
			add(ep.APIKey)
		}
	}
	for _, s := range cfg.MCPSecrets() {
		add(s)
	}
	if getenv != nil {
		for _, k := range secretEnv {
			add(getenv(k))
		}
	}
	r := &redactor{plain: secrets}
	for _, s := range secrets {
		b, _ := json.Marshal(s)
		r.escaped = append(r.escaped, b[1:len(b)-1])
	}
	return r
}

// event returns e with every secret replaced. The common case — no secret
// anywhere — costs one encoding of the event and returns e unchanged.
func (r *redactor) event(e agent.Event) agent.Event {
	if len(r.plain) == 0 {
		return e
	}
	if e.Type == agent.EventDelta {
		e.Content = r.text(e.Content)
		return e
	}
	raw, err := json.Marshal(e)
	if err != nil {
		return e
	}
	raw, found := r.json(raw)
	if !found {
		return e
	}
	var clean agent.Event
	if err := json.Unmarshal(raw, &clean); err != nil {
		return e
	}
	// Image bytes are not part of the JSON form; carry them over.
	for i := range clean.Images {
		if i < len(e.Images) {
			clean.Images[i].Data = e.Images[i].Data
		}
	}
	return clean
}

// json replaces every secret inside the JSON document raw and reports
// whether there was one.
func (r *redactor) json(raw []byte) ([]byte, bool) {
	found := false
	for _, s := range r.escaped {
		if bytes.Contains(raw, s) {
			found = true
			raw = bytes.ReplaceAll(raw, s, []byte(redactedMark))
		}
	}
	return raw, found
}

func (r *redactor) text(s string) string {
	for _, p := range r.plain {
		s = strings.ReplaceAll(s, p, redactedMark)
	}
	return s
}
