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

// RunInfo describes a run as it starts.
type RunInfo struct {
	SessionID string
	// Task is the request; exported only with content, its length always.
	Task string
	// Resumed is set when an earlier session goes on.
	Resumed bool
}

// Run is the span of one run and what its turns need. A nil *Run is valid
// and does nothing.
type Run struct {
	p     *Provider
	span  trace.Span
	start time.Time
	id    string

	mu    sync.Mutex
	turns map[int]*turnSpan
	// speakerSets are the turn metric's attributes, by next speaker.
	speakerSets map[string]attribute.Set
	// approved is when the last approval was given: a code block runs
	// from then, not from the start of the step that waited for a person.
	approved time.Time
}

type turnSpan struct {
	span    trace.Span
	start   time.Time
	speaker string
}

type runKey struct{}

// runFrom returns the run ctx belongs to, or nil.
func runFrom(ctx context.Context) *Run {
	r, _ := ctx.Value(runKey{}).(*Run)
	return r
}

func sessionID(ctx context.Context) string {
	if r := runFrom(ctx); r != nil {
		return r.id
	}
	return ""
}

// StartRun opens the run's span ("invoke_workflow m1") and returns the
// context every part of the run should work under, so that its spans
// belong to this trace. With p nil it returns ctx and a nil *Run.
func (p *Provider) StartRun(ctx context.Context, info RunInfo) (context.Context, *Run) {
	if p == nil {
		return ctx, nil
	}
	attrs := []attribute.KeyValue{
		semconv.GenAIOperationNameInvokeWorkflow,
		semconv.GenAIWorkflowName(DefaultServiceName),
		semconv.GenAIConversationID(info.SessionID),
		AttrSessionID.String(info.SessionID),
		AttrTaskLength.Int(len(info.Task)),
		AttrResumed.Bool(info.Resumed),
	}
	if p.content {
		attrs = append(attrs, AttrTask.String(info.Task))
	}
	r := &Run{p: p, start: time.Now(), id: info.SessionID, turns: map[int]*turnSpan{}, speakerSets: map[string]attribute.Set{}}
	ctx, r.span = p.tracer.Start(ctx, "invoke_workflow "+DefaultServiceName, trace.WithAttributes(attrs...))
	return context.WithValue(ctx, runKey{}, r), r
}

// TurnHook returns the orchestrator's per-turn hook (orchestrator.Options
// .OnTurn): each turn becomes a "turn" span under the run's, and the
// ledger's decision lands on it as attributes. Nil for a nil *Run, so the
// orchestrator has nothing to call.
func (r *Run) TurnHook() func(context.Context, int) (context.Context, func(error)) {
	if r == nil {
		return nil
	}
	return r.turn
}

func (r *Run) turn(ctx context.Context, n int) (context.Context, func(error)) {
	ctx, span := r.p.tracer.Start(ctx, "turn", trace.WithAttributes(AttrTurn.Int(n)))
	ts := &turnSpan{span: span, start: time.Now()}
	r.mu.Lock()
	r.turns[n] = ts
	r.mu.Unlock()
	return ctx, func(err error) {
		r.mu.Lock()
		delete(r.turns, n)
		r.mu.Unlock()
		if err != nil {
			// A limit reached or an interrupt ends the run here; the run's
			// span says how it ended.
			span.AddEvent("run stopped", trace.WithAttributes(semconv.ErrorTypeKey.String(errorType(err))))
		}
		speaker := ts.speaker
		if speaker == "" {
			speaker = "none"
		}
		r.p.inst.turn.Record(ctx, time.Since(ts.start).Seconds(), metric.WithAttributeSet(r.speakerSet(speaker)))
		span.End()
	}
}

func (r *Run) speakerSet(speaker string) attribute.Set {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.speakerSets[speaker]
	if !ok {
		s = attribute.NewSet(semconv.GenAIAgentName(speaker))
		r.speakerSets[speaker] = s
	}
	return s
}

