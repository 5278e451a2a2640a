package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
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
	// ErrQuota: the account's billing quota is used up (OpenAI's
	// insufficient_quota). Not retried: waiting does not help.
	ErrQuota = errors.New("quota exceeded")
	// ErrToolsUnsupported: the model cannot call tools ("does not support
	// tools"), so an agent that acts only through tools cannot work with
	// it. The Orchestrator takes such an agent off the team for the run.
	ErrToolsUnsupported = errors.New("the model does not support tools")
	// ErrContentFilter: the server's content filter refused the prompt
	// (Azure's content_filter). Not retried unchanged.
	ErrContentFilter = errors.New("refused by the content filter")
	// ErrRefused: the server refuses the request for a reason m1 knows
	// but has no other way around; resending it unchanged would not help.
	ErrRefused = errors.New("request refused")
)

// Error is a failed model call. Its text names the endpoint and says what
// to do; it never contains the API key, an echoed request or image data.
type Error struct {
	// Endpoint names the model and base URL.
	Endpoint string
	// Kind is one of the Err* sentinels, or nil.
	Kind error
	// StatusCode is the HTTP status, 0 when there was no response (200 for
	// an error sent inside a stream).
	StatusCode int
	// Code is the API's error code (e.g. "context_length_exceeded").
	Code string
	// Type is the API's error type (e.g. "exceed_context_size_error").
	Type string
	// Quirk names the row of Quirks that recognised the error, if any.
	Quirk string
	// Attempts is how many calls were made.
	Attempts int
	// Err is the underlying error.
	Err error

	detail    string // what the server said, short, for the message
	full      string // what the server said, longer, for the transcript
	hint      string // what to do
	secret    string // scrubbed from the message
	retryable bool
	refused   bool // the connection was refused
	timeout   bool
	quirk     *Quirk
	wait      time.Duration // what the server asked to wait, if it did
	rateLimit bool
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

// Said is what the server said, bounded (CauseLen), without echoed
// requests or image data: the text fit for the team's thread.
func (e *Error) Said() string { return redact(e.detail, e.secret) }

// Detail is what the server said at more length (up to DetailLen), still
// without image data: the text fit for the transcript.
func (e *Error) Detail() string {
	if e.full == "" {
		return e.Said()
	}
	return redact(e.full, e.secret)
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

// How much of a server's words an error keeps.
const (
	// CauseLen bounds the server's words in an error's message, and so in
	// what a failed step puts into the team's thread.
	CauseLen = 300
	// DetailLen bounds them in Detail, for the transcript.
	DetailLen = 4000
)

// Cause is err in one short line fit for the team's thread: for a model
// error its kind, status and the server's words cut to CauseLen, never an
// echoed request, a template's source or image data; for any other error
// its text cut the same way. A failed step that put its whole error into
// the thread grew every later prompt by it (llama.md finding 1).
func Cause(err error) string {
	var me *Error
	if errors.As(err, &me) {
		var b strings.Builder
		if me.Kind != nil {
			b.WriteString(me.Kind.Error())
		} else {
			b.WriteString("the model call failed")
		}
		if me.StatusCode != 0 {
			fmt.Fprintf(&b, " (HTTP %d)", me.StatusCode)
		}
		if s := me.Said(); s != "" {
			b.WriteString(": " + s)
		}
		return b.String()
	}
	return serverWords(err.Error(), CauseLen)
}

// Internal causes the classifier recognises.
var (
	errTimeout    = errors.New("timeout")
	errStreamCut  = errors.New("stream ended before the answer was complete")
	errIdleStream = errors.New("stream stalled")
)

// apiError is an error reply from a server, in whatever shape it came.
type apiError struct {
	status  int
	message string
	typ     string
	code    string
	// retryDelay is a wait the body asked for (Gemini's RetryInfo).
	retryDelay time.Duration
	inStream   bool
}

func (e *apiError) Error() string {
	if e.message == "" {
		return fmt.Sprintf("HTTP %d", e.status)
	}
	return e.message
}

// parseAPIError reads an error body: OpenAI's {"error": {...}}, a bare
// {"error": "text"} (LM Studio, proxies), {"message": ...} at the top
// (vLLM), a list of them (Gemini), {"detail": ...} (FastAPI servers), or
// anything else as plain text.
func parseAPIError(status int, body []byte) *apiError {
	e := &apiError{status: status}
	body = bytes.TrimSpace(body)
	var list []json.RawMessage
	if json.Unmarshal(body, &list) == nil && len(list) > 0 {
		body = list[0]
	}
	var top struct {
		Error   json.RawMessage `json:"error"`
		Message any             `json:"message"`
		Type    any             `json:"type"`
		Code    any             `json:"code"`
		Detail  any             `json:"detail"`
	}
	if json.Unmarshal(body, &top) != nil {
		e.message = strings.TrimSpace(string(body))
		if e.message == "" {
			e.message = http.StatusText(status)
		}
		return e
	}
	inner := bytes.TrimSpace(top.Error)
	var s string
	switch {
	case len(inner) > 0 && json.Unmarshal(inner, &s) == nil:
		e.message = s
	case len(inner) > 0 && inner[0] == '{':
		var obj struct {
			Message any              `json:"message"`
			Type    any              `json:"type"`
			Code    any              `json:"code"`
			Status  any              `json:"status"`
			Details []map[string]any `json:"details"`
		}
		_ = json.Unmarshal(inner, &obj)
		e.message, e.typ, e.code = str(obj.Message), str(obj.Type), str(obj.Code)
		if e.code == "" || isNumber(e.code) {
			if st := str(obj.Status); st != "" && !isNumber(st) {
				e.code = st // Gemini: "RESOURCE_EXHAUSTED"
			}
		}
		for _, d := range obj.Details {
			if v, ok := d["retryDelay"].(string); ok {
				if dd, err := time.ParseDuration(v); err == nil {
					e.retryDelay = dd
				}
			}
		}
	default:
		e.message, e.typ, e.code = str(top.Message), str(top.Type), str(top.Code)
		if e.message == "" {
			e.message = str(top.Detail)
		}
	}
	if e.message == "" {
		e.message = strings.TrimSpace(string(body))
	}
	return e
}

func str(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func isNumber(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}

// errorInBody is a 200 reply whose body is an error.
func errorInBody(body []byte) error {
	e := parseAPIError(http.StatusOK, body)
	return e
}

// classify turns an attempt's error into an *Error and decides whether it
// is worth another attempt. A refusal is recognised by its words through
// Quirks, whatever its status.
func (c *client) classify(err error) *Error {
	e := &Error{Endpoint: c.ep.String(), Err: err, secret: c.secret()}
	e.detail = serverWords(err.Error(), CauseLen)
	var ae *apiError
	if errors.As(err, &ae) {
		e.StatusCode, e.Code, e.Type = ae.status, ae.code, ae.typ
		e.detail = serverWords(ae.message, CauseLen)
		e.full = serverWords(ae.message, DetailLen)
		if e.detail == "" {
			e.detail = http.StatusText(ae.status)
		}
		e.wait = ae.retryDelay
		c.classifyStatus(e, ae)
		return e
	}

	var authErr *authError
	if errors.As(err, &authErr) {
		e.Kind = ErrAuth
		e.hint = "m1 could not get a token to authenticate with"
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
		e.Kind, e.retryable, e.timeout = ErrUnavailable, true, true
		e.hint = "the server is slow or stuck; if it is only slow, allow more time with --request-timeout (or timeout: in the config)"
	case errors.Is(err, errStreamCut),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.As(err, &opErr):
		e.Kind, e.retryable = ErrUnavailable, true
	}
	return e
}

func (c *client) classifyStatus(e *Error, ae *apiError) {
	msg := strings.ToLower(ae.message)
	q := matchQuirk(e.StatusCode, ae.message, ae.typ, ae.code)
	if q != nil {
		e.quirk, e.Quirk = q, q.Name
	}
	switch {
	case e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden:
		e.Kind = ErrAuth
		e.hint = "check the API key (OPENAI_API_KEY, or api_key in the config) and that it may use this model"
		if c.ep.Provider == ProviderAzure {
			e.hint = "check the key (api_key or AZURE_OPENAI_API_KEY) or the Entra ID token (azure_ad_token, AZURE_OPENAI_AD_TOKEN or az login) and that it may use this deployment"
		}
	case q != nil && q.step == stepContext:
		e.Kind = ErrContextLength
		e.hint = "shorten the conversation or use a model with a larger context window"
	case q != nil && q.step == stepQuota:
		e.Kind = ErrQuota
		e.hint = "this is a billing or quota limit, not a rate limit, and waiting will not lift it: check the account's plan and billing, or use another key"
	case q != nil && q.step == stepContentFilter:
		e.Kind = ErrContentFilter
		e.hint = "the server's content filter refused the prompt; rephrase the task, or ask the server's owner about the filter"
	case q != nil && q.step == stepToolsOff:
		e.Kind = ErrToolsUnsupported
		e.hint = "use a model that calls tools for this agent (a per-role client in the config), or leave the agent out of --agents"
	case q != nil:
		// A refusal: the client steps down and resends, or, if it has
		// nothing left to change, gives up at once.
		e.Kind = ErrRefused
	case e.StatusCode == http.StatusNotFound || ae.code == "model_not_found" || ae.code == "DeploymentNotFound" ||
		(strings.Contains(msg, "model") && (strings.Contains(msg, "not found") || strings.Contains(msg, "does not exist"))):
		e.Kind = ErrModelNotFound
		e.hint = "check the model name (M1_MODEL, --model or the config) and the base URL (OPENAI_BASE_URL or base_url)"
	case e.StatusCode == http.StatusTooManyRequests:
		e.Kind, e.retryable, e.rateLimit = ErrUnavailable, true, true
	case e.StatusCode == http.StatusRequestTimeout || e.StatusCode == http.StatusConflict || e.StatusCode >= 500:
		e.Kind, e.retryable = ErrUnavailable, true
	}
}

// Patterns of a server's words that must not reach a prompt or a console.
var (
	// llama.cpp ends its parse errors with the whole request, and its
	// template errors with the template's source (llama.md finding 1).
	echoTail = regexp.MustCompile(`(?s)(; (messages|tools|tool_calls|prompt) = .*| at row \d+, column \d+:.*)$`)
	dataURL  = regexp.MustCompile(`data:[\w.+/-]+;base64,[A-Za-z0-9+/=\\]+`)
	spaces   = regexp.MustCompile(`\s+`)
)

// serverWords is a server's message fit to show: without an echoed
// request, template source or image data, on one line, cut to n bytes.
func serverWords(s string, n int) string {
	s = echoTail.ReplaceAllString(s, "")
	s = dataURL.ReplaceAllString(s, "data:…[image data]")
	s = strings.TrimSpace(spaces.ReplaceAllString(s, " "))
	return truncate(s, n)
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
