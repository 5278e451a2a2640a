package model

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"

	openai "github.com/sashabaranov/go-openai"
)

// This file is the one place a request is shaped for the endpoint it goes
// to. Agents and the Orchestrator build go-openai messages as OpenAI reads
// them; what a server needs beyond that (roles that alternate, `content: ""`
// on tool-call turns, `properties: {}`, ids of 9 alphanumerics, a reply
// cap, the ledger's JSON mode, images on or off, parallel_tool_calls,
// llama.cpp's json_object plus schema) is decided here from the endpoint's
// caps, and nowhere else.

// ImageOmitted replaces an image in a prompt for a model that takes none.
const ImageOmitted = "[image omitted: this model does not take images]"

// shaped is a request as it goes on the wire, and what is needed to read
// its reply in the request's own terms.
type shaped struct {
	wire *wireRequest
	// names maps a tool's wire name back to its own.
	names map[string]string
	// offered are the tools' own names.
	offered []string
	// promptTokens is the estimate the cap was fitted to.
	promptTokens int
	// maxTokens is the cap sent.
	maxTokens int
}

// reservedTools are tool names that chat templates treat as their model's
// built-in tools: llama.cpp's Llama 3.1 handler refuses any other
// parameters for them ("Parameters of tool web_search must only have these
// properties:query", llama.md finding 10).
var reservedTools = map[string]string{
	"web_search":       "search_the_web",
	"brave_search":     "search_brave",
	"wolfram_alpha":    "ask_wolfram_alpha",
	"code_interpreter": "run_code_interpreter",
	"python":           "run_python",
}

// shape builds the wire request for req from the endpoint's caps, with
// the reply cap multiplied by scale. It
// fails with an ErrContextLength *Error, before anything is sent, when the
// prompt cannot fit the window the endpoint is known to hold: llama.cpp
// with context shift would otherwise cut it from the front and answer as
// if nothing happened (llama.md finding 12).
func (c *client) shape(req Request, cp caps, scale int) (*shaped, error) {
	return c.shapeCaps(req, cp, c.opts.caps, scale)
}

// shapeCaps is shape with reply caps of its own.
func (c *client) shapeCaps(req Request, cp caps, rc ReplyCaps, scale int) (*shaped, error) {
	s := &shaped{names: map[string]string{}}
	wire := func(name string) string {
		if cp.renameTools {
			if w, ok := reservedTools[name]; ok {
				s.names[w] = name
				return w
			}
		}
		return name
	}
	ids := func(id string) string {
		if cp.nineCharIDs {
			return nineChar(id)
		}
		return id
	}

	msgs := make([]wireMessage, 0, len(req.Messages))
	var lastCalls []openai.ToolCall // of the latest assistant turn, to pair ids
	toolIdx := 0
	for i, m := range req.Messages {
		wm := wireMessage{Role: m.Role, Name: m.Name}
		switch {
		case len(m.MultiContent) > 0:
			wm.Content = parts(m.MultiContent, cp.vision)
		default:
			wm.Content = m.Content
		}
		if len(m.ToolCalls) > 0 {
			lastCalls, toolIdx = m.ToolCalls, 0
			for j, tc := range m.ToolCalls {
				id := tc.ID
				if id == "" {
					id = localID(fmt.Sprint(i, j, tc.Function.Name, tc.Function.Arguments))
					lastCalls[j].ID = id
				}
				wm.ToolCalls = append(wm.ToolCalls, wireToolCall{
					ID: ids(id), Type: "function",
					Function: wireFunction{Name: wire(tc.Function.Name), Arguments: cmpOr(tc.Function.Arguments, "{}")},
				})
			}
		}
		if m.Role == openai.ChatMessageRoleTool {
			id := m.ToolCallID
			if id == "" && toolIdx < len(lastCalls) {
				id = lastCalls[toolIdx].ID
			}
			toolIdx++
			wm.ToolCallID = ids(id)
			if wm.Name != "" {
				wm.Name = wire(wm.Name)
			}
		}
		msgs = append(msgs, wm)
	}
	if cp.alternate {
		msgs = alternate(msgs)
	}

	w := &wireRequest{Model: c.ep.Model, Messages: msgs}
	for _, t := range req.Tools {
		if t.Function == nil {
			continue
		}
		s.offered = append(s.offered, t.Function.Name)
		w.Tools = append(w.Tools, wireTool{Type: "function", Function: wireFunctionDef{
			Name: wire(t.Function.Name), Description: t.Function.Description,
			Parameters: objectSchema(t.Function.Parameters), Strict: t.Function.Strict,
		}})
	}
	if len(w.Tools) > 0 {
		w.ToolChoice = toolChoice(req.ToolChoice, wire)
		switch {
		case cp.noParallel:
		case req.ParallelToolCalls != nil:
			w.ParallelToolCalls = req.ParallelToolCalls
		case cp.parallel:
			// Not for OpenAI's own API, whose default is several already.
			on := true
			w.ParallelToolCalls = &on
		}
	}
	if rf := req.ResponseFormat; rf != nil {
		w.ResponseFormat = responseFormat(rf, cp)
	}

	set := c.opts.settings
	if cp.temperature && set.Temperature != nil {
		w.Temperature = set.Temperature
	}
	w.TopP, w.Seed, w.ReasoningEffort = set.TopP, set.Seed, set.ReasoningEffort
	if len(set.ExtraBody) > 0 {
		w.Extra = set.ExtraBody
	}

	// The cap, fitted to what the window leaves.
	s.promptTokens = estimateWire(w)
	want := rc.For(req.Kind, c.reasoningModel()) * max(1, scale)
	window := c.window()
	if window > 0 {
		room := window - s.promptTokens
		if room < minReplyRoom {
			return nil, c.tooLong(s.promptTokens, window)
		}
		want = min(want, room)
	}
	s.maxTokens = want
	if cp.maxCompletion {
		w.MaxCompletionTokens = want
	} else {
		w.MaxTokens = want
	}
	s.wire = w
	return s, nil
}

