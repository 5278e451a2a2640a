package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	openai "github.com/sashabaranov/go-openai"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/semconv/v1.41.0/genaiconv"
	"go.opentelemetry.io/otel/trace"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/model"
)

// ClientInfo describes a model client for its spans.
type ClientInfo struct {
	// Agent is the agent the client serves ("Orchestrator", "Coder", ...).
	Agent string
	// Provider is the endpoint's model.Provider* value.
	Provider string
	// BaseURL is the server's base URL; server.address and server.port
	// come from it.
	BaseURL string
	// Price, when set, gives the cost of a call's usage in US dollars;
	// false when the config gives no prices.
	Price func(agent.Usage) (float64, bool)
}

// Client returns c wrapped so that each call is a span following the GenAI
// semantic conventions ("chat MODEL") and feeds the token, duration and
// cost metrics. With p nil it returns c itself.
func (p *Provider) Client(c model.Client, info ClientInfo) model.Client {
	if p == nil {
		return c
	}
	provider := genaiconv.ProviderNameOpenAI
	if info.Provider == model.ProviderAzure {
		provider = genaiconv.ProviderNameAzureAIOpenAI
	}
	tc := &tracedClient{Client: c, p: p, info: info, provider: provider, model: c.Info().Model}
	tc.server = []attribute.KeyValue{}
	if u, err := url.Parse(info.BaseURL); err == nil && u.Host != "" {
		tc.server = append(tc.server, semconv.ServerAddress(u.Hostname()))
		if port := u.Port(); port != "" {
			n, _ := strconv.Atoi(port)
			tc.server = append(tc.server, semconv.ServerPort(n))
		} else if u.Scheme == "https" {
			tc.server = append(tc.server, semconv.ServerPort(443))
		} else {
			tc.server = append(tc.server, semconv.ServerPort(80))
		}
	}
	return tc
}

type tracedClient struct {
	model.Client
	p        *Provider
	info     ClientInfo
	provider genaiconv.ProviderNameAttr
	model    string
	server   []attribute.KeyValue

	// The attribute sets of the metrics, by response model: made once,
	// since building a set sorts and allocates on every call otherwise.
	mu   sync.Mutex
	sets map[string]*callSets
}

// callSets are the metric attributes of a successful call.
type callSets struct {
	base, duration, input, output attribute.Set
}

func (c *tracedClient) setsFor(respModel string) *callSets {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cs, ok := c.sets[respModel]; ok {
		return cs
	}
	base := append([]attribute.KeyValue{
		semconv.GenAIRequestModel(c.model), semconv.GenAIResponseModel(respModel), semconv.GenAIAgentName(c.info.Agent),
		semconv.GenAIProviderNameKey.String(string(c.provider)),
	}, c.server...)
	with := func(kv ...attribute.KeyValue) attribute.Set {
		return attribute.NewSet(append(append([]attribute.KeyValue{}, base...), kv...)...)
	}
	cs := &callSets{
		base:     attribute.NewSet(base...),
		duration: with(semconv.GenAIOperationNameChat),
		input:    with(semconv.GenAIOperationNameChat, semconv.GenAITokenTypeInput),
		output:   with(semconv.GenAIOperationNameChat, semconv.GenAITokenTypeOutput),
	}
	if c.sets == nil {
		c.sets = map[string]*callSets{}
	}
	c.sets[respModel] = cs
	return cs
}

