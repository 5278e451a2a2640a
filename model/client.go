// Package model is m1's chat client for OpenAI-compatible servers (OpenAI,
// Azure OpenAI, Ollama, vLLM, llama.cpp), built on github.com/sashabaranov/go-openai.
// It adds what a long agent run needs: retries with backoff, clear errors
// for what cannot be retried, token accounting, streaming, and an optional
// on-disk response cache.
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
}

// Request is one chat completion call.
type Request struct {
	Messages []openai.ChatCompletionMessage
	// Tools offered to the model; empty for plain chat.
	Tools []openai.Tool
	// ToolChoice is passed through ("auto", "required", or a specific tool).
	ToolChoice any
	// ResponseFormat asks for JSON mode or a JSON schema.
	ResponseFormat *openai.ChatCompletionResponseFormat
	// OnDelta, when set, receives content tokens as they stream in. The
	// client falls back to a plain request for servers that cannot stream.
	OnDelta func(delta string)
}

// Response is the model's answer to a Request.
type Response struct {
	Content      string
	ToolCalls    []openai.ToolCall
	Usage        agent.Usage
	FinishReason string
	// Cached is true when the answer came from the on-disk cache.
	Cached bool
}
