package telemetry

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"go.opentelemetry.io/otel/attribute"
)

// Exporter names of OTEL_TRACES_EXPORTER and OTEL_METRICS_EXPORTER.
const (
	exporterNone    = "none"
	exporterOTLP    = "otlp"
	exporterConsole = "console"
)

// OTLP protocols of OTEL_EXPORTER_OTLP_PROTOCOL.
const (
	protocolHTTP = "http/protobuf"
	protocolGRPC = "grpc"
)

// ContentEnv is the variable that, set to true, exports message content as
// --otel-content does. It is the name OpenTelemetry's GenAI
// instrumentations read.
const ContentEnv = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"

// DefaultServiceName is service.name when neither OTEL_SERVICE_NAME nor
// OTEL_RESOURCE_ATTRIBUTES names one.
const DefaultServiceName = "m1"

// signal is one kind of telemetry: traces or metrics.
type signal struct {
	name     string // "traces", "metrics": in variable names and messages
	path     string // the OTLP/HTTP path under a base endpoint
	exporter string // the variable that picks its exporters
}

var (
	tracesSignal  = signal{"traces", "/v1/traces", "OTEL_TRACES_EXPORTER"}
	metricsSignal = signal{"metrics", "/v1/metrics", "OTEL_METRICS_EXPORTER"}
)

// target is where one signal goes over OTLP.
type target struct {
	protocol string
	// endpoint is a full URL: with the signal's path for OTLP/HTTP, scheme
	// and host for gRPC.
	endpoint string
	headers  map[string]string
}

// config is what the OTEL_* variables ask for.
type config struct {
	traces, metrics []string // exporters, without "none"
	tracesOTLP      target
	metricsOTLP     target
	resource        []attribute.KeyValue // service.name first
	content         bool
}

// enabled reports whether anything is to be exported.
func (c config) enabled() bool { return len(c.traces) > 0 || len(c.metrics) > 0 }

// readConfig reads the standard OTEL_* variables through getenv. Telemetry
// is on when an exporter variable names an exporter or an OTLP endpoint is
// set, and OTEL_SDK_DISABLED is not true: unlike a long-running service, a
// command that tried localhost:4318 on every run of every user would be
// surprising. A setting that cannot work is an error that names the
// variable (never its value, which may hold a token) and says what to do.
func readConfig(getenv func(string) string) (config, error) {
	env := func(k string) string { return strings.TrimSpace(getenv(k)) }
	var c config
	c.content = strings.EqualFold(env(ContentEnv), "true")
	if strings.EqualFold(env("OTEL_SDK_DISABLED"), "true") {
		return c, nil
	}
	var err error
	if c.traces, err = exporters(env, tracesSignal); err != nil {
		return c, err
	}
	if c.metrics, err = exporters(env, metricsSignal); err != nil {
		return c, err
	}
	if slices.Contains(c.traces, exporterOTLP) {
		if c.tracesOTLP, err = otlpTarget(env, tracesSignal); err != nil {
			return c, err
		}
	}
	if slices.Contains(c.metrics, exporterOTLP) {
		if c.metricsOTLP, err = otlpTarget(env, metricsSignal); err != nil {
			return c, err
		}
	}
	if c.resource, err = resourceAttrs(env); err != nil {
		return c, err
	}
	return c, nil
}

// exporters reads the exporter list of sig. Unset, it is otlp when an OTLP
// endpoint for sig is set, and none otherwise.
func exporters(env func(string) string, sig signal) ([]string, error) {
	v := env(sig.exporter)
	if v == "" {
		if env("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || env(signalVar(sig, "ENDPOINT")) != "" {
			return []string{exporterOTLP}, nil
		}
		return nil, nil
	}
	var out []string
	for _, name := range strings.Split(v, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		switch name {
		case exporterNone, "":
		case exporterOTLP, exporterConsole:
			if !slices.Contains(out, name) {
				out = append(out, name)
			}
		default:
			return nil, fmt.Errorf("%s=%s is not supported: use otlp, console or none (send to Jaeger, Zipkin or Prometheus through an OpenTelemetry Collector)", sig.exporter, name)
		}
	}
	return out, nil
}

// signalVar is the signal-specific form of OTEL_EXPORTER_OTLP_<what>.
func signalVar(sig signal, what string) string {
	return "OTEL_EXPORTER_OTLP_" + strings.ToUpper(sig.name) + "_" + what
}

// otlpTarget reads protocol, endpoint and headers for sig; a signal's own
// variable wins over the general one.
func otlpTarget(env func(string) string, sig signal) (target, error) {
	t := target{protocol: protocolHTTP}
	pvar := signalVar(sig, "PROTOCOL")
	p := env(pvar)
	if p == "" {
		pvar = "OTEL_EXPORTER_OTLP_PROTOCOL"
		p = env(pvar)
	}
	switch p {
	case "", protocolHTTP:
	case protocolGRPC:
		t.protocol = protocolGRPC
	default:
		return t, fmt.Errorf("%s=%s is not supported: use http/protobuf or grpc", pvar, p)
	}

	evar := signalVar(sig, "ENDPOINT")
	raw := env(evar)
	whole := raw != "" // a signal's own endpoint is used as it is
	if raw == "" {
		evar = "OTEL_EXPORTER_OTLP_ENDPOINT"
		raw = env(evar)
	}
	if raw == "" {
		raw = "http://localhost:4318"
		if t.protocol == protocolGRPC {
			raw = "http://localhost:4317"
		}
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return t, fmt.Errorf("%s is not an http or https URL: give one such as http://localhost:4318 (4317 for grpc)", evar)
	}
	if t.protocol == protocolHTTP && !whole {
		u.Path = strings.TrimSuffix(u.Path, "/") + sig.path
	}
	t.endpoint = u.String()

	t.headers = map[string]string{}
	for _, hvar := range []string{"OTEL_EXPORTER_OTLP_HEADERS", signalVar(sig, "HEADERS")} {
		kv, err := parsePairs(env(hvar))
		if err != nil {
			return t, fmt.Errorf("%s: %w", hvar, err)
		}
		for _, p := range kv {
			t.headers[p[0]] = p[1]
		}
	}
	return t, nil
}

// resourceAttrs reads OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME.
func resourceAttrs(env func(string) string) ([]attribute.KeyValue, error) {
	kv, err := parsePairs(env("OTEL_RESOURCE_ATTRIBUTES"))
	if err != nil {
		return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	service := DefaultServiceName
	var out []attribute.KeyValue
	for _, p := range kv {
		if p[0] == "service.name" {
			service = p[1]
			continue
		}
		out = append(out, attribute.String(p[0], p[1]))
	}
	if s := env("OTEL_SERVICE_NAME"); s != "" {
		service = s
	}
	return append([]attribute.KeyValue{attribute.String("service.name", service)}, out...), nil
}

// parsePairs reads the key=value,key=value lists of OTEL_RESOURCE_ATTRIBUTES
// and OTEL_EXPORTER_OTLP_HEADERS, with values percent-encoded. An error
// never quotes a value.
func parsePairs(s string) ([][2]string, error) {
	var out [][2]string
	for i, item := range strings.Split(s, ",") {
		if strings.TrimSpace(item) == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("entry %d is not key=value: write key1=value1,key2=value2", i+1)
		}
		dv, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("the value of %s is not percent-encoded correctly", k)
		}
		out = append(out, [2]string{k, dv})
	}
	return out, nil
}
