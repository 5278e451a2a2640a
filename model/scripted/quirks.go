package scripted

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"

	openai "github.com/sashabaranov/go-openai"
)

// Quirk modes make the server behave as a real server does where it
// differs from OpenAI: each refuses what that server refuses, in its exact
// words and status, or shapes its replies as that server does. A mode is
// named after the behaviour it imitates; model.Quirks, the client's table
// of the behaviours it handles, uses the same names, and a test checks
// that each mode's refusal is recognised there as its own row. The texts
// come from research on real servers (llama.cpp b4747 logged byte for
// byte; the others from public issue threads cited in model.Quirks).
//
// Modes are chosen with the scenario's quirks: list or scripted-model's
// --quirk flag; several may be combined.

// quirkModes describes every mode, for --list-quirks and errors.
var quirkModes = map[string]string{
	"azure-2024-06-01":            "refuse response_format json_schema when api-version is before 2024-08-01-preview (HTTP 400)",
	"lmstudio":                    `refuse response_format json_object with {"error": "<string>"} (HTTP 400)`,
	"no-response-format":          "refuse any response_format as an unknown argument (HTTP 400)",
	"o3-mini-no-vision":           "refuse image parts as OpenAI does for text-only models (HTTP 400)",
	"llamacpp-no-vision":          "refuse image parts as llama.cpp without a projector does (HTTP 500, request echoed)",
	"ollama-no-tools":             "refuse tools as Ollama does for a model without tool support (HTTP 400)",
	"gemma-alternation":           "refuse roles that do not alternate user/assistant after the system message (HTTP 500, template source)",
	"mistral-9-char-ids":          "send tool calls with empty ids; refuse ids that are not 9 alphanumerics (HTTP 500)",
	"llama31-web-search":          "refuse a tool named web_search with parameters other than query (HTTP 500)",
	"stream-options-refused":      "refuse stream_options (HTTP 400)",
	"llamacpp-tools-stream":       "refuse a streamed request with tools (HTTP 500)",
	"o1-max-tokens":               "refuse max_tokens, asking for max_completion_tokens (HTTP 400)",
	"o1-temperature":              "refuse a temperature other than 1 (HTTP 400)",
	"parallel-tool-calls-refused": "refuse parallel_tool_calls (HTTP 400)",
	"llamacpp-small-ctx":          "serve /props with n_ctx = context; refuse longer prompts, counted at 3 bytes a token (HTTP 400 exceed_context_size_error)",
	"quota":                       "answer every request with HTTP 429 insufficient_quota",
	"azure-content-filter":        "refuse a prompt matching filter: (HTTP 400 content_filter)",
	"hermes-null-properties":      `refuse a tool whose parameters have no "properties" (HTTP 500)`,
	"llamacpp-expected-content":   `refuse an assistant tool-call turn without "content" (HTTP 500, request echoed)`,
	"empty-ids":                   "send tool calls with empty ids; refuse an echo without ids, as LM Studio does (HTTP 400)",
	"llamacpp-500-refusal":        "llama.cpp b4747 with a strict template: /props, and every refusal above that llama.cpp makes, as HTTP 500",
	"r1-think":                    "start every content reply with a <think> block holding a draft ledger and draft code",
	"reasoning-content":           "send the thinking in reasoning_content beside the content",
	"args-as-object":              "send tool-call arguments as a JSON object",
	"content-parts":               "send content as typed parts (thinking, then text), as Magistral does",
	"text-tool-calls":             "write tool calls into the content as <tool_call>{…}</tool_call>, numbers quoted, with no tool_calls field",
	"stream-no-finish":            "end streams with [DONE] but no finish_reason",
	"llamacpp-stream-error":       "serve /props; a streamed prompt longer than context (3 bytes a token) gets HTTP 200 with an error: line, then [DONE]",
	"llamacpp-schema-ignored":     "serve /props; ignore response_format json_schema (answer free text) but honour json_object with a schema",
	"llamacpp-context-shift":      "serve /props; cut an over-long prompt from the front and answer 200 (recorded as Truncated)",
	"ollama-small-ctx":            "serve /api/show and /api/ps with a window of context; cut over-long prompts from the front silently",
	"vllm-max-model-len":          "list max_model_len = context in /v1/models; refuse longer prompts as vLLM does (HTTP 400)",
	"llamacpp-length":             "cut replies at max_tokens (finish_reason length); without max_tokens, run on to the server's limit",
	"llamacpp-one-tool-call":      "return only the first tool call of a reply unless parallel_tool_calls is true",
	"azure-rate-limit":            "answer the 1st request 429 with retry-after-ms: 300 and the 3rd with \"Please try again in 0.2s\"",
	"slow-server":                 "take 3 seconds over the first chat request",
	"azure-entra":                 "accept only Authorization: Bearer <api_key> (an Entra ID token); refuse the api-key header (HTTP 401)",
	"error-snowball":              `end every error message with "; messages = " and the whole request, as llama.cpp does`,
}

