package scripted

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// Server is a running scripted model. It is safe for concurrent requests.
type Server struct {
	sc     *Scenario
	ts     *httptest.Server
	ctx    context.Context // ends on Close
	cancel context.CancelFunc
	once   sync.Once

	quirks quirkSet
	filter *regexp.Regexp

	mu    sync.Mutex
	next  []int // per rule: index of the next reply
	reqs  []Recorded
	calls int // tool call ids handed out
}

// Recorded is one request the server received.
type Recorded struct {
	// Path is the URL path, e.g. /v1/chat/completions.
	Path   string
	Header http.Header
	// Body is the raw request body.
	Body []byte
	// Request is Body decoded; zero when it did not decode.
	Request openai.ChatCompletionRequest
	// Rule is the name of the rule that served the request, empty when
	// none did.
	Rule string
	// Status is the HTTP status the server answered with (200 for a
	// stream, also one that carried an error line).
	Status int
	// Quirk names the quirk mode that refused the request, empty when
	// none did.
	Quirk string
	// Truncated is set when a context mode cut the prompt from the front
	// before answering, as llama.cpp and Ollama do silently.
	Truncated bool
	// Received is when the request reached the server, before its body
	// was read.
	Received time.Time
	// Replied is when the server finished writing its answer (reply,
	// error or dropped connection); zero while the answer is still being
	// written. Replied to the next request's Received is the time the
	// client spent between two calls, which benchmarks use.
	Replied time.Time
}

// New starts a scripted server on a loopback port. With t non-nil, an
// invalid scenario fails the test and the server closes when the test ends;
// with t nil, an invalid scenario panics and the caller must Close it.
func New(t testing.TB, sc *Scenario) *Server {
	if t != nil {
		t.Helper()
	}
	s, err := Listen("127.0.0.1:0", sc)
	if err != nil {
		if t == nil {
			panic(err)
		}
		t.Fatalf("scripted server: %v", err)
	}
	if t != nil {
		t.Cleanup(s.Close)
	}
	return s
}

// Listen starts a scripted server on addr (host:port, port 0 for any).
func Listen(addr string, sc *Scenario) (*Server, error) {
	c := *sc
	c.Rules = append([]Rule(nil), sc.Rules...)
	if err := c.compile(); err != nil {
		return nil, err
	}
	qs, err := newQuirkSet(c.Quirks)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", c.Name, err)
	}
	filter := c.Filter
	if filter == "" {
		filter = DefaultFilter
	}
	fre, err := regexp.Compile(filter)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: filter: %w", c.Name, err)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("scripted server: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{sc: &c, ctx: ctx, cancel: cancel, next: make([]int, len(c.Rules)), quirks: qs, filter: fre}
	s.ts = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	s.ts.Listener.Close()
	s.ts.Listener = l
	s.ts.Start()
	return s, nil
}

// URL is the server's OpenAI base URL, ending in /v1.
func (s *Server) URL() string { return s.ts.URL + "/v1" }

// Requests returns the chat completion requests received so far, in
// arrival order.
func (s *Server) Requests() []Recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Recorded(nil), s.reqs...)
}

// Close stops the server, ending delayed replies at once.
func (s *Server) Close() {
	s.once.Do(func() {
		s.cancel()
		s.ts.CloseClientConnections()
		s.ts.Close()
	})
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if s.serveQuirkRoute(w, r) {
		return
	}
	switch {
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/models"):
		s.serveModels(w, r)
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/chat/completions"):
		s.serveChat(w, r)
	default:
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("scripted: no route for %s %s", r.Method, r.URL.Path))
	}
}

func (s *Server) serveModels(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		writeError(w, http.StatusUnauthorized, "invalid_api_key", "scripted: incorrect API key provided")
		return
	}
	var list []map[string]any
	for _, m := range s.models() {
		entry := map[string]any{"id": m, "object": "model", "owned_by": "scripted"}
		if s.quirks["vllm-max-model-len"] {
			entry["owned_by"], entry["max_model_len"] = "vllm", s.context()
		}
		list = append(list, entry)
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": list})
}

func (s *Server) models() []string {
	if len(s.sc.Models) == 0 {
		return []string{"scripted"}
	}
	return s.sc.Models
}

