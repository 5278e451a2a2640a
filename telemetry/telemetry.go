// Package telemetry exports a run's traces and metrics with OpenTelemetry
// when the standard OTEL_* variables ask for it: a span for the run, for
// each turn (the progress ledger's decision as attributes), each agent
// step, each model call (the GenAI semantic conventions) and each tool call
// or code block, and metrics for tokens, cost and durations. It wraps the
// parts it observes — a model.Client, an agent.Agent, the orchestrator's
// turn hook — rather than living inside them. When nothing asks for it, New
// returns nil, and a nil *Provider hands back what it is given: no
// exporter, no goroutine, nothing added to a turn.
//
// Prompts, replies, page text and code are exported only when asked
// (Options.Content, --otel-content, or ContentEnv); known secrets are
// removed from every exported span whatever is asked.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// ScopeName is the instrumentation scope of m1's spans and metrics.
const ScopeName = "github.com/m1-project/m1/telemetry"

// ShutdownTimeout bounds the flush at the end of a run, so an unreachable
// collector delays the exit by seconds, not minutes.
const ShutdownTimeout = 5 * time.Second

// contentLimit caps each exported string attribute when content is on
// (and OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT says nothing): a page or a
// prompt can be hundreds of kilobytes, and collectors refuse large batches.
const contentLimit = 32 << 10

// Options say how a run's telemetry is set up.
type Options struct {
	// Getenv reads the OTEL_* variables; nil reads none.
	Getenv func(string) string
	// Content exports prompts, replies, tool arguments and results, page
	// text and code (--otel-content). ContentEnv set to true does too.
	Content bool
	// Redact, when set, is applied to every string of every exported span:
	// the run's known secrets go, whatever Content says.
	Redact func(string) string
	// Console receives the console exporters' output (OTEL_TRACES_EXPORTER
	// =console); nil discards it. Standard error, so --json stays clean.
	Console io.Writer
	// Exporters, when set, receive the spans and metrics instead of the
	// exporters the variables name, and telemetry is on whatever they say.
	Exporters *Exporters
}

// Exporters replace the exporters the environment names; tests use the
// SDK's in-memory exporter and a manual reader.
type Exporters struct {
	Spans   sdktrace.SpanExporter
	Metrics sdkmetric.Reader
}

// Provider is a run's tracer and meter. A nil *Provider is valid: it wraps
// nothing and records nothing.
type Provider struct {
	tp        *sdktrace.TracerProvider // nil when no traces are exported
	mp        *sdkmetric.MeterProvider // nil when no metrics are exported
	tracer    trace.Tracer
	inst      instruments
	content   bool
	spanOut   []*spanGuard
	metricOut []*metricGuard
}