// minReplyRoom is the least room a prompt must leave for the reply.
const minReplyRoom = 256

// tooLong is the error for a prompt the window cannot hold; nothing was
// sent.
func (c *client) tooLong(prompt, window int) *Error {
	return &Error{
		Endpoint: c.ep.String(), Kind: ErrContextLength, Quirk: "llamacpp-context-shift",
		detail: fmt.Sprintf("the prompt is about %d tokens and the model's window holds %d (%s); it was not sent", prompt, window, c.windowSource()),
		hint:   "shorten the conversation or use a model with a larger context window",
	}
}

// parts turns message parts into wire parts; without vision an image
// becomes a line of text, and a message of text alone becomes a string.
func parts(ps []openai.ChatMessagePart, vision bool) any {
	var out []wirePart
	var text []string
	images := false
	for _, p := range ps {
		switch p.Type {
		case openai.ChatMessagePartTypeImageURL:
			if !vision || p.ImageURL == nil {
				text = append(text, ImageOmitted)
				out = append(out, wirePart{Type: "text", Text: ImageOmitted})
				continue
			}
			images = true
			out = append(out, wirePart{Type: "image_url", ImageURL: &wireImageURL{URL: p.ImageURL.URL, Detail: string(p.ImageURL.Detail)}})
		default:
			text = append(text, p.Text)
			out = append(out, wirePart{Type: "text", Text: p.Text})
		}
	}
	if !images {
		return strings.Join(text, "\n")
	}
	return out
}

// alternate merges consecutive turns of one role and makes the first turn
// after the system message a user turn, as Gemma's and Mistral's templates
// require ("Conversation roles must alternate user/assistant/..."). A user
// turn right after a tool result is folded into that result, since the
// result stands in the user's place. Merged text keeps every part, one
// blank line apart; images of a folded turn become a line of text, since
// a tool result holds text only.
func alternate(msgs []wireMessage) []wireMessage {
	out := make([]wireMessage, 0, len(msgs))
	for _, m := range msgs {
		if m.Role == openai.ChatMessageRoleSystem && len(out) == 0 {
			out = append(out, m)
			continue
		}
		if m.Role == openai.ChatMessageRoleSystem || m.Role == openai.ChatMessageRoleDeveloper {
			// A later system message reads as the user's.
			m.Role = openai.ChatMessageRoleUser
		}
		first := len(out) == 0 || (len(out) == 1 && out[0].Role == openai.ChatMessageRoleSystem)
		if first && m.Role == openai.ChatMessageRoleAssistant && len(m.ToolCalls) == 0 {
			m.Role = openai.ChatMessageRoleUser
		}
		if len(out) > 0 {
			prev := &out[len(out)-1]
			switch {
			case prev.Role == m.Role && m.Role == openai.ChatMessageRoleUser,
				prev.Role == m.Role && m.Role == openai.ChatMessageRoleAssistant && len(prev.ToolCalls) == 0 && len(m.ToolCalls) == 0:
				prev.Content = joinContent(prev.Content, m.Content)
				continue
			case prev.Role == openai.ChatMessageRoleTool && m.Role == openai.ChatMessageRoleUser:
				prev.Content = joinContent(textOnly(prev.Content), textOnly(m.Content))
				continue
			}
		}
		out = append(out, m)
	}
	return out
}

// joinContent joins two contents, keeping parts when either has images.
func joinContent(a, b any) any {
	as, aok := a.(string)
	bs, bok := b.(string)
	if aok && bok {
		switch {
		case as == "":
			return bs
		case bs == "":
			return as
		}
		return as + "\n\n" + bs
	}
	return append(asParts(a), append([]wirePart{{Type: "text", Text: "\n\n"}}, asParts(b)...)...)
}

