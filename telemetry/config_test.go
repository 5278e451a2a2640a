package telemetry

import (
	"context"
	"strings"
	"testing"
)

func TestReadConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  map[string]string
		// want: traces and metrics exporters, trace endpoint and protocol,
		// metric endpoint, a header and the service name.
		traces, metrics          string
		traceURL, proto, metURL  string
		header, service, errWant string
	}{
		{name: "unset", env: nil},
		{name: "only a service name", env: map[string]string{"OTEL_SERVICE_NAME": "x"}},
		{name: "endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"},
			traces: "otlp", metrics: "otlp", traceURL: "http://collector:4318/v1/traces", proto: protocolHTTP,
			metURL: "http://collector:4318/v1/metrics", service: "m1"},
		{name: "endpoint with a path and a slash", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://x.example/otlp/"},
			traces: "otlp", metrics: "otlp", traceURL: "https://x.example/otlp/v1/traces", proto: protocolHTTP,
			metURL: "https://x.example/otlp/v1/metrics", service: "m1"},
		{name: "a traces endpoint is used as it is and turns on traces only",
			env:    map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:9999/custom"},
			traces: "otlp", traceURL: "http://c:9999/custom", proto: protocolHTTP, service: "m1"},
		{name: "grpc", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
			traces: "otlp", metrics: "otlp", traceURL: "http://c:4317", proto: protocolGRPC, metURL: "http://c:4317", service: "m1"},
		{name: "traces grpc, metrics http", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"},
			traces: "otlp", metrics: "otlp", traceURL: "http://c:4318", proto: protocolGRPC, metURL: "http://c:4318/v1/metrics", service: "m1"},
		{name: "exporter without endpoint goes to localhost", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp"},
			traces: "otlp", traceURL: "http://localhost:4318/v1/traces", proto: protocolHTTP, service: "m1"},
		{name: "console and none", env: map[string]string{"OTEL_TRACES_EXPORTER": "console", "OTEL_METRICS_EXPORTER": "none"},
			traces: "console", service: "m1"},
		{name: "none wins over an endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none"}},
		{name: "disabled", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}},
		{name: "headers, percent-encoded, the signal's own wins",
			env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
				"OTEL_EXPORTER_OTLP_HEADERS":        "authorization=Bearer%20abc, x-team = m1",
				"OTEL_EXPORTER_OTLP_TRACES_HEADERS": "x-team=traces"},
			traces: "otlp", metrics: "otlp", traceURL: "http://c:4318/v1/traces", proto: protocolHTTP, metURL: "http://c:4318/v1/metrics",
			header: "authorization=Bearer abc;x-team=traces", service: "m1"},
		{name: "service from resource attributes, then OTEL_SERVICE_NAME",
			env:    map[string]string{"OTEL_TRACES_EXPORTER": "console", "OTEL_RESOURCE_ATTRIBUTES": "service.name=a,deployment.environment=test"},
			traces: "console", service: "a"},
		{name: "OTEL_SERVICE_NAME wins",
			env:    map[string]string{"OTEL_TRACES_EXPORTER": "console", "OTEL_RESOURCE_ATTRIBUTES": "service.name=a", "OTEL_SERVICE_NAME": "b"},
			traces: "console", service: "b"},

		{name: "http/json", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
			errWant: "OTEL_EXPORTER_OTLP_PROTOCOL=http/json is not supported: use http/protobuf or grpc"},
		{name: "zipkin", env: map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"},
			errWant: "OTEL_TRACES_EXPORTER=zipkin is not supported"},
		{name: "not a URL", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"},
			errWant: "OTEL_EXPORTER_OTLP_ENDPOINT is not an http or https URL"},
		{name: "a bad header never shows its value", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_HEADERS": "authorization=%zzsecret"},
			errWant: "OTEL_EXPORTER_OTLP_HEADERS: the value of authorization is not percent-encoded correctly"},
		{name: "a header without =", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_HEADERS": "tokenonly"},
			errWant: "entry 1 is not key=value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := readConfig(func(k string) string { return tc.env[k] })
			if tc.errWant != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errWant) {
					t.Fatalf("err = %v, want %q", err, tc.errWant)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Fatalf("the error shows the header's value: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(c.traces, ","); got != tc.traces {
				t.Errorf("traces %q, want %q", got, tc.traces)
			}
			if got := strings.Join(c.metrics, ","); got != tc.metrics {
				t.Errorf("metrics %q, want %q", got, tc.metrics)
			}
			if c.tracesOTLP.endpoint != tc.traceURL || (tc.traceURL != "" && c.tracesOTLP.protocol != tc.proto) {
				t.Errorf("traces to %s %s, want %s %s", c.tracesOTLP.protocol, c.tracesOTLP.endpoint, tc.proto, tc.traceURL)
			}
			if c.metricsOTLP.endpoint != tc.metURL {
				t.Errorf("metrics to %s, want %s", c.metricsOTLP.endpoint, tc.metURL)
			}
			if tc.header != "" {
				for _, kv := range strings.Split(tc.header, ";") {
					k, v, _ := strings.Cut(kv, "=")
					if got := c.tracesOTLP.headers[k]; got != v {
						t.Errorf("header %s = %q, want %q", k, got, v)
					}
				}
			}
			if tc.service != "" {
				if len(c.resource) == 0 || c.resource[0].Value.AsString() != tc.service {
					t.Errorf("resource %v, want service.name %s", c.resource, tc.service)
				}
			}
			if c.enabled() != (tc.traces != "" || tc.metrics != "") {
				t.Errorf("enabled = %v", c.enabled())
			}
		})
	}
}

// Unset, New returns nil, and a nil Provider hands back what it is given.
func TestUnsetIsNothing(t *testing.T) {
	t.Parallel()
	p, err := New(context.Background(), Options{Getenv: func(k string) string {
		return map[string]string{"OTEL_SERVICE_NAME": "m1", "OTEL_EXPORTER_OTLP_HEADERS": "a=b"}[k]
	}})
	if err != nil || p != nil {
		t.Fatalf("New = %v, %v; want nil, nil", p, err)
	}
	a := &plainAgent{name: "A"}
	if got := p.Agent(a); got != agentIface(a) {
		t.Errorf("a nil provider wrapped the agent")
	}
	ctx := context.Background()
	if got, run := p.StartRun(ctx, RunInfo{}); got != ctx || run != nil {
		t.Errorf("a nil provider started a run")
	}
	var run *Run
	if run.TurnHook() != nil {
		t.Errorf("a nil run has a turn hook")
	}
	run.Event(eventOf("ledger"))
	run.End(eventOf("result"), nil)
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}
