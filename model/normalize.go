package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	openai "github.com/sashabaranov/go-openai"
)

// This file is the one place a reply is read into m1's terms, whatever the
// server's dialect: thinking taken out of the content into Reasoning,
// tool-call arguments as a string whether they came as one or as an
// object, content as a string whether it came as one or as typed parts, a
// local id for a call that came without one, tool calls written as text
// by small local models, and a finish reason for a stream that sent none.

// FinishUnknown is the finish reason of a reply whose stream ended
// properly ([DONE]) without saying why (Ollama's 2024 builds, proxies).
const FinishUnknown = "unknown"

// rawReply is a reply as decoded from the wire, before normalising.
type rawReply struct {
	content   string
	reasoning string
	calls     []rawCall
	finish    string
	usage     *wireUsage
	// model and id are the answering model and the reply's id, as the
	// server names them.
	model, id string
	// seen names the rows of Quirks whose reply shapes this reply had,
	// for m1 doctor --probe to report.
	seen []string
}

// saw records that the reply had the shape of the row named q.
func (r *rawReply) saw(q string) {
	if !slices.Contains(r.seen, q) {
		r.seen = append(r.seen, q)
	}
}

type rawCall struct {
	id, name, args string
}

// normalize turns a raw reply into a Response for the request sh.
func normalize(r rawReply, sh *shaped) *Response {
	resp := &Response{FinishReason: r.finish, Model: r.model, ID: r.id}
	content, think := SplitThink(r.content)
	resp.Reasoning = joinNonEmpty(r.reasoning, think)
	if think != "" {
		r.saw("r1-think")
	}
	own := func(name string) string {
		if n, ok := sh.names[name]; ok {
			return n
		}
		return name
	}
	for i, rc := range r.calls {
		id := rc.id
		if id == "" {
			// Gemini's endpoint, LM Studio and llama.cpp send "" (empty-ids);
			// echoed back so, the call has no id at all.
			r.saw("empty-ids")
			id = localID(fmt.Sprint(content, i, rc.name, rc.args))
		}
		resp.ToolCalls = append(resp.ToolCalls, openai.ToolCall{
			ID: id, Type: openai.ToolTypeFunction,
			Function: openai.FunctionCall{Name: own(rc.name), Arguments: rc.args},
		})
	}
	if len(resp.ToolCalls) == 0 && len(sh.offered) > 0 {
		calls, rest, cut := textToolCalls(content, sh.offered, own)
		if len(calls) > 0 || cut {
			if len(calls) > 0 {
				r.saw("text-tool-calls")
			}
			resp.ToolCalls, content = calls, rest
			if len(calls) > 0 && (resp.FinishReason == "stop" || resp.FinishReason == "") {
				resp.FinishReason = string(openai.FinishReasonToolCalls)
			}
		}
	}
	resp.Content = content
	if resp.FinishReason == "" {
		resp.FinishReason = FinishUnknown
	}
	resp.seen = r.seen
	if u := r.usage; u != nil {
		resp.Usage.PromptTokens, resp.Usage.CompletionTokens = u.PromptTokens, u.CompletionTokens
		if u.PromptTokensDetails != nil {
			resp.Usage.CachedPromptTokens = u.PromptTokensDetails.CachedTokens
		}
	}
	return resp
}

// thinkTags are the tags reasoning models wrap their thinking in.
var thinkTags = []string{"think", "thinking"}

// SplitThink takes a leading think block out of content: <think>…</think>
// (DeepSeek-R1 distills, QwQ, Qwen3 without a reasoning parser), a block
// left open (the reply was cut while thinking: all of it is thinking), or
// a closing tag whose opening the chat template wrote into the prompt.
func SplitThink(content string) (rest, think string) {
	trimmed := strings.TrimLeft(content, " \t\r\n")
	for _, tag := range thinkTags {
		open, end := "<"+tag+">", "</"+tag+">"
		if strings.HasPrefix(trimmed, open) {
			body := trimmed[len(open):]
			i := strings.Index(body, end)
			if i < 0 {
				return "", strings.TrimSpace(body)
			}
			return strings.TrimLeft(body[i+len(end):], " \t\r\n"), strings.TrimSpace(body[:i])
		}
		if i := strings.Index(content, end); i >= 0 && !strings.Contains(content[:i], open) {
			return strings.TrimLeft(content[i+len(end):], " \t\r\n"), strings.TrimSpace(content[:i])
		}
	}
	return content, ""
}

func joinNonEmpty(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "\n\n" + b
}

