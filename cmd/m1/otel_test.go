package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	collectormetrics "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/proto"

	"github.com/m1-project/m1/model/scripted"
)

// otlpReceiver is an OTLP/HTTP receiver: it decodes every trace and metric
// export m1 sends and keeps the raw bodies, so a test can look for a string
// in anything that left the process.
type otlpReceiver struct {
	*httptest.Server
	mu      sync.Mutex
	raw     [][]byte
	spans   []receivedSpan
	metrics []string
	headers []http.Header
}

// receivedSpan is a span as the receiver decoded it.
type receivedSpan struct {
	name     string
	attrs    map[string]string
	parent   []byte
	id       []byte
	resource map[string]string
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	r := &otlpReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *otlpReceiver) serve(w http.ResponseWriter, req *http.Request) {
	var body io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = gz
	}
	b, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.raw = append(r.raw, b)
	r.headers = append(r.headers, req.Header.Clone())
	switch req.URL.Path {
	case "/v1/traces":
		var ex collectortrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &ex); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, rs := range ex.ResourceSpans {
			res := flatten(rs.Resource.GetAttributes())
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					r.spans = append(r.spans, receivedSpan{name: s.Name, attrs: flatten(s.Attributes), parent: s.ParentSpanId, id: s.SpanId, resource: res})
				}
			}
		}
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	case "/v1/metrics":
		var ex collectormetrics.ExportMetricsServiceRequest
		if err := proto.Unmarshal(b, &ex); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, rm := range ex.ResourceMetrics {
			for _, sm := range rm.ScopeMetrics {
				for _, m := range sm.Metrics {
					if !slices.Contains(r.metrics, m.Name) {
						r.metrics = append(r.metrics, m.Name)
					}
				}
			}
		}
		out, _ := proto.Marshal(&collectormetrics.ExportMetricsServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	default:
		http.NotFound(w, req)
	}
}

func flatten(kvs []*commonpb.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[kv.Key] = anyString(kv.Value)
	}
	return m
}

func anyString(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return strconv.FormatInt(x.IntValue, 10)
	case *commonpb.AnyValue_BoolValue:
		return strconv.FormatBool(x.BoolValue)
	case *commonpb.AnyValue_DoubleValue:
		return strconv.FormatFloat(x.DoubleValue, 'g', -1, 64)
	case *commonpb.AnyValue_ArrayValue:
		var parts []string
		for _, e := range x.ArrayValue.GetValues() {
			parts = append(parts, anyString(e))
		}
		return strings.Join(parts, ",")
	}
	return ""
}

// named returns the received spans called name.
func (r *otlpReceiver) named(name string) []receivedSpan {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []receivedSpan
	for _, s := range r.spans {
		if s.name == name {
			out = append(out, s)
		}
	}
	return out
}

// contains reports whether any export body holds s.
func (r *otlpReceiver) contains(s string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.raw {
		if bytes.Contains(b, []byte(s)) {
			return true
		}
	}
	return false
}

const (
	otelKey    = "sk-otel-canary-5f1e2d3c4b"
	otelPrompt = "OTEL-PROMPT-CANARY"
)

// otelScenario is a Coder run of one turn whose replies echo the API key.
func otelScenario(coder ...scripted.Reply) *scripted.Scenario {
	return &scripted.Scenario{APIKey: otelKey, Rules: []scripted.Rule{
		{Name: "facts", Match: "GIVEN OR VERIFIED FACTS", Replies: []scripted.Reply{scripted.Text("1. GIVEN OR VERIFIED FACTS\n- none")}},
		{Name: "plan", Match: "short (bullet )?plan", Replies: []scripted.Reply{scripted.Text("- Coder: answer")}},
		{Name: "ledger", Match: "is_request_satisfied|could not be used", Replies: []scripted.Reply{
			ledgerTo("Coder", "Compute 6*7."), ledgerSatisfied}},
		{Name: "coder", System: "You are the Coder", Replies: coder},
		{Name: "final", Match: "final answer", Replies: []scripted.Reply{scripted.Text("The answer is 42.")}},
	}}
}

// otelEnv is the environment of a run against srv that exports to recv.
func otelEnv(t *testing.T, srv *scripted.Server, recv *otlpReceiver) []string {
	t.Helper()
	dir := t.TempDir()
	return []string{"OPENAI_BASE_URL=" + srv.URL(), "OPENAI_API_KEY=" + otelKey, "M1_MODEL=scripted",
		"XDG_STATE_HOME=" + filepath.Join(dir, "state"), "HOME=" + dir,
		"OTEL_EXPORTER_OTLP_ENDPOINT=" + recv.URL,
		"OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
		"OTEL_EXPORTER_OTLP_HEADERS=x-m1-test=e2e%20run",
		"OTEL_SERVICE_NAME=m1-e2e",
		"OTEL_RESOURCE_ATTRIBUTES=deployment.environment=ci",
		// Whatever the machine's environment says, only the above counts.
		"OTEL_TRACES_EXPORTER=", "OTEL_METRICS_EXPORTER=", "OTEL_SDK_DISABLED=",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=",
		"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL=",
		"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT="}
}

