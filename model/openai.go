package model

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Providers an Endpoint may name.
const (
	ProviderOpenAI = "openai"
	ProviderAzure  = "azure"
)

// DefaultBaseURL is OpenAI's own API.
const DefaultBaseURL = "https://api.openai.com/v1"

// Endpoint says where a model is served and how to reach it.
type Endpoint struct {
	// Provider is ProviderOpenAI (any OpenAI-compatible server, the
	// default) or ProviderAzure.
	Provider string
	Model    string
	// BaseURL defaults to DefaultBaseURL; for Azure it is the resource
	// endpoint (https://NAME.openai.azure.com/).
	BaseURL string
	APIKey  string
	// APIVersion is Azure's api-version.
	APIVersion string
	// AzureDeployment is the Azure deployment name; empty derives it from
	// Model as AutoGen and go-openai do.
	AzureDeployment string
	Info            Info
	// InfoStated says which of Info's fields the config stated rather
	// than m1 assumed from the model's name, for doctor's report.
	InfoStated []string
	// Role is the team role this endpoint serves ("coder", ...), for
	// messages only.
	Role string
}

// String names the endpoint for messages: model and base URL, never the
// key.
func (e Endpoint) String() string {
	base := e.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	if u, err := url.Parse(base); err == nil {
		base = u.Redacted()
	}
	if e.Provider == ProviderAzure && e.AzureDeployment != "" {
		return fmt.Sprintf("%s (azure deployment %s) at %s", e.Model, e.AzureDeployment, base)
	}
	return fmt.Sprintf("%s at %s", e.Model, base)
}

// GoString keeps %#v from printing the key.
func (e Endpoint) GoString() string { return "model.Endpoint{" + e.String() + "}" }

// Defaults of the client's options.
const (
	DefaultMaxRetries = 5
	DefaultBackoff    = time.Second
	DefaultMaxBackoff = 30 * time.Second
	// DefaultTimeout bounds one unstreamed attempt, as openai-python
	// (which AutoGen uses) does: reasoning models at high effort and
	// models served on CPU often need minutes for one answer. A stream is
	// bounded by its idle time instead.
	DefaultTimeout = 600 * time.Second
	// MaxRetryAfter caps how long one wait a server asks for may be.
	MaxRetryAfter = 5 * time.Minute
	// DefaultRateLimitWait is how long a call may spend in all waiting out
	// HTTP 429s before it gives up; tier-1 token limits often need close
	// to a minute per wait.
	DefaultRateLimitWait = 5 * time.Minute
)

// Option configures a client made by New.
type Option func(*options)

type options struct {
	maxRetries    int
	backoff       time.Duration
	maxBackoff    time.Duration
	timeout       time.Duration
	rateLimitWait time.Duration
	cacheDir      string
	transport     http.RoundTripper
	sleep         func(context.Context, time.Duration) error
	onRetry       func(Retry)
	onStepDown    func(StepDown)
	settings      Settings
	caps          ReplyCaps
	token         TokenSource
	mergeRoles    bool
	noDiscovery   bool
	shared        *Endpoints
}

// Retry describes a failed attempt that is about to be retried.
type Retry struct {
	// Attempt counts from 1.
	Attempt int
	// Wait is how long the client sleeps before the next attempt.
	Wait time.Duration
	// Err is what went wrong; its text never holds the API key.
	Err error
	// Note says what a user should know about the retry, e.g. that an
	// abandoned call may still be billed; often empty.
	Note string
}

// WithMaxRetries sets how many times a failed call is retried (default
// DefaultMaxRetries). Waits for HTTP 429 are bounded by
// WithRateLimitWait instead.
func WithMaxRetries(n int) Option { return func(o *options) { o.maxRetries = max(0, n) } }

// WithBackoff sets the first retry's wait and the cap of the exponential
// backoff (defaults DefaultBackoff and DefaultMaxBackoff).
func WithBackoff(base, maxWait time.Duration) Option {
	return func(o *options) { o.backoff, o.maxBackoff = base, maxWait }
}

// WithTimeout sets how long one attempt may take before it counts as a
// timeout (default DefaultTimeout). For a stream it bounds the wait for
// each chunk, so a long answer that keeps flowing is fine. A timed-out
// call is asked again at most once, since the abandoned one may still be
// generated and billed.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithRateLimitWait bounds the total time one call waits out HTTP 429s
// (default DefaultRateLimitWait).
func WithRateLimitWait(d time.Duration) Option { return func(o *options) { o.rateLimitWait = d } }

