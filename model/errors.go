package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"

	openai "github.com/sashabaranov/go-openai"
)

// Kinds of model errors, for errors.Is. Every error Complete returns for a
// failed call is an *Error; most wrap one of these.
var (
	// ErrAuth: the server refused the API key (HTTP 401 or 403). Not
	// retried.
	ErrAuth = errors.New("authentication failed")
	// ErrModelNotFound: the server does not serve the model, or the base
	// URL is wrong (HTTP 404). Not retried.
	ErrModelNotFound = errors.New("model not found")
	// ErrContextLength: the prompt is longer than the model's context. Not
	// retried; the caller may shorten the prompt and call again.
	ErrContextLength = errors.New("context length exceeded")
	// ErrMalformed: the server's reply could not be read. Retried.
	ErrMalformed = errors.New("malformed reply")
	// ErrUnavailable: the server kept failing (rate limits, 5xx, timeouts,
	// dropped connections) until the retries ran out.
	ErrUnavailable = errors.New("server unavailable")
)

// Error is a failed model call. Its text names the endpoint and says what
// to do; it never contains the API key.
type Error struct {
	// Endpoint names the model and base URL.
	Endpoint string
	// Kind is one of the Err* sentinels, or nil.
	Kind error
	// StatusCode is the HTTP status, 0 when there was no response.
	StatusCode int
	// Code is the API's error code (e.g. "context_length_exceeded").
	Code string
	// Attempts is how many calls were made.
	Attempts int
	// Err is the underlying error.
	Err error

	detail    string // what the server said, for the message
	hint      string // what to do
	secret    string // scrubbed from the message
	retryable bool
	refused   bool
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "model %s", e.Endpoint)
	if e.Kind != nil {
		b.WriteString(": " + e.Kind.Error())
	}
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.StatusCode)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	if e.detail != "" {
		b.WriteString(": " + e.detail)
	}
	if e.hint != "" {
		b.WriteString("; " + e.hint)
	}
	return redact(b.String(), e.secret)
}

// Unwrap lets errors.Is and errors.As see Kind and Err.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

func redact(s, secret string) string {
	if len(secret) < 4 {
		return s
	}
	return strings.ReplaceAll(s, secret, "[redacted]")
}

// Internal causes the classifier recognises.
var (
	errTimeout    = errors.New("timeout")
	errStreamCut  = errors.New("stream ended before the answer was complete")
	errIdleStream = errors.New("stream stalled")
)

// classify turns an attempt's error into an *Error and decides whether it
// is worth another attempt.
func (c *client) classify(err error, info *attemptInfo) *Error {
	e := &Error{Endpoint: c.ep.String(), Err: err, secret: c.ep.APIKey, detail: err.Error()}
	var (
		apiErr *openai.APIError
		reqErr *openai.RequestError
	)
	switch {
	case errors.As(err, &apiErr):
		e.StatusCode, e.detail = apiErr.HTTPStatusCode, apiErr.Message
		if s, ok := apiErr.Code.(string); ok {
			e.Code = s
		}
	case errors.As(err, &reqErr):
		e.StatusCode = reqErr.HTTPStatusCode
		e.detail = strings.TrimSpace(truncate(string(reqErr.Body), 300))
		if e.detail == "" {
			e.detail = reqErr.HTTPStatus
		}
	}
	if e.StatusCode == 0 && info != nil && info.status >= 400 {
		e.StatusCode = info.status
	}
	if e.StatusCode != 0 {
		c.classifyStatus(e)
		return e
	}

	var (
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
		dnsErr    *net.DNSError
		opErr     *net.OpError
		netErr    net.Error
	)
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		e.hint = "check the base URL (OPENAI_BASE_URL or base_url in the config)"
	case errors.Is(err, syscall.ECONNREFUSED):
		e.Kind, e.retryable, e.refused = ErrUnavailable, true, true
		e.hint = "is the server running? check the base URL (OPENAI_BASE_URL or base_url in the config)"
	case errors.As(err, &syntaxErr), errors.As(err, &typeErr), errors.Is(err, ErrMalformed):
		e.Kind, e.retryable = ErrMalformed, true
		e.hint = "the server is not answering as an OpenAI-compatible API; check the base URL"
	case errors.Is(err, errTimeout), errors.Is(err, errIdleStream), errors.As(err, &netErr) && netErr.Timeout():
		e.Kind, e.retryable = ErrUnavailable, true
		e.hint = "the server is slow or stuck; if it is only slow, allow more time with --request-timeout (or timeout: in the config)"
	case errors.Is(err, errStreamCut),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.As(err, &opErr):
		e.Kind, e.retryable = ErrUnavailable, true
	}
	return e
}

func (c *client) classifyStatus(e *Error) {
	msg := strings.ToLower(e.detail)
	switch {
	case e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden:
		e.Kind = ErrAuth
		e.hint = "check the API key (OPENAI_API_KEY, or api_key in the config) and that it may use this model"
	case e.Code == "context_length_exceeded" || strings.Contains(msg, "context length") ||
		strings.Contains(msg, "context_length") || strings.Contains(msg, "context window") ||
		strings.Contains(msg, "maximum context"):
		e.Kind = ErrContextLength
		e.hint = "shorten the conversation or use a model with a larger context window"
	case e.StatusCode == http.StatusNotFound || e.Code == "model_not_found" || e.Code == "DeploymentNotFound" ||
		(strings.Contains(msg, "model") && (strings.Contains(msg, "not found") || strings.Contains(msg, "does not exist"))):
		e.Kind = ErrModelNotFound
		e.hint = "check the model name (M1_MODEL, --model or the config) and the base URL (OPENAI_BASE_URL or base_url)"
	case e.StatusCode == http.StatusTooManyRequests || e.StatusCode == http.StatusRequestTimeout ||
		e.StatusCode == http.StatusConflict || e.StatusCode >= 500:
		e.Kind, e.retryable = ErrUnavailable, true
	}
}

// streamRejected reports whether err is a server saying it cannot stream,
// so the call should be made again without streaming.
func streamRejected(err error) bool {
	var (
		apiErr *openai.APIError
		reqErr *openai.RequestError
	)
	status, msg := 0, ""
	switch {
	case errors.As(err, &apiErr):
		status, msg = apiErr.HTTPStatusCode, apiErr.Message
	case errors.As(err, &reqErr):
		status, msg = reqErr.HTTPStatusCode, string(reqErr.Body)
	default:
		return false
	}
	switch status {
	case http.StatusMethodNotAllowed, http.StatusUnsupportedMediaType, http.StatusNotImplemented:
		return true
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return strings.Contains(strings.ToLower(msg), "stream")
	}
	return false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
