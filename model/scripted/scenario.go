package scripted

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"time"

	"gopkg.in/yaml.v3"
)

// Scenario is what a scripted server answers. The package comment shows its
// YAML form.
type Scenario struct {
	// Name is shown in error replies to help diagnose a failing test.
	Name string `yaml:"name"`
	// Models are listed by GET /v1/models (default: "scripted").
	Models []string `yaml:"models"`
	// APIKey, when set, makes the server answer 401 to any request whose
	// Authorization header is not "Bearer <APIKey>".
	APIKey string `yaml:"api_key"`
	// NoStream makes the server ignore "stream": true and answer with a
	// plain JSON body, as some servers do.
	NoStream bool `yaml:"no_stream"`
	// StreamError makes the server reject streaming requests with HTTP 400.
	StreamError bool `yaml:"stream_error"`
	// Quirks are the quirk modes in force (see QuirkModes): the server
	// then behaves as a real server does where it differs from OpenAI.
	Quirks []string `yaml:"quirks"`
	// Context is the window, in tokens, of the modes that have one
	// (default DefaultContext).
	Context int `yaml:"context"`
	// Filter is the Go regexp azure-content-filter refuses (default
	// DefaultFilter).
	Filter string `yaml:"filter"`
	// TokenBytes is how many bytes the context modes count as a token
	// (default 3 for llamacpp-small-ctx and llamacpp-stream-error, whose
	// tokenizer counts more tokens than m1's four-bytes guess; 4 for the
	// others).
	TokenBytes int `yaml:"token_bytes"`
	// Rules are tried in order; the first whose criteria all match serves
	// the request.
	Rules []Rule `yaml:"rules"`
}

// Rule answers the requests it matches. Empty criteria match everything.
type Rule struct {
	// Name labels the rule in recordings and error messages.
	Name string `yaml:"name"`
	// Match is a Go regexp tested against the text of the request's last
	// message.
	Match string `yaml:"match"`
	// System is a Go regexp tested against the first system message.
	System string `yaml:"system"`
	// Any is a Go regexp tested against the text of all messages, joined
	// by newlines.
	Any string `yaml:"any"`
	// Tools lists tool names the request must all offer.
	Tools []string `yaml:"tools"`
	// Replies are served in order; the last one repeats once they are used
	// up, unless Repeat is false, in which case the rule stops matching.
	Replies []Reply `yaml:"replies"`
	// Repeat defaults to true.
	Repeat *bool `yaml:"repeat"`

	match, system, anyRe *regexp.Regexp
}

// Reply is one answer of a rule: a completion or a fault.
type Reply struct {
	// Content is the assistant's text; for an error status, the error
	// message.
	Content string `yaml:"content"`
	// ToolCalls are function calls the assistant makes.
	ToolCalls []ToolCall `yaml:"tool_calls"`
	// Usage overrides the token counts, which are otherwise estimated at
	// about four characters a token.
	Usage *Usage `yaml:"usage"`
	// Empty sends an empty content string.
	Empty bool `yaml:"empty"`
	// Pad adds this many bytes of filler text to the content: in place of
	// "{{pad}}" when the content holds it (inside a JSON string, say),
	// else at its end. Tests of huge replies use it.
	Pad int `yaml:"pad"`

	// Status, when not 0 or 200, sends an error body with that HTTP status.
	Status int `yaml:"status"`
	// ErrorCode is the error's "code" (e.g. context_length_exceeded); set
	// alone it implies status 400.
	ErrorCode string `yaml:"error_code"`
	// RetryAfter sets the Retry-After header, in seconds.
	RetryAfter int `yaml:"retry_after"`
	// Delay waits this long (a Go duration such as "2s") before replying,
	// or until the client goes away.
	Delay time.Duration `yaml:"delay"`
	// Malformed sends a body that is not valid JSON (or, streaming, a chunk
	// that is not).
	Malformed bool `yaml:"malformed"`
	// Cut sends part of the reply and then drops the connection.
	Cut bool `yaml:"cut"`
	// Reset drops the connection without sending anything.
	Reset bool `yaml:"reset"`

	// Echo ends an error reply's message with "; messages = " and the
	// whole request, as llama.cpp's parse errors do.
	Echo bool `yaml:"echo"`

	// Run is a test hook: a shell command the server runs with sh -c
	// before it answers (and before Delay), so a test can break something
	// at a known point of the conversation, such as killing the browser
	// the client drives. The server waits for the command, not for jobs it
	// puts in the background with &, which run on while the reply goes
	// out; it kills the command if the client leaves or the server
	// closes. If the command fails, the reply is an HTTP 500 whose message
	// holds the command's output, so the failure shows (a client that
	// retries gets the rule's next reply). It runs in the server's working
	// directory with the server's environment; scenarios are trusted code.
	Run string `yaml:"run"`
}

// ToolCall is a function call in a scripted reply.
type ToolCall struct {
	Name string `yaml:"name"`
	// Arguments is sent verbatim, so it may be invalid JSON on purpose.
	Arguments string `yaml:"arguments"`
}

// Usage is the token counts of a scripted reply.
type Usage struct {
	PromptTokens     int `yaml:"prompt_tokens"`
	CompletionTokens int `yaml:"completion_tokens"`
}

// Text returns a reply with content s.
func Text(s string) Reply { return Reply{Content: s} }

// Fault returns an error reply with HTTP status code and message.
func Fault(status int, message string) Reply { return Reply{Status: status, Content: message} }

// Call returns a reply calling tool name with raw JSON arguments.
func Call(name, arguments string) Reply {
	return Reply{ToolCalls: []ToolCall{{Name: name, Arguments: arguments}}}
}

// LoadScenario reads a scenario from a YAML file and checks it.
func LoadScenario(path string) (*Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load scenario: %w", err)
	}
	sc, err := ParseScenario(b)
	if err != nil {
		return nil, fmt.Errorf("load scenario %s: %w", path, err)
	}
	return sc, nil
}

// ParseScenario decodes a scenario from YAML and checks it. Unknown fields
// are errors, so a typo in a test scenario does not pass silently.
func ParseScenario(data []byte) (*Scenario, error) {
	var sc Scenario
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&sc); err != nil {
		return nil, fmt.Errorf("parse scenario: %w", err)
	}
	if err := sc.compile(); err != nil {
		return nil, err
	}
	return &sc, nil
}

// compile checks the scenario and compiles its regexps.
func (sc *Scenario) compile() error {
	for i := range sc.Rules {
		r := &sc.Rules[i]
		if r.Name == "" {
			r.Name = fmt.Sprintf("rule %d", i+1)
		}
		if len(r.Replies) == 0 {
			return fmt.Errorf("scenario %s: %s has no replies", sc.Name, r.Name)
		}
		var err error
		for _, f := range []struct {
			expr string
			re   **regexp.Regexp
		}{{r.Match, &r.match}, {r.System, &r.system}, {r.Any, &r.anyRe}} {
			if f.expr == "" {
				*f.re = nil
				continue
			}
			if *f.re, err = regexp.Compile(f.expr); err != nil {
				return fmt.Errorf("scenario %s: %s: %w", sc.Name, r.Name, err)
			}
		}
	}
	return nil
}
