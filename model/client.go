// Package model is m1's chat client for OpenAI-compatible servers (OpenAI,
// Azure OpenAI, Ollama, vLLM, llama.cpp, LM Studio, Groq, OpenRouter,
// Gemini's and Anthropic's compatible endpoints). Agents speak in
// github.com/sashabaranov/go-openai's message types; the client shapes
// each request for the endpoint it goes to (shape.go), reads each reply
// whatever the server's dialect (normalize.go), recognises a refusal by
// its words (Quirks) and steps the endpoint's capabilities down rather
// than resending the same request, and adds what a long agent run needs:
// retries with backoff, clear errors, token accounting, streaming, the
// context window learnt from the server, and an optional on-disk cache.
package model

import (
	"context"

	openai "github.com/sashabaranov/go-openai"

	"github.com/m1-project/m1/agent"
)

// Client sends one chat completion request. Implementations are safe for
// concurrent use.
type Client interface {
	Complete(ctx context.Context, req Request) (*Response, error)
	// Info tells what the configured model can do.
	Info() Info
}

// Info describes a model's capabilities, from config (model_info).
type Info struct {
	Model            string `yaml:"-" json:"model"`
	Vision           bool   `yaml:"vision" json:"vision"`
	FunctionCalling  bool   `yaml:"function_calling" json:"function_calling"`
	JSONOutput       bool   `yaml:"json_output" json:"json_output"`
	StructuredOutput bool   `yaml:"structured_output" json:"structured_output"`
	// ContextWindow is the model's context size in tokens (default 128000).
	ContextWindow int `yaml:"context_window" json:"context_window"`
	// ContextSource says where ContextWindow comes from: the config, the
	// server (llama.cpp /props, Ollama, vLLM /models) or m1's table.
	ContextSource string `yaml:"-" json:"context_source,omitempty"`
}

// Request is one chat completion call.
type Request struct {
	Messages []openai.ChatCompletionMessage
	// Tools offered to the model; empty for plain chat.
	Tools []openai.Tool
	// ToolChoice is passed through ("auto", "required", or a specific tool).
	ToolChoice any
	// ParallelToolCalls says whether a reply may hold several tool calls.
	// Nil leaves it to the client: several, as OpenAI's default is, so
	// servers whose default is one call (llama.cpp) are told so.
	ParallelToolCalls *bool
	// ResponseFormat asks for JSON mode or a JSON schema. A schema is sent
	// as the endpoint takes it: json_schema, llama.cpp's json_object plus
	// schema, json_object, or not at all (the prompt must then ask for the
	// JSON itself) once the server refused the others.
	ResponseFormat *openai.ChatCompletionResponseFormat
	// Kind says what the call is for, which sets the cap on the reply.
	Kind CallKind
	// OnDelta, when set, receives content tokens as they stream in. The
	// client falls back to a plain request for servers that cannot stream.
	OnDelta func(delta string)
}

// Response is the model's answer to a Request.
type Response struct {
	// Content is what the team acts on: never a think block, never raw
	// tool-call markup.
	Content string
	// Reasoning is the model's thinking, from reasoning_content or a think
	// block taken out of the content; for the transcript, not for acting
	// on.
	Reasoning string
	ToolCalls []openai.ToolCall
	Usage     agent.Usage
	// FinishReason is the server's ("stop", "length", "tool_calls",
	// "content_filter"), or FinishUnknown for a stream that ended properly
	// without one.
	FinishReason string
	// Model and ID are the model that answered and the reply's id, as the
	// server names them (empty when it does not).
	Model, ID string
	// Cached is true when the answer came from the on-disk cache; its
	// usage is then zero, since nothing was spent.
	Cached bool

	// seen names the rows of Quirks whose reply shapes were normalised
	// away, for Probe to report.
	seen []string
}