func asParts(c any) []wirePart {
	switch v := c.(type) {
	case string:
		return []wirePart{{Type: "text", Text: v}}
	case []wirePart:
		return v
	}
	return nil
}

// textOnly is c as a string, images as a line of text.
func textOnly(c any) string {
	if s, ok := c.(string); ok {
		return s
	}
	var b []string
	for _, p := range asParts(c) {
		if p.Type == "image_url" {
			b = append(b, ImageOmitted)
			continue
		}
		b = append(b, p.Text)
	}
	return strings.Join(b, "\n")
}

// objectSchema returns a tool's parameters as a JSON object that always
// has "properties": Hermes-2-Pro, Hermes-3 and Command-R+ templates
// iterate over it and fail on a tool without parameters ("Value is not an
// array or object: null", llama.md finding 6).
func objectSchema(params any) any {
	var m map[string]any
	if params != nil {
		b, err := json.Marshal(params)
		if err != nil || json.Unmarshal(b, &m) != nil {
			return params
		}
	}
	if m == nil {
		m = map[string]any{"type": "object"}
	}
	if t, _ := m["type"].(string); t == "" || t == "object" {
		m["type"] = "object"
		if p, ok := m["properties"]; !ok || p == nil {
			m["properties"] = map[string]any{}
		}
	}
	return m
}

// toolChoice renames a named tool choice for the wire.
func toolChoice(choice any, wire func(string) string) any {
	switch v := choice.(type) {
	case openai.ToolChoice:
		v.Function.Name = wire(v.Function.Name)
		return v
	case *openai.ToolChoice:
		if v == nil {
			return nil
		}
		c := *v
		c.Function.Name = wire(c.Function.Name)
		return c
	}
	return choice
}

// responseFormat sends a request for JSON the way the endpoint takes it.
// A schema goes as json_schema, or as llama.cpp's own json_object plus
// schema where json_schema is silently ignored (llama.md finding 9), or
// steps down to json_object or to the prompt alone.
func responseFormat(rf *openai.ChatCompletionResponseFormat, cp caps) map[string]any {
	switch rf.Type {
	case openai.ChatCompletionResponseFormatTypeJSONSchema:
		if rf.JSONSchema == nil {
			break
		}
		switch {
		case cp.llamaSchema && cp.ledger != modePlain:
			return map[string]any{"type": "json_object", "schema": rf.JSONSchema.Schema}
		case cp.ledger == modeSchema:
			js := map[string]any{"name": rf.JSONSchema.Name, "schema": rf.JSONSchema.Schema}
			if rf.JSONSchema.Strict {
				js["strict"] = true
			}
			if rf.JSONSchema.Description != "" {
				js["description"] = rf.JSONSchema.Description
			}
			return map[string]any{"type": "json_schema", "json_schema": js}
		case cp.ledger == modeJSONObject:
			return map[string]any{"type": "json_object"}
		}
		return nil
	case openai.ChatCompletionResponseFormatTypeJSONObject:
		if cp.jsonObject && cp.ledger != modePlain {
			return map[string]any{"type": "json_object"}
		}
		return nil
	case openai.ChatCompletionResponseFormatTypeText, "":
		return nil
	}
	return map[string]any{"type": string(rf.Type)}
}

// localID makes a tool-call id from seed: 9 alphanumerics, which every
// template accepts (Mistral's demand exactly that), the same for the same
// seed so a rerun's requests, and so the cache, stay the same.
func localID(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return base62(sum[:], 9)
}

// nineChar maps an id one to one onto 9 alphanumerics ("Tool call IDs
// should be alphanumeric strings with length 9!"); an id that is already
// so is kept.
func nineChar(id string) string {
	if len(id) == 9 && isAlnum(id) {
		return id
	}
	return localID("id:" + id)
}

func isAlnum(s string) bool {
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func base62(b []byte, n int) string {
	v := new(big.Int).SetBytes(b)
	base := big.NewInt(62)
	out := make([]byte, n)
	mod := new(big.Int)
	for i := range out {
		v.DivMod(v, base, mod)
		out[i] = alphabet[mod.Int64()]
	}
	return string(out)
}

func cmpOr(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

// estimateWire estimates a wire request's prompt tokens: its text, tool
// calls and tool definitions at about four characters a token, and a
// fixed allowance per image.
func estimateWire(w *wireRequest) int {
	n := 0
	images := 0
	for _, m := range w.Messages {
		switch c := m.Content.(type) {
		case string:
			n += len(c)
		case []wirePart:
			for _, p := range c {
				if p.Type == "image_url" {
					images++
					continue
				}
				n += len(p.Text)
			}
		}
		for _, tc := range m.ToolCalls {
			n += len(tc.Function.Name) + len(tc.Function.Arguments)
		}
	}
	for _, t := range w.Tools {
		if b, err := json.Marshal(t); err == nil {
			n += len(b)
		}
	}
	return approxTokens(n) + images*ImageTokens
}