// textToolCalls reads tool calls that a model wrote in its content instead
// of the tool_calls field: Hermes-style <tool_call>{…}</tool_call> blocks,
// Mistral's [TOOL_CALLS][…], or content that is nothing but a call's JSON.
// Only calls of offered tools count, so prose that happens to hold JSON
// stays prose. cut reports markup that a length cap cut off: it is taken
// out of the content, so raw markup never passes for an answer.
func textToolCalls(content string, offered []string, own func(string) string) (calls []openai.ToolCall, rest string, cut bool) {
	add := func(name string, args json.RawMessage) bool {
		name = own(name)
		if !slices.Contains(offered, name) {
			return false
		}
		a := argumentsText(args)
		calls = append(calls, openai.ToolCall{
			ID: localID(fmt.Sprint(content, len(calls), name, a)), Type: openai.ToolTypeFunction,
			Function: openai.FunctionCall{Name: name, Arguments: cmpOr(a, "{}")},
		})
		return true
	}
	if strings.Contains(content, "<tool_call>") {
		var kept strings.Builder
		s := content
		for {
			i := strings.Index(s, "<tool_call>")
			if i < 0 {
				kept.WriteString(s)
				break
			}
			kept.WriteString(s[:i])
			body := s[i+len("<tool_call>"):]
			j := strings.Index(body, "</tool_call>")
			if j >= 0 {
				s = body[j+len("</tool_call>"):]
				body = body[:j]
			} else {
				s = ""
			}
			obj, ok := firstObject(body)
			if !ok {
				cut = true
				continue
			}
			if !addCall(obj, add) {
				kept.WriteString("<tool_call>" + body + "</tool_call>")
			}
		}
		return calls, strings.TrimSpace(kept.String()), cut
	}
	body := strings.TrimSpace(content)
	body = strings.TrimSpace(strings.TrimPrefix(body, "[TOOL_CALLS]"))
	body = stripFence(body)
	if body == "" || (body[0] != '{' && body[0] != '[') {
		return nil, content, false
	}
	var list []json.RawMessage
	if body[0] == '[' {
		if json.Unmarshal([]byte(body), &list) != nil {
			return nil, content, false
		}
	} else {
		list = []json.RawMessage{json.RawMessage(body)}
	}
	for _, raw := range list {
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil || !addCall(obj, add) {
			return nil, content, false
		}
	}
	return calls, "", false
}

// addCall adds the call obj describes: {"name", "arguments" or
// "parameters"}.
func addCall(obj map[string]json.RawMessage, add func(string, json.RawMessage) bool) bool {
	var name string
	if json.Unmarshal(obj["name"], &name) != nil || name == "" {
		return false
	}
	args := obj["arguments"]
	if args == nil {
		args = obj["parameters"]
	}
	return add(name, args)
}

// firstObject decodes the first JSON object in s.
func firstObject(s string) (map[string]json.RawMessage, bool) {
	s = strings.TrimSpace(s)
	i := strings.IndexByte(s, '{')
	if i < 0 {
		return nil, false
	}
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(strings.NewReader(s[i:]))
	if dec.Decode(&obj) != nil {
		return nil, false
	}
	return obj, true
}

// stripFence takes a ```json … ``` fence off s.
func stripFence(s string) string {
	if !strings.HasPrefix(s, "```") {
		return s
	}
	s = strings.TrimPrefix(s, "```")
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "```"))
}

// decodeReply reads a whole (unstreamed) reply body.
func decodeReply(body []byte) (rawReply, error) {
	var r wireResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return rawReply{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if len(r.Error) > 0 && !bytes.Equal(bytes.TrimSpace(r.Error), []byte("null")) {
		return rawReply{}, errorInBody(body)
	}
	if len(r.Choices) == 0 {
		return rawReply{}, fmt.Errorf("%w: reply has no choices", ErrMalformed)
	}
	ch := r.Choices[0]
	for _, c := range r.Choices {
		if c.Index == 0 {
			ch = c
			break
		}
	}
	raw := rawReply{usage: r.Usage, model: r.Model, id: r.ID}
	raw.content, raw.reasoning = contentText(ch.Message.Content)
	raw.sawParts(ch.Message)
	raw.reasoning = joinNonEmpty(joinNonEmpty(ch.Message.ReasoningContent, reasoningText(ch.Message.Reasoning)), raw.reasoning)
	if raw.content == "" && ch.Message.Refusal != "" {
		raw.content = ch.Message.Refusal
	}
	for _, tc := range ch.Message.ToolCalls {
		raw.calls = append(raw.calls, rawCall{id: tc.ID, name: tc.Function.Name, args: argumentsText(tc.Function.Arguments)})
	}
	if ch.FinishReason != nil {
		raw.finish = *ch.FinishReason
	}
	return raw, nil
}

// sawParts records the shapes of a message or stream delta that differ
// from OpenAI's: content as typed parts, thinking in its own field,
// arguments as an object.
func (r *rawReply) sawParts(m wireReplyMsg) {
	if c := bytes.TrimSpace(m.Content); len(c) > 0 && c[0] == '[' {
		r.saw("content-parts")
	}
	if m.ReasoningContent != "" || reasoningText(m.Reasoning) != "" {
		r.saw("reasoning-content")
	}
	for _, tc := range m.ToolCalls {
		if a := bytes.TrimSpace(tc.Function.Arguments); len(a) > 0 && a[0] == '{' {
			r.saw("args-as-object")
		}
	}
}