// WithCache keeps responses in dir, keyed by the request, and answers a
// repeated request from there without calling the server.
func WithCache(dir string) Option { return func(o *options) { o.cacheDir = dir } }

// WithTransport sets the HTTP transport (default http.DefaultTransport).
func WithTransport(rt http.RoundTripper) Option { return func(o *options) { o.transport = rt } }

// WithSleep replaces the wait between retries, for tests that check the
// waits without spending them. sleep must return ctx's error when ctx ends.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(o *options) { o.sleep = sleep }
}

// WithOnRetry calls f before each retry, e.g. to tell the user.
func WithOnRetry(f func(Retry)) Option { return func(o *options) { o.onRetry = f } }

// WithOnStepDown calls f once for each capability the endpoint turns out
// not to have, when the client learns it from a refusal.
func WithOnStepDown(f func(StepDown)) Option { return func(o *options) { o.onStepDown = f } }

// WithSettings sets the per-call settings a config may carry
// (temperature, seed, reasoning effort, extra body).
func WithSettings(s Settings) Option { return func(o *options) { o.settings = s } }

// WithReplyCaps sets the reply caps per kind of call (default
// DefaultReplyCaps).
func WithReplyCaps(c ReplyCaps) Option { return func(o *options) { o.caps = c } }

// WithTokenSource authenticates with a bearer token from ts instead of the
// endpoint's key, as Azure's Entra ID needs.
func WithTokenSource(ts TokenSource) Option { return func(o *options) { o.token = ts } }

// WithMergedRoles makes the client merge same-role turns and start every
// prompt with a user turn from the first call, rather than after the
// first refusal that asks for it.
func WithMergedRoles(on bool) Option { return func(o *options) { o.mergeRoles = on } }

// WithoutDiscovery stops the client from asking the server for its
// context window (llama.cpp /props, Ollama /api/show, vLLM /models).
func WithoutDiscovery() Option { return func(o *options) { o.noDiscovery = true } }

// Settings are per-call settings from a client's config. Nil and empty
// fields are not sent.
type Settings struct {
	Temperature *float64
	TopP        *float64
	Seed        *int
	// ReasoningEffort is sent as reasoning_effort (o-series, gpt-5).
	ReasoningEffort string
	// ExtraBody is merged into every request body, over m1's own keys
	// (chat_template_kwargs for vLLM, reasoning_format for Groq, ...).
	ExtraBody map[string]any
}

// CallKind says what a call is for, which sets the cap on its reply.
type CallKind int

// Kinds of calls. The zero value is an agent's call.
const (
	CallAgent  CallKind = iota // an agent's step
	CallLedger                 // the progress ledger
	CallText                   // facts and plans
	CallFinal                  // the final answer
)

// ReplyCaps are the most tokens a reply may have, per kind of call. Every
// call carries a cap, so a runaway model stops at it rather than at the
// server's own limit (llama.cpp's default is none).
type ReplyCaps struct {
	Ledger, Text, Agent, Final int
}

// DefaultReplyCaps leave a ledger (a few hundred tokens) and an agent's
// step ample room. Reasoning models get ReasoningFactor times as much,
// since their thinking counts against the cap.
var DefaultReplyCaps = ReplyCaps{Ledger: 4096, Text: 4096, Agent: 8192, Final: 8192}

// ReasoningFactor multiplies the caps of reasoning models.
const ReasoningFactor = 4

// For returns the cap of a kind of call; zero fields take the default.
func (r ReplyCaps) For(k CallKind, reasoning bool) int {
	d := DefaultReplyCaps
	pick := func(v, def int) int {
		if v > 0 {
			return v
		}
		if reasoning {
			return def * ReasoningFactor
		}
		return def
	}
	switch k {
	case CallLedger:
		return pick(r.Ledger, d.Ledger)
	case CallText:
		return pick(r.Text, d.Text)
	case CallFinal:
		return pick(r.Final, d.Final)
	}
	return pick(r.Agent, d.Agent)
}

// client implements Client over HTTP.
type client struct {
	ep    Endpoint
	http  *http.Client
	opts  options
	cache *cache
	caps  *capState

	discoverMu sync.Mutex
	discovered bool
	server     serverInfo
}

