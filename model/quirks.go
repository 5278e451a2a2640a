package model

import (
	"net/http"
	"strings"
)

// Quirk is one behaviour of a real server or model that m1 adapts to. The
// table Quirks is data: the client classifies a refusal by the words of a
// row (whatever the HTTP status), model/scripted imitates each row under
// a quirk mode of the same name, and docs/models.md is checked against it.
type Quirk struct {
	// Name identifies the behaviour; the scripted server's quirk mode that
	// imitates it has the same name.
	Name string
	// Server is the server or model family that behaves so.
	Server string
	// Behaviour says what the server does, in its own words where it has
	// any.
	Behaviour string
	// Evidence cites where the behaviour and its text come from.
	Evidence string
	// Handling says what m1 does about it.
	Handling string
	// Test is the end-to-end script that shows it
	// (cmd/m1/testdata/script/<Test>.txtar).
	Test string
	// Issue names the numbered items of the project's issues this row
	// answers, e.g. "13.1, 17.9".
	Issue string
	// Says are lowercase fragments of the server's error message; a
	// refusal holding any of them is this quirk. Empty for behaviours of a
	// reply rather than refusals.
	Says []string
	// Type matches the error's "type" or "code" field exactly, as another
	// way to recognise the refusal.
	Type string

	step step
}

// step is what the client changes when a server refuses a request.
type step int

const (
	stepNone             step = iota // a reply behaviour, handled when reading replies
	stepSchemaOff                    // json_schema refused: ask with json_object
	stepJSONObjectOff                // json_object refused: json_schema if the server takes it, else plain
	stepFormatOff                    // response_format refused altogether: plain prompt
	stepVisionOff                    // images refused: send text only from now on
	stepToolsOff                     // tools refused: the agent cannot work (ErrToolsUnsupported)
	stepAlternate                    // roles must alternate: merge same-role turns, start with user
	stepNineCharIDs                  // tool-call ids must be 9 alphanumerics
	stepRenameTools                  // a tool name clashes with a template's built-in tool
	stepStreamOptionsOff             // stream_options refused: stream without it
	stepStreamOff                    // streaming refused: plain requests from now on
	stepMaxCompletion                // max_tokens refused: send max_completion_tokens
	stepTemperatureOff               // temperature refused: leave it out
	stepParallelOff                  // parallel_tool_calls refused: leave it out
	stepContext                      // the prompt is too long (ErrContextLength)
	stepQuota                        // billing quota used up (ErrQuota)
	stepContentFilter                // a content filter refused the prompt (ErrContentFilter)
	stepFinal                        // a refusal m1 already avoids by default: nothing left to change
)

