package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/m1-project/m1/agent"
)

type agentIface = agent.Agent

type plainAgent struct{ name string }

func (a *plainAgent) Name() string        { return a.name }
func (a *plainAgent) Description() string { return "test agent" }
func (a *plainAgent) Reset(context.Context) error {
	return nil
}
func (a *plainAgent) Step(_ context.Context, t agent.Turn) (agent.Message, error) {
	t.EmitTo()(agent.Event{Type: agent.EventToolCall, Tool: &agent.ToolCall{Name: "look"}})
	t.EmitTo()(agent.Event{Type: agent.EventToolResult, Tool: &agent.ToolCall{Name: "look", Result: "seen"}})
	return agent.NewMessage(a.name, "done"), nil
}

type statefulAgent struct {
	plainAgent
	loaded json.RawMessage
}

func (a *statefulAgent) SaveState() (json.RawMessage, error) {
	return json.RawMessage(`{"page":3}`), nil
}
func (a *statefulAgent) LoadState(_ context.Context, s json.RawMessage) error {
	a.loaded = s
	return nil
}

type closerAgent struct {
	plainAgent
	closed bool
}

func (a *closerAgent) Close() error { a.closed = true; return nil }

type bothAgent struct {
	statefulAgent
	closed bool
}

func (a *bothAgent) Close() error { a.closed = true; return nil }

func eventOf(typ string) agent.Event { return agent.Event{Type: typ} }

// memProvider is a Provider whose spans go to memory.
func memProvider(t *testing.T, content bool, redact func(string) string) (*Provider, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	p, err := New(context.Background(), Options{Content: content, Redact: redact, Exporters: &Exporters{Spans: keep{exp}}})
	if err != nil {
		t.Fatal(err)
	}
	return p, exp
}

// keep stops a shutdown from clearing the in-memory exporter.
type keep struct{ *tracetest.InMemoryExporter }

func (keep) Shutdown(context.Context) error { return nil }

// The wrapper is Stateful and a Closer exactly when the agent is, and
// passes those calls through, so checkpoints and clean-up see the agent.
func TestAgentWrapperKeepsStatefulAndCloser(t *testing.T) {
	t.Parallel()
	p, _ := memProvider(t, false, nil)
	defer p.Shutdown(context.Background())
	ctx := context.Background()

	plain := p.Agent(&plainAgent{name: "P"})
	if _, ok := plain.(agent.Stateful); ok {
		t.Errorf("a plain agent's wrapper is Stateful")
	}
	if _, ok := plain.(agent.Closer); ok {
		t.Errorf("a plain agent's wrapper is a Closer")
	}

	st := &statefulAgent{plainAgent: plainAgent{name: "S"}}
	w := p.Agent(st)
	s, ok := w.(agent.Stateful)
	if !ok {
		t.Fatalf("a stateful agent's wrapper is not Stateful")
	}
	if _, ok := w.(agent.Closer); ok {
		t.Errorf("a stateful agent's wrapper is a Closer")
	}
	if raw, _ := s.SaveState(); string(raw) != `{"page":3}` {
		t.Errorf("SaveState through the wrapper = %s", raw)
	}
	if err := s.LoadState(ctx, json.RawMessage(`{"page":5}`)); err != nil || string(st.loaded) != `{"page":5}` {
		t.Errorf("LoadState did not reach the agent: %s", st.loaded)
	}

	cl := &closerAgent{plainAgent: plainAgent{name: "C"}}
	w = p.Agent(cl)
	if _, ok := w.(agent.Stateful); ok {
		t.Errorf("a closer's wrapper is Stateful")
	}
	c, ok := w.(agent.Closer)
	if !ok {
		t.Fatalf("a closer's wrapper is not a Closer")
	}
	if c.Close(); !cl.closed {
		t.Errorf("Close did not reach the agent")
	}

	both := &bothAgent{statefulAgent: statefulAgent{plainAgent: plainAgent{name: "B"}}}
	w = p.Agent(both)
	if _, ok := w.(agent.Stateful); !ok {
		t.Errorf("the wrapper of a stateful closer is not Stateful")
	}
	if c, ok := w.(agent.Closer); !ok {
		t.Errorf("the wrapper of a stateful closer is not a Closer")
	} else if c.Close(); !both.closed {
		t.Errorf("Close did not reach the agent")
	}
	if w.Name() != "B" || Unwrap(w) != agent.Agent(both) {
		t.Errorf("the wrapper hides the agent: %s, %T", w.Name(), Unwrap(w))
	}
}

