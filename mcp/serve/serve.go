// Package serve is `m1 mcp`: m1 as a Model Context Protocol server, so
// other agents (Claude Desktop, Codex, Gemini CLI, an IDE) can hand it a
// whole task. It offers three tools: run_task runs a full m1 session
// through runner.Run and returns the final answer, its status and the
// session id, with a progress notification per turn; resume_session goes
// on with a saved session; read_file returns a file as the FileSurfer
// reads it (what `m1 read` prints). Nobody sits at m1's terminal: runs
// take no questions, and actions that need a person's approval are
// refused.
package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/m1-project/m1/runner"
)

// Options are the server's settings.
type Options struct {
	// Run is the settings of every run unless a call changes them (the
	// flags of `m1 mcp`). Its WorkDir is the folder runs start in and
	// read_file reads; Team.AllowPaths are further folders both may use.
	Run runner.Options
	// Getenv reads the environment of runs (config variables, keys).
	Getenv func(string) string
	// SessionRoot is where sessions are kept; empty means the default.
	SessionRoot string
	// Version is m1's version, as clients are told.
	Version string
	// Stderr receives warnings of runs; nil drops them.
	Stderr io.Writer
}

// instructions tell the client's model how to use m1.
const instructions = `m1 is a team of AI agents (an Orchestrator directing a Coder, a ComputerTerminal that runs code in a sandbox, a WebSurfer driving a real browser, a FileSurfer reading local files, and any MCP servers m1 is configured with). Give it a whole task with run_task: it plans, works turn by turn and returns a final answer, a status (success, incomplete, error, cancelled) and a session id. A run takes minutes; progress notifications report each turn. An incomplete or cancelled run can be continued, or any run given a follow-up request, with resume_session. read_file returns a local file (PDF, Office, HTML, CSV, images, ...) as markdown.`

// Server is m1 as an MCP server.
type Server struct {
	mcp *sdk.Server
	h   *handlers
}

// New returns the MCP server with m1's tools.
func New(opts Options) *Server {
	s := sdk.NewServer(&sdk.Implementation{Name: "m1", Title: "m1: a Magentic-One style team of agents", Version: opts.Version},
		&sdk.ServerOptions{Instructions: instructions, Capabilities: &sdk.ServerCapabilities{}})
	h := &handlers{opts: opts, base: context.Background()}
	sdk.AddTool(s, runTaskTool, h.runTask)
	sdk.AddTool(s, resumeSessionTool, h.resumeSession)
	sdk.AddTool(s, readFileTool, h.readFile)
	return &Server{mcp: s, h: h}
}

// MCP returns the SDK's server, to connect it to a transport of one's
// own (tests connect it in memory). Runs end when the client cancels
// their call or the connection closes.
func (s *Server) MCP() *sdk.Server { return s.mcp }

// handlers hold what the tools share.
type handlers struct {
	opts Options
	// base ends every run when the server stops.
	base context.Context
	runs sync.WaitGroup
}

// runContext is the context of one run: it ends when the client cancels
// the call or the server stops.
func (h *handlers) runContext(req context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(req)
	stop := context.AfterFunc(h.base, cancel)
	h.runs.Add(1)
	return ctx, func() {
		stop()
		cancel()
		h.runs.Done()
	}
}

// serving sets ctx as the end of every run, and returns the function that
// waits for the runs to finish (their containers and browsers closed)
// once ctx has ended.
func (s *Server) serving(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(ctx)
	s.h.base = ctx
	return ctx, func() {
		cancel()
		s.h.runs.Wait()
	}
}

// ServeStdio serves one client over in and out until it leaves or ctx
// ends; runs still going are then cancelled and waited for.
func (s *Server) ServeStdio(ctx context.Context, in io.ReadCloser, out io.WriteCloser) error {
	ctx, wait := s.serving(ctx)
	defer wait()
	err := s.mcp.Run(ctx, &sdk.IOTransport{Reader: in, Writer: out})
	if err != nil && (ctx.Err() != nil || errors.Is(err, io.EOF) || errors.Is(err, sdk.ErrConnectionClosed)) {
		return nil
	}
	return err
}

// Path is where the streamable HTTP endpoint is served.
const Path = "/mcp"

// ListenHTTP checks addr and listens on it. m1 serves without
// authentication and runs code for whoever calls it, so it listens on
// loopback addresses only; a remote client goes through a tunnel or an
// authenticating proxy.
func ListenHTTP(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("--http %s: want HOST:PORT, e.g. 127.0.0.1:8765", addr)
	}
	if !loopback(host) {
		return nil, fmt.Errorf("--http %s: m1 mcp serves without authentication and runs code for its callers, so it listens on loopback only (127.0.0.1, ::1 or localhost); reach it from elsewhere through an SSH tunnel or an authenticating proxy", addr)
	}
	return net.Listen("tcp", addr)
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ServeStreamable serves streamable HTTP at Path on l until ctx ends;
// runs still going are then cancelled and waited for.
func (s *Server) ServeStreamable(ctx context.Context, l net.Listener) error {
	ctx, wait := s.serving(ctx)
	defer wait()
	mux := http.NewServeMux()
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s.mcp }, nil)
	// Browsers may not drive it from another site's page.
	mux.Handle(Path, http.NewCrossOriginProtection().Handler(h))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		case <-done:
		}
	}()
	err := srv.Serve(l)
	close(done)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