func (s *Server) serveChat(w http.ResponseWriter, r *http.Request) {
	received := time.Now()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	rec := Recorded{Path: r.URL.Path, Header: r.Header.Clone(), Body: body, Received: received}
	decodeErr := json.Unmarshal(body, &rec.Request)
	var raw map[string]any
	_ = json.Unmarshal(body, &raw)
	req := rec.Request

	var (
		reply   Reply
		found   bool
		ref     *refusal
		ruleIdx = -1
	)
	authorized := s.authorized(r)
	s.mu.Lock()
	n := len(s.reqs) + 1
	if decodeErr == nil && authorized && !(req.Stream && s.sc.StreamError) {
		if ref = s.refuse(r, req, raw, n); ref == nil {
			rec.Truncated = s.truncateFront(&req)
			reply, rec.Rule, found = s.pick(req)
			ruleIdx = s.ruleIndex(rec.Rule)
		}
	}
	s.reqs = append(s.reqs, rec)
	idx := len(s.reqs) - 1
	s.mu.Unlock()
	status := http.StatusOK
	defer func() {
		s.mu.Lock()
		s.reqs[idx].Replied = time.Now()
		s.reqs[idx].Status = status
		if ref != nil {
			s.reqs[idx].Quirk = ref.quirk
		}
		s.mu.Unlock()
	}()

	switch {
	case decodeErr != nil:
		status = http.StatusBadRequest
		writeError(w, status, "invalid_json", fmt.Sprintf("scripted: request body is not a chat completion request: %v", decodeErr))
		return
	case !authorized:
		status = http.StatusUnauthorized
		if s.quirks["azure-entra"] {
			writeJSON(w, status, map[string]any{"error": map[string]any{"code": "PermissionDenied", "message": "Key based authentication is disabled for this resource."}})
			return
		}
		writeError(w, status, "invalid_api_key", "scripted: incorrect API key provided")
		return
	case req.Stream && s.sc.StreamError:
		status = http.StatusBadRequest
		writeError(w, status, "unsupported", "scripted: streaming is not supported by this server")
		return
	case ref != nil:
		status = ref.status
		writeRefusal(w, ref)
		return
	case !found:
		status = http.StatusBadRequest
		last := ""
		if n := len(req.Messages); n > 0 {
			last = req.Messages[n-1].Role + ": " + truncate(messageText(req.Messages[n-1]), 200)
		}
		writeError(w, status, "no_rule", fmt.Sprintf("scripted scenario %q: no rule matches the request; last message %q", s.sc.Name, last))
		return
	}
	if s.quirks["slow-server"] && n == 1 {
		reply.Delay = max(reply.Delay, slowDelay)
	}
	status = s.reply(w, r, req, raw, reply, ruleIdx)
}

func (s *Server) ruleIndex(name string) int {
	for i := range s.sc.Rules {
		if s.sc.Rules[i].Name == name {
			return i
		}
	}
	return -1
}

// slowDelay is how long slow-server takes over its first answer.
const slowDelay = 3 * time.Second

func (s *Server) authorized(r *http.Request) bool {
	if s.quirks["azure-entra"] {
		// Key authentication is off: only an Entra ID bearer token,
		// which the scenario's api_key stands for.
		return r.Header.Get("api-key") == "" && r.Header.Get("Authorization") == "Bearer "+s.sc.APIKey
	}
	if s.sc.APIKey == "" {
		return true
	}
	return r.Header.Get("Authorization") == "Bearer "+s.sc.APIKey || r.Header.Get("api-key") == s.sc.APIKey
}

// pick finds the first matching rule and takes its next reply. s.mu is held.
func (s *Server) pick(req openai.ChatCompletionRequest) (Reply, string, bool) {
	for i := range s.sc.Rules {
		rule := &s.sc.Rules[i]
		exhausted := s.next[i] >= len(rule.Replies)
		if exhausted && rule.Repeat != nil && !*rule.Repeat {
			continue
		}
		if !rule.matches(req) {
			continue
		}
		n := min(s.next[i], len(rule.Replies)-1)
		s.next[i]++
		return rule.Replies[n], rule.Name, true
	}
	return Reply{}, "", false
}

func (r *Rule) matches(req openai.ChatCompletionRequest) bool {
	msgs := req.Messages
	if r.match != nil && (len(msgs) == 0 || !r.match.MatchString(messageText(msgs[len(msgs)-1]))) {
		return false
	}
	if r.system != nil {
		sys, ok := "", false
		for _, m := range msgs {
			if m.Role == openai.ChatMessageRoleSystem {
				sys, ok = messageText(m), true
				break
			}
		}
		if !ok || !r.system.MatchString(sys) {
			return false
		}
	}
	if r.anyRe != nil {
		texts := make([]string, len(msgs))
		for i, m := range msgs {
			texts[i] = messageText(m)
		}
		if !r.anyRe.MatchString(strings.Join(texts, "\n")) {
			return false
		}
	}
	for _, name := range r.Tools {
		if !offers(req.Tools, name) {
			return false
		}
	}
	return true
}

func offers(tools []openai.Tool, name string) bool {
	for _, t := range tools {
		if t.Function != nil && t.Function.Name == name {
			return true
		}
	}
	return false
}