// Every string of every exported span passes through Redact, content or
// not: names, attributes, events and status.
func TestExportRedactsEverySpan(t *testing.T) {
	t.Parallel()
	const key = "sk-live-0123456789"
	p, exp := memProvider(t, true, func(s string) string { return strings.ReplaceAll(s, key, "[redacted]") })
	ctx, run := p.StartRun(context.Background(), RunInfo{SessionID: "s1", Task: "use " + key})
	_, endTurn := run.TurnHook()(ctx, 1)
	run.Event(agent.Event{Type: agent.EventWarning, Source: "Coder", Content: "saw " + key, Turn: 1})
	endTurn(errors.New("failed with " + key))
	run.End(agent.Event{Status: agent.StatusError, StopReason: "stopped: " + key, FinalAnswer: key}, nil)
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, s := range exp.GetSpans() {
		b, _ := json.Marshal(s.Attributes)
		all.Write(b)
		all.WriteString(s.Status.Description + s.Name)
		for _, e := range s.Events {
			b, _ := json.Marshal(e.Attributes)
			all.Write(b)
		}
	}
	if len(exp.GetSpans()) != 2 {
		t.Fatalf("%d spans, want 2 (run, turn)", len(exp.GetSpans()))
	}
	if strings.Contains(all.String(), key) {
		t.Fatalf("the key was exported: %s", all.String())
	}
	if !strings.Contains(all.String(), "[redacted]") {
		t.Fatalf("nothing was redacted: %s", all.String())
	}
}

// traceReceiver is an OTLP/gRPC trace receiver.
type traceReceiver struct {
	collectortrace.UnimplementedTraceServiceServer
	mu    sync.Mutex
	spans []string
	auth  []string
}

func (r *traceReceiver) Export(ctx context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		r.auth = append(r.auth, md.Get("authorization")...)
	}
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				r.spans = append(r.spans, s.Name)
			}
		}
	}
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

// OTEL_EXPORTER_OTLP_PROTOCOL=grpc sends the spans over gRPC, with the
// headers as metadata.
func TestExportOverGRPC(t *testing.T) {
	t.Parallel()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	recv := &traceReceiver{}
	collectortrace.RegisterTraceServiceServer(srv, recv)
	go srv.Serve(lis)
	defer srv.Stop()

	env := map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + lis.Addr().String(),
		"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
		"OTEL_EXPORTER_OTLP_HEADERS":  "authorization=Bearer%20t0k",
		"OTEL_METRICS_EXPORTER":       "none",
	}
	p, err := New(context.Background(), Options{Getenv: func(k string) string { return env[k] }})
	if err != nil || p == nil {
		t.Fatalf("New = %v, %v", p, err)
	}
	_, run := p.StartRun(context.Background(), RunInfo{SessionID: "s1"})
	run.End(agent.Event{Status: agent.StatusSuccess}, nil)
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	recv.mu.Lock()
	defer recv.mu.Unlock()
	if len(recv.spans) != 1 || recv.spans[0] != "invoke_workflow m1" {
		t.Errorf("received %v, want the run's span", recv.spans)
	}
	if len(recv.auth) == 0 || recv.auth[0] != "Bearer t0k" {
		t.Errorf("authorization metadata %v", recv.auth)
	}
}

// A collector that is not there costs the run at most ShutdownTimeout at
// its end, and the error says how many spans were lost and where to look.
func TestUnreachableCollectorIsReportedOnce(t *testing.T) {
	t.Parallel()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close() // nothing listens there now
	env := map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://" + addr + "/v1/traces"}
	p, err := New(context.Background(), Options{Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	_, run := p.StartRun(context.Background(), RunInfo{SessionID: "s1"})
	run.End(agent.Event{Status: agent.StatusSuccess}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // as after Ctrl-C
	start := time.Now()
	err = p.Shutdown(ctx)
	if err == nil || !strings.Contains(err.Error(), "not exported to http/protobuf http://"+addr) || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_ENDPOINT") {
		t.Fatalf("Shutdown = %v, want a failed export named", err)
	}
	// Timing is not asserted, only logged: tests do not fail on speed.
	t.Logf("shutdown took %s", time.Since(start).Round(time.Millisecond))
}
