package model

import (
	"bytes"
	"encoding/json"
	"strings"
)

// The wire types are the JSON m1 sends and reads, written out here rather
// than taken from go-openai: go-openai drops an empty "content" on a
// tool-call turn (llama.cpp's parser then fails, ggml-org/llama.cpp#8367),
// refuses a reply whose tool-call "arguments" is an object, and cannot read
// "content" as typed parts, "reasoning_content", or an "error:" line in a
// stream. go-openai's types stay the vocabulary agents use; only the bytes
// on the wire are m1's own.

// wireRequest is a chat completion request body. Extra holds the client's
// extra_body, merged over the rest when the body is written.
type wireRequest struct {
	Model               string          `json:"model"`
	Messages            []wireMessage   `json:"messages"`
	Tools               []wireTool      `json:"tools,omitempty"`
	ToolChoice          any             `json:"tool_choice,omitempty"`
	ParallelToolCalls   *bool           `json:"parallel_tool_calls,omitempty"`
	ResponseFormat      map[string]any  `json:"response_format,omitempty"`
	MaxTokens           int             `json:"max_tokens,omitempty"`
	MaxCompletionTokens int             `json:"max_completion_tokens,omitempty"`
	Temperature         *float64        `json:"temperature,omitempty"`
	TopP                *float64        `json:"top_p,omitempty"`
	Seed                *int            `json:"seed,omitempty"`
	ReasoningEffort     string          `json:"reasoning_effort,omitempty"`
	Stream              bool            `json:"stream"`
	StreamOptions       *streamOptions  `json:"stream_options,omitempty"`
	Extra               map[string]any  `json:"-"`
	raw                 json.RawMessage // the body as last written
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// body writes the request as JSON, extra_body's keys over m1's own.
func (r *wireRequest) body() ([]byte, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	if len(r.Extra) == 0 {
		return b, nil
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for k, v := range r.Extra {
		m[k] = v
	}
	return json.Marshal(m)
}

// wireMessage is one message as sent. Content is a string or a list of
// parts and is always written: an assistant turn with tool calls carries
// `"content": ""`, since llama.cpp builds before March 2025 refuse a turn
// without it ("Expected 'content'", ggml-org/llama.cpp#8367) and some
// later ones refuse null (#13471), while "" passes every template tried.
type wireMessage struct {
	Role       string         `json:"role"`
	Content    any            `json:"content"`
	Name       string         `json:"name,omitempty"`
	ToolCalls  []wireToolCall `json:"tool_calls,omitempty"`
	ToolCallID string         `json:"tool_call_id,omitempty"`
}

type wirePart struct {
	Type     string        `json:"type"`
	Text     string        `json:"text,omitempty"`
	ImageURL *wireImageURL `json:"image_url,omitempty"`
}

type wireImageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail,omitempty"`
}

type wireToolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function wireFunction `json:"function"`
}

type wireFunction struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

type wireTool struct {
	Type     string          `json:"type"`
	Function wireFunctionDef `json:"function"`
}

type wireFunctionDef struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Parameters  any    `json:"parameters"`
	Strict      bool   `json:"strict,omitempty"`
}

// The reply side: read leniently, since servers differ in every field.

type wireResponse struct {
	ID      string       `json:"id"`
	Model   string       `json:"model"`
	Choices []wireChoice `json:"choices"`
	Usage   *wireUsage   `json:"usage"`
	// Error is set by servers that answer 200 with an error body.
	Error json.RawMessage `json:"error"`
}

type wireChoice struct {
	Index        int          `json:"index"`
	Message      wireReplyMsg `json:"message"`
	Delta        wireReplyMsg `json:"delta"`
	FinishReason *string      `json:"finish_reason"`
}

// wireReplyMsg is a message or a stream delta as servers send it.
type wireReplyMsg struct {
	Role string `json:"role"`
	// Content is a string, a list of typed parts (Mistral's Magistral),
	// or null.
	Content json.RawMessage `json:"content"`
	// ReasoningContent is DeepSeek's, vLLM's and llama.cpp's field for
	// the model's thinking; Reasoning is OpenRouter's and Ollama's.
	ReasoningContent string              `json:"reasoning_content"`
	Reasoning        json.RawMessage     `json:"reasoning"`
	ToolCalls        []wireReplyToolCall `json:"tool_calls"`
	Refusal          string              `json:"refusal"`
}

type wireReplyToolCall struct {
	Index    *int   `json:"index"`
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name string `json:"name"`
		// Arguments is a JSON string as OpenAI sends it, or an object as
		// some llama.cpp builds and proxies do (ggml-org/llama.cpp#20198).
		Arguments json.RawMessage `json:"arguments"`
	} `json:"function"`
}

type wireUsage struct {
	PromptTokens        int `json:"prompt_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	PromptTokensDetails *struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
}

// text reads a content field: a string, a list of parts whose text parts
// are joined (thinking parts go to reasoning), or null.
func contentText(raw json.RawMessage) (text, reasoning string) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, ""
	}
	var parts []json.RawMessage
	if json.Unmarshal(raw, &parts) != nil {
		return "", ""
	}
	var tb, rb strings.Builder
	for _, p := range parts {
		t, r := partText(p)
		tb.WriteString(t)
		rb.WriteString(r)
	}
	return tb.String(), rb.String()
}

// partText reads one typed part: {"type":"text","text":...} and Mistral's
// {"type":"thinking","thinking":[{"type":"text","text":...}]}.
func partText(raw json.RawMessage) (text, reasoning string) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, ""
	}
	var p struct {
		Type     string          `json:"type"`
		Text     string          `json:"text"`
		Thinking json.RawMessage `json:"thinking"`
	}
	if json.Unmarshal(raw, &p) != nil {
		return "", ""
	}
	switch p.Type {
	case "text", "output_text", "":
		return p.Text, ""
	case "thinking", "reasoning":
		t, r := contentText(p.Thinking)
		return "", t + r
	}
	return "", ""
}

// argumentsText reads tool-call arguments: a JSON string is taken as it
// is, any other JSON value (an object) is written back as compact JSON.
func argumentsText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) == nil {
		return buf.String()
	}
	return string(raw)
}

// reasoningText reads the "reasoning" field: a string, or an object with
// a text inside (some routers nest it).
func reasoningText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var o struct {
		Content string `json:"content"`
		Text    string `json:"text"`
	}
	if json.Unmarshal(raw, &o) == nil {
		return o.Content + o.Text
	}
	return ""
}
