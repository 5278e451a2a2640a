package model

import (
	"strings"
)

// DefaultContextWindow is assumed for models whose context size is not
// known.
const DefaultContextWindow = 128000

// DefaultInfo returns what m1 assumes a model can do when the config does
// not say, from a table of model families with their exceptions (as
// AutoGen's _model_info.py keeps one): OpenAI's gpt-4o, gpt-4.1, gpt-5 and
// o1/o3/o4 have vision, function calling, JSON mode and structured output,
// except o1-mini and o3-mini (no vision) and gpt-4o-2024-05-13 (no
// structured output); Claude, Gemini, Qwen-VL, Llama 3.2 Vision, Gemma 3,
// LLaVA and Pixtral see images. Any other model is assumed to call
// functions and produce JSON mode output but to have neither vision nor
// structured output: a wrong "yes" would send images or schemas the server
// refuses (the client steps down on a refusal anyway).
func DefaultInfo(model string) Info {
	name := strings.ToLower(model)
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:] // "openai/gpt-4o" as routers name it
	}
	info := Info{Model: model, FunctionCalling: true, JSONOutput: true, ContextWindow: DefaultContextWindow}
	for _, f := range modelFamilies {
		if !strings.HasPrefix(name, f.prefix) {
			continue
		}
		info.Vision, info.StructuredOutput = f.vision, f.structured
		if f.window > 0 {
			info.ContextWindow = f.window
		}
		break
	}
	return info
}

// modelFamilies is the capability table, most specific prefix first.
var modelFamilies = []struct {
	prefix             string
	vision, structured bool
	window             int
}{
	{"gpt-4o-2024-05-13", true, false, 128000},
	{"gpt-4o", true, true, 128000},
	{"gpt-4.1", true, true, 1047576},
	{"gpt-5", true, true, 400000},
	{"o1-mini", false, false, 128000},
	{"o1-preview", false, false, 128000},
	{"o3-mini", false, true, 200000},
	{"o1", true, true, 200000},
	{"o3", true, true, 200000},
	{"o4", true, true, 200000},
	{"claude", true, false, 200000},
	{"gemini", true, false, 1048576},
	{"qwen2.5-vl", true, false, 0},
	{"qwen2.5vl", true, false, 0},
	{"qwen-vl", true, false, 0},
	{"qwen2-vl", true, false, 0},
	{"llama3.2-vision", true, false, 0},
	{"llama-3.2-11b-vision", true, false, 0},
	{"llama-3.2-90b-vision", true, false, 0},
	{"gemma3", true, false, 0},
	{"gemma-3", true, false, 0},
	{"llava", true, false, 0},
	{"pixtral", true, false, 0},
	{"mistral-small3.1", true, false, 0},
}

// ImageTokens is what an image is counted as when a prompt is budgeted:
// OpenAI's price of a 1024-pixel tile picture in detail auto is about
// this.
const ImageTokens = 1000

// approxTokens estimates tokens at about four characters each.
func approxTokens(chars int) int { return max(1, (chars+3)/4) }

// estimateCompletion estimates an answer's tokens.
func estimateCompletion(r *Response) int {
	n := len(r.Content)
	for _, tc := range r.ToolCalls {
		n += len(tc.Function.Name) + len(tc.Function.Arguments)
	}
	return approxTokens(n)
}