// messageText is a message's text: its content or its text parts.
func messageText(m openai.ChatCompletionMessage) string {
	if len(m.MultiContent) == 0 {
		return m.Content
	}
	var b strings.Builder
	for _, p := range m.MultiContent {
		if p.Type == openai.ChatMessagePartTypeText {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// reply writes rep and returns the HTTP status it answered with.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, req openai.ChatCompletionRequest, raw map[string]any, rep Reply, ruleIdx int) int {
	if rep.Run != "" {
		if out, err := s.runHook(r.Context(), rep.Run); err != nil {
			if r.Context().Err() != nil {
				return 0
			}
			writeError(w, http.StatusInternalServerError, "run_failed",
				fmt.Sprintf("scripted: run %q: %v: %s", truncate(rep.Run, 200), err, truncate(out, 2000)))
			return http.StatusInternalServerError
		}
	}
	if rep.Delay > 0 {
		t := time.NewTimer(rep.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return 0
		case <-s.ctx.Done():
			return 0
		}
	}
	if rep.Reset {
		hangUp(w)
		return 0
	}
	if rep.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(rep.RetryAfter))
	}
	if status := rep.Status; (status != 0 && status != http.StatusOK) || rep.ErrorCode != "" {
		if status == 0 || status == http.StatusOK {
			status = http.StatusBadRequest
		}
		msg := rep.Content
		if msg == "" {
			msg = fmt.Sprintf("scripted error %d", status)
		}
		if rep.Echo || s.quirks["error-snowball"] {
			b, _ := json.Marshal(raw["messages"])
			msg += "; messages = " + string(b)
		}
		writeError(w, status, rep.ErrorCode, msg)
		return status
	}

	content := rep.Content
	if rep.Empty {
		content = ""
	}
	if rep.Pad > 0 {
		content = pad(content, rep.Pad)
	}
	s.mu.Lock()
	calls := make([]openai.ToolCall, len(rep.ToolCalls))
	for i, c := range rep.ToolCalls {
		s.calls++
		calls[i] = openai.ToolCall{
			Index:    new(i),
			ID:       fmt.Sprintf("call_%d", s.calls),
			Type:     openai.ToolTypeFunction,
			Function: openai.FunctionCall{Name: c.Name, Arguments: c.Arguments},
		}
	}
	s.mu.Unlock()
	finish := openai.FinishReasonStop
	if len(calls) > 0 {
		finish = openai.FinishReasonToolCalls
	}
	shape := s.shapeReply(req, raw, content, calls, finish)
	if shape.cut && ruleIdx >= 0 {
		// The model would write the same answer again: a request with
		// more room gets this reply whole, not the rule's next one.
		s.mu.Lock()
		s.next[ruleIdx]--
		s.mu.Unlock()
	}
	usage := estimateUsage(req, shapeText(shape), nil)
	if rep.Usage != nil {
		usage = openai.Usage{
			PromptTokens:     rep.Usage.PromptTokens,
			CompletionTokens: rep.Usage.CompletionTokens,
			TotalTokens:      rep.Usage.PromptTokens + rep.Usage.CompletionTokens,
		}
	}
	if req.Stream && !s.sc.NoStream {
		includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
		s.stream(w, req.Model, shape, usage, includeUsage, rep)
		return http.StatusOK
	}
	for _, c := range shape.calls {
		delete(c, "index")
	}
	msg := map[string]any{"role": "assistant", "content": shape.content}
	if len(shape.calls) > 0 {
		msg["tool_calls"] = shape.calls
	}
	if shape.reasoning != "" {
		msg["reasoning_content"] = shape.reasoning
	}
	choice := map[string]any{"index": 0, "message": msg, "finish_reason": shape.finish}
	resp := map[string]any{
		"id": "chatcmpl-scripted", "object": "chat.completion", "created": time.Now().Unix(),
		"model": req.Model, "choices": []any{choice}, "usage": usage,
	}
	body, _ := json.Marshal(resp)
	if rep.Malformed {
		body = []byte(`{"id": "chatcmpl-scripted", "choices": [ {"message": oops } `)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if rep.Cut {
		_, _ = w.Write(body[:len(body)/2])
		hangUp(w)
		return http.StatusOK
	}
	_, _ = w.Write(body)
	return http.StatusOK
}

// pad puts n bytes of filler into content, at "{{pad}}" or at the end.
func pad(content string, n int) string {
	const word = "filler "
	filler := strings.Repeat(word, n/len(word)+1)[:n]
	if strings.Contains(content, "{{pad}}") {
		return strings.Replace(content, "{{pad}}", filler, 1)
	}
	return content + "\n" + filler
}

// shapeText is a shaped reply's text, for the usage estimate.
func shapeText(sh replyShape) string {
	b, _ := json.Marshal(sh.content)
	n := string(b)
	for _, c := range sh.calls {
		cb, _ := json.Marshal(c)
		n += string(cb)
	}
	return n
}

// stream sends the reply as server-sent events, as OpenAI does: a role
// chunk, content deltas, tool call deltas, a finish chunk, then the usage
// chunk when asked for, then [DONE].
func (s *Server) stream(w http.ResponseWriter, model string, sh replyShape, usage openai.Usage, includeUsage bool, rep Reply) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	created := time.Now().Unix()
	send := func(choices []map[string]any, u *openai.Usage) {
		chunk := map[string]any{
			"id": "chatcmpl-scripted", "object": "chat.completion.chunk", "created": created,
			"model": model, "choices": choices,
		}
		if u != nil {
			chunk["usage"] = u
		}
		b, _ := json.Marshal(chunk)
		fmt.Fprintf(w, "data: %s\n\n", b)
		_ = rc.Flush()
	}
	delta := func(d map[string]any) {
		send([]map[string]any{{"index": 0, "delta": d, "finish_reason": nil}}, nil)
	}

	delta(map[string]any{"role": "assistant"})
	if rep.Malformed {
		fmt.Fprint(w, "data: {\"choices\": [ oops\n\n")
		_ = rc.Flush()
		fmt.Fprint(w, "data: [DONE]\n\n")
		return
	}
	if sh.reasoning != "" {
		delta(map[string]any{"reasoning_content": sh.reasoning})
	}
	var words []string
	switch c := sh.content.(type) {
	case string:
		if c != "" {
			words = strings.SplitAfter(c, " ")
		}
	case nil:
	default:
		// Typed parts go as one delta, as Magistral sends them.
		delta(map[string]any{"content": c})
	}
	if rep.Cut {
		for _, wd := range words[:len(words)/2] {
			delta(map[string]any{"content": wd})
		}
		hangUp(w)
		return
	}
	for _, wd := range words {
		delta(map[string]any{"content": wd})
	}
	for i, c := range sh.calls {
		fn := c["function"].(map[string]any)
		args, isString := fn["arguments"].(string)
		if !isString {
			// An object goes whole, in one fragment.
			delta(map[string]any{"tool_calls": []any{map[string]any{"index": i, "id": c["id"], "type": "function",
				"function": map[string]any{"name": fn["name"], "arguments": fn["arguments"]}}}})
			continue
		}
		half := len(args) / 2
		delta(map[string]any{"tool_calls": []any{map[string]any{"index": i, "id": c["id"], "type": "function",
			"function": map[string]any{"name": fn["name"], "arguments": args[:half]}}}})
		delta(map[string]any{"tool_calls": []any{map[string]any{"index": i,
			"function": map[string]any{"arguments": args[half:]}}}})
	}
	send([]map[string]any{{"index": 0, "delta": map[string]any{}, "finish_reason": sh.finish}}, nil)
	if includeUsage {
		send([]map[string]any{}, &usage)
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	_ = rc.Flush()
}

// runHook runs a reply's run command with sh -c and returns its combined
// output. The output goes to a file rather than a pipe: the wait then ends
// with sh, not with the last background job holding the pipe open. The
// command is killed when the client leaves or the server closes.
func (s *Server) runHook(ctx context.Context, command string) (string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.ctx, cancel)
	defer stop()
	f, err := os.CreateTemp("", "scripted-run-*.out")
	if err != nil {
		return "", err
	}
	defer f.Close()
	// Background jobs keep writing to the open file; its name is not needed.
	defer os.Remove(f.Name())
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.Stdout, cmd.Stderr = f, f
	runErr := cmd.Run()
	out, err := os.ReadFile(f.Name())
	if err != nil {
		return "", err
	}
	return string(out), runErr
}

// hangUp flushes what was written and closes the connection without
// finishing the response.
func hangUp(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	conn, _, err := rc.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

func estimateUsage(req openai.ChatCompletionRequest, content string, calls []openai.ToolCall) openai.Usage {
	prompt := 0
	for _, m := range req.Messages {
		prompt += len(messageText(m))
	}
	completion := len(content)
	for _, c := range calls {
		completion += len(c.Function.Name) + len(c.Function.Arguments)
	}
	u := openai.Usage{PromptTokens: max(1, prompt/4), CompletionTokens: max(1, completion/4)}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	return u
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	e := map[string]any{"message": msg, "type": "invalid_request_error", "param": nil, "code": nil}
	if code != "" {
		e["code"] = code
	}
	writeJSON(w, status, map[string]any{"error": e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
