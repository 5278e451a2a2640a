package telemetry

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/model"
	"github.com/m1-project/m1/orchestrator"
)

// benchTurns is the number of turns of each run the benchmark makes.
const benchTurns = 10

// instantModel answers the orchestrator's and the agent's calls at once, in
// process, so that a turn costs only m1's own work.
type instantModel struct{ ledgers int }

func (m *instantModel) Info() model.Info {
	return model.Info{Model: "instant", JSONOutput: true, ContextWindow: 128000}
}

func (m *instantModel) Complete(_ context.Context, req model.Request) (*model.Response, error) {
	last := req.Messages[len(req.Messages)-1].Content
	content := "noted"
	switch {
	case strings.Contains(last, "is_request_satisfied"):
		m.ledgers++
		done := m.ledgers > benchTurns
		content = `{"is_request_satisfied": {"reason": "r", "answer": ` + map[bool]string{true: "true", false: "false"}[done] +
			`}, "is_in_loop": {"reason": "r", "answer": false}, "is_progress_being_made": {"reason": "r", "answer": true}, "next_speaker": {"reason": "r", "answer": "Worker"}, "instruction_or_question": {"reason": "r", "answer": "Write the next note."}}`
	case strings.Contains(last, "GIVEN OR VERIFIED FACTS"):
		content = "1. GIVEN OR VERIFIED FACTS\n- none"
	}
	return &model.Response{Content: content, FinishReason: "stop", Model: "instant",
		Usage: agent.Usage{PromptTokens: 100, CompletionTokens: 10}}, nil
}

// worker is an agent whose step is one model call and one tool call.
type worker struct{ client model.Client }

func (w *worker) Name() string                { return "Worker" }
func (w *worker) Description() string         { return "writes notes" }
func (w *worker) Reset(context.Context) error { return nil }
func (w *worker) Step(ctx context.Context, t agent.Turn) (agent.Message, error) {
	resp, err := w.client.Complete(ctx, model.Request{Messages: model.ThreadMessages(t.Thread, w.Name(), false)})
	if err != nil {
		return agent.Message{}, err
	}
	emit := t.EmitTo()
	emit(agent.Event{Type: agent.EventToolCall, Tool: &agent.ToolCall{Name: "write", Arguments: `{"text": "note"}`}})
	emit(agent.Event{Type: agent.EventToolResult, Tool: &agent.ToolCall{Name: "write", Result: "written"}})
	msg := agent.NewMessage(w.Name(), resp.Content)
	msg.Usage = &resp.Usage
	return msg, nil
}

// discardMetrics is a metric exporter that drops what it is given.
type discardMetrics struct{}

func (discardMetrics) Temporality(k sdkmetric.InstrumentKind) metricdata.Temporality {
	return sdkmetric.DefaultTemporalitySelector(k)
}
func (discardMetrics) Aggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	return sdkmetric.DefaultAggregationSelector(k)
}
func (discardMetrics) Export(context.Context, *metricdata.ResourceMetrics) error { return nil }
func (discardMetrics) ForceFlush(context.Context) error                          { return nil }
func (discardMetrics) Shutdown(context.Context) error                            { return nil }

// BenchmarkTurnOverhead measures what telemetry adds to a turn: runs of
// benchTurns turns of the real orchestrator over an in-process model and
// agent (a ledger call, a step with a model call and a tool call, the
// events), wired as runner.Run wires them. "unset" is a run with the
// OTEL_* variables unset (a nil Provider: nothing wrapped, no hook);
// "set" exports every span and metric through the SDK's batch processor
// and periodic reader (to exporters that drop them, so no network time is
// counted); "content" adds the prompts and replies. Each iteration runs
// the three in turn, so a machine busy with other work slows them alike.
// The figures are wall-clock and CPU time (this process, background
// export goroutines included) per turn, in microseconds.
func BenchmarkTurnOverhead(b *testing.B) {
	modes := []string{"unset", "set", "content"}
	providers := make([]*Provider, len(modes))
	for i, mode := range modes {
		if mode == "unset" {
			continue
		}
		p, err := New(context.Background(), Options{Content: mode == "content",
			Redact:    func(s string) string { return strings.ReplaceAll(s, "sk-bench-0123456789", "[redacted]") },
			Exporters: &Exporters{Spans: tracetest.NewNoopExporter(), Metrics: sdkmetric.NewPeriodicReader(discardMetrics{})}})
		if err != nil {
			b.Fatal(err)
		}
		defer p.Shutdown(context.Background())
		providers[i] = p
	}
	wall := make([]time.Duration, len(modes))
	cpu := make([]time.Duration, len(modes))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for i, p := range providers {
			w0, c0 := time.Now(), cpuTime()
			benchRun(b, p)
			wall[i] += time.Since(w0)
			cpu[i] += cpuTime() - c0
		}
	}
	turns := float64(b.N * (benchTurns + 1))
	for i, mode := range modes {
		b.ReportMetric(float64(wall[i].Microseconds())/turns, "us/turn-"+mode)
		b.ReportMetric(float64(cpu[i].Microseconds())/turns, "cpu-us/turn-"+mode)
	}
}

// benchRun is one run of benchTurns turns with p (nil: telemetry unset).
func benchRun(b *testing.B, p *Provider) {
	ctx, run := p.StartRun(context.Background(), RunInfo{SessionID: "bench", Task: "notes"})
	m := &instantModel{}
	client := p.Client(m, ClientInfo{Agent: "Worker", BaseURL: "http://127.0.0.1:1/v1"})
	team := p.Agents([]agent.Agent{&worker{client: client}})
	o := orchestrator.New(p.Client(m, ClientInfo{Agent: agent.OrchestratorName, BaseURL: "http://127.0.0.1:1/v1"}), team,
		orchestrator.Options{MaxTurns: benchTurns + 5, Emit: run.Event, OnTurn: run.TurnHook()})
	res := o.Run(ctx, "Write the notes.")
	if res.Status != agent.StatusSuccess || res.Turns != benchTurns+1 {
		b.Fatalf("run ended %s after %d turns: %s", res.Status, res.Turns, res.StopReason)
	}
	run.End(res.Event("bench"), nil)
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
