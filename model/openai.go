package model

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	openai "github.com/sashabaranov/go-openai"
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
	// Model as go-openai does.
	AzureDeployment string
	Info            Info
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
	DefaultTimeout    = 120 * time.Second
	// MaxRetryAfter caps how long a server's Retry-After may make a call
	// wait.
	MaxRetryAfter = 5 * time.Minute
)

// Option configures a client made by New.
type Option func(*options)

type options struct {
	maxRetries int
	backoff    time.Duration
	maxBackoff time.Duration
	timeout    time.Duration
	cacheDir   string
	transport  http.RoundTripper
	sleep      func(context.Context, time.Duration) error
	onRetry    func(Retry)
}

// Retry describes a failed attempt that is about to be retried.
type Retry struct {
	// Attempt counts from 1.
	Attempt int
	// Wait is how long the client sleeps before the next attempt.
	Wait time.Duration
	// Err is what went wrong; its text never holds the API key.
	Err error
}

// WithMaxRetries sets how many times a failed call is retried (default
// DefaultMaxRetries).
func WithMaxRetries(n int) Option { return func(o *options) { o.maxRetries = max(0, n) } }

// WithBackoff sets the first retry's wait and the cap of the exponential
// backoff (defaults DefaultBackoff and DefaultMaxBackoff).
func WithBackoff(base, maxWait time.Duration) Option {
	return func(o *options) { o.backoff, o.maxBackoff = base, maxWait }
}

// WithTimeout sets how long one attempt may take before it counts as a
// timeout and is retried (default DefaultTimeout). For a stream it bounds
// the wait for each chunk, so a long answer that keeps flowing is fine.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

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

// client implements Client over go-openai.
type client struct {
	ep       Endpoint
	api      *openai.Client
	opts     options
	cache    *cache
	noStream atomic.Bool // the server cannot stream; learnt on first try
}

// New returns a Client for ep.
func New(ep Endpoint, opts ...Option) (Client, error) {
	o := options{
		maxRetries: DefaultMaxRetries,
		backoff:    DefaultBackoff,
		maxBackoff: DefaultMaxBackoff,
		timeout:    DefaultTimeout,
		transport:  http.DefaultTransport,
		sleep:      sleepCtx,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if ep.Model == "" {
		return nil, errors.New("new model client: no model name")
	}
	var cfg openai.ClientConfig
	switch ep.Provider {
	case ProviderOpenAI, "":
		ep.Provider = ProviderOpenAI
		cfg = openai.DefaultConfig(ep.APIKey)
		if ep.BaseURL != "" {
			cfg.BaseURL = ep.BaseURL
		}
	case ProviderAzure:
		if ep.BaseURL == "" {
			return nil, fmt.Errorf("new model client %s: azure needs the resource endpoint as base URL", ep.Model)
		}
		cfg = openai.DefaultAzureConfig(ep.APIKey, ep.BaseURL)
		if ep.APIVersion != "" {
			cfg.APIVersion = ep.APIVersion
		}
		if dep := ep.AzureDeployment; dep != "" {
			cfg.AzureModelMapperFunc = func(string) string { return dep }
		}
	default:
		return nil, fmt.Errorf("new model client %s: unknown provider %q (want %q or %q)", ep.Model, ep.Provider, ProviderOpenAI, ProviderAzure)
	}
	cfg.HTTPClient = &http.Client{Transport: captureTransport{o.transport}}
	c := &client{ep: ep, api: openai.NewClientWithConfig(cfg), opts: o}
	if o.cacheDir != "" {
		c.cache = &cache{dir: o.cacheDir}
	}
	return c, nil
}

// Info implements Client.
func (c *client) Info() Info {
	info := c.ep.Info
	info.Model = c.ep.Model
	if info.ContextWindow == 0 {
		info.ContextWindow = DefaultContextWindow
	}
	return info
}

// Complete implements Client.
func (c *client) Complete(ctx context.Context, req Request) (*Response, error) {
	creq := openai.ChatCompletionRequest{
		Model:          c.ep.Model,
		Messages:       req.Messages,
		Tools:          req.Tools,
		ToolChoice:     req.ToolChoice,
		ResponseFormat: req.ResponseFormat,
	}
	var key string
	if c.cache != nil {
		key = cacheKey(creq)
		if resp, ok := c.cache.get(key); ok {
			if req.OnDelta != nil && resp.Content != "" {
				req.OnDelta(resp.Content)
			}
			return resp, nil
		}
	}
	resp, err := c.retry(ctx, creq, req.OnDelta)
	if err != nil {
		return nil, err
	}
	if resp.Usage.Total() == 0 {
		resp.Usage.PromptTokens = estimatePrompt(creq.Messages)
		resp.Usage.CompletionTokens = estimateCompletion(resp)
	}
	if c.cache != nil {
		// A cache that cannot be written costs money later, not
		// correctness now; the answer still goes back.
		_ = c.cache.put(key, resp)
	}
	return resp, nil
}

// retry makes attempts until one succeeds, an error cannot be retried, the
// retries run out or ctx ends.
func (c *client) retry(ctx context.Context, creq openai.ChatCompletionRequest, onDelta func(string)) (*Response, error) {
	var sink *deltaSink
	if onDelta != nil {
		sink = &deltaSink{f: onDelta}
	}
	refused := 0
	for attempt := 1; ; attempt++ {
		if ctx.Err() != nil {
			return nil, c.cancelled(ctx)
		}
		resp, info, err := c.attempt(ctx, creq, sink)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, c.cancelled(ctx)
		}
		e := c.classify(err, info)
		e.Attempts = attempt
		if e.refused {
			refused++
		}
		// A refused connection means nothing listens; retry briefly in
		// case the server is starting, then say so.
		if !e.retryable || attempt > c.opts.maxRetries || refused > maxRefused {
			return nil, e
		}
		wait := c.backoff(attempt)
		if info != nil && info.retryAfter > 0 {
			wait = min(info.retryAfter, MaxRetryAfter)
		}
		if c.opts.onRetry != nil {
			c.opts.onRetry(Retry{Attempt: attempt, Wait: wait, Err: e})
		}
		if err := c.opts.sleep(ctx, wait); err != nil {
			return nil, c.cancelled(ctx)
		}
	}
}