// New sets up the exporters the environment (or opts.Exporters) names and
// returns nil when none is named. An error is a setting that cannot work;
// it names the variable and says what to do.
func New(ctx context.Context, opts Options) (*Provider, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	cfg, err := readConfig(getenv)
	if err != nil {
		return nil, err
	}
	if opts.Exporters == nil && !cfg.enabled() {
		return nil, nil
	}
	p := &Provider{content: opts.Content || cfg.content}
	res, err := resource.New(ctx,
		resource.WithTelemetrySDK(),
		resource.WithAttributes(append(cfg.resource, semconv.ServiceVersion(version()))...))
	if err != nil {
		return nil, fmt.Errorf("telemetry resource: %w", err)
	}
	redact := opts.Redact
	if redact == nil {
		redact = func(s string) string { return s }
	}

	var readers []sdkmetric.Reader
	if opts.Exporters != nil {
		if opts.Exporters.Spans != nil {
			p.spanOut = append(p.spanOut, &spanGuard{SpanExporter: opts.Exporters.Spans, redact: redact, where: "the test's exporter"})
		}
		if opts.Exporters.Metrics != nil {
			readers = append(readers, opts.Exporters.Metrics)
		}
	} else {
		if p.spanOut, err = spanExporters(ctx, cfg, opts.Console, redact); err != nil {
			return nil, err
		}
		if p.metricOut, err = metricExporters(ctx, cfg, opts.Console); err != nil {
			for _, g := range p.spanOut {
				_ = g.Shutdown(ctx)
			}
			return nil, err
		}
		for _, g := range p.metricOut {
			readers = append(readers, sdkmetric.NewPeriodicReader(g))
		}
	}

	if len(p.spanOut) > 0 {
		limits := sdktrace.NewSpanLimits()
		if p.content && limits.AttributeValueLengthLimit < 0 {
			limits.AttributeValueLengthLimit = contentLimit
		}
		tpo := []sdktrace.TracerProviderOption{sdktrace.WithResource(res), sdktrace.WithRawSpanLimits(limits)}
		for _, g := range p.spanOut {
			tpo = append(tpo, sdktrace.WithBatcher(g))
		}
		p.tp = sdktrace.NewTracerProvider(tpo...)
		p.tracer = p.tp.Tracer(ScopeName, trace.WithInstrumentationVersion(version()), trace.WithSchemaURL(semconv.SchemaURL))
	} else {
		p.tracer = tracenoop.NewTracerProvider().Tracer(ScopeName)
	}

	var meter metric.Meter = metricnoop.NewMeterProvider().Meter(ScopeName)
	if len(readers) > 0 {
		mpo := []sdkmetric.Option{sdkmetric.WithResource(res)}
		for _, r := range readers {
			mpo = append(mpo, sdkmetric.WithReader(r))
		}
		p.mp = sdkmetric.NewMeterProvider(mpo...)
		meter = p.mp.Meter(ScopeName, metric.WithInstrumentationVersion(version()), metric.WithSchemaURL(semconv.SchemaURL))
	}
	if p.inst, err = newInstruments(meter); err != nil {
		return nil, errors.Join(fmt.Errorf("telemetry instruments: %w", err), p.shutdown(ctx))
	}
	return p, nil
}

// Shutdown flushes what is still buffered and stops the exporters. It
// waits at most ShutdownTimeout, even when ctx is already cancelled (the
// run was interrupted): the spans of an interrupted run matter most. The
// error says which exports failed during the run or now.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	return p.shutdown(ctx)
}

func (p *Provider) shutdown(ctx context.Context) error {
	var errs []error
	if p.tp != nil {
		if err := p.tp.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("telemetry: flush spans: %w", err))
		}
	}
	if p.mp != nil {
		if err := p.mp.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("telemetry: flush metrics: %w", err))
		}
	}
	for _, g := range p.spanOut {
		if err := g.failure(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, g := range p.metricOut {
		if err := g.failure(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// version is m1's module version, "dev" in a build from a work tree.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// spanExporters makes the trace exporters cfg names, each behind a guard.
func spanExporters(ctx context.Context, cfg config, console io.Writer, redact func(string) string) ([]*spanGuard, error) {
	return guarded(ctx, "trace", cfg.traces, func(name string) (*spanGuard, error) {
		var e sdktrace.SpanExporter
		var err error
		where := "the console"
		switch name {
		case exporterConsole:
			e, err = stdouttrace.New(stdouttrace.WithWriter(writerOrDiscard(console)))
		case exporterOTLP:
			t := cfg.tracesOTLP
			where = t.protocol + " " + t.endpoint
			if t.protocol == protocolGRPC {
				e, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpointURL(t.endpoint), otlptracegrpc.WithHeaders(t.headers))
			} else {
				e, err = otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(t.endpoint), otlptracehttp.WithHeaders(t.headers))
			}
		}
		return &spanGuard{SpanExporter: e, redact: redact, where: where}, err
	})
}

// metricExporters makes the metric exporters cfg names, each behind a
// guard.
func metricExporters(ctx context.Context, cfg config, console io.Writer) ([]*metricGuard, error) {
	return guarded(ctx, "metric", cfg.metrics, func(name string) (*metricGuard, error) {
		var e sdkmetric.Exporter
		var err error
		where := "the console"
		switch name {
		case exporterConsole:
			e, err = stdoutmetric.New(stdoutmetric.WithWriter(writerOrDiscard(console)))
		case exporterOTLP:
			t := cfg.metricsOTLP
			where = t.protocol + " " + t.endpoint
			if t.protocol == protocolGRPC {
				e, err = otlpmetricgrpc.New(ctx, otlpmetricgrpc.WithEndpointURL(t.endpoint), otlpmetricgrpc.WithHeaders(t.headers))
			} else {
				e, err = otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpointURL(t.endpoint), otlpmetrichttp.WithHeaders(t.headers))
			}
		}
		return &metricGuard{Exporter: e, where: where}, err
	})
}

// guarded makes one guarded exporter of kind per name with build; when one
// fails, those already made are shut down, so a half set-up leaks nothing.
func guarded[G interface{ Shutdown(context.Context) error }](ctx context.Context, kind string, names []string, build func(name string) (G, error)) ([]G, error) {
	var out []G
	for _, name := range names {
		g, err := build(name)
		if err != nil {
			for _, g := range out {
				_ = g.Shutdown(ctx)
			}
			return nil, fmt.Errorf("telemetry: %s %s exporter: %w", name, kind, err)
		}
		out = append(out, g)
	}
	return out, nil
}

func writerOrDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// spanGuard is what the batch processor exports to. It removes secrets from
// every span on its way out and keeps the first export error for the end of
// the run instead of handing it to OpenTelemetry's global error handler,
// which would print it in the middle of the console.
type spanGuard struct {
	sdktrace.SpanExporter
	redact func(string) string
	where  string

	mu     sync.Mutex
	err    error
	failed int
}

// ExportSpans implements sdktrace.SpanExporter.
func (g *spanGuard) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	clean := make([]sdktrace.ReadOnlySpan, len(spans))
	for i, s := range spans {
		clean[i] = redactedSpan{ReadOnlySpan: s, redact: g.redact}
	}
	if err := g.SpanExporter.ExportSpans(ctx, clean); err != nil {
		g.mu.Lock()
		if g.err == nil {
			g.err = err
		}
		g.failed += len(spans)
		g.mu.Unlock()
	}
	return nil
}

