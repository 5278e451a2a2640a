package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/m1-project/m1/config"
)

// Defaults of the options.
const (
	// DefaultCallTimeout bounds one tool call, as Codex's default does.
	DefaultCallTimeout = 60 * time.Second
	// DefaultStartTimeout bounds starting a server and listing its tools.
	DefaultStartTimeout = 30 * time.Second
	// DefaultMaxRounds is how many model calls one step of an MCP agent
	// may make: each may call tools and see their results.
	DefaultMaxRounds = 5
	// stopGrace is how long a stdio server has to exit after its stdin
	// closes before it is signalled.
	stopGrace = 2 * time.Second
)

// clientInfo is how m1 introduces itself to servers.
var clientInfo = &sdk.Implementation{Name: "m1", Title: "m1", Version: "1"}

// Server is a connection to one configured MCP server. A server that stops
// (it crashed, or its connection dropped) is started again once; after
// that it is reported as gone. It is safe for concurrent use.
type Server struct {
	cfg    config.MCPServer
	getenv func(string) string
	start  time.Duration
	client *sdk.Client

	mu       sync.Mutex
	cur      *conn
	restarts int
	closed   bool
	gone     error // set once the server stopped for good
	notices  []string

	stale    atomic.Bool // the server said its tool list changed
	progress sync.Map    // progress token → func(*sdk.ProgressNotificationParams)
}

// conn is one connection to the server: one process, for stdio.
type conn struct {
	sess  *sdk.ClientSession
	proc  *process // nil over HTTP
	done  chan struct{}
	init  *sdk.InitializeResult
	tools []*sdk.Tool
	// resources are the first maxResources the server lists, when it
	// has the capability.
	resources []*sdk.Resource
}

// maxResources caps the resources listed for the model.
const maxResources = 50

// alive reports whether the connection is still open.
func (c *conn) alive() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// why says how a stopped connection ended.
func (c *conn) why() string {
	if c.proc != nil {
		if d := c.proc.describe(); d != "" {
			return d
		}
	}
	return "the connection closed"
}

// Connect starts the server cfg describes (or connects to it over HTTP),
// and lists its tools. getenv supplies the variables a stdio server
// inherits (see serverEnv); startTimeout bounds the start (zero:
// DefaultStartTimeout).
func Connect(ctx context.Context, cfg config.MCPServer, getenv func(string) string, startTimeout time.Duration) (*Server, error) {
	if startTimeout <= 0 {
		startTimeout = DefaultStartTimeout
	}
	s := &Server{cfg: cfg, getenv: getenv, start: startTimeout}
	s.client = sdk.NewClient(clientInfo, &sdk.ClientOptions{
		// m1 offers no roots, sampling or elicitation: a server asks the
		// team through its tools' results.
		Capabilities: &sdk.ClientCapabilities{},
		ProgressNotificationHandler: func(_ context.Context, req *sdk.ProgressNotificationClientRequest) {
			if req.Params == nil {
				return
			}
			if f, ok := s.progress.Load(fmt.Sprint(req.Params.ProgressToken)); ok {
				f.(func(*sdk.ProgressNotificationParams))(req.Params)
			}
		},
		ToolListChangedHandler: func(context.Context, *sdk.ToolListChangedRequest) { s.stale.Store(true) },
	})
	c, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	s.cur = c
	return s, nil
}

// Name is the server's key in the config.
func (s *Server) Name() string { return s.cfg.Name }

// Config returns the server's settings.
func (s *Server) Config() config.MCPServer { return s.cfg }

// connect opens a new connection and lists the tools.
func (s *Server) connect(ctx context.Context) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, s.start)
	defer cancel()
	c := &conn{done: make(chan struct{})}
	var t sdk.Transport
	if s.cfg.Transport() == config.MCPHTTP {
		t = &sdk.StreamableClientTransport{Endpoint: s.cfg.URL, HTTPClient: &http.Client{Transport: headers(s.cfg.Headers)}}
	} else {
		p, err := startProcess(s.cfg, serverEnv(s.cfg, s.getenv))
		if err != nil {
			return nil, fmt.Errorf("mcp server %s: %w", s.cfg.Name, err)
		}
		c.proc = p
		t = &sdk.IOTransport{Reader: stdoutReader{p}, Writer: stdinCloser{p, stopGrace}}
	}
	fail := func(what string, err error) (*conn, error) {
		if c.sess != nil {
			closeSession(c.sess)
		}
		if c.proc != nil {
			c.proc.stop(0)
			err = fmt.Errorf("%w (%s)", err, c.proc.describe())
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("mcp server %s: %s: no answer within %s (raise startup_timeout in the config if it is slow to start): %w", s.cfg.Name, what, s.start, err)
		}
		return nil, fmt.Errorf("mcp server %s: %s: %w", s.cfg.Name, what, err)
	}
	sess, err := s.client.Connect(ctx, t, nil)
	if err != nil {
		return fail("connect", err)
	}
	c.sess = sess
	go func() {
		_ = sess.Wait()
		close(c.done)
	}()
	c.init = sess.InitializeResult()
	if c.init != nil && c.init.Capabilities != nil && c.init.Capabilities.Tools != nil {
		for tool, err := range sess.Tools(ctx, nil) {
			if err != nil {
				return fail("list tools", err)
			}
			c.tools = append(c.tools, tool)
		}
	}
	if c.init != nil && c.init.Capabilities != nil && c.init.Capabilities.Resources != nil {
		// Listing is a courtesy to the model: a server that fails it
		// still serves its tools and read_resource.
		for r, err := range sess.Resources(ctx, nil) {
			if err != nil || len(c.resources) == maxResources {
				break
			}
			c.resources = append(c.resources, r)
		}
	}
	return c, nil
}