// New returns a Client for ep.
func New(ep Endpoint, opts ...Option) (Client, error) {
	o := options{
		maxRetries:    DefaultMaxRetries,
		backoff:       DefaultBackoff,
		maxBackoff:    DefaultMaxBackoff,
		timeout:       DefaultTimeout,
		rateLimitWait: DefaultRateLimitWait,
		transport:     http.DefaultTransport,
		sleep:         sleepCtx,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if ep.Model == "" {
		return nil, errors.New("new model client: no model name")
	}
	switch ep.Provider {
	case ProviderOpenAI, "":
		ep.Provider = ProviderOpenAI
		if ep.BaseURL == "" {
			ep.BaseURL = DefaultBaseURL
		}
	case ProviderAzure:
		if ep.BaseURL == "" {
			return nil, fmt.Errorf("new model client %s: azure needs the resource endpoint as base URL", ep.Model)
		}
		if ep.APIVersion == "" {
			ep.APIVersion = DefaultAzureAPIVersion
		}
	default:
		return nil, fmt.Errorf("new model client %s: unknown provider %q (want %q or %q)", ep.Model, ep.Provider, ProviderOpenAI, ProviderAzure)
	}
	c := &client{ep: ep, http: &http.Client{Transport: o.transport}, opts: o}
	if o.shared != nil {
		c.caps = o.shared.state(c.endpointKey(), c.initialCaps)
	} else {
		c.caps = &capState{c: c.initialCaps()}
	}
	if o.cacheDir != "" {
		c.cache = &cache{dir: o.cacheDir}
	}
	return c, nil
}

// DefaultAzureAPIVersion is the Azure api-version used when none is given:
// the first GA version with structured outputs (json_schema is refused
// before 2024-08-01-preview).
const DefaultAzureAPIVersion = "2024-10-21"

// initialCaps are what the endpoint is assumed to take before any refusal.
func (c *client) initialCaps() caps {
	info := c.ep.Info
	cp := caps{
		ledger:        modePlain,
		jsonObject:    info.JSONOutput,
		vision:        info.Vision,
		tools:         info.FunctionCalling,
		stream:        true,
		streamOptions: true,
		temperature:   true,
		alternate:     c.opts.mergeRoles,
		// OpenAI's default is parallel calls; llama.cpp's is one call
		// per reply unless asked (llama.md finding 14).
		parallel:      !c.openAIFamily(),
		maxCompletion: c.openAIFamily() && c.reasoningModel(),
	}
	switch {
	case info.StructuredOutput:
		cp.ledger = modeSchema
	case info.JSONOutput:
		cp.ledger = modeJSONObject
	}
	return cp
}

// openAIFamily reports whether the endpoint is OpenAI's or Azure's own
// API, which follow OpenAI's rules exactly.
func (c *client) openAIFamily() bool {
	if c.ep.Provider == ProviderAzure {
		return true
	}
	u, err := url.Parse(c.ep.BaseURL)
	return err == nil && strings.EqualFold(u.Hostname(), "api.openai.com")
}

// reasoningModels names reasoning model families: their thinking counts
// against the reply cap, and OpenAI's want max_completion_tokens.
var reasoningModels = regexp.MustCompile(`(?i)(^|/)(o1|o3|o4|gpt-5|deepseek-r1|deepseek-reasoner|qwq|qwen3|magistral|r1-)`)

func (c *client) reasoningModel() bool { return reasoningModels.MatchString(c.ep.Model) }

// Info implements Client: the model's capabilities as configured, less
// what the server refused so far, and the context window learnt from the
// config or the server.
func (c *client) Info() Info {
	c.discover(context.Background())
	info := c.ep.Info
	info.Model = c.ep.Model
	cp := c.caps.get()
	info.Vision = cp.vision
	info.FunctionCalling = cp.tools
	info.StructuredOutput = cp.ledger == modeSchema || (cp.llamaSchema && cp.ledger != modePlain)
	info.JSONOutput = cp.ledger != modePlain
	info.ContextWindow = c.window()
	info.ContextSource = c.windowSource()
	return info
}

// Learnt returns the step-downs the client has made so far.
func (c *client) Learnt() []StepDown { return c.caps.steps() }

// Complete implements Client. The request is shaped for the endpoint; a
// transient failure is retried as it was, while a refusal is recognised by
// its words, the endpoint's caps step down, and the request is sent again
// changed. A request is never sent again unchanged after a refusal.
func (c *client) Complete(ctx context.Context, req Request) (*Response, error) {
	c.discover(ctx)
	c.flushNotices()
	var (
		lastSent []byte
		lastErr  *Error
		scale    = 1
		cut      *Response // a reply cut by the cap, while one with room is tried
		cutCap   int
	)
	fitted := false
	for range maxReshapes {
		cp := c.caps.get()
		sh, err := c.shape(req, cp, scale)
		if errors.Is(err, ErrContextLength) && !fitted && cut == nil {
			// A caller that did not budget its prompt (or budgeted by a
			// larger window) gets it fitted here, oldest turns first,
			// rather than a refusal or a server's silent cut.
			fitted = true
			req.Messages = FitMessages(req.Messages, PromptBudget(c.window()))
			sh, err = c.shape(req, cp, scale)
		}
		if err != nil {
			if cut != nil {
				return cut, nil
			}
			return nil, err
		}
		if cut != nil && sh.maxTokens <= cutCap {
			return cut, nil // no more room to give
		}
		stream := req.OnDelta != nil && cp.stream
		var key string
		if c.cache != nil {
			if key, err = cacheKey(sh.wire); err == nil {
				if resp, ok := c.cache.get(key); ok {
					if req.OnDelta != nil && resp.Content != "" {
						req.OnDelta(resp.Content)
					}
					return resp, nil
				}
			}
		}
		body, err := sh.body(stream, cp)
		if err != nil {
			return nil, fmt.Errorf("model %s: write request: %w", c.ep, err)
		}
		if lastSent != nil && bytes.Equal(body, lastSent) {
			return nil, lastErr
		}
		resp, e := c.send(ctx, sh, body, stream, req.OnDelta)
		if e == nil {
			if resp.FinishReason == finishLength && scale == 1 && wantsWhole(req, resp) {
				// A JSON or tool-call reply cut by m1's own cap: once
				// more with room, rather than a ledger that does not
				// parse or tool-call markup passed off as an answer.
				scale, cut, cutCap = ReasoningFactor, resp, sh.maxTokens
				continue
			}
			if resp.Usage.Total() == 0 && !resp.Cached {
				resp.Usage.PromptTokens = sh.promptTokens
				resp.Usage.CompletionTokens = estimateCompletion(resp)
				resp.Usage.Estimated = true
			}
			if c.cache != nil && key != "" {
				// A cache that cannot be written costs money later, not
				// correctness now; the answer still goes back.
				_ = c.cache.put(key, resp)
			}
			return resp, nil
		}
		if cut != nil {
			return cut, nil // the cut reply is still an answer
		}
		var me *Error
		if !errors.As(e, &me) || me.quirk == nil || me.Kind != ErrRefused {
			return nil, e
		}
		change := c.caps.stepDown(me.quirk, me.Err.Error())
		if change == "" {
			me.hint = "m1 has no other way to send this request; " + refusalHint(me.quirk)
			return nil, me
		}
		d := StepDown{Quirk: me.quirk.Name, Said: me.Said(), Status: me.StatusCode, Change: change}
		c.caps.record(d)
		if c.opts.onStepDown != nil {
			c.opts.onStepDown(d)
		}
		lastSent, lastErr = body, me
	}
	return nil, lastErr
}

// maxReshapes bounds how many times one call is shaped again after
// refusals; every step-down can be taken once only, so this is never
// reached in practice.
const maxReshapes = 16

const finishLength = "length"

// wantsWhole reports whether a reply cut by the cap is useless in part: a
// JSON object asked for, or tool calls offered.
func wantsWhole(req Request, resp *Response) bool {
	return req.ResponseFormat != nil || (len(req.Tools) > 0 && len(resp.ToolCalls) == 0)
}

func refusalHint(q *Quirk) string {
	return "the server refused it (" + q.Name + "): " + q.Handling
}

// body writes the wire request, streamed or not.
func (s *shaped) body(stream bool, cp caps) ([]byte, error) {
	w := *s.wire
	w.Stream = stream
	if stream && cp.streamOptions {
		w.StreamOptions = &streamOptions{IncludeUsage: true}
	}
	return w.body()
}

// send makes attempts of one body until one succeeds, an error cannot be
// retried, the retries run out or ctx ends. Transient failures (5xx, 429,
// dropped connections) are retried as they were; refusals go back to
// Complete, which changes the request.
func (c *client) send(ctx context.Context, sh *shaped, body []byte, stream bool, onDelta func(string)) (*Response, error) {
	var sink *deltaSink
	if onDelta != nil {
		sink = &deltaSink{f: onDelta}
	}
	var (
		tries, refused, timeouts int
		rateWaited               time.Duration
	)
	for attempt := 1; ; attempt++ {
		if ctx.Err() != nil {
			return nil, c.cancelled(ctx)
		}
		resp, err := c.attempt(ctx, sh, body, stream, sink)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, c.cancelled(ctx)
		}
		e := c.classify(err)
		e.Attempts = attempt
		if e.quirk != nil || !e.retryable {
			return nil, e
		}
		var wait time.Duration
		note := ""
		switch {
		case e.rateLimit:
			wait = e.wait
			if wait <= 0 {
				wait = c.backoff(attempt)
			}
			wait = min(wait, MaxRetryAfter)
			if rateWaited+wait > c.opts.rateLimitWait {
				e.hint = fmt.Sprintf("the server is rate-limiting this key; m1 waited %s in all. Try again later, or raise the limits of the plan", rateWaited.Round(time.Second))
				return nil, e
			}
			rateWaited += wait
		default:
			tries++
			if e.refused {
				refused++
			}
			if e.timeout {
				timeouts++
				note = "the abandoned call may still be generated and billed"
				if timeouts > 1 {
					e.detail += "; the call was asked twice and each abandoned attempt may still have been billed"
					return nil, e
				}
			}
			// A refused connection means nothing listens; retry briefly
			// in case the server is starting, then say so.
			if tries > c.opts.maxRetries || refused > maxRefused {
				return nil, e
			}
			wait = c.backoff(tries)
			if e.wait > 0 {
				wait = min(e.wait, MaxRetryAfter)
			}
		}
		if c.opts.onRetry != nil {
			c.opts.onRetry(Retry{Attempt: attempt, Wait: wait, Err: e, Note: note})
		}
		if err := c.opts.sleep(ctx, wait); err != nil {
			return nil, c.cancelled(ctx)
		}
	}
}

