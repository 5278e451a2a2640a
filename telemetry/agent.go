package telemetry

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/m1-project/m1/agent"
)

// Agents wraps each member of team with Agent.
func (p *Provider) Agents(team []agent.Agent) []agent.Agent {
	if p == nil {
		return team
	}
	out := make([]agent.Agent, len(team))
	for i, a := range team {
		out[i] = p.Agent(a)
	}
	return out
}

// Agent returns a wrapped so that each step is a span ("invoke_agent
// NAME") with a child span for each tool call and code block the step
// reports. The wrapper implements agent.Stateful and agent.Closer exactly
// when a does, so the runner's checkpoints and clean-up see through it.
// With p nil it returns a itself.
func (p *Provider) Agent(a agent.Agent) agent.Agent {
	if p == nil {
		return a
	}
	w := &tracedAgent{Agent: a, p: p, stepSet: attribute.NewSet(semconv.GenAIAgentName(a.Name()))}
	s, stateful := a.(agent.Stateful)
	c, closer := a.(agent.Closer)
	switch {
	case stateful && closer:
		return &struct {
			*tracedAgent
			agent.Stateful
			agent.Closer
		}{w, s, c}
	case stateful:
		return &struct {
			*tracedAgent
			agent.Stateful
		}{w, s}
	case closer:
		return &struct {
			*tracedAgent
			agent.Closer
		}{w, c}
	}
	return w
}

// Unwrap returns the agent a wrapper of Agent holds, or a itself.
func Unwrap(a agent.Agent) agent.Agent {
	if u, ok := a.(interface{ unwrap() agent.Agent }); ok {
		return u.unwrap()
	}
	return a
}

type tracedAgent struct {
	agent.Agent
	p       *Provider
	stepSet attribute.Set // the step metric's attributes

	mu       sync.Mutex
	toolSets map[string]attribute.Set // the tool metric's, by tool
}

// toolSet is the tool metric's attribute set for tool, made once.
func (a *tracedAgent) toolSet(tool string) attribute.Set {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s, ok := a.toolSets[tool]; ok {
		return s
	}
	if a.toolSets == nil {
		a.toolSets = map[string]attribute.Set{}
	}
	s := attribute.NewSet(semconv.GenAIToolName(tool), semconv.GenAIAgentName(a.Name()))
	a.toolSets[tool] = s
	return s
}

func (a *tracedAgent) unwrap() agent.Agent { return a.Agent }

// Step implements agent.Agent.
func (a *tracedAgent) Step(ctx context.Context, t agent.Turn) (agent.Message, error) {
	name := a.Name()
	attrs := []attribute.KeyValue{
		semconv.GenAIOperationNameInvokeAgent,
		semconv.GenAIAgentName(name),
		AttrThreadMessages.Int(len(t.Thread)),
	}
	if id := sessionID(ctx); id != "" {
		attrs = append(attrs, semconv.GenAIConversationID(id))
	}
	if a.p.content && len(t.Thread) > 0 {
		attrs = append(attrs, AttrStepInput.String(t.Thread[len(t.Thread)-1].Content))
	}
	ctx, span := a.p.tracer.Start(ctx, "invoke_agent "+name, trace.WithAttributes(attrs...))
	began := time.Now()
	st := &step{a: a, p: a.p, ctx: ctx, agent: name, run: runFrom(ctx), mark: began}
	inner := t.EmitTo()
	t.Emit = func(e agent.Event) {
		st.observe(e)
		inner(e)
	}

	msg, err := a.Agent.Step(ctx, t)
	st.close()
	errType := ""
	if err != nil {
		errType = errorType(err)
		span.SetAttributes(semconv.ErrorTypeKey.String(errType))
		span.SetStatus(codes.Error, err.Error())
	} else {
		end := make([]attribute.KeyValue, 0, 5)
		end = append(end, AttrReplyLength.Int(len(msg.Content)), AttrReplyImages.Int(len(msg.Images)))
		if msg.Usage != nil {
			end = append(end, semconv.GenAIUsageInputTokens(msg.Usage.PromptTokens), semconv.GenAIUsageOutputTokens(msg.Usage.CompletionTokens))
		}
		if a.p.content {
			end = append(end, AttrReply.String(msg.Content))
		}
		span.SetAttributes(end...)
	}
	if errType == "" {
		a.p.inst.step.Record(ctx, time.Since(began).Seconds(), metric.WithAttributeSet(a.stepSet))
	} else {
		a.p.inst.step.Record(ctx, time.Since(began).Seconds(), metric.WithAttributes(semconv.GenAIAgentName(name), semconv.ErrorTypeKey.String(errType)))
	}
	span.End()
	return msg, err
}

