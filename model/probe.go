package model

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	openai "github.com/sashabaranov/go-openai"
)

// Capabilities a probe checks.
const (
	ProbeChat       = "chat"
	ProbeRoles      = "role order"
	ProbeJSONSchema = "json_schema"
	ProbeLlamaJSON  = "json_object+schema"
	ProbeJSONObject = "json_object"
	ProbeTools      = "tools"
	ProbeVision     = "image"
	// ProbeStream is a streamed chat, as the Coder streams its replies.
	ProbeStream = "stream"
)

// ProbeResult is what one tiny real request found out about a capability.
type ProbeResult struct {
	// Capability is one of the Probe* names.
	Capability string
	// OK is set when the server accepted the request.
	OK bool
	// Skipped says why the capability was not probed ("" when it was).
	Skipped string
	// Quirk names the row of Quirks that recognised a refusal.
	Quirk string
	// Said is the server's own words when it refused, cut short.
	Said string
	// Status is the HTTP status of a refusal.
	Status int
	// Fallback says what a run does about a refusal.
	Fallback string
	// Fatal is set when a run cannot adapt to the refusal: the capability
	// is lost (tools refused, a used-up quota, nothing left to change).
	Fatal bool
	// Seen names the rows of Quirks whose reply shapes an accepted
	// request's answer had (a think block, arguments as an object, ...),
	// which a run reads as OpenAI's.
	Seen []string
	// Err is a failure that is not a refusal (no answer, a bad key).
	Err error
}

// onePixelPNG is the smallest image a vision probe can send.
const onePixelPNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="

// Probe sends one tiny real request for each capability a run would use
// with c — always a plain chat, and of ProbeRoles (the ledger's role
// order), ProbeJSONSchema (each JSON mode the ledger may step through),
// ProbeTools and ProbeVision those named in want; an image only when the
// model has vision, a tool call only when it calls functions. It reports
// for each whether the server took it, its own words when it did not, and
// which fallback a run would take. It spends a few tokens per request
// (each reply is capped at 16). The client's own capabilities are not
// changed: a run learns them again.
func Probe(ctx context.Context, c Client, want ...string) []ProbeResult {
	cl, ok := c.(*client)
	if !ok {
		return []ProbeResult{{Capability: ProbeChat, Err: errors.New("this client cannot be probed")}}
	}
	cl.discover(ctx)
	p := &prober{c: cl, start: cl.initialCaps()}
	if cl.server.kind == ServerLlamaCpp {
		p.start.llamaSchema, p.start.renameTools = true, true
	}
	wants := func(name string) bool { return slices.Contains(want, name) }
	hi := []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: "Reply with the word ok."}}
	info := cl.ep.Info

	p.probe(ctx, ProbeChat, Request{Messages: hi}, nil)
	if wants(ProbeRoles) {
		// The progress ledger's calls start with the Orchestrator's own
		// turn; agents send a system turn and several user turns.
		r := p.probe(ctx, ProbeRoles, Request{Messages: []openai.ChatCompletionMessage{
			{Role: openai.ChatMessageRoleAssistant, Content: "We are testing the connection."},
			{Role: openai.ChatMessageRoleUser, Content: "Hello."},
			{Role: openai.ChatMessageRoleUser, Content: "Reply with the word ok."},
		}}, func(cp *caps) { cp.alternate = false })
		if !r.OK && r.Quirk != "" {
			p.start.alternate = true // as a run would, from here on
		}
	}
	if wants(ProbeJSONSchema) {
		schema := &openai.ChatCompletionResponseFormat{Type: openai.ChatCompletionResponseFormatTypeJSONSchema,
			JSONSchema: &openai.ChatCompletionResponseFormatJSONSchema{Name: "probe", Strict: true, Schema: json.RawMessage(
				`{"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"],"additionalProperties":false}`)}}
		ask := []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: `Reply with the JSON object {"ok": true}.`}}
		// The ledger's JSON modes, in the order a run steps through them.
		switch {
		case p.start.llamaSchema:
			p.probe(ctx, ProbeLlamaJSON, Request{Messages: ask, ResponseFormat: schema}, func(cp *caps) { cp.ledger = modeJSONObject })
		case info.StructuredOutput:
			p.probe(ctx, ProbeJSONSchema, Request{Messages: ask, ResponseFormat: schema}, func(cp *caps) { cp.ledger = modeSchema })
		default:
			p.skip(ProbeJSONSchema, "model_info says no structured output")
		}
		if info.JSONOutput {
			p.probe(ctx, ProbeJSONObject, Request{Messages: ask, ResponseFormat: schema}, func(cp *caps) { cp.ledger, cp.llamaSchema = modeJSONObject, false })
		} else {
			p.skip(ProbeJSONObject, "model_info says no json output")
		}
	}
	if wants(ProbeStream) {
		p.probeStream(ctx, ProbeStream, Request{Messages: hi})
	}
	if wants(ProbeTools) {
		if info.FunctionCalling {
			// A tool without parameters, as the FileSurfer's page_up is:
			// templates that need "properties" refuse it unless m1 sends
			// them (hermes-null-properties).
			tool := Tool("probe_ok", "Say that the probe worked.", struct{}{})
			call := []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: "Call the tool probe_ok."}}
			p.probe(ctx, ProbeTools, Request{Messages: call, Tools: []openai.Tool{tool}, ToolChoice: "auto"}, nil)
		} else {
			p.skip(ProbeTools, "model_info says no function calling")
		}
	}
	if wants(ProbeVision) {
		if info.Vision {
			img := openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, MultiContent: []openai.ChatMessagePart{
				{Type: openai.ChatMessagePartTypeText, Text: "What colour is this pixel? One word."},
				{Type: openai.ChatMessagePartTypeImageURL, ImageURL: &openai.ChatMessageImageURL{URL: "data:image/png;base64," + onePixelPNG, Detail: openai.ImageURLDetailLow}},
			}}
			p.probe(ctx, ProbeVision, Request{Messages: []openai.ChatCompletionMessage{img}}, nil)
		} else {
			p.skip(ProbeVision, "model_info says no vision")
		}
	}
	return p.out
}

