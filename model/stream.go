package model

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// maxStream bounds the bytes of one streamed reply.
const maxStream = 64 << 20

// readStream reads a server-sent event stream into a raw reply. Besides
// OpenAI's "data:" lines it reads llama.cpp's "error: {…}" line (a failed
// stream is HTTP 200 with that line, then [DONE]; llama.md finding 3), an
// "event: error" followed by its data, and a data chunk that is an error
// body. A stream that ends with [DONE] is whole even without a finish
// reason; one that ends without [DONE] or a finish reason was cut off, so
// half an answer never passes for a whole one.
func (c *client) readStream(body io.Reader, idle *time.Timer, sink *deltaSink) (rawReply, error) {
	if sink != nil {
		sink.start()
	}
	r := bufio.NewReaderSize(io.LimitReader(body, maxStream), 64<<10)
	var (
		raw       rawReply
		content   strings.Builder
		reasoning strings.Builder
		calls     []openai.ToolCall
		done      bool
		nextIsErr bool
		gate      thinkGate
	)
	for !done {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 && idle != nil {
			idle.Reset(c.opts.timeout)
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) > 0 {
			field, value, _ := bytes.Cut(line, []byte(":"))
			value = bytes.TrimSpace(value)
			switch string(field) {
			case "event":
				nextIsErr = string(value) == "error"
			case "error":
				return raw, streamError(value)
			case "data":
				if string(value) == "[DONE]" {
					done = true
					break
				}
				if nextIsErr {
					return raw, streamError(value)
				}
				var chunk wireResponse
				if err := json.Unmarshal(value, &chunk); err != nil {
					return raw, fmt.Errorf("%w: stream chunk: %w", ErrMalformed, err)
				}
				if len(chunk.Error) > 0 && !bytes.Equal(bytes.TrimSpace(chunk.Error), []byte("null")) {
					return raw, streamError(value)
				}
				if chunk.Usage != nil {
					raw.usage = chunk.Usage
				}
				raw.model, raw.id = cmp.Or(chunk.Model, raw.model), cmp.Or(chunk.ID, raw.id)
				for _, ch := range chunk.Choices {
					if ch.Index != 0 {
						continue
					}
					d, th := contentText(ch.Delta.Content)
					raw.sawParts(ch.Delta)
					th = th + ch.Delta.ReasoningContent + reasoningText(ch.Delta.Reasoning)
					reasoning.WriteString(th)
					if d != "" {
						content.WriteString(d)
						if sink != nil {
							gate.feed(sink, content.String())
						}
					}
					for _, tc := range ch.Delta.ToolCalls {
						calls = mergeToolCalls(calls, []openai.ToolCall{{
							Index: tc.Index, ID: tc.ID, Type: openai.ToolType(tc.Type),
							Function: openai.FunctionCall{Name: tc.Function.Name, Arguments: argumentsText(tc.Function.Arguments)},
						}})
					}
					if ch.FinishReason != nil && *ch.FinishReason != "" {
						raw.finish = *ch.FinishReason
					}
				}
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return raw, err
		}
	}
	if !done && raw.finish == "" {
		return raw, errStreamCut
	}
	if raw.finish == "" {
		raw.saw("stream-no-finish")
	}
	raw.content, raw.reasoning = content.String(), reasoning.String()
	for _, tc := range calls {
		raw.calls = append(raw.calls, rawCall{id: tc.ID, name: tc.Function.Name, args: tc.Function.Arguments})
	}
	return raw, nil
}

// streamError reads the payload of an error event: an error object, or a
// body holding one under "error".
func streamError(payload []byte) error {
	var wrapped struct {
		Error json.RawMessage `json:"error"`
	}
	body := payload
	if json.Unmarshal(payload, &wrapped) == nil && len(wrapped.Error) > 0 {
		body = payload
	} else {
		body = append(append([]byte(`{"error":`), payload...), '}')
	}
	e := parseAPIError(200, body)
	e.inStream = true
	var code struct {
		Code any `json:"code"`
	}
	if json.Unmarshal(payload, &code) == nil {
		if n, ok := code.Code.(float64); ok && n >= 400 {
			// llama.cpp says which status it would have sent.
			e.status = int(n)
		}
	}
	return e
}

// thinkGate holds back a leading think block from the streamed preview:
// what the team acts on starts after it (SplitThink does the same to the
// whole reply).
type thinkGate struct{ shown string }

// feed passes to sink what of the content so far may be shown.
func (g *thinkGate) feed(sink *deltaSink, content string) {
	visible := visibleText(content)
	if strings.HasPrefix(visible, g.shown) {
		sink.write(visible[len(g.shown):])
	} else {
		// A closing tag turned what was shown into thinking: the preview
		// starts again.
		sink.start()
		sink.write(visible)
	}
	g.shown = visible
}

// visibleText is the content so far without a leading think block, and
// without a start that may still become one.
func visibleText(content string) string {
	rest, think := SplitThink(content)
	if think == "" && rest == content {
		t := strings.TrimLeft(content, " \t\r\n")
		for _, tag := range thinkTags {
			// "<thi" may become "<think>": wait for more.
			if t != "" && strings.HasPrefix("<"+tag+">", t) {
				return ""
			}
		}
	}
	return rest
}

// mergeToolCalls adds streamed tool call fragments to calls. Fragments
// carry the call's index; servers that omit it send one call at a time, so
// a fragment with a new id starts a call and one without continues the
// last.
func mergeToolCalls(calls []openai.ToolCall, deltas []openai.ToolCall) []openai.ToolCall {
	for _, d := range deltas {
		i := -1
		switch {
		case d.Index != nil:
			for j := range calls {
				if calls[j].Index != nil && *calls[j].Index == *d.Index {
					i = j
				}
			}
		case d.ID == "" && len(calls) > 0:
			i = len(calls) - 1
		}
		if i < 0 {
			calls = append(calls, openai.ToolCall{Index: d.Index, Type: openai.ToolTypeFunction})
			i = len(calls) - 1
		}
		tc := &calls[i]
		if d.ID != "" {
			tc.ID = d.ID
		}
		if d.Type != "" {
			tc.Type = d.Type
		}
		tc.Function.Name += d.Function.Name
		tc.Function.Arguments += d.Function.Arguments
	}
	return calls
}
