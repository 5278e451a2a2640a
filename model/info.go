package model

import (
	"strings"

	openai "github.com/sashabaranov/go-openai"
)

// DefaultContextWindow is assumed for models whose context size is not
// known.
const DefaultContextWindow = 128000

// DefaultInfo returns what m1 assumes a model can do when the config does
// not say. OpenAI's gpt-4o, gpt-4.1, gpt-5 and o1/o3/o4 families have
// vision, function calling, JSON mode and structured output. Any other
// model is assumed to call functions and produce JSON mode output but to
// have neither vision nor structured output: most OpenAI-compatible
// servers accept those two, and a wrong "yes" for the others would send
// images or schemas the server rejects.
func DefaultInfo(model string) Info {
	name := strings.ToLower(model)
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:] // "openai/gpt-4o" as routers name it
	}
	info := Info{Model: model, FunctionCalling: true, JSONOutput: true, ContextWindow: DefaultContextWindow}
	for _, f := range []struct {
		prefix string
		window int
	}{
		{"gpt-4o", 128000},
		{"gpt-4.1", 1047576},
		{"gpt-5", 400000},
		{"o1", 200000},
		{"o3", 200000},
		{"o4", 200000},
	} {
		if strings.HasPrefix(name, f.prefix) {
			info.Vision, info.StructuredOutput, info.ContextWindow = true, true, f.window
			break
		}
	}
	return info
}

// approxTokens estimates tokens at about four characters each.
func approxTokens(chars int) int { return max(1, (chars+3)/4) }

// estimatePrompt estimates a prompt's tokens, for servers that report no
// usage, so accounting never shows zero for real work.
func estimatePrompt(msgs []openai.ChatCompletionMessage) int {
	n := 0
	for _, m := range msgs {
		n += len(m.Content)
		for _, p := range m.MultiContent {
			n += len(p.Text)
		}
		for _, tc := range m.ToolCalls {
			n += len(tc.Function.Name) + len(tc.Function.Arguments)
		}
	}
	return approxTokens(n)
}

// estimateCompletion estimates an answer's tokens.
func estimateCompletion(r *Response) int {
	n := len(r.Content)
	for _, tc := range r.ToolCalls {
		n += len(tc.Function.Name) + len(tc.Function.Arguments)
	}
	return approxTokens(n)
}