// Complete implements model.Client.
func (c *tracedClient) Complete(ctx context.Context, req model.Request) (*model.Response, error) {
	start := time.Now()
	attrs := make([]attribute.KeyValue, 0, 12)
	attrs = append(attrs,
		semconv.GenAIOperationNameChat,
		semconv.GenAIProviderNameKey.String(string(c.provider)),
		semconv.GenAIRequestModel(c.model),
		semconv.GenAIAgentName(c.info.Agent),
		semconv.GenAIRequestStream(req.OnDelta != nil),
		semconv.GenAIOutputTypeKey.String(outputType(req)),
	)
	attrs = append(attrs, c.server...)
	if id := sessionID(ctx); id != "" {
		attrs = append(attrs, semconv.GenAIConversationID(id))
	}
	if c.p.content {
		attrs = append(attrs, semconv.GenAIInputMessagesKey.String(inputMessages(req.Messages)))
	}
	ctx, span := c.p.tracer.Start(ctx, "chat "+c.model, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	defer span.End()

	resp, err := c.Client.Complete(ctx, req)
	secs := time.Since(start).Seconds()
	if err != nil {
		et := errorType(err)
		span.SetAttributes(semconv.ErrorTypeKey.String(et))
		span.SetStatus(codes.Error, err.Error())
		c.p.inst.callDuration.Record(ctx, secs, genaiconv.OperationNameChat, c.provider,
			append([]attribute.KeyValue{semconv.GenAIRequestModel(c.model), semconv.GenAIAgentName(c.info.Agent),
				semconv.ErrorTypeKey.String(et)}, c.server...)...)
		return resp, err
	}

	respModel := resp.Model
	if respModel == "" {
		respModel = c.model
	}
	// One SetAttributes call: each call grows the span's attribute slice.
	end := make([]attribute.KeyValue, 0, 8)
	end = append(end,
		semconv.GenAIResponseModel(respModel),
		semconv.GenAIUsageInputTokens(resp.Usage.PromptTokens),
		semconv.GenAIUsageOutputTokens(resp.Usage.CompletionTokens),
		AttrCached.Bool(resp.Cached),
	)
	if resp.FinishReason != "" {
		end = append(end, semconv.GenAIResponseFinishReasons(resp.FinishReason))
	}
	if resp.ID != "" {
		end = append(end, semconv.GenAIResponseID(resp.ID))
	}
	if c.p.content {
		end = append(end, semconv.GenAIOutputMessagesKey.String(outputMessages(resp)))
	}
	sets := c.setsFor(respModel)
	c.p.inst.callDuration.RecordSet(ctx, secs, sets.duration)
	c.p.inst.tokens.RecordSet(ctx, int64(resp.Usage.PromptTokens), sets.input)
	c.p.inst.tokens.RecordSet(ctx, int64(resp.Usage.CompletionTokens), sets.output)
	if c.info.Price != nil && !resp.Cached {
		if usd, ok := c.info.Price(resp.Usage); ok {
			end = append(end, AttrCostUSD.Float64(usd))
			c.p.inst.cost.Add(ctx, usd, metric.WithAttributeSet(sets.base))
		}
	}
	span.SetAttributes(end...)
	return resp, nil
}

func outputType(req model.Request) string {
	if req.ResponseFormat != nil && req.ResponseFormat.Type != openai.ChatCompletionResponseFormatTypeText {
		return "json"
	}
	return "text"
}

// errorType is the error.type of a failed call or step: low-cardinality
// words, as the semantic conventions ask.
func errorType(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, model.ErrAuth):
		return "authentication_failed"
	case errors.Is(err, model.ErrModelNotFound):
		return "model_not_found"
	case errors.Is(err, model.ErrContextLength):
		return "context_length_exceeded"
	case errors.Is(err, model.ErrMalformed):
		return "malformed_reply"
	case errors.Is(err, model.ErrUnavailable):
		return "unavailable"
	}
	var me *model.Error
	if errors.As(err, &me) && me.StatusCode != 0 {
		return strconv.Itoa(me.StatusCode)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return semconv.ErrorTypeOther.Value.AsString()
}

// The shapes of gen_ai.input.messages and gen_ai.output.messages.
type (
	genaiMessage struct {
		Role         string      `json:"role"`
		Parts        []genaiPart `json:"parts"`
		FinishReason string      `json:"finish_reason,omitempty"`
	}
	genaiPart struct {
		Type      string          `json:"type"`
		Content   string          `json:"content,omitempty"`
		Modality  string          `json:"modality,omitempty"`
		URI       string          `json:"uri,omitempty"`
		ID        string          `json:"id,omitempty"`
		Name      string          `json:"name,omitempty"`
		Arguments json.RawMessage `json:"arguments,omitempty"`
		Response  string          `json:"response,omitempty"`
	}
)

// inputMessages renders a request's messages as gen_ai.input.messages.
// Images are named, not included: a screenshot is megabytes.
func inputMessages(msgs []openai.ChatCompletionMessage) string {
	out := make([]genaiMessage, 0, len(msgs))
	for _, m := range msgs {
		gm := genaiMessage{Role: m.Role}
		if m.Role == openai.ChatMessageRoleTool {
			gm.Parts = append(gm.Parts, genaiPart{Type: "tool_call_response", ID: m.ToolCallID, Response: m.Content})
			out = append(out, gm)
			continue
		}
		if m.Content != "" {
			gm.Parts = append(gm.Parts, genaiPart{Type: "text", Content: m.Content})
		}
		for _, part := range m.MultiContent {
			switch part.Type {
			case openai.ChatMessagePartTypeText:
				gm.Parts = append(gm.Parts, genaiPart{Type: "text", Content: part.Text})
			case openai.ChatMessagePartTypeImageURL:
				uri := "(image data not exported)"
				if part.ImageURL != nil && !strings.HasPrefix(part.ImageURL.URL, "data:") {
					uri = part.ImageURL.URL
				}
				gm.Parts = append(gm.Parts, genaiPart{Type: "uri", Modality: "image", URI: uri})
			}
		}
		gm.Parts = append(gm.Parts, toolCallParts(m.ToolCalls)...)
		out = append(out, gm)
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// outputMessages renders a reply as gen_ai.output.messages.
func outputMessages(r *model.Response) string {
	gm := genaiMessage{Role: openai.ChatMessageRoleAssistant, FinishReason: r.FinishReason}
	if r.Content != "" {
		gm.Parts = append(gm.Parts, genaiPart{Type: "text", Content: r.Content})
	}
	gm.Parts = append(gm.Parts, toolCallParts(r.ToolCalls)...)
	b, _ := json.Marshal([]genaiMessage{gm})
	return string(b)
}

func toolCallParts(calls []openai.ToolCall) []genaiPart {
	var out []genaiPart
	for _, tc := range calls {
		p := genaiPart{Type: "tool_call", ID: tc.ID, Name: tc.Function.Name}
		if json.Valid([]byte(tc.Function.Arguments)) {
			p.Arguments = json.RawMessage(tc.Function.Arguments)
		} else if tc.Function.Arguments != "" {
			p.Arguments, _ = json.Marshal(tc.Function.Arguments)
		}
		out = append(out, p)
	}
	return out
}