// maxRefused is how many refused connections in a row are retried.
const maxRefused = 2

// chatURL is where chat completions go.
func (c *client) chatURL() string {
	base := strings.TrimRight(c.ep.BaseURL, "/")
	if c.ep.Provider != ProviderAzure {
		return base + "/chat/completions"
	}
	return fmt.Sprintf("%s/openai/deployments/%s/chat/completions?api-version=%s",
		base, url.PathEscape(c.deployment()), url.QueryEscape(c.ep.APIVersion))
}

// deployment is the Azure deployment: the configured one, else the model
// name without the characters Azure does not allow, as go-openai derives
// it (only 3.5 models lose their dots).
func (c *client) deployment() string {
	if c.ep.AzureDeployment != "" {
		return c.ep.AzureDeployment
	}
	m := c.ep.Model
	if strings.Contains(m, "3.5") {
		m = strings.ReplaceAll(m, ".", "")
	}
	return strings.ReplaceAll(m, ":", "")
}

// authorize sets the request's credentials: a bearer token from the token
// source, Azure's api-key header, or OpenAI's bearer key.
func (c *client) authorize(ctx context.Context, r *http.Request) error {
	switch {
	case c.opts.token != nil:
		tok, err := c.opts.token.Token(ctx)
		if err != nil {
			return &authError{err}
		}
		r.Header.Set("Authorization", "Bearer "+tok)
	case c.ep.Provider == ProviderAzure:
		r.Header.Set("api-key", c.ep.APIKey)
	case c.ep.APIKey != "":
		r.Header.Set("Authorization", "Bearer "+c.ep.APIKey)
	}
	return nil
}