func (g *spanGuard) failure() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err == nil {
		return nil
	}
	return fmt.Errorf("telemetry: %d spans not exported to %s: %w (check OTEL_EXPORTER_OTLP_ENDPOINT and that the collector runs)", g.failed, g.where, g.err)
}

// metricGuard keeps the first export error of a metric exporter, as
// spanGuard does for spans.
type metricGuard struct {
	sdkmetric.Exporter
	where string

	mu  sync.Mutex
	err error
}

// Export implements sdkmetric.Exporter.
func (g *metricGuard) Export(ctx context.Context, rm *metricdata.ResourceMetrics) error {
	if err := g.Exporter.Export(ctx, rm); err != nil {
		g.mu.Lock()
		if g.err == nil {
			g.err = err
		}
		g.mu.Unlock()
	}
	return nil
}

func (g *metricGuard) failure() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err == nil {
		return nil
	}
	return fmt.Errorf("telemetry: metrics not exported to %s: %w", g.where, g.err)
}

// redactedSpan is a finished span as exporters see it, with secrets
// removed from its name, attributes, events and status.
type redactedSpan struct {
	sdktrace.ReadOnlySpan
	redact func(string) string
}

func (s redactedSpan) Name() string { return s.redact(s.ReadOnlySpan.Name()) }

func (s redactedSpan) Attributes() []attribute.KeyValue {
	return redactAttrs(s.ReadOnlySpan.Attributes(), s.redact)
}

func (s redactedSpan) Events() []sdktrace.Event {
	evs := slices.Clone(s.ReadOnlySpan.Events())
	for i := range evs {
		evs[i].Name = s.redact(evs[i].Name)
		evs[i].Attributes = redactAttrs(evs[i].Attributes, s.redact)
	}
	return evs
}

func (s redactedSpan) Status() sdktrace.Status {
	st := s.ReadOnlySpan.Status()
	st.Description = s.redact(st.Description)
	return st
}

func redactAttrs(kvs []attribute.KeyValue, redact func(string) string) []attribute.KeyValue {
	out := make([]attribute.KeyValue, len(kvs))
	for i, kv := range kvs {
		switch kv.Value.Type() {
		case attribute.STRING:
			kv.Value = attribute.StringValue(redact(kv.Value.AsString()))
		case attribute.STRINGSLICE:
			ss := slices.Clone(kv.Value.AsStringSlice())
			for j := range ss {
				ss[j] = redact(ss[j])
			}
			kv.Value = attribute.StringSliceValue(ss)
		}
		out[i] = kv
	}
	return out
}