// headers is an HTTP transport that adds the configured headers.
type headers map[string]string

func (h headers) RoundTrip(r *http.Request) (*http.Response, error) {
	if len(h) > 0 {
		r = r.Clone(r.Context())
		for k, v := range h {
			r.Header.Set(k, v)
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

// Tools lists the server's tools as it last gave them.
func (s *Server) Tools() []*sdk.Tool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur.tools
}

// HasResources reports whether the server offers resources to read.
func (s *Server) HasResources() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur.init != nil && s.cur.init.Capabilities != nil && s.cur.init.Capabilities.Resources != nil
}

// Resources lists the server's resources as it last gave them (at most
// the first fifty).
func (s *Server) Resources() []*sdk.Resource {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur.resources
}

// Instructions are the server's own instructions for using it.
func (s *Server) Instructions() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur.init == nil {
		return ""
	}
	return s.cur.init.Instructions
}

// Implementation is the server's name and version as it gave them.
func (s *Server) Implementation() *sdk.Implementation {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur.init == nil {
		return nil
	}
	return s.cur.init.ServerInfo
}

// StoppedError says the server stopped. Restarted tells whether it was
// started again (the first time) or is gone for the rest of the run.
type StoppedError struct {
	Server    string
	Detail    string
	Restarted bool
	// Err is why a restart failed, if it did.
	Err error
}

// Error says which server stopped, how, and what became of it.
func (e *StoppedError) Error() string {
	if e.Restarted {
		return fmt.Sprintf("mcp server %s stopped (%s) and was restarted", e.Server, e.Detail)
	}
	msg := fmt.Sprintf("mcp server %s stopped (%s)", e.Server, e.Detail)
	if e.Err != nil {
		return msg + " and could not be restarted: " + e.Err.Error()
	}
	return msg + " again after a restart; it is left out for the rest of the run (m1 doctor shows what fails)"
}

// Unwrap returns why a restart failed, if it did.
func (e *StoppedError) Unwrap() error { return e.Err }

// ErrTimeout is wrapped by a call that took longer than its timeout.
var ErrTimeout = errors.New("timed out")

// Ensure checks that the server still runs, restarting it once if it
// stopped since the last call (Notices then says so). A server gone for
// good returns a *StoppedError.
func (s *Server) Ensure(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ensureLocked(ctx)
}

func (s *Server) ensureLocked(ctx context.Context) error {
	switch {
	case s.closed:
		return fmt.Errorf("mcp server %s: closed", s.cfg.Name)
	case s.gone != nil:
		return s.gone
	case s.cur.alive():
		return nil
	}
	se := s.restartLocked(ctx)
	if se.Restarted {
		return nil
	}
	return se
}

// Notices returns and forgets what happened to the server since the last
// time: each restart, in words for the model and the console.
func (s *Server) Notices() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.notices
	s.notices = nil
	return n
}

// restartLocked starts the server again if it has not been restarted yet,
// and says how it went.
func (s *Server) restartLocked(ctx context.Context) *StoppedError {
	old := s.cur
	closeConn(old)
	se := &StoppedError{Server: s.cfg.Name, Detail: old.why()}
	if s.restarts >= 1 {
		s.gone = se
		return se
	}
	s.restarts++
	c, err := s.connect(ctx)
	if err != nil {
		se.Err = err
		s.gone = se
		return se
	}
	s.cur = c
	s.stale.Store(false)
	se.Restarted = true
	s.notices = append(s.notices, se.Error())
	return se
}

// Refresh lists the tools again if the server said they changed.
func (s *Server) Refresh(ctx context.Context) {
	if !s.stale.CompareAndSwap(true, false) {
		return
	}
	s.mu.Lock()
	c := s.cur
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, s.start)
	defer cancel()
	var tools []*sdk.Tool
	for tool, err := range c.sess.Tools(ctx, nil) {
		if err != nil {
			return // keep the old list; a broken server shows at the next call
		}
		tools = append(tools, tool)
	}
	s.mu.Lock()
	if s.cur == c {
		c.tools = tools
	}
	s.mu.Unlock()
}