// step follows one agent step's events: a tool call opens a span that its
// result closes; a code block, reported once it has run, is a span from
// the end of the previous block (or the step's start, or the approval that
// let it run) to its report.
type step struct {
	a     *tracedAgent
	p     *Provider
	ctx   context.Context
	agent string
	run   *Run

	mu   sync.Mutex
	mark time.Time // where the next code block's span starts
	open []openTool
}

type openTool struct {
	name  string
	span  trace.Span
	start time.Time
}

func (s *step) observe(e agent.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	content := s.p.content
	switch e.Type {
	case agent.EventToolCall:
		if e.Tool == nil {
			return
		}
		attrs := []attribute.KeyValue{
			semconv.GenAIOperationNameExecuteTool,
			semconv.GenAIToolName(e.Tool.Name),
			semconv.GenAIToolTypeKey.String("function"),
			semconv.GenAIAgentName(s.agent),
		}
		if content {
			attrs = append(attrs, semconv.GenAIToolCallArgumentsKey.String(e.Tool.Arguments))
		}
		_, span := s.p.tracer.Start(s.ctx, "execute_tool "+e.Tool.Name, trace.WithAttributes(attrs...))
		s.open = append(s.open, openTool{name: e.Tool.Name, span: span, start: time.Now()})
	case agent.EventToolResult:
		if e.Tool == nil {
			return
		}
		for i := len(s.open) - 1; i >= 0; i-- {
			ot := s.open[i]
			if ot.name != e.Tool.Name {
				continue
			}
			s.open = append(s.open[:i], s.open[i+1:]...)
			ot.span.SetAttributes(AttrToolError.Bool(e.Tool.Error))
			if content {
				ot.span.SetAttributes(semconv.GenAIToolCallResultKey.String(e.Tool.Result))
			}
			if e.Tool.Error {
				// A mistake the model can fix, reported back to it.
				ot.span.SetStatus(codes.Error, "the tool reported an error to the model")
			}
			s.p.inst.tool.Record(s.ctx, time.Since(ot.start).Seconds(), metric.WithAttributeSet(s.a.toolSet(ot.name)))
			ot.span.End()
			break
		}
	case agent.EventCodeExecution:
		if e.Code == nil {
			return
		}
		start := s.mark
		if s.run != nil {
			if a := s.run.lastApproval(); a.After(start) {
				start = a
			}
		}
		c := e.Code
		attrs := []attribute.KeyValue{
			semconv.GenAIOperationNameExecuteTool,
			semconv.GenAIToolName("code_execution"),
			semconv.GenAIToolTypeKey.String("extension"),
			semconv.GenAIAgentName(s.agent),
			AttrCodeLanguage.String(c.Language),
			AttrCodeExecutor.String(c.Executor),
			AttrCodeExit.Int(c.ExitCode),
			AttrCodeTimedOut.Bool(c.TimedOut),
		}
		if content {
			attrs = append(attrs, AttrCodeSource.String(c.Code), AttrCodeOutput.String(c.Output))
			if c.Filename != "" {
				attrs = append(attrs, AttrCodeFilename.String(c.Filename))
			}
		}
		_, span := s.p.tracer.Start(s.ctx, "execute_code "+c.Language, trace.WithTimestamp(start), trace.WithAttributes(attrs...))
		if c.ExitCode != 0 || c.TimedOut {
			span.SetStatus(codes.Error, "the code failed")
		}
		now := time.Now()
		span.End(trace.WithTimestamp(now))
		s.p.inst.tool.Record(s.ctx, now.Sub(start).Seconds(), metric.WithAttributeSet(s.a.toolSet("code_execution")))
		s.mark = now
	case agent.EventScreenshot:
		trace.SpanFromContext(s.ctx).AddEvent("screenshot")
	}
}

// close ends the tool spans a step left open: the step failed or was
// interrupted while they ran.
func (s *step) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ot := range s.open {
		ot.span.SetStatus(codes.Error, "the step ended before the tool's result")
		ot.span.End()
	}
	s.open = nil
}