// Event takes each event of the run as it is recorded: the progress
// ledger, replans, warnings and errors land on the turn they belong to (or
// the run), the task and the plan on the run. Tool calls and code blocks
// are the agent wrapper's.
func (r *Run) Event(e agent.Event) {
	if r == nil {
		return
	}
	content := r.p.content
	switch e.Type {
	case agent.EventLedger:
		ts := r.turnSpan(e.Turn)
		if ts == nil || e.Ledger == nil {
			return
		}
		l := e.Ledger
		ts.span.SetAttributes(
			AttrNextSpeaker.String(l.NextSpeaker.Answer),
			AttrInstructionLength.Int(len(l.InstructionOrQuestion.Answer)),
			AttrSatisfied.Bool(l.IsRequestSatisfied.Answer),
			AttrInLoop.Bool(l.IsInLoop.Answer),
			AttrProgress.Bool(l.IsProgressBeingMade.Answer),
			AttrStalls.Int(e.Stalls),
		)
		if !l.IsRequestSatisfied.Answer {
			r.mu.Lock()
			ts.speaker = l.NextSpeaker.Answer
			r.mu.Unlock()
		}
		if content {
			ts.span.SetAttributes(AttrInstruction.String(l.InstructionOrQuestion.Answer))
		}
	case agent.EventReplan:
		r.eventOn(e, "replan", AttrStalls.Int(e.Stalls), AttrMessage.String(e.Content))
	case agent.EventWarning, agent.EventError:
		// The text of a warning may quote a model's reply; it goes with
		// content only.
		attrs := []attribute.KeyValue{AttrSource.String(e.Source)}
		if content {
			attrs = append(attrs, AttrMessage.String(e.Content))
		}
		r.eventOn(e, e.Type, attrs...)
	case agent.EventFacts, agent.EventPlan:
		attrs := []attribute.KeyValue{attribute.Int("m1.length", len(e.Content))}
		if content {
			attrs = append(attrs, AttrMessage.String(e.Content))
		}
		r.eventOn(e, e.Type, attrs...)
	case agent.EventTask:
		attrs := []attribute.KeyValue{AttrTaskLength.Int(len(e.Content))}
		if content {
			attrs = append(attrs, AttrTask.String(e.Content))
		}
		r.span.AddEvent("task", trace.WithAttributes(attrs...))
	case agent.EventApproval:
		r.mu.Lock()
		r.approved = time.Now()
		r.mu.Unlock()
		if e.Approval != nil {
			r.eventOn(e, "approval", AttrSource.String(e.Source), attribute.Bool("m1.approval.approved", e.Approval.Approved))
		}
	}
}

// eventOn adds a span event to the turn e belongs to, else to the open
// turn, else to the run.
func (r *Run) eventOn(e agent.Event, name string, attrs ...attribute.KeyValue) {
	span := r.span
	if ts := r.turnSpan(e.Turn); ts != nil {
		span = ts.span
	}
	span.AddEvent(name, trace.WithAttributes(attrs...))
}

// turnSpan is turn n's open span; with n 0, the one open turn, if any.
func (r *Run) turnSpan(n int) *turnSpan {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ts, ok := r.turns[n]; ok {
		return ts
	}
	if n == 0 && len(r.turns) == 1 {
		for _, ts := range r.turns {
			return ts
		}
	}
	return nil
}

func (r *Run) lastApproval() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.approved
}

// End closes the run's span with its result event (status, turns, usage,
// cost) and the run's error, if any.
func (r *Run) End(result agent.Event, err error) {
	if r == nil {
		return
	}
	var in, out int
	for _, u := range result.Usage {
		in += u.PromptTokens
		out += u.CompletionTokens
	}
	status := result.Status
	if status == "" {
		status = agent.StatusError
	}
	r.span.SetAttributes(
		AttrStatus.String(status),
		AttrTurns.Int(result.Turns),
		AttrReplans.Int(result.Replans),
		semconv.GenAIUsageInputTokens(in),
		semconv.GenAIUsageOutputTokens(out),
		AttrAnswerLen.Int(len(result.FinalAnswer)),
	)
	if result.StopReason != "" {
		r.span.SetAttributes(AttrStopReason.String(result.StopReason))
	}
	if result.CostUSD > 0 {
		r.span.SetAttributes(AttrCostUSD.Float64(result.CostUSD))
	}
	if r.p.content && result.FinalAnswer != "" {
		r.span.SetAttributes(AttrFinalAnswer.String(result.FinalAnswer))
	}
	if err != nil || status == agent.StatusError {
		if err != nil {
			r.span.SetAttributes(semconv.ErrorTypeKey.String(errorType(err)))
			r.span.SetStatus(codes.Error, err.Error())
		} else {
			r.span.SetStatus(codes.Error, result.StopReason)
		}
	}
	r.p.inst.run.Record(context.Background(), time.Since(r.start).Seconds(), metric.WithAttributes(AttrStatus.String(status)))
	r.span.End()
}
