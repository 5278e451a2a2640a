package model

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// stream makes one streaming call and assembles the answer. A stream that
// ends without a finish reason was cut off and is an error, so a half
// answer never passes for a whole one.
func (c *client) stream(ctx context.Context, creq openai.ChatCompletionRequest, sink *deltaSink) (*Response, *attemptInfo, error) {
	sink.start()
	creq.Stream = true
	creq.StreamOptions = &openai.StreamOptions{IncludeUsage: true}

	info := &attemptInfo{}
	actx, cancel := context.WithCancelCause(context.WithValue(ctx, attemptKey{}, info))
	defer cancel(nil)
	// The timeout bounds each wait for the next chunk rather than the whole
	// answer.
	idle := time.AfterFunc(c.opts.timeout, func() { cancel(errIdleStream) })
	defer idle.Stop()
	stalled := func(err error) error {
		if ctx.Err() == nil && errors.Is(context.Cause(actx), errIdleStream) {
			return fmt.Errorf("%w: no data for %s", errIdleStream, c.opts.timeout)
		}
		return err
	}

	s, err := c.api.CreateChatCompletionStream(actx, creq)
	if err != nil {
		return nil, info, stalled(err)
	}
	defer s.Close()
	if info.plainBody != nil {
		var r openai.ChatCompletionResponse
		if err := json.Unmarshal(info.plainBody, &r); err != nil {
			return nil, info, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		resp, err := fromCompletion(r)
		if err == nil {
			sink.write(resp.Content)
		}
		return resp, info, err
	}

	var (
		content strings.Builder
		calls   []openai.ToolCall
		usage   *openai.Usage
		finish  openai.FinishReason
	)
	for {
		chunk, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, info, stalled(err)
		}
		idle.Reset(c.opts.timeout)
		if chunk.Usage != nil {
			usage = chunk.Usage
		}
		for _, ch := range chunk.Choices {
			if ch.Index != 0 {
				continue
			}
			if d := ch.Delta.Content; d != "" {
				content.WriteString(d)
				sink.write(d)
			}
			calls = mergeToolCalls(calls, ch.Delta.ToolCalls)
			if ch.FinishReason != "" {
				finish = ch.FinishReason
			}
		}
	}
	if finish == "" {
		return nil, info, errStreamCut
	}
	// Indexes only order the fragments; they do not belong in a message
	// sent back to the model.
	for i := range calls {
		calls[i].Index = nil
	}
	resp := &Response{Content: content.String(), ToolCalls: calls, FinishReason: string(finish)}
	if usage != nil {
		resp.Usage.PromptTokens = usage.PromptTokens
		resp.Usage.CompletionTokens = usage.CompletionTokens
	}
	return resp, info, nil
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