// umbrella modes switch on several others.
var umbrella = map[string][]string{
	"llamacpp-500-refusal": {"gemma-alternation", "llamacpp-no-vision", "hermes-null-properties", "llamacpp-expected-content",
		"mistral-9-char-ids", "llama31-web-search", "llamacpp-tools-stream", "llamacpp-props"},
	"llamacpp-small-ctx":      {"llamacpp-props"},
	"llamacpp-stream-error":   {"llamacpp-props"},
	"llamacpp-schema-ignored": {"llamacpp-props"},
	"llamacpp-context-shift":  {"llamacpp-props"},
}

// QuirkModes lists the names of the quirk modes, sorted.
func QuirkModes() []string {
	names := make([]string, 0, len(quirkModes))
	for n := range quirkModes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// QuirkDescription says what mode name does; "" for an unknown name.
func QuirkDescription(name string) string { return quirkModes[name] }

// quirkSet is the modes in force, umbrellas expanded.
type quirkSet map[string]bool

func newQuirkSet(names []string) (quirkSet, error) {
	qs := quirkSet{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if _, ok := quirkModes[n]; !ok {
			return nil, fmt.Errorf("unknown quirk mode %q (known: %s)", n, strings.Join(QuirkModes(), ", "))
		}
		qs[n] = true
		for _, m := range umbrella[n] {
			qs[m] = true
		}
	}
	return qs, nil
}

// DefaultContext is the window the context modes hold when the scenario
// does not say.
const DefaultContext = 4096

// DefaultFilter is what azure-content-filter refuses when the scenario
// gives no filter: the kind of text Prompt Shields flags.
const DefaultFilter = `(?i)ignore (all )?previous instructions`

// refusal is an error reply a quirk mode makes.
type refusal struct {
	quirk  string
	status int
	// body is the JSON body; for a stream error, the payload of the
	// error: line.
	body   any
	header map[string]string
	// streamError sends HTTP 200 with an "error:" line, as llama.cpp does.
	streamError bool
}

// apiError is OpenAI's error body.
func apiError(message, typ string, code any) map[string]any {
	return map[string]any{"error": map[string]any{"message": message, "type": typ, "param": nil, "code": code}}
}

// llamaError is llama.cpp's error body: {"error": {"code", "message", "type"}}.
func llamaError(status int, message, typ string) map[string]any {
	return map[string]any{"error": map[string]any{"code": status, "message": message, "type": typ}}
}

// gemmaTemplate is the head of Gemma 2's chat template, which llama.cpp
// quotes after its error (llama.md finding 2).
const gemmaTemplate = `{{ bos_token }}
{%- if messages[0]['role'] == 'system' -%}
    {%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}
    {%- set loop_messages = messages[1:] -%}
{%- else -%}
    {%- set first_user_prefix = "" -%}
    {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
        {{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}
    {%- endif -%}`

// refuse returns the refusal the modes in force make for a request, or
// nil. raw is the body decoded as generic JSON, for what go-openai's types
// lose (an absent "content", an absent "properties").
func (s *Server) refuse(r *http.Request, req openai.ChatCompletionRequest, raw map[string]any, n int) *refusal {
	q := s.quirks
	echo := func(msg string) string {
		b, _ := json.Marshal(raw["messages"])
		return msg + "; messages = " + string(b)
	}
	if q["quota"] {
		return &refusal{quirk: "quota", status: http.StatusTooManyRequests, body: apiError(
			"You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
			"insufficient_quota", "insufficient_quota")}
	}
	if q["azure-rate-limit"] {
		switch n {
		case 1:
			return &refusal{quirk: "azure-rate-limit", status: http.StatusTooManyRequests,
				header: map[string]string{"retry-after-ms": "300", "x-ratelimit-reset-requests": "1s"},
				body:   map[string]any{"error": map[string]any{"code": "429", "message": "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 1 second."}}}
		case 3:
			return &refusal{quirk: "azure-rate-limit", status: http.StatusTooManyRequests, body: apiError(
				"Rate limit reached for gpt-4o in organization org-scripted on tokens per min (TPM): Limit 30000, Used 29800, Requested 900. Please try again in 0.2s. Visit https://platform.openai.com/account/rate-limits to learn more.",
				"tokens", "rate_limit_exceeded")}
		}
	}
	tokens := s.countTokens(req)
	switch {
	case (q["llamacpp-small-ctx"] || q["llamacpp-stream-error"]) && s.serverTokens(tokens, 3) > s.context():
		msg := "the request exceeds the available context size. try increasing the context size or enable context shift"
		if q["llamacpp-stream-error"] && req.Stream {
			return &refusal{quirk: "llamacpp-stream-error", status: http.StatusOK, streamError: true,
				body: map[string]any{"code": 400, "message": msg, "type": "invalid_request_error"}}
		}
		return &refusal{quirk: "llamacpp-small-ctx", status: http.StatusBadRequest, body: llamaError(400, msg, "exceed_context_size_error")}
	case q["vllm-max-model-len"] && s.serverTokens(tokens, 4) > s.context():
		return &refusal{quirk: "vllm-max-model-len", status: http.StatusBadRequest, body: map[string]any{
			"object": "error", "type": "BadRequestError", "param": nil, "code": 400,
			"message": fmt.Sprintf("This model's maximum context length is %d tokens. However, you requested %d tokens in the messages, Please reduce the length of the messages.", s.context(), tokens)}}
	}
	rf, _ := raw["response_format"].(map[string]any)
	rfType, _ := rf["type"].(string)
	if q["azure-2024-06-01"] && rfType == "json_schema" && r.URL.Query().Get("api-version") < "2024-08-01-preview" {
		return &refusal{quirk: "azure-2024-06-01", status: http.StatusBadRequest, body: map[string]any{"error": map[string]any{
			"code": "BadRequest", "param": nil, "type": nil,
			"message": "response_format value as json_schema is enabled only for api versions 2024-08-01-preview and later"}}}
	}
	if q["lmstudio"] && rfType == "json_object" {
		return &refusal{quirk: "lmstudio", status: http.StatusBadRequest, body: map[string]any{"error": "'response_format.type' must be 'json_schema' or 'text'"}}
	}
	if q["no-response-format"] && rf != nil {
		return &refusal{quirk: "no-response-format", status: http.StatusBadRequest, body: apiError("Unrecognized request argument supplied: response_format", "invalid_request_error", nil)}
	}
	if hasImage(req) {
		if q["o3-mini-no-vision"] {
			return &refusal{quirk: "o3-mini-no-vision", status: http.StatusBadRequest, body: map[string]any{"error": map[string]any{
				"message": "Invalid content type. image_url is only supported by certain models.", "type": "invalid_request_error",
				"param": "messages.[1].content.[1].type", "code": nil}}}
		}
		if q["llamacpp-no-vision"] {
			return &refusal{quirk: "llamacpp-no-vision", status: http.StatusInternalServerError,
				body: llamaError(500, echo(`Failed to parse messages: Unsupported content part type: "image_url"`), "server_error")}
		}
	}
	if q["ollama-no-tools"] && len(req.Tools) > 0 {
		return &refusal{quirk: "ollama-no-tools", status: http.StatusBadRequest, body: apiError(
			fmt.Sprintf("registry.ollama.ai/library/%s:latest does not support tools", req.Model), "api_error", nil)}
	}
	if q["gemma-alternation"] && !alternates(req.Messages) {
		return &refusal{quirk: "gemma-alternation", status: http.StatusInternalServerError, body: llamaError(500,
			"Conversation roles must alternate user/assistant/user/assistant/... at row 1, column 226:\n"+gemmaTemplate, "server_error")}
	}
	if q["mistral-9-char-ids"] && !nineCharIDs(req.Messages) {
		return &refusal{quirk: "mistral-9-char-ids", status: http.StatusInternalServerError,
			body: llamaError(500, "Tool call IDs should be alphanumeric strings with length 9!", "server_error")}
	}
	if q["llama31-web-search"] && offers(req.Tools, "web_search") {
		return &refusal{quirk: "llama31-web-search", status: http.StatusInternalServerError,
			body: llamaError(500, "Parameters of tool web_search must only have these properties:query", "server_error")}
	}
	if q["stream-options-refused"] && raw["stream_options"] != nil {
		return &refusal{quirk: "stream-options-refused", status: http.StatusBadRequest, body: apiError("Unrecognized request argument supplied: stream_options", "invalid_request_error", nil)}
	}
	if q["llamacpp-tools-stream"] && req.Stream && len(req.Tools) > 0 {
		return &refusal{quirk: "llamacpp-tools-stream", status: http.StatusInternalServerError, body: llamaError(500, "Cannot use tools with stream", "server_error")}
	}
	if q["o1-max-tokens"] && raw["max_tokens"] != nil {
		return &refusal{quirk: "o1-max-tokens", status: http.StatusBadRequest, body: apiError(
			"Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.", "invalid_request_error", "unsupported_parameter")}
	}
	if t, ok := raw["temperature"].(float64); q["o1-temperature"] && ok && t != 1 {
		return &refusal{quirk: "o1-temperature", status: http.StatusBadRequest, body: apiError(
			fmt.Sprintf("Unsupported value: 'temperature' does not support %v with this model. Only the default (1) value is supported.", t), "invalid_request_error", "unsupported_value")}
	}
	if q["parallel-tool-calls-refused"] && raw["parallel_tool_calls"] != nil {
		return &refusal{quirk: "parallel-tool-calls-refused", status: http.StatusBadRequest, body: apiError(
			"Unsupported parameter: 'parallel_tool_calls' is not supported with this model.", "invalid_request_error", "unsupported_parameter")}
	}
	if q["azure-content-filter"] && s.filter.MatchString(allText(req)) {
		return &refusal{quirk: "azure-content-filter", status: http.StatusBadRequest, body: map[string]any{"error": map[string]any{
			"message": "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766",
			"type":    nil, "param": "prompt", "code": "content_filter", "status": 400,
			"innererror": map[string]any{"code": "ResponsibleAIPolicyViolation", "content_filter_result": map[string]any{"jailbreak": map[string]any{"filtered": true, "detected": true}}}}}}
	}
	if q["hermes-null-properties"] && toolWithoutProperties(raw) {
		return &refusal{quirk: "hermes-null-properties", status: http.StatusInternalServerError, body: llamaError(500, "Value is not an array or object: null", "server_error")}
	}
	if q["llamacpp-expected-content"] && toolTurnWithoutContent(raw) {
		return &refusal{quirk: "llamacpp-expected-content", status: http.StatusInternalServerError, body: llamaError(500,
			echo("Failed to parse messages: Expected 'content' (ref: https://github.com/ggml-org/llama.cpp/issues/8367)"), "server_error")}
	}
	if q["empty-ids"] && !allIDs(req.Messages) {
		return &refusal{quirk: "empty-ids", status: http.StatusBadRequest, body: apiError("Invalid 'messages' in payload", "invalid_request_error", nil)}
	}
	return nil
}

// countTokens counts a request's prompt as m1's estimate does: about four
// bytes a token of text and tool definitions.
func (s *Server) countTokens(req openai.ChatCompletionRequest) int {
	return Recorded{Request: req}.PromptTokens()
}

// serverTokens is what the server's own tokenizer counts for a prompt m1
// would count as tokens (at four bytes a token): at the scenario's
// token_bytes, else def bytes a token.
func (s *Server) serverTokens(tokens, def int) int {
	b := s.sc.TokenBytes
	if b <= 0 {
		b = def
	}
	return tokens * 4 / b
}

func (s *Server) context() int {
	if s.sc.Context > 0 {
		return s.sc.Context
	}
	return DefaultContext
}

func hasImage(req openai.ChatCompletionRequest) bool {
	for _, m := range req.Messages {
		for _, p := range m.MultiContent {
			if p.Type == openai.ChatMessagePartTypeImageURL {
				return true
			}
		}
	}
	return false
}

// alternates applies Gemma's template rule: after an optional system
// message, turns alternate user, assistant, user...; a tool result stands
// in a user's place.
func alternates(msgs []openai.ChatCompletionMessage) bool {
	if len(msgs) > 0 && msgs[0].Role == openai.ChatMessageRoleSystem {
		msgs = msgs[1:]
	}
	for i, m := range msgs {
		userLike := m.Role == openai.ChatMessageRoleUser || m.Role == openai.ChatMessageRoleTool
		if userLike != (i%2 == 0) || m.Role == openai.ChatMessageRoleSystem {
			return false
		}
	}
	return true
}

var nineAlnum = regexp.MustCompile(`^[a-zA-Z0-9]{9}$`)

func nineCharIDs(msgs []openai.ChatCompletionMessage) bool {
	for _, m := range msgs {
		for _, tc := range m.ToolCalls {
			if !nineAlnum.MatchString(tc.ID) {
				return false
			}
		}
		if m.Role == openai.ChatMessageRoleTool && !nineAlnum.MatchString(m.ToolCallID) {
			return false
		}
	}
	return true
}

func allIDs(msgs []openai.ChatCompletionMessage) bool {
	for _, m := range msgs {
		for _, tc := range m.ToolCalls {
			if tc.ID == "" {
				return false
			}
		}
		if m.Role == openai.ChatMessageRoleTool && m.ToolCallID == "" {
			return false
		}
	}
	return true
}

func toolWithoutProperties(raw map[string]any) bool {
	tools, _ := raw["tools"].([]any)
	for _, t := range tools {
		fn, _ := t.(map[string]any)["function"].(map[string]any)
		params, _ := fn["parameters"].(map[string]any)
		if _, ok := params["properties"]; !ok {
			return true
		}
	}
	return false
}

func toolTurnWithoutContent(raw map[string]any) bool {
	msgs, _ := raw["messages"].([]any)
	for _, m := range msgs {
		mm, _ := m.(map[string]any)
		if calls, _ := mm["tool_calls"].([]any); len(calls) > 0 {
			if _, ok := mm["content"]; !ok {
				return true
			}
		}
	}
	return false
}

func allText(req openai.ChatCompletionRequest) string {
	texts := make([]string, len(req.Messages))
	for i, m := range req.Messages {
		texts[i] = messageText(m)
	}
	return strings.Join(texts, "\n")
}

// truncate cuts a prompt from the front until it fits the window, as
// llama.cpp's context shift (n_keep 0) and Ollama do, keeping the last
// message. It reports whether anything was cut.
func (s *Server) truncateFront(req *openai.ChatCompletionRequest) bool {
	if !s.quirks["llamacpp-context-shift"] && !s.quirks["ollama-small-ctx"] {
		return false
	}
	cut := false
	for len(req.Messages) > 1 && s.serverTokens(s.countTokens(*req), 4) > s.context() {
		req.Messages = req.Messages[1:]
		cut = true
	}
	return cut
}

// Reply shaping of the modes that change how answers look.

// thinkDraft is what r1-think puts before every answer: a draft ledger
// that claims the request is satisfied, and draft code, neither of which
// the team may act on.
const thinkDraft = "<think>\nLet me draft an answer first.\n" +
	`{"is_request_satisfied": {"reason": "draft", "answer": true}, "is_in_loop": {"reason": "draft", "answer": false}, "is_progress_being_made": {"reason": "draft", "answer": true}, "next_speaker": {"reason": "draft", "answer": "Coder"}, "instruction_or_question": {"reason": "draft", "answer": "THINK-DRAFT"}}` +
	"\n```sh\necho THINK-DRAFT-CODE-RAN > think_draft_ran.txt\n```\nThat was only a draft.\n</think>\n\n"

// reasoningText is what reasoning-content and content-parts send as
// thinking.
const reasoningText = "REASONING-TRACE: the user wants the product; 6*7 is 42."

// replyShape is a reply as a quirk mode sends it.
type replyShape struct {
	content   any // string, parts or nil
	reasoning string
	calls     []map[string]any
	finish    string
	// cut is set when llamacpp-length cut the reply at the cap.
	cut bool
}

// shapeReply applies the reply modes to content and calls.
func (s *Server) shapeReply(req openai.ChatCompletionRequest, raw map[string]any, content string, calls []openai.ToolCall, finish openai.FinishReason) replyShape {
	q := s.quirks
	out := replyShape{finish: string(finish)}
	if q["llamacpp-one-tool-call"] && len(calls) > 1 {
		if p, _ := raw["parallel_tool_calls"].(bool); !p {
			calls = calls[:1]
		}
	}
	if q["llamacpp-schema-ignored"] {
		if rf, _ := raw["response_format"].(map[string]any); rf["type"] == "json_schema" {
			content = "The team should keep going; the Coder is doing well."
		}
	}
	if q["text-tool-calls"] && len(calls) > 0 {
		var b strings.Builder
		for _, c := range calls {
			var args map[string]any
			_ = json.Unmarshal([]byte(c.Function.Arguments), &args)
			for k, v := range args {
				if f, ok := v.(float64); ok {
					args[k] = fmt.Sprint(f) // small models quote numbers
				}
			}
			obj, _ := json.Marshal(map[string]any{"name": c.Function.Name, "arguments": args})
			fmt.Fprintf(&b, "<tool_call>\n%s\n</tool_call>\n", obj)
		}
		content, calls = strings.TrimSpace(content+"\n"+b.String()), nil
		out.finish = string(openai.FinishReasonStop)
	}
	if q["llamacpp-length"] {
		before := out.finish
		content, calls, out.finish = s.cutToCap(raw, content, calls, out.finish)
		out.cut = out.finish == "length" && before != "length"
	}
	if q["r1-think"] && content != "" {
		content = thinkDraft + content
	}
	switch {
	case q["content-parts"] && content != "":
		out.content = []map[string]any{
			{"type": "thinking", "thinking": []map[string]any{{"type": "text", "text": reasoningText}}},
			{"type": "text", "text": content},
		}
	case content == "" && len(calls) > 0:
		out.content = nil
	default:
		out.content = content
	}
	if q["reasoning-content"] {
		out.reasoning = reasoningText
	}
	for _, c := range calls {
		id := c.ID
		if q["empty-ids"] || q["mistral-9-char-ids"] {
			id = ""
		}
		var args any = c.Function.Arguments
		if q["args-as-object"] {
			var obj any
			if json.Unmarshal([]byte(c.Function.Arguments), &obj) == nil {
				args = obj
			}
		}
		call := map[string]any{"id": id, "type": "function", "function": map[string]any{"name": c.Function.Name, "arguments": args}}
		if c.Index != nil {
			call["index"] = *c.Index
		}
		out.calls = append(out.calls, call)
	}
	if q["stream-no-finish"] {
		out.finish = ""
	}
	return out
}

// serverLimit is what llamacpp-length generates without max_tokens: the
// server's own limit (-n -1 runs to the context's end).
const serverLimit = 2048

// cutToCap cuts a reply at the request's max_tokens (about four bytes a
// token), as a model that never stops would be: tool calls become the raw
// markup they are generated as, cut short. Without a cap the model runs
// on to serverLimit.
func (s *Server) cutToCap(raw map[string]any, content string, calls []openai.ToolCall, finish string) (string, []openai.ToolCall, string) {
	capTokens := 0
	for _, k := range []string{"max_tokens", "max_completion_tokens"} {
		if v, ok := raw[k].(float64); ok && v > 0 {
			capTokens = int(v)
		}
	}
	if capTokens == 0 {
		filler := strings.Repeat(" and so on", serverLimit*4/10)
		return content + filler, calls, "length"
	}
	text := content
	if len(calls) > 0 {
		var b strings.Builder
		for _, c := range calls {
			fmt.Fprintf(&b, `<tool_call>{"name": %q, "arguments": %s}</tool_call>`, c.Function.Name, c.Function.Arguments)
		}
		text = content + b.String()
	}
	if len(text) <= capTokens*4 {
		return content, calls, finish
	}
	return text[:capTokens*4], nil, "length"
}

// writeRefusal sends a refusal.
func writeRefusal(w http.ResponseWriter, ref *refusal) {
	for k, v := range ref.header {
		w.Header().Set(k, v)
	}
	if ref.streamError {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		b, _ := json.Marshal(ref.body)
		fmt.Fprintf(w, "error: %s\n\ndata: [DONE]\n\n", b)
		return
	}
	writeJSON(w, ref.status, ref.body)
}

// serveQuirkRoute answers the extra routes the modes add: llama.cpp's
// /props, Ollama's /api/show and /api/ps. It reports whether it answered.
func (s *Server) serveQuirkRoute(w http.ResponseWriter, r *http.Request) bool {
	q := s.quirks
	switch {
	case q["llamacpp-props"] && r.Method == http.MethodGet && r.URL.Path == "/props":
		writeJSON(w, http.StatusOK, map[string]any{
			"default_generation_settings": map[string]any{"n_ctx": s.context(), "n_predict": -1, "model": "scripted"},
			"total_slots":                 1, "chat_template": "{# scripted #}", "build_info": "b4747-1-gc392e5094",
		})
		return true
	case q["ollama-small-ctx"] && r.Method == http.MethodPost && r.URL.Path == "/api/show":
		writeJSON(w, http.StatusOK, map[string]any{
			"modelfile": "FROM scripted", "parameters": "stop \"<|im_end|>\"",
			"model_info": map[string]any{"general.architecture": "qwen2", "qwen2.context_length": 32768},
		})
		return true
	case q["ollama-small-ctx"] && r.Method == http.MethodGet && r.URL.Path == "/api/ps":
		models := s.models()
		list := []map[string]any{}
		for _, m := range models {
			list = append(list, map[string]any{"name": m, "model": m, "context_length": s.context()})
		}
		writeJSON(w, http.StatusOK, map[string]any{"models": list})
		return true
	}
	return false
}

// quirkNames lists the modes in force (umbrellas expanded), sorted.
func (qs quirkSet) names() []string {
	var out []string
	for n := range qs {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}