// maxRefused is how many refused connections in a row are retried.
const maxRefused = 2

// attempt makes one call, streamed when the caller wants deltas and the
// server can stream.
func (c *client) attempt(ctx context.Context, creq openai.ChatCompletionRequest, sink *deltaSink) (*Response, *attemptInfo, error) {
	if sink != nil && !c.noStream.Load() {
		resp, info, err := c.stream(ctx, creq, sink)
		if info != nil && info.plainBody != nil {
			// The server ignored "stream": it will never stream.
			c.noStream.Store(true)
		}
		if !streamRejected(err) {
			return resp, info, err
		}
		c.noStream.Store(true)
	}
	info := &attemptInfo{}
	actx, cancel := context.WithTimeout(context.WithValue(ctx, attemptKey{}, info), c.opts.timeout)
	defer cancel()
	r, err := c.api.CreateChatCompletion(actx, creq)
	if err != nil {
		if ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("%w: no answer within %s", errTimeout, c.opts.timeout)
		}
		return nil, info, err
	}
	resp, err := fromCompletion(r)
	if err != nil {
		return nil, info, err
	}
	if sink != nil {
		sink.start()
		sink.write(resp.Content)
	}
	return resp, info, nil
}

// fromCompletion takes the first choice of a plain reply.
func fromCompletion(r openai.ChatCompletionResponse) (*Response, error) {
	if len(r.Choices) == 0 {
		return nil, fmt.Errorf("%w: reply has no choices", ErrMalformed)
	}
	ch := r.Choices[0]
	resp := &Response{
		Content:      ch.Message.Content,
		ToolCalls:    ch.Message.ToolCalls,
		FinishReason: string(ch.FinishReason),
	}
	resp.Usage.PromptTokens = r.Usage.PromptTokens
	resp.Usage.CompletionTokens = r.Usage.CompletionTokens
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

// attemptKey carries an *attemptInfo in a request's context to the
// transport, which fills it in: go-openai keeps response headers from its
// errors.
type attemptKey struct{}

type attemptInfo struct {
	status     int
	retryAfter time.Duration
	// plainBody is a JSON body a server sent in answer to a streaming
	// request, as servers that cannot stream do.
	plainBody []byte
}

// maxPlainBody bounds a JSON reply read in place of a stream.
const maxPlainBody = 32 << 20

type captureTransport struct{ base http.RoundTripper }

func (t captureTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if info, ok := req.Context().Value(attemptKey{}).(*attemptInfo); ok {
		info.status = resp.StatusCode
		info.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		if resp.StatusCode == http.StatusOK && req.Header.Get("Accept") == "text/event-stream" &&
			strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			// Take the body before go-openai's stream reader, which would
			// skip it line by line as not being events.
			body, err := io.ReadAll(io.LimitReader(resp.Body, maxPlainBody))
			resp.Body.Close()
			if err != nil {
				return nil, err
			}
			info.plainBody = body
			resp.Body = io.NopCloser(strings.NewReader(""))
		}
	}
	return resp, nil
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		return time.Duration(max(0, secs) * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now))
	}
	return 0
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