// Call calls tool name with args (a JSON object) within timeout (zero:
// DefaultCallTimeout), passing progress notifications to onProgress. A
// call that the server answers with a protocol error (unknown tool,
// invalid arguments) returns a *ToolError; one that takes too long returns
// an error wrapping ErrTimeout; a server that stops during the call
// returns a *StoppedError after the one restart it gets.
func (s *Server) Call(ctx context.Context, name string, args json.RawMessage, timeout time.Duration, onProgress func(*sdk.ProgressNotificationParams)) (*sdk.CallToolResult, error) {
	params := &sdk.CallToolParams{Name: name, Arguments: args}
	if onProgress != nil {
		token := newToken()
		params.SetProgressToken(token)
		s.progress.Store(token, onProgress)
		defer s.progress.Delete(token)
	}
	var res *sdk.CallToolResult
	err := s.request(ctx, "tool "+name, timeout, func(ctx context.Context, sess *sdk.ClientSession) (err error) {
		res, err = sess.CallTool(ctx, params)
		return err
	})
	return res, err
}

// ReadResource reads the resource at uri, with Call's timeout and
// errors.
func (s *Server) ReadResource(ctx context.Context, uri string, timeout time.Duration) (*sdk.ReadResourceResult, error) {
	var res *sdk.ReadResourceResult
	err := s.request(ctx, "resource "+uri, timeout, func(ctx context.Context, sess *sdk.ClientSession) (err error) {
		res, err = sess.ReadResource(ctx, &sdk.ReadResourceParams{URI: uri})
		return err
	})
	return res, err
}

// request runs one request on the current connection (restarting a server
// that stopped since the last one) within timeout, and sorts its failure:
// the caller's ctx ended, the timeout passed (ErrTimeout), the server
// refused it (*ToolError), or the server stopped (*StoppedError).
func (s *Server) request(ctx context.Context, what string, timeout time.Duration, f func(context.Context, *sdk.ClientSession) error) error {
	s.mu.Lock()
	if err := s.ensureLocked(ctx); err != nil {
		s.mu.Unlock()
		return err
	}
	c := s.cur
	s.mu.Unlock()

	if timeout <= 0 {
		timeout = DefaultCallTimeout
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// A dead server may never answer; the request ends when its
	// connection does.
	ch := make(chan error, 1)
	go func() { ch <- f(rctx, c.sess) }()
	var err error
	select {
	case err = <-ch:
	case <-c.done:
		cancel()
		if err = <-ch; err != nil {
			err = sdk.ErrConnectionClosed
		}
	}
	if err == nil {
		return nil
	}
	var we *jsonrpc.Error
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(rctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("mcp server %s: %s: %w after %s", s.cfg.Name, what, ErrTimeout, timeout)
	case errors.As(err, &we) && we.Code != codeClientClosing && we.Code != codeServerClosing:
		return &ToolError{Msg: we.Message}
	}
	// Anything else is the connection failing: wait for it to end, so
	// the end can be told.
	select {
	case <-c.done:
	case <-time.After(time.Second):
		return fmt.Errorf("mcp server %s: %s: %w", s.cfg.Name, what, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != c {
		// Another request restarted it meanwhile.
		return &StoppedError{Server: s.cfg.Name, Detail: c.why(), Restarted: true}
	}
	return s.restartLocked(ctx)
}

// JSON-RPC codes of a connection that is closing, which are not the
// tool's answer.
const (
	codeClientClosing = -32003
	codeServerClosing = -32004
)

// ToolError is a call the server refused (unknown tool, invalid
// arguments): a mistake the model can correct.
type ToolError struct{ Msg string }

// Error is the server's message.
func (e *ToolError) Error() string { return e.Msg }

// Close ends the connection and, for stdio, the server's processes. It
// returns within a few seconds whatever the server does.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	closeConn(s.cur)
	return nil
}

// closeConn closes c's session and stops its process.
func closeConn(c *conn) {
	if c == nil {
		return
	}
	if c.sess != nil {
		closeSession(c.sess)
	}
	if c.proc != nil {
		c.proc.stop(stopGrace)
	}
}

// closeSession closes sess, giving up after a few seconds: an HTTP server
// that does not answer the closing request must not hold the run.
func closeSession(sess *sdk.ClientSession) {
	done := make(chan struct{})
	go func() {
		_ = sess.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(stopGrace + 3*time.Second):
	}
}

var tokens atomic.Int64

func newToken() string { return fmt.Sprintf("m1-%d", tokens.Add(1)) }