// TestOTLPExportThroughTheBinary runs the real m1 with the standard OTEL_*
// variables pointing at a receiver started here: the spans and metrics
// arrive with the resource, the headers and the GenAI attributes, and hold
// no prompt text and no key, unless --otel-content, which adds the prompt
// but still not the key.
func TestOTLPExportThroughTheBinary(t *testing.T) {
	t.Parallel()
	for _, content := range []bool{false, true} {
		name := map[bool]string{false: "no content", true: "otel-content"}[content]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := scripted.New(t, otelScenario(scripted.Text("6*7 = 42; the key was "+otelKey)))
			recv := newOTLPReceiver(t)
			args := []string{"--json", "--agents", "coder", "--work-dir", t.TempDir(), "What is 6*7? " + otelPrompt}
			if content {
				args = append([]string{"--otel-content"}, args...)
			}
			cmd, out, errOut := m1Cmd(t, otelEnv(t, srv, recv), args...)
			if err := cmd.Run(); err != nil {
				t.Fatalf("m1: %v\nstdout:\n%s\nstderr:\n%s", err, tail(out.String(), 2000), errOut)
			}
			if strings.Contains(errOut.String(), "telemetry") {
				t.Errorf("a telemetry warning:\n%s", errOut)
			}

			runs := recv.named("invoke_workflow m1")
			if len(runs) != 1 {
				t.Fatalf("%d run spans arrived, want 1", len(runs))
			}
			run := runs[0]
			if run.attrs["m1.status"] != "success" || run.attrs["m1.session.id"] == "" || len(run.parent) != 0 {
				t.Errorf("run span %v", run.attrs)
			}
			if run.resource["service.name"] != "m1-e2e" || run.resource["deployment.environment"] != "ci" {
				t.Errorf("resource %v", run.resource)
			}
			turns := recv.named("turn")
			if len(turns) != 2 || !bytes.Equal(turns[0].parent, run.id) {
				t.Fatalf("%d turn spans (want 2, under the run)", len(turns))
			}
			steps := recv.named("invoke_agent Coder")
			if len(steps) != 1 {
				t.Fatalf("%d Coder steps, want 1", len(steps))
			}
			var coderCall *receivedSpan
			for _, c := range recv.named("chat scripted") {
				if bytes.Equal(c.parent, steps[0].id) {
					coderCall = &c
				}
			}
			if coderCall == nil {
				t.Fatalf("no model call under the Coder's step")
			}
			for k, v := range map[string]string{"gen_ai.operation.name": "chat", "gen_ai.request.model": "scripted",
				"gen_ai.response.model": "scripted", "gen_ai.provider.name": "openai", "server.address": "127.0.0.1"} {
				if coderCall.attrs[k] != v {
					t.Errorf("model call %s = %q, want %q", k, coderCall.attrs[k], v)
				}
			}
			for _, k := range []string{"gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.response.finish_reasons", "server.port"} {
				if coderCall.attrs[k] == "" {
					t.Errorf("model call has no %s", k)
				}
			}
			recv.mu.Lock()
			metrics, headers := slices.Clone(recv.metrics), slices.Clone(recv.headers)
			recv.mu.Unlock()
			for _, m := range []string{"gen_ai.client.token.usage", "gen_ai.client.operation.duration", "m1.run.duration", "m1.turn.duration"} {
				if !slices.Contains(metrics, m) {
					t.Errorf("metric %s did not arrive; got %v", m, metrics)
				}
			}
			for _, h := range headers {
				if h.Get("X-M1-Test") != "e2e run" {
					t.Errorf("an export without OTEL_EXPORTER_OTLP_HEADERS: %v", h)
				}
			}

			if recv.contains(otelKey) {
				t.Fatalf("the API key reached the receiver")
			}
			if got := recv.contains(otelPrompt); got != content {
				t.Errorf("prompt text exported: %v, want %v", got, content)
			}
			if got := recv.contains("the key was [redacted]"); got != content {
				t.Errorf("the Coder's reply (key redacted) exported: %v, want %v", got, content)
			}
		})
	}
}

// TestOTLPExportOnInterrupt sends Ctrl-C while the Coder's model call is
// under way: m1 exits 130, and the spans, flushed on the way out, say
// the run was cancelled. `m1 resume` then traces the rest of the session
// as a run of its own with the same session id.
func TestOTLPExportOnInterrupt(t *testing.T) {
	t.Parallel()
	slow := scripted.Text("too late")
	slow.Delay = 10 * time.Minute
	srv := scripted.New(t, otelScenario(slow, scripted.Text("6*7 = 42")))
	recv := newOTLPReceiver(t)
	env := otelEnv(t, srv, recv)
	cmd, out, errOut := m1Cmd(t, env, "--json", "--agents", "coder", "--work-dir", t.TempDir(), "What is 6*7?")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	asked := func() bool {
		for _, r := range srv.Requests() {
			if r.Rule == "coder" {
				return true
			}
		}
		return false
	}
	for time.Now().Before(deadline) && !asked() {
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitInterrupt {
		t.Fatalf("exit = %v, want %d\nstdout:\n%s\nstderr:\n%s", err, exitInterrupt, tail(out.String(), 2000), errOut)
	}
	runs := recv.named("invoke_workflow m1")
	if len(runs) != 1 || runs[0].attrs["m1.status"] != "cancelled" {
		t.Fatalf("run spans %v, want one, cancelled", runs)
	}
	steps := recv.named("invoke_agent Coder")
	if len(steps) != 1 || steps[0].attrs["error.type"] != "cancelled" {
		t.Errorf("Coder steps %v, want one, cancelled", steps)
	}

	cmd, out, errOut = m1Cmd(t, env, "resume", "--json", "--last")
	if err := cmd.Run(); err != nil {
		t.Fatalf("resume: %v\nstdout:\n%s\nstderr:\n%s", err, tail(out.String(), 2000), errOut)
	}
	runs = recv.named("invoke_workflow m1")
	if len(runs) != 2 {
		t.Fatalf("%d run spans after the resume, want 2", len(runs))
	}
	again := runs[1]
	if again.attrs["m1.resumed"] != "true" || again.attrs["m1.status"] != "success" || again.attrs["m1.session.id"] != runs[0].attrs["m1.session.id"] {
		t.Errorf("resumed run span %v, want resumed, success, the same session", again.attrs)
	}
}