// secret is what error texts must never show.
func (c *client) secret() string { return c.ep.APIKey }

// authError is a token that could not be had.
type authError struct{ err error }

func (e *authError) Error() string { return "get a token: " + e.err.Error() }
func (e *authError) Unwrap() error { return e.err }

// maxBody bounds a reply body read whole.
const maxBody = 32 << 20

// attempt makes one call and reads its reply.
func (c *client) attempt(ctx context.Context, sh *shaped, body []byte, stream bool, sink *deltaSink) (*Response, error) {
	var (
		actx   context.Context
		cancel func()
		idle   *time.Timer
	)
	if stream {
		cctx, ccancel := context.WithCancelCause(ctx)
		actx, cancel = cctx, func() { ccancel(nil) }
		// The timeout bounds each wait for the next chunk rather than the
		// whole answer.
		idle = time.AfterFunc(c.opts.timeout, func() { ccancel(errIdleStream) })
		defer idle.Stop()
	} else {
		actx, cancel = context.WithTimeout(ctx, c.opts.timeout)
	}
	defer cancel()
	timedOut := func(err error) error {
		if ctx.Err() != nil {
			return err
		}
		if stream && errors.Is(context.Cause(actx), errIdleStream) {
			return fmt.Errorf("%w: no data for %s", errIdleStream, c.opts.timeout)
		}
		if !stream && errors.Is(actx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("%w: no answer within %s", errTimeout, c.opts.timeout)
		}
		return err
	}

	hreq, err := http.NewRequestWithContext(actx, http.MethodPost, c.chatURL(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	if stream {
		hreq.Header.Set("Accept", "text/event-stream")
	}
	if err := c.authorize(ctx, hreq); err != nil {
		return nil, err
	}
	hresp, err := c.http.Do(hreq)
	if err != nil {
		return nil, timedOut(err)
	}
	defer hresp.Body.Close()
	if hresp.StatusCode < 200 || hresp.StatusCode > 299 {
		b, rerr := io.ReadAll(io.LimitReader(hresp.Body, 1<<20))
		if rerr != nil && len(b) == 0 {
			return nil, timedOut(rerr)
		}
		ae := parseAPIError(hresp.StatusCode, b)
		if d := retryHint(hresp.Header, ae.message, time.Now()); d > 0 {
			ae.retryDelay = d
		}
		if stream && (hresp.StatusCode == http.StatusMethodNotAllowed || hresp.StatusCode == http.StatusUnsupportedMediaType || hresp.StatusCode == http.StatusNotImplemented) {
			ae.message = "streaming is not supported: " + ae.message
		}
		return nil, ae
	}
	if stream && strings.HasPrefix(hresp.Header.Get("Content-Type"), "text/event-stream") {
		raw, err := c.readStream(hresp.Body, idle, sink)
		if err != nil {
			return nil, timedOut(err)
		}
		return normalize(raw, sh), nil
	}
	b, err := io.ReadAll(io.LimitReader(hresp.Body, maxBody))
	if err != nil {
		return nil, timedOut(err)
	}
	if stream {
		// The server ignored "stream" and answered with a plain body, as
		// some do: it will never stream.
		c.caps.update(func(cp *caps) { cp.stream = false })
	}
	raw, err := decodeReply(b)
	if err != nil {
		return nil, err
	}
	resp := normalize(raw, sh)
	if sink != nil {
		sink.start()
		sink.write(resp.Content)
	}
	return resp, nil
}

// backoff is the wait before retry n (from 1): exponential from the base,
// capped, with jitter in its upper half so clients that failed together do
// not retry together.
func (c *client) backoff(n int) time.Duration {
	d := c.opts.backoff
	for i := 1; i < n && d < c.opts.maxBackoff; i++ {
		d *= 2
	}
	d = min(d, c.opts.maxBackoff)
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}

func (c *client) cancelled(ctx context.Context) error {
	if cause := context.Cause(ctx); cause != nil && cause != ctx.Err() {
		return fmt.Errorf("model %s: %w: %w", c.ep, ctx.Err(), cause)
	}
	return fmt.Errorf("model %s: %w", c.ep, ctx.Err())
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// deltaSink passes streamed content to the caller across retries. A retry
// after a cut stream starts the answer again: text it repeats is not passed
// on twice, and text that differs restarts the answer from its beginning.
// Response.Content is what counts in the end; deltas are a preview.
type deltaSink struct {
	f    func(string)
	sent string // the answer as the caller has it
	n    int    // bytes of it the current attempt has confirmed
}

// start begins an attempt.
func (s *deltaSink) start() { s.n = 0 }

// write takes the current attempt's next content delta.
func (s *deltaSink) write(d string) {
	if d == "" {
		return
	}
	end := s.n + len(d)
	overlap := max(0, min(end, len(s.sent))-s.n)
	switch {
	case d[:overlap] != s.sent[s.n:s.n+overlap]:
		s.sent = s.sent[:s.n] + d
		s.f(s.sent)
	case end > len(s.sent):
		s.sent += d[overlap:]
		s.f(d[overlap:])
	}
	s.n = end
}
