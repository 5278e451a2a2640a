package runner

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/model/scripted"
	"github.com/m1-project/m1/telemetry"
)

// Canaries: text only a prompt, a page or the key holds.
const (
	promptCanary = "PROMPT-CANARY-q7"
	pageCanary   = "PAGE-CANARY-k3"
)

// tracedScenario is a run of four turns: the FileSurfer opens a file (a
// tool call), the Coder writes a shell block and echoes the API key, the
// ComputerTerminal runs the block (a code block), and the ledger is
// satisfied.
func tracedScenario(t *testing.T) *scripted.Scenario {
	t.Helper()
	ledger := func(done bool, speaker, instr string) scripted.Reply {
		return scripted.Text(fmt.Sprintf(`{"is_request_satisfied": {"reason": "r", "answer": %t}, "is_in_loop": {"reason": "r", "answer": false}, "is_progress_being_made": {"reason": "r", "answer": true}, "next_speaker": {"reason": "r", "answer": %q}, "instruction_or_question": {"reason": "r", "answer": %q}}`, done, speaker, instr))
	}
	return &scripted.Scenario{Name: "traced", APIKey: testKey, Rules: []scripted.Rule{
		{Name: "facts", Match: "GIVEN OR VERIFIED FACTS", Replies: []scripted.Reply{scripted.Text("1. GIVEN OR VERIFIED FACTS\n- none")}},
		{Name: "plan", Match: "short (bullet )?plan", Replies: []scripted.Reply{scripted.Text("- FileSurfer: read\n- Coder: sum\n- ComputerTerminal: run")}},
		{Name: "ledger", Match: "is_request_satisfied|could not be used", Replies: []scripted.Reply{
			ledger(false, "FileSurfer", "Open notes.txt."),
			ledger(false, "Coder", "Write a script that sums them."),
			ledger(false, "ComputerTerminal", "Run it."),
			ledger(true, "Coder", "None."),
		}},
		{Name: "filesurfer", Tools: []string{"open_path"}, Replies: []scripted.Reply{scripted.Call("open_path", `{"path": "notes.txt"}`)}},
		{Name: "coder", System: "You are the Coder", Replies: []scripted.Reply{scripted.Text("Key " + testKey + ".\n\n```sh\necho $((1+2+3))\n```")}},
		{Name: "final", Match: "final answer", Replies: []scripted.Reply{scripted.Text("The sum is 6.")}},
	}}
}

// keptSpans is the SDK's in-memory exporter, except that shutting it down
// (as every run does at its end) keeps the spans for the test to read.
type keptSpans struct{ *tracetest.InMemoryExporter }

func (keptSpans) Shutdown(context.Context) error { return nil }

// memMetrics keeps what a periodic reader exports at shutdown.
type memMetrics struct {
	mu  sync.Mutex
	got []metricdata.ResourceMetrics
}

func (m *memMetrics) Temporality(k sdkmetric.InstrumentKind) metricdata.Temporality {
	return sdkmetric.DefaultTemporalitySelector(k)
}
func (m *memMetrics) Aggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	return sdkmetric.DefaultAggregationSelector(k)
}
func (m *memMetrics) Export(_ context.Context, rm *metricdata.ResourceMetrics) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.got = append(m.got, *rm)
	return nil
}
func (m *memMetrics) ForceFlush(context.Context) error { return nil }
func (m *memMetrics) Shutdown(context.Context) error   { return nil }

// names lists the metrics exported, each once.
func (m *memMetrics) names() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, rm := range m.got {
		for _, sm := range rm.ScopeMetrics {
			for _, mt := range sm.Metrics {
				if !slices.Contains(out, mt.Name) {
					out = append(out, mt.Name)
				}
			}
		}
	}
	return out
}