// Quirks is the table of real servers' behaviours that m1 handles. Order
// matters for refusals: the first row whose words match classifies it.
var Quirks = []Quirk{
	{
		Name:      "azure-2024-06-01",
		Server:    "Azure OpenAI, api-version before 2024-08-01-preview",
		Behaviour: `HTTP 400 "response_format value as json_schema is enabled only for api versions 2024-08-01-preview and later"`,
		Evidence:  "langgenius/dify#8994, crmne/ruby_llm#600, dotnet/extensions#6130",
		Handling:  "the ledger steps down to json_object for the rest of the session and the call is resent; the default api-version is 2024-10-21",
		Test:      "model_azure_2024_06_01",
		Issue:     "13.1",
		Says:      []string{"json_schema is enabled only for api versions", "json_schema is not supported", "json_schema' is not supported", "structured outputs are not supported", "does not support structured output"},
		step:      stepSchemaOff,
	},
	{
		Name:      "lmstudio",
		Server:    "LM Studio",
		Behaviour: `HTTP 400 {"error": "'response_format.type' must be 'json_schema' or 'text'"} (a string, not an object)`,
		Evidence:  "lmstudio-bug-tracker#189, #307",
		Handling:  "the server's own words are shown; the ledger steps from json_object to json_schema, which the server named, and the call is resent",
		Test:      "model_lmstudio",
		Issue:     "13.1, 13.2",
		Says:      []string{"must be 'json_schema' or 'text'", "json_object is not supported", "'json_object' is not supported", "response_format.type' must be"},
		step:      stepJSONObjectOff,
	},
	{
		Name:      "no-response-format",
		Server:    "proxies and older servers without JSON modes",
		Behaviour: `HTTP 400 naming response_format as an unknown or unsupported parameter`,
		Evidence:  "gpt-4o-2024-05-13 has no structured outputs (AutoGen _model_info.py); OpenAI-compatible proxies",
		Handling:  "the ledger is asked for by prompt alone for the rest of the session and the call is resent",
		Test:      "model_no_response_format",
		Issue:     "13.1",
		Says:      []string{"unrecognized request argument supplied: response_format", "response_format is not supported", "'response_format' is not supported", "unsupported parameter: 'response_format'", "invalid parameter: 'response_format'", "json mode is not supported", "unknown field `response_format`"},
		step:      stepFormatOff,
	},
	{
		Name:      "o3-mini-no-vision",
		Server:    "OpenAI o3-mini, o1-mini and other text-only models",
		Behaviour: `HTTP 400 "Invalid content type. image_url is only supported by certain models."`,
		Evidence:  "AutoGen _model_info.py lists o3-mini with vision false; OpenAI API error text",
		Handling:  "vision turns off for that client: the call is resent without images and later prompts carry none",
		Test:      "model_o3_mini_no_vision",
		Issue:     "13.7",
		Says:      []string{"image_url is only supported by certain models", "does not support image", "images are not supported", "image input is not supported", "model does not support vision", "multimodal is not supported", "not a multimodal model"},
		step:      stepVisionOff,
	},
	{
		Name:      "llamacpp-no-vision",
		Server:    "llama.cpp server without a multimodal projector",
		Behaviour: `HTTP 500 "Failed to parse messages: Unsupported content part type: \"image_url\""`,
		Evidence:  "llama.md finding 8 (llama.cpp b4747)",
		Handling:  "vision turns off for that client and the call is resent without images",
		Test:      "model_llamacpp_no_vision",
		Issue:     "17.8",
		Says:      []string{"unsupported content part type", "image input is not supported - hint: if this is unexpected, you may need to provide the mmproj"},
		step:      stepVisionOff,
	},
	{
		Name:      "ollama-no-tools",
		Server:    "Ollama with a model whose template has no tools (gemma3, llama2, ...)",
		Behaviour: `HTTP 400 "registry.ollama.ai/library/gemma3:4b does not support tools"`,
		Evidence:  "microsoft/magentic-ui#206",
		Handling:  "the call fails with ErrToolsUnsupported; the Orchestrator takes that agent off the team for the run and says so in the ledger",
		Test:      "model_ollama_no_tools",
		Issue:     "13.7",
		Says:      []string{"does not support tools", "tools are not supported", "tool use is not supported", "function calling is not supported", "does not support function calling", `"auto" tool choice requires --enable-auto-tool-choice`},
		step:      stepToolsOff,
	},
	{
		Name:      "gemma-alternation",
		Server:    "Gemma templates on llama.cpp or vLLM",
		Behaviour: `HTTP 500 "Conversation roles must alternate user/assistant/user/assistant/..." on every ledger call`,
		Evidence:  "llama.md finding 2; vllm-project/vllm#6862, microsoft/autogen#3597",
		Handling:  "consecutive same-role turns are merged and the list starts with a user turn, for the rest of the session; the call is resent",
		Test:      "model_gemma_alternation",
		Issue:     "13.8, 17.7",
		Says:      []string{"conversation roles must alternate", "roles must alternate"},
		step:      stepAlternate,
	},
	{
		Name:      "mistral-9-char-ids",
		Server:    "Mistral templates (Mistral Nemo) on llama.cpp or vLLM",
		Behaviour: `HTTP 500 "Tool call IDs should be alphanumeric strings with length 9!"`,
		Evidence:  "llama.md finding 11",
		Handling:  "tool-call ids are sent as 9 alphanumerics (mapped one to one) for the rest of the session; the call is resent",
		Test:      "model_mistral_ids",
		Issue:     "17.11",
		Says:      []string{"tool call ids should be alphanumeric strings with length 9"},
		step:      stepNineCharIDs,
	},
	{
		Name:      "llama31-web-search",
		Server:    "Llama 3.1 and 3.3 templates on llama.cpp",
		Behaviour: `HTTP 500 "Parameters of tool web_search must only have these properties:query"`,
		Evidence:  "llama.md finding 10",
		Handling:  "the WebSurfer's search tool is named search_web; any tool named like a template's built-in tool (web_search, brave_search, wolfram_alpha, code_interpreter, python) is renamed on the wire and mapped back in replies, from the first refusal, or from the start for llama.cpp",
		Test:      "model_web_search",
		Issue:     "17.10",
		Says:      []string{"must only have these properties"},
		step:      stepRenameTools,
	},
	{
		Name:      "stream-options-refused",
		Server:    "Azure OpenAI before api-version 2024-09-01-preview, some proxies",
		Behaviour: `HTTP 400 "Unrecognized request argument supplied: stream_options"`,
		Evidence:  "real-model.md row 12",
		Handling:  "the call streams again without stream_options (usage is then estimated)",
		Test:      "model_stream_options_refused",
		Issue:     "13.10",
		Says:      []string{"stream_options"},
		step:      stepStreamOptionsOff,
	},
	{
		Name:      "llamacpp-tools-stream",
		Server:    "llama.cpp b4747",
		Behaviour: `HTTP 500 "Cannot use tools with stream"`,
		Evidence:  "llama.md finding 5",
		Handling:  "only the Coder streams, without tools, so a run never meets it; were a streamed call with tools refused, streaming turns off for that client and the call is resent unstreamed",
		Test:      "model_llamacpp_tools_stream",
		Issue:     "17.2",
		Says:      []string{"cannot use tools with stream", "streaming is not supported", "stream is not supported", "does not support streaming"},
		step:      stepStreamOff,
	},
	{
		Name:      "o1-max-tokens",
		Server:    "OpenAI and Azure reasoning models (o1, o3, o4-mini, gpt-5)",
		Behaviour: `HTTP 400 "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead."`,
		Evidence:  "OpenAI API error text for reasoning models",
		Handling:  "the cap is sent as max_completion_tokens from then on (and from the start for known reasoning models)",
		Test:      "model_o1_max_tokens",
		Issue:     "13.10, 17.13",
		Says:      []string{"use 'max_completion_tokens' instead", "max_tokens' is not supported"},
		step:      stepMaxCompletion,
	},
	{
		Name:      "o1-temperature",
		Server:    "OpenAI and Azure reasoning models",
		Behaviour: `HTTP 400 "Unsupported value: 'temperature' does not support 0.2 with this model. Only the default (1) value is supported."`,
		Evidence:  "OpenAI API error text for reasoning models",
		Handling:  "the configured temperature is left out for the rest of the session and the call is resent",
		Test:      "model_o1_temperature",
		Issue:     "13.10",
		Says:      []string{"'temperature' does not support", "unsupported parameter: 'temperature'"},
		step:      stepTemperatureOff,
	},
	{
		Name:      "parallel-tool-calls-refused",
		Server:    "servers and models without parallel tool calls",
		Behaviour: `HTTP 400 "Unsupported parameter: 'parallel_tool_calls' is not supported with this model."`,
		Evidence:  "OpenAI API error text for o1/o3-mini",
		Handling:  "parallel_tool_calls is left out for the rest of the session and the call is resent",
		Test:      "model_parallel_tool_calls_refused",
		Issue:     "17.14",
		Says:      []string{"parallel_tool_calls"},
		step:      stepParallelOff,
	},
	{
		Name:      "llamacpp-small-ctx",
		Server:    "llama.cpp with --no-context-shift, Anthropic, Gemini and vLLM compatible endpoints",
		Behaviour: `HTTP 400 or 500 "the request exceeds the available context size. try increasing the context size or enable context shift" (type exceed_context_size_error in newer builds); "prompt is too long"; "input token count ... exceeds the maximum"`,
		Evidence:  "llama.md finding 4; ggml-org/llama.cpp#15780, #19774; real-model.md row 4",
		Handling:  "m1 learns the window from /props, never sends more, and on an overflow error shrinks the prompt and retries",
		Test:      "model_llamacpp_small_ctx",
		Issue:     "13.4, 17.4",
		Says:      []string{"exceeds the available context size", "context size", "context length", "context_length", "context window", "maximum context", "prompt is too long", "input token count", "too many tokens", "maximum number of tokens"},
		Type:      "exceed_context_size_error",
		step:      stepContext,
	},
	{
		Name:      "quota",
		Server:    "OpenAI and Azure when the billing quota is used up",
		Behaviour: `HTTP 429 code insufficient_quota "You exceeded your current quota, please check your plan and billing details."`,
		Evidence:  "OpenAI error codes guide",
		Handling:  "not retried: the run stops at once and says it is a billing or quota limit, not a rate limit",
		Test:      "model_quota",
		Issue:     "13.9",
		Says:      []string{"exceeded your current quota", "insufficient_quota", "check your plan and billing"},
		Type:      "insufficient_quota",
		step:      stepQuota,
	},
	{
		Name:      "azure-content-filter",
		Server:    "Azure OpenAI content filtering (Prompt Shields)",
		Behaviour: `HTTP 400 code content_filter "The response was filtered due to the prompt triggering Azure OpenAI's content management policy."`,
		Evidence:  "real-model.md row 17",
		Handling:  "a refused ledger call is retried once with the latest agent message cut to its head",
		Test:      "model_azure_content_filter",
		Issue:     "13.10",
		Says:      []string{"content management policy", "content_filter"},
		Type:      "content_filter",
		step:      stepContentFilter,
	},
	{
		Name:      "hermes-null-properties",
		Server:    "Hermes-2-Pro, Hermes-3 and Command-R+ templates on llama.cpp",
		Behaviour: `HTTP 500 "Value is not an array or object: null" for a tool without parameters`,
		Evidence:  "llama.md finding 6",
		Handling:  `every tool's parameters carry "properties": {} (m1 always sends it)`,
		Test:      "model_hermes_null_properties",
		Issue:     "17.5",
		Says:      []string{"value is not an array or object"},
		step:      stepFinal,
	},
	{
		Name:      "llamacpp-expected-content",
		Server:    "llama.cpp before ggml-org/llama.cpp#12293 (all 17 templates)",
		Behaviour: `HTTP 500 "Failed to parse messages: Expected 'content' (ref: https://github.com/ggml-org/llama.cpp/issues/8367); messages = [...the whole request...]"`,
		Evidence:  "llama.md finding 7",
		Handling:  `tool-call turns always carry "content": ""; the error text put into the thread is cut before "; messages ="`,
		Test:      "model_tool_content",
		Issue:     "17.1, 17.6",
		Says:      []string{"expected 'content'"},
		step:      stepFinal,
	},
	{
		Name:      "empty-ids",
		Server:    "LM Studio, Gemini's OpenAI endpoint, llama.cpp",
		Behaviour: `tool calls come back with "id": ""; LM Studio then refuses its own echo: "Invalid 'messages' in payload"`,
		Evidence:  "lmstudio-bug-tracker#830; vercel/ai#7834; camel-ai/camel#3027; llama.md finding 11",
		Handling:  "a call without an id gets a local 9-alphanumeric id before it is run or echoed",
		Test:      "model_empty_ids",
		Issue:     "13.6",
		Says:      []string{"invalid 'messages' in payload", "tool_call_id"},
		step:      stepFinal,
	},
	{
		Name:      "llamacpp-500-refusal",
		Server:    "llama.cpp b4747 (every request-validation failure is HTTP 500 server_error)",
		Behaviour: `HTTP 500 for deterministic refusals: template exceptions, "Failed to parse messages", "Cannot use tools with stream"`,
		Evidence:  "llama.md finding 5 (55 of 66 HTTP 500s were repeats)",
		Handling:  "a 500 whose words name a validation failure is a refusal, never resent unchanged: m1 adapts (the rows above) or stops at once",
		Test:      "model_llamacpp_500_refusal",
		Issue:     "17.2",
		Says:      []string{"failed to parse messages", "failed to parse tools", "raise_exception", "jinja", "chat template", "invalid 'messages'"},
		step:      stepFinal,
	},
	// Behaviours of replies, handled where replies are read.
	{
		Name:      "r1-think",
		Server:    "DeepSeek-R1 distills, QwQ, Qwen3 without a reasoning parser, llama.cpp --reasoning-format none, Groq raw",
		Behaviour: "the reply's content starts with <think>…</think> (or ends a block opened by the template), drafts included",
		Evidence:  "real-model.md row 3; AutoGen parse_r1_content",
		Handling:  "the block is taken out of the content into Response.Reasoning, kept in the transcript; the team acts on the rest only",
		Test:      "model_r1_think",
		Issue:     "13.3",
	},
	{
		Name:      "reasoning-content",
		Server:    "DeepSeek API, vLLM --reasoning-parser, llama.cpp, OpenRouter, Ollama",
		Behaviour: `the thinking comes in "reasoning_content" (or "reasoning") beside "content"`,
		Evidence:  "real-model.md stub experiments",
		Handling:  "read into Response.Reasoning for the transcript",
		Test:      "model_reasoning_content",
		Issue:     "13.3",
	},
	{
		Name:      "args-as-object",
		Server:    "some llama.cpp builds (2026) and proxies",
		Behaviour: `tool-call "arguments" is a JSON object instead of a string`,
		Evidence:  "ggml-org/llama.cpp#20198, PR #20202",
		Handling:  "the object is written back as a JSON string",
		Test:      "model_args_as_object",
		Issue:     "13.6",
	},
	{
		Name:      "content-parts",
		Server:    "Mistral's reasoning models (Magistral)",
		Behaviour: `"content" is an array of typed parts: thinking, then text`,
		Evidence:  "real-model.md row 14",
		Handling:  "text parts are joined into the content, thinking parts go to Response.Reasoning",
		Test:      "model_content_parts",
		Issue:     "13.10",
	},
	{
		Name:      "text-tool-calls",
		Server:    "small local models (Hermes style), Mistral raw output",
		Behaviour: `a tool call written in the content as <tool_call>{…}</tool_call> or a bare JSON object, numbers quoted as strings`,
		Evidence:  "real-model.md row 15",
		Handling:  "read as a tool call when the request offered that tool; numeric strings are accepted for integer arguments",
		Test:      "model_text_tool_calls",
		Issue:     "13.6",
	},
	{
		Name:      "stream-no-finish",
		Server:    "Ollama 2024 builds, several proxies",
		Behaviour: `a stream ends with [DONE] but no finish_reason (or finish_reason "")`,
		Evidence:  "ollama/ollama#4357",
		Handling:  `a stream that ends with [DONE] is whole; its finish reason is "unknown"`,
		Test:      "model_stream_no_finish",
		Issue:     "13.10",
	},
	{
		Name:      "llamacpp-stream-error",
		Server:    "llama.cpp (b4747, mid-2025 builds)",
		Behaviour: `a streamed failure is HTTP 200 text/event-stream with a line "error: {…}", then [DONE]`,
		Evidence:  "llama.md finding 3; ggml-org/llama.cpp#14566",
		Handling:  "the error line is read and classified like any error (an overflow shrinks the prompt and retries)",
		Test:      "model_llamacpp_stream_error",
		Issue:     "17.3",
	},
	{
		Name:      "llamacpp-schema-ignored",
		Server:    "llama.cpp b4747",
		Behaviour: "response_format json_schema is silently ignored (HTTP 200, free text); json_object with a schema field is honoured",
		Evidence:  "llama.md finding 9; ggml-org/llama.cpp#11988, fixed by #12168",
		Handling:  "when the server is llama.cpp (it answers /props), the ledger schema is sent as json_object plus schema",
		Test:      "model_llamacpp_schema_ignored",
		Issue:     "17.9",
	},
	{
		Name:      "llamacpp-context-shift",
		Server:    "llama.cpp with context shift on (the default)",
		Behaviour: "an over-long prompt is cut from the front (the task ledger first) and answered 200 with no flag",
		Evidence:  "llama.md finding 12",
		Handling:  "m1 reads n_ctx from /props at start and never sends a prompt the window cannot hold",
		Test:      "model_llamacpp_context_shift",
		Issue:     "17.12, 13.4",
	},
	{
		Name:      "ollama-small-ctx",
		Server:    "Ollama",
		Behaviour: "the OpenAI endpoint ignores num_ctx and silently cuts prompts to the default window (2048 or 4096)",
		Evidence:  "ollama/ollama#5902, #2722, #6026",
		Handling:  "m1 asks /api/show for the window, budgets every prompt by it and warns when it is smaller than a run needs",
		Test:      "model_ollama_small_ctx",
		Issue:     "13.4",
	},
	{
		Name:      "vllm-max-model-len",
		Server:    "vLLM",
		Behaviour: `GET /v1/models lists "max_model_len", the served window`,
		Evidence:  "vLLM OpenAI server",
		Handling:  "the window is read from there when the config does not state it",
		Test:      "model_vllm_max_model_len",
		Issue:     "13.4",
	},
	{
		Name:      "llamacpp-length",
		Server:    "llama.cpp with -n -1 (the default) and small models that never stop",
		Behaviour: `without max_tokens a runaway model generates to the server's limit; a reply cut by a cap ends with finish_reason "length"`,
		Evidence:  "llama.md finding 13",
		Handling:  "every call carries a cap per kind of call (ledger, text, agent, final); a JSON or tool-call reply cut by it is asked again once with more room, and cut tool-call markup is never returned as an answer",
		Test:      "model_llamacpp_length",
		Issue:     "17.13",
	},
	{
		Name:      "llamacpp-one-tool-call",
		Server:    "llama.cpp (parallel_tool_calls defaults to false)",
		Behaviour: "at most one tool call per reply unless the request sends parallel_tool_calls: true",
		Evidence:  "llama.md finding 14",
		Handling:  "parallel_tool_calls: true is sent with tools to servers other than OpenAI and Azure",
		Test:      "model_llamacpp_one_tool_call",
		Issue:     "17.14",
	},
	{
		Name:      "azure-rate-limit",
		Server:    "Azure OpenAI, OpenAI, Gemini",
		Behaviour: `HTTP 429 with retry-after-ms, x-ratelimit-reset-*, a retryDelay in the body or "try again in 20s" in the message`,
		Evidence:  "real-model.md row 11",
		Handling:  "the server's wait is honoured; up to five minutes of 429 waits in all before giving up",
		Test:      "model_azure_rate_limit",
		Issue:     "13.9",
	},
	{
		Name:      "slow-server",
		Server:    "reasoning models at high effort, models served on CPU",
		Behaviour: "one unstreamed answer takes minutes",
		Evidence:  "real-model.md row 5; openai-python's 600 s default",
		Handling:  "600 s per unstreamed attempt (streams bound only idle time); a timed-out call is asked again at most once, and the warning says it may have been billed",
		Test:      "model_slow_server",
		Issue:     "13.5",
	},
	{
		Name:      "azure-entra",
		Server:    "Azure OpenAI with key authentication disabled",
		Behaviour: "only Entra ID bearer tokens are accepted",
		Evidence:  "real-model.md row 17",
		Handling:  "a bearer token from azure_ad_token or AZURE_OPENAI_AD_TOKEN, or from `az account get-access-token` when azure_ad_token_provider is set",
		Test:      "model_azure_entra",
		Issue:     "13.10",
	},
	{
		Name:      "error-snowball",
		Server:    "llama.cpp (errors echo the whole request, screenshots included)",
		Behaviour: "error texts end in \"; messages = [...]\" or carry template source, kilobytes long",
		Evidence:  "llama.md finding 1 (prompts 17 → 95 KB in 3 turns)",
		Handling:  "an error puts one short cause into the thread (no echoed request, no image data); the transcript's error event keeps a bounded copy",
		Test:      "model_error_snowball",
		Issue:     "17.1",
	},
}

// matchQuirk finds the row a refusal belongs to from its status, its
// message and its type or code. Rows are tried in order.
func matchQuirk(status int, msg, typ, code string) *Quirk {
	if status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusNotFound {
		// Key and route problems have words of their own ("content" can
		// appear in anything).
		return nil
	}
	low := strings.ToLower(msg)
	for i := range Quirks {
		q := &Quirks[i]
		if q.step == stepNone {
			continue
		}
		if q.Type != "" && (typ == q.Type || code == q.Type) {
			return q
		}
		for _, s := range q.Says {
			if strings.Contains(low, s) {
				return q
			}
		}
	}
	return nil
}