// prober collects one client's probe results.
type prober struct {
	c     *client
	start caps
	out   []ProbeResult
}

func (p *prober) probe(ctx context.Context, name string, req Request, set func(*caps)) ProbeResult {
	cp := p.start
	if set != nil {
		set(&cp)
	}
	r := p.c.probeOne(ctx, name, req, cp, false)
	p.out = append(p.out, r)
	if q := quirkNamed(r.Quirk); q != nil && requestWide(q.step) {
		// Refused for a setting every request carries (max_tokens, a
		// temperature): a run changes it for good, so the probes do too,
		// and this capability is asked again as a run would ask it.
		st := capState{c: p.start}
		if st.stepDown(q, r.Said) != "" {
			p.start = st.c
			return p.probe(ctx, name, req, set)
		}
	}
	return r
}

// requestWide reports whether a step changes a setting of every request,
// not one capability.
func requestWide(s step) bool {
	return s == stepMaxCompletion || s == stepTemperatureOff || s == stepParallelOff
}

// quirkNamed is the row of Quirks named name, or nil.
func quirkNamed(name string) *Quirk {
	for i := range Quirks {
		if Quirks[i].Name == name {
			return &Quirks[i]
		}
	}
	return nil
}

// probeStream probes a streamed call as a run makes it (with
// stream_options where the client sends them), unless the client has
// learnt the server never streams.
func (p *prober) probeStream(ctx context.Context, name string, req Request) {
	if !p.start.stream {
		p.skip(name, "the client does not stream to this server")
		return
	}
	p.out = append(p.out, p.c.probeOne(ctx, name, req, p.start, true))
}

func (p *prober) skip(name, why string) {
	p.out = append(p.out, ProbeResult{Capability: name, Skipped: why})
}

// probeCap is the reply cap of a probe: enough for "ok", or for a
// reasoning model to think a little first.
const probeCap = 16

// probeOne sends req shaped with cp, once, and reads the answer.
func (c *client) probeOne(ctx context.Context, name string, req Request, cp caps, stream bool) ProbeResult {
	r := ProbeResult{Capability: name}
	n := probeCap
	if c.reasoningModel() {
		n *= 64
	}
	sh, err := c.shapeCaps(req, cp, ReplyCaps{Ledger: n, Text: n, Agent: n, Final: n}, 1)
	if err != nil {
		r.Err = err
		return r
	}
	body, err := sh.body(stream, cp)
	if err != nil {
		r.Err = err
		return r
	}
	resp, err := c.attempt(ctx, sh, body, stream, nil)
	if err == nil {
		r.OK, r.Seen = true, resp.seen
		if resp.FinishReason == finishLength {
			r.Seen = append(r.Seen, "llamacpp-length")
		}
		return r
	}
	e := c.classify(err)
	e.Attempts = 1
	if e.rateLimit {
		// A run waits as the server says; the probe does not.
		r.Quirk, r.Said, r.Status = "azure-rate-limit", e.Said(), e.StatusCode
		r.Fallback = "a run waits as long as the server asks (up to five minutes of waits in all) and sends it again"
		if e.wait > 0 {
			r.Fallback = fmt.Sprintf("a run waits the %s the server asks (up to five minutes of waits in all) and sends it again", e.wait)
		}
		return r
	}
	if e.quirk == nil {
		r.Err = e
		return r
	}
	r.Quirk, r.Said, r.Status = e.quirk.Name, e.Said(), e.StatusCode
	r.Fallback = probeFallback(name, e.quirk)
	r.Fatal = e.quirk.step == stepToolsOff || e.quirk.step == stepQuota || e.quirk.step == stepFinal
	return r
}

// SeenNote says how a run reads a reply shape that differs from OpenAI's,
// named by its row of Quirks.
func SeenNote(quirk string) string {
	if q := quirkNamed(quirk); q != nil {
		return q.Handling
	}
	return ""
}

// probeFallback says what a run does when a capability is refused.
func probeFallback(capability string, q *Quirk) string {
	switch q.step {
	case stepToolsOff:
		return "an agent that needs tools is taken off the team"
	case stepContext:
		return "prompts are shrunk and sent again"
	case stepQuota:
		return "the run stops: this is a billing limit"
	case stepContentFilter:
		return "the ledger is asked again with the latest message cut"
	case stepFinal:
		return "none: the run fails at that call (" + q.Handling + ")"
	}
	switch capability {
	case ProbeJSONSchema, ProbeLlamaJSON:
		return "a run asks for the ledger with the next JSON mode"
	case ProbeJSONObject:
		if q.step == stepJSONObjectOff {
			return "a run asks for the ledger with json_schema if the server names it, else by the prompt alone"
		}
		return "a run asks for the ledger by the prompt alone"
	case ProbeVision:
		return "a run turns vision off for this model and sends text only"
	case ProbeStream:
		if q.step == stepStreamOptionsOff {
			return "a run streams without stream_options (usage is then estimated)"
		}
		return "a run turns streaming off for this model"
	case ProbeRoles:
		return "a run merges same-role turns and starts with a user turn"
	}
	return fmt.Sprintf("a run adapts: %s", q.Handling)
}