// tracedRun runs tracedScenario through runner.Run with the spans and
// metrics going to memory.
func tracedRun(t *testing.T, content bool) (_ tracetest.SpanStubs, _ *memMetrics, _ Outcome, port string) {
	t.Helper()
	srv := scripted.New(t, tracedScenario(t))
	work := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, "notes.txt"), []byte("Numbers: 1 2 3. "+pageCanary+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "m1.yaml")
	if err := os.WriteFile(cfg, []byte(`client:
  config: {model: scripted, base_url: "${OPENAI_BASE_URL}", api_key: "${OPENAI_API_KEY}"}
  price: {prompt_per_million: 2.5, completion_per_million: 10}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"OPENAI_API_KEY": testKey, "OPENAI_BASE_URL": srv.URL()}
	spans := tracetest.NewInMemoryExporter()
	metrics := &memMetrics{}
	opts := DefaultOptions()
	opts.Config = cfg
	opts.Agents = []string{AgentCoder, AgentTerminal, AgentFile}
	opts.Team.Executor, opts.Team.Yes = ExecutorLocal, true
	opts.WorkDir = work
	res, err := Run(context.Background(), Env{
		Getenv:        func(k string) string { return env[k] },
		SessionRoot:   t.TempDir(),
		OTelContent:   content,
		OTelExporters: &telemetry.Exporters{Spans: keptSpans{spans}, Metrics: sdkmetric.NewPeriodicReader(metrics)},
	}, opts, "Sum the numbers in notes.txt. "+promptCanary)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status() != agent.StatusSuccess {
		t.Fatalf("status %q: %s", res.Status(), res.Result.StopReason)
	}
	u, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	return spans.GetSpans(), metrics, res, u.Port()
}

// spanTree indexes finished spans by id and name.
type spanTree struct {
	all    tracetest.SpanStubs
	byName map[string][]tracetest.SpanStub
}

func newSpanTree(spans tracetest.SpanStubs) spanTree {
	st := spanTree{all: spans, byName: map[string][]tracetest.SpanStub{}}
	for _, s := range spans {
		st.byName[s.Name] = append(st.byName[s.Name], s)
	}
	return st
}

func (st spanTree) one(t *testing.T, name string) tracetest.SpanStub {
	t.Helper()
	if n := len(st.byName[name]); n != 1 {
		t.Fatalf("%d spans named %q, want 1; spans: %v", n, name, st.names())
	}
	return st.byName[name][0]
}

func (st spanTree) names() []string {
	var out []string
	for _, s := range st.all {
		out = append(out, s.Name)
	}
	return out
}

func (st spanTree) parent(s tracetest.SpanStub) (tracetest.SpanStub, bool) {
	for _, p := range st.all {
		if p.SpanContext.SpanID() == s.Parent.SpanID() {
			return p, true
		}
	}
	return tracetest.SpanStub{}, false
}

func (st spanTree) children(p tracetest.SpanStub, name string) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range st.all {
		if s.Parent.SpanID() == p.SpanContext.SpanID() && s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

func attr(s tracetest.SpanStub, key string) (attribute.Value, bool) {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

// wantAttrs checks that s has each attribute with the value given ("*":
// any value).
func wantAttrs(t *testing.T, s tracetest.SpanStub, want map[string]any) {
	t.Helper()
	for k, v := range want {
		got, ok := attr(s, k)
		switch {
		case !ok:
			t.Errorf("span %q has no %s", s.Name, k)
		case v == "*":
		case fmt.Sprint(got.AsInterface()) != fmt.Sprint(v):
			t.Errorf("span %q: %s = %v, want %v", s.Name, k, got.AsInterface(), v)
		}
	}
}

// everyString is every string a span exports: name, attributes, events,
// status.
func everyString(spans tracetest.SpanStubs) string {
	var b strings.Builder
	for _, s := range spans {
		b.WriteString(s.Name + "\n" + s.Status.Description + "\n")
		kvs := slices.Clone(s.Attributes)
		for _, e := range s.Events {
			b.WriteString(e.Name + "\n")
			kvs = append(kvs, e.Attributes...)
		}
		for _, kv := range kvs {
			fmt.Fprintf(&b, "%s=%s\n", kv.Key, kv.Value.Emit())
		}
	}
	return b.String()
}

func TestRunTracesEveryTurnStepCallAndTool(t *testing.T) {
	t.Parallel()
	spans, metrics, res, port := tracedRun(t, false)
	st := newSpanTree(spans)

	root := st.one(t, "invoke_workflow m1")
	if root.Parent.IsValid() {
		t.Errorf("the run's span has a parent")
	}
	wantAttrs(t, root, map[string]any{
		"gen_ai.operation.name": "invoke_workflow", "m1.session.id": res.SessionID, "gen_ai.conversation.id": res.SessionID,
		"m1.status": "success", "m1.turns": 4, "m1.task.length": "*", "gen_ai.usage.input_tokens": "*", "m1.cost_usd": "*",
	})
	for _, s := range spans {
		if s.SpanContext.TraceID() != root.SpanContext.TraceID() {
			t.Errorf("span %q is in another trace", s.Name)
		}
	}

	// A span per turn, under the run, with the ledger's decision.
	turns := st.children(root, "turn")
	if len(turns) != 4 {
		t.Fatalf("%d turn spans under the run, want 4; spans: %v", len(turns), st.names())
	}
	slices.SortFunc(turns, func(a, b tracetest.SpanStub) int {
		x, _ := attr(a, "m1.turn")
		y, _ := attr(b, "m1.turn")
		return int(x.AsInt64() - y.AsInt64())
	})
	speakers := []string{"FileSurfer", "Coder", "ComputerTerminal", "Coder"}
	instr := []string{"Open notes.txt.", "Write a script that sums them.", "Run it.", "None."}
	for i, turn := range turns {
		wantAttrs(t, turn, map[string]any{
			"m1.turn": i + 1, "m1.ledger.next_speaker": speakers[i], "m1.ledger.instruction.length": len(instr[i]),
			"m1.ledger.is_request_satisfied": i == 3, "m1.ledger.is_in_loop": false,
			"m1.ledger.is_progress_being_made": true, "m1.stalls": 0,
		})
		// The progress ledger is asked inside the turn.
		if len(st.children(turn, "chat scripted")) != 1 {
			t.Errorf("turn %d: want one model call (the ledger) under it", i+1)
		}
		if i < 3 && len(st.children(turn, "invoke_agent "+speakers[i])) != 1 {
			t.Errorf("turn %d: no step of %s under it", i+1, speakers[i])
		}
	}

	// Facts, plan and final answer are the orchestrator's calls under the run.
	if n := len(st.children(root, "chat scripted")); n != 3 {
		t.Errorf("%d model calls directly under the run, want 3 (facts, plan, final answer)", n)
	}

	// The FileSurfer's step holds its model call and its tool call.
	fs := st.one(t, "invoke_agent FileSurfer")
	wantAttrs(t, fs, map[string]any{"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "FileSurfer", "m1.reply.length": "*"})
	calls := st.children(fs, "chat scripted")
	if len(calls) != 1 {
		t.Fatalf("%d model calls under the FileSurfer's step, want 1", len(calls))
	}
	wantAttrs(t, calls[0], map[string]any{
		"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "scripted",
		"gen_ai.response.model": "scripted", "gen_ai.usage.input_tokens": "*", "gen_ai.usage.output_tokens": "*",
		"gen_ai.response.finish_reasons": "[tool_calls]", "server.address": "127.0.0.1", "server.port": port,
		"gen_ai.agent.name": "FileSurfer", "m1.cost_usd": "*",
	})
	if v, _ := attr(calls[0], "gen_ai.usage.input_tokens"); v.AsInt64() <= 0 {
		t.Errorf("input tokens %d, want > 0", v.AsInt64())
	}
	tool := st.children(fs, "execute_tool open_path")
	if len(tool) != 1 {
		t.Fatalf("no tool span under the FileSurfer's step; spans: %v", st.names())
	}
	wantAttrs(t, tool[0], map[string]any{"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "open_path", "m1.tool.error": false})

	// The terminal's step holds its code block.
	term := st.one(t, "invoke_agent ComputerTerminal")
	code := st.children(term, "execute_code sh")
	if len(code) != 1 {
		t.Fatalf("no code span under the ComputerTerminal's step; spans: %v", st.names())
	}
	wantAttrs(t, code[0], map[string]any{"m1.code.language": "sh", "m1.code.exit_code": 0, "m1.code.timed_out": false, "m1.code.executor": "*"})
	if code[0].StartTime.Before(term.StartTime) || code[0].EndTime.After(term.EndTime) {
		t.Errorf("the code span is not within its step")
	}

	// Without --otel-content: no prompt, no page text, no code, no key.
	all := everyString(spans)
	for _, secret := range []string{promptCanary, pageCanary, testKey, "echo $((1+2+3))", "Open notes.txt"} {
		if strings.Contains(all, secret) {
			t.Errorf("the spans hold %q without --otel-content", secret)
		}
	}
	for _, k := range []string{"gen_ai.input.messages", "gen_ai.output.messages", "m1.task", "gen_ai.tool.call.arguments", "m1.code.source"} {
		if strings.Contains(all, "\n"+k+"=") {
			t.Errorf("attribute %s exported without --otel-content", k)
		}
	}

	got := metrics.names()
	for _, m := range []string{"gen_ai.client.token.usage", "gen_ai.client.operation.duration", telemetry.MetricCost,
		telemetry.MetricRunDuration, telemetry.MetricTurnDuration, telemetry.MetricStepDuration, telemetry.MetricToolDuration} {
		if !slices.Contains(got, m) {
			t.Errorf("metric %s not exported; got %v", m, got)
		}
	}
}

func TestRunTracesContentOnlyWhenAskedAndNeverTheKey(t *testing.T) {
	t.Parallel()
	spans, _, _, _ := tracedRun(t, true)
	all := everyString(spans)
	for _, want := range []string{promptCanary, pageCanary, "echo $((1+2+3))", "Open notes.txt.", "gen_ai.input.messages=", "gen_ai.output.messages=", "gen_ai.tool.call.arguments="} {
		if !strings.Contains(all, want) {
			t.Errorf("with --otel-content the spans lack %q", want)
		}
	}
	if strings.Contains(all, testKey) {
		t.Fatalf("the API key was exported")
	}
	// The Coder echoed the key: what went out has it redacted.
	if !strings.Contains(all, "Key "+redactedMark) {
		t.Errorf("the Coder's reply was not exported with the key redacted")
	}
}
