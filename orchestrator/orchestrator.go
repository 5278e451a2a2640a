// Package orchestrator runs Magentic-One's ledger loop: it plans a request
// in a task ledger (facts and plan), then turn by turn asks the model for a
// progress ledger that says whether the request is satisfied, whether the
// team is stuck, and who acts next with what instruction. When the team
// stalls it updates the facts and the plan and starts over. It knows the
// agents only through agent.Agent.
package orchestrator

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/model"
)

// Options bound and hook into a run. The zero value of a field takes the
// default from DefaultOptions.
type Options struct {
	MaxTurns       int
	MaxStalls      int
	MaxReplans     int
	MaxJSONRetries int
	// MaxTokens stops the run when all agents together have used this many
	// prompt plus completion tokens (0: no limit).
	MaxTokens int
	// Timeout stops the run after this much wall-clock time, counting the
	// earlier runs of a resumed session (0: no limit).
	Timeout time.Duration
	// ContextBudget is the token budget of a prompt built from the thread
	// (default: 3/4 of the model's context window).
	ContextBudget int
	// Emit receives every event of the run. It may be nil.
	Emit func(agent.Event)
	// Checkpoint is called with the state after every step that changed it.
	Checkpoint func(State)
	// ReviewPlan, when set, shows a new plan to the user and returns their
	// feedback; an empty answer accepts the plan.
	ReviewPlan func(ctx context.Context, plan string) (string, error)
}

// DefaultOptions are Magentic-One's limits, with JSON retries bounded lower
// because m1 feeds the parse error back to the model.
var DefaultOptions = Options{MaxTurns: 20, MaxStalls: 3, MaxReplans: 3, MaxJSONRetries: 3}

// Orchestrator directs a team through one request.
type Orchestrator struct {
	client model.Client
	team   []agent.Agent
	names  []string
	opts   Options
	st     State
	// turnBase and replanBase are the counts at the start of this run, so
	// the limits of a resumed run count from the resume.
	turnBase, replanBase int
}

// New returns an orchestrator that uses client for its own calls and
// directs team.
func New(client model.Client, team []agent.Agent, opts Options) *Orchestrator {
	d := DefaultOptions
	if opts.MaxTurns <= 0 {
		opts.MaxTurns = d.MaxTurns
	}
	if opts.MaxStalls <= 0 {
		opts.MaxStalls = d.MaxStalls
	}
	if opts.MaxReplans < 0 {
		opts.MaxReplans = 0
	}
	if opts.MaxJSONRetries <= 0 {
		opts.MaxJSONRetries = d.MaxJSONRetries
	}
	if opts.ContextBudget <= 0 {
		w := client.Info().ContextWindow
		if w <= 0 {
			w = 128000
		}
		opts.ContextBudget = w * 3 / 4
	}
	names := make([]string, len(team))
	for i, a := range team {
		names[i] = a.Name()
	}
	return &Orchestrator{client: client, team: team, names: names, opts: opts}
}

// State returns a copy of the current state.
func (o *Orchestrator) State() State { return o.st }

// Run works on task from the start.
func (o *Orchestrator) Run(ctx context.Context, task string) Result {
	o.st = State{Task: task, Usage: map[string]agent.Usage{}}
	ev := agent.NewEvent(agent.EventTask, agent.UserName)
	ev.Content = task
	o.emit(ev)
	return o.loop(ctx)
}

// Resume continues from a checkpointed state. With followUp empty it goes
// on with the original task; otherwise followUp becomes the next request in
// the same context, and the team is re-planned for it.
func (o *Orchestrator) Resume(ctx context.Context, st State, followUp string) Result {
	o.st = st
	o.turnBase, o.replanBase = st.Turns, st.Replans
	if o.st.Usage == nil {
		o.st.Usage = map[string]agent.Usage{}
	}
	o.st.Stalls = 0
	if followUp = strings.TrimSpace(followUp); followUp != "" {
		prev := o.st.Task
		o.st.Task = followUp
		o.st.Facts, o.st.Plan = "", ""
		o.st.InLoop, o.st.Done = false, false
		// The earlier request and its answer stay in every task ledger.
		o.st.Earlier = strings.TrimSpace(fmt.Sprintf("%s\n\nEarlier request: %s\nIts final answer: %s", o.st.Earlier, prev, o.st.FinalAnswer))
		o.st.Thread = append(o.st.Thread, agent.NewMessage(agent.OrchestratorName, o.st.Earlier))
		o.st.FinalAnswer, o.st.Status, o.st.StopReason = "", "", ""
		ev := agent.NewEvent(agent.EventTask, agent.UserName)
		ev.Content = followUp
		o.emit(ev)
	} else if o.st.Done {
		return o.result(o.st.Status, o.st.FinalAnswer, o.st.StopReason, 0, nil)
	}
	return o.loop(ctx)
}

func (o *Orchestrator) emit(e agent.Event) {
	if o.opts.Emit != nil {
		o.opts.Emit(e)
	}
}

func (o *Orchestrator) checkpoint() {
	if o.opts.Checkpoint != nil {
		o.opts.Checkpoint(o.st)
	}
}

// errLimit marks a stop by a budget or limit.
type errLimit struct{ reason string }

func (e errLimit) Error() string { return e.reason }

func (o *Orchestrator) loop(parent context.Context) Result {
	start := time.Now()
	ctx := parent
	if o.opts.Timeout > 0 {
		left := o.opts.Timeout - o.st.Elapsed
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(parent, max(left, time.Millisecond))
		defer cancel()
	}
	err := o.work(ctx)
	o.st.Elapsed += time.Since(start)

	var lim errLimit
	switch {
	case err == nil:
		return o.finish(parent, agent.StatusSuccess, "request satisfied", start)
	case parent.Err() != nil:
		o.st.Status, o.st.StopReason = agent.StatusCancelled, "interrupted"
		o.checkpoint()
		return o.result(agent.StatusCancelled, "", "interrupted", time.Since(start), parent.Err())
	case errors.Is(err, context.DeadlineExceeded) && o.opts.Timeout > 0:
		return o.finish(parent, agent.StatusIncomplete, fmt.Sprintf("time limit of %s reached", o.opts.Timeout), start)
	case errors.As(err, &lim):
		return o.finish(parent, agent.StatusIncomplete, lim.reason, start)
	}
	o.st.Status, o.st.StopReason = agent.StatusError, err.Error()
	ev := agent.NewEvent(agent.EventError, agent.OrchestratorName)
	ev.Content = err.Error()
	o.emit(ev)
	o.checkpoint()
	return o.result(agent.StatusError, "", err.Error(), time.Since(start), err)
}

// work plans and runs turns until the request is satisfied (nil) or
// something stops it (an errLimit, a model error, a cancelled context).
func (o *Orchestrator) work(ctx context.Context) error {
	if o.st.Facts == "" || o.st.Plan == "" {
		if err := o.makePlan(ctx); err != nil {
			return err
		}
	}
	for {
		if !o.st.InLoop {
			if err := o.startOuterLoop(ctx); err != nil {
				return err
			}
		}
		satisfied, err := o.turn(ctx)
		o.checkpoint()
		if err != nil || satisfied {
			return err
		}
	}
}

func (o *Orchestrator) makePlan(ctx context.Context) error {
	team := teamDescription(o.team)
	msgs := []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: factsPrompt(o.st.Task)}}
	// A follow-up request sees the earlier work.
	if len(o.st.Thread) > 0 {
		msgs = append(o.threadMessages(), msgs...)
	}
	if err := o.factsAndPlan(ctx, msgs, planPrompt(team), team); err != nil {
		return err
	}
	o.checkpoint()
	return nil
}

// factsAndPlan asks msgs for the facts, then planAsk for the plan, has the
// user review it when a reviewer is set, and keeps both. The outer loop
// starts over with them.
func (o *Orchestrator) factsAndPlan(ctx context.Context, msgs []openai.ChatCompletionMessage, planAsk, team string) error {
	facts, err := o.askText(ctx, msgs)
	if err != nil {
		return fmt.Errorf("gather facts: %w", err)
	}
	o.st.Facts = facts
	o.emitText(agent.EventFacts, facts)
	msgs = append(msgs,
		openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: facts},
		openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: planAsk})
	plan, err := o.askText(ctx, msgs)
	if err != nil {
		return fmt.Errorf("make plan: %w", err)
	}
	msgs = append(msgs, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: plan})
	if plan, err = o.review(ctx, msgs, plan, team); err != nil {
		return err
	}
	o.st.Plan = plan
	o.st.InLoop = false
	return nil
}

// review shows plan to the user when a reviewer is set and revises it with
// their feedback until they accept it (bounded).
func (o *Orchestrator) review(ctx context.Context, msgs []openai.ChatCompletionMessage, plan, team string) (string, error) {
	o.emitText(agent.EventPlan, plan)
	if o.opts.ReviewPlan == nil {
		return plan, nil
	}
	for range 5 {
		feedback, err := o.opts.ReviewPlan(ctx, plan)
		if err != nil {
			return "", fmt.Errorf("plan review: %w", err)
		}
		if strings.TrimSpace(feedback) == "" {
			return plan, nil
		}
		msgs = append(msgs, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: revisePlanPrompt(team, feedback)})
		plan, err = o.askText(ctx, msgs)
		if err != nil {
			return "", fmt.Errorf("revise plan: %w", err)
		}
		msgs = append(msgs, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: plan})
		o.emitText(agent.EventPlan, plan)
	}
	return plan, nil
}

func (o *Orchestrator) startOuterLoop(ctx context.Context) error {
	for _, a := range o.team {
		if err := a.Reset(ctx); err != nil {
			return fmt.Errorf("reset %s: %w", a.Name(), err)
		}
	}
	ledger := agent.NewMessage(agent.OrchestratorName, taskLedger(o.st.Earlier, o.st.Task, teamDescription(o.team), o.st.Facts, o.st.Plan))
	o.st.Thread = []agent.Message{ledger}
	o.st.InLoop = true
	o.st.Stalls = 0
	o.emitMessage(ledger)
	o.checkpoint()
	return nil
}

// turn runs one inner-loop step. It reports whether the request is
// satisfied.
func (o *Orchestrator) turn(ctx context.Context) (bool, error) {
	if o.st.Turns-o.turnBase >= o.opts.MaxTurns {
		return false, errLimit{fmt.Sprintf("turn limit of %d reached", o.opts.MaxTurns)}
	}
	if err := o.checkTokens(); err != nil {
		return false, err
	}
	o.st.Turns++
	ledger, err := o.progressLedger(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		var perr parseError
		if !errors.As(err, &perr) {
			return false, err
		}
		// An unusable ledger counts as a stall; the run goes on.
		o.st.Stalls++
		ev := agent.NewEvent(agent.EventWarning, agent.OrchestratorName)
		ev.Content = fmt.Sprintf("no usable progress ledger after %d tries (%v); counted as a stall", o.opts.MaxJSONRetries, perr.err)
		ev.Turn, ev.Stalls = o.st.Turns, o.st.Stalls
		o.emit(ev)
		return false, o.maybeReplan(ctx)
	}
	if ledger.IsRequestSatisfied.Answer {
		o.emitLedger(ledger)
		return true, nil
	}
	if !ledger.IsProgressBeingMade.Answer || ledger.IsInLoop.Answer {
		o.st.Stalls++
	} else if o.st.Stalls > 0 {
		o.st.Stalls--
	}
	o.emitLedger(ledger)
	if o.st.Stalls >= o.opts.MaxStalls {
		return false, o.maybeReplan(ctx)
	}
	return false, o.step(ctx, ledger)
}

func (o *Orchestrator) emitLedger(l agent.Ledger) {
	ev := agent.NewEvent(agent.EventLedger, agent.OrchestratorName)
	ev.Ledger = &l
	ev.Turn, ev.Stalls = o.st.Turns, o.st.Stalls
	o.emit(ev)
}

func (o *Orchestrator) maybeReplan(ctx context.Context) error {
	if o.st.Stalls < o.opts.MaxStalls {
		return nil
	}
	if o.st.Replans-o.replanBase >= o.opts.MaxReplans {
		return errLimit{fmt.Sprintf("replan limit of %d reached while stalled", o.opts.MaxReplans)}
	}
	o.st.Replans++
	ev := agent.NewEvent(agent.EventReplan, agent.OrchestratorName)
	ev.Content = fmt.Sprintf("stalled %d times: updating the facts and the plan (replan %d of %d)", o.st.Stalls, o.st.Replans, o.opts.MaxReplans)
	ev.Turn, ev.Stalls = o.st.Turns, o.st.Stalls
	o.emit(ev)

	team := teamDescription(o.team)
	msgs := append(o.threadMessages(), openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: updateFactsPrompt(o.st.Task, o.st.Facts)})
	if err := o.factsAndPlan(ctx, msgs, updatePlanPrompt(team), team); err != nil {
		return err
	}
	// Magentic-One keeps the stall count across a replan and so replans
	// again at once; m1 starts the new plan with a clean count.
	o.st.Stalls = 0
	return nil
}

// step hands the turn to the ledger's next speaker.
func (o *Orchestrator) step(ctx context.Context, l agent.Ledger) error {
	speaker := o.agent(l.NextSpeaker.Answer)
	instr := agent.NewMessage(agent.OrchestratorName, l.InstructionOrQuestion.Answer)
	o.st.Thread = append(o.st.Thread, instr)
	o.emitMessage(instr)

	reply, err := speaker.Step(ctx, agent.Turn{Thread: agentView(o.st.Thread, keepFull), Emit: o.emit})
	if err != nil && ctx.Err() == nil && errors.Is(err, model.ErrContextLength) {
		// The agent's own additions overflowed the model's context: one
		// retry with a much tighter view of the thread.
		o.warn(speaker.Name(), err)
		reply, err = speaker.Step(ctx, agent.Turn{Thread: agentView(o.st.Thread, 2), Emit: o.emit})
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		ev := agent.NewEvent(agent.EventError, speaker.Name())
		ev.Content = err.Error()
		o.emit(ev)
		reply = agent.NewMessage(speaker.Name(), fmt.Sprintf("%s could not complete the step: %v", speaker.Name(), err))
	}
	if reply.Source == "" {
		reply.Source = speaker.Name()
	}
	if reply.ID == "" {
		reply.ID = agent.NewID()
	}
	if reply.Time.IsZero() {
		reply.Time = time.Now().UTC()
	}
	o.st.addUsage(reply.Source, reply.Usage)
	o.st.Thread = append(o.st.Thread, reply)
	o.emitMessage(reply)
	return nil
}

func (o *Orchestrator) agent(name string) agent.Agent {
	for _, a := range o.team {
		if a.Name() == name {
			return a
		}
	}
	return o.team[0]
}

func (o *Orchestrator) checkTokens() error {
	if o.opts.MaxTokens > 0 {
		if used := o.st.TotalUsage().Total(); used >= o.opts.MaxTokens {
			return errLimit{fmt.Sprintf("token budget of %d reached (%d used)", o.opts.MaxTokens, used)}
		}
	}
	return nil
}

// parseError is a ledger that stayed unusable after every retry.
type parseError struct{ err error }

func (e parseError) Error() string { return "progress ledger: " + e.err.Error() }

func (o *Orchestrator) progressLedger(ctx context.Context) (agent.Ledger, error) {
	mode := modeFor(o.client.Info())
	msgs := append(o.ledgerMessages(), openai.ChatCompletionMessage{
		Role:    openai.ChatMessageRoleUser,
		Content: progressPrompt(o.st.Task, teamDescription(o.team), o.names, mode),
	})
	var lastErr error
	for range o.opts.MaxJSONRetries {
		reply, err := o.ask(ctx, msgs, responseFormat(mode, o.names))
		if err != nil {
			return agent.Ledger{}, fmt.Errorf("progress ledger: %w", err)
		}
		l, err := ParseLedger(reply, o.names)
		if err == nil {
			return l, nil
		}
		lastErr = err
		msgs = append(msgs,
			// An empty assistant message is refused by the API: say it was empty.
			openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: cmp.Or(strings.TrimSpace(reply), model.EmptyReplyPlaceholder)},
			openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: ledgerRetryPrompt(err)})
	}
	return agent.Ledger{}, parseError{lastErr}
}

// threadMessages is the orchestrator's view of the whole thread, within
// budget, for the calls that need every detail: replanning and the final
// answer.
func (o *Orchestrator) threadMessages() []openai.ChatCompletionMessage {
	return model.ThreadMessages(compact(o.st.Thread, o.opts.ContextBudget, keepFull), agent.OrchestratorName, o.client.Info().Vision)
}

// ledgerMessages is the bounded view the progress ledger is asked with on
// every turn: the task ledger, a compact history, the latest messages.
func (o *Orchestrator) ledgerMessages() []openai.ChatCompletionMessage {
	return model.ThreadMessages(ledgerView(o.st.Thread, o.opts.ContextBudget), agent.OrchestratorName, o.client.Info().Vision)
}

// ask makes one orchestrator call and accounts its usage. A context-length
// error gets one retry with the thread compacted harder.
func (o *Orchestrator) ask(ctx context.Context, msgs []openai.ChatCompletionMessage, format *openai.ChatCompletionResponseFormat) (string, error) {
	resp, err := o.client.Complete(ctx, model.Request{Messages: msgs, ResponseFormat: format})
	if err != nil && errors.Is(err, model.ErrContextLength) {
		o.warn(agent.OrchestratorName, err)
		resp, err = o.client.Complete(ctx, model.Request{Messages: shrink(msgs), ResponseFormat: format})
	}
	if err != nil {
		return "", err
	}
	o.st.addUsage(agent.OrchestratorName, &resp.Usage)
	return resp.Content, nil
}

// errEmptyReply is a model that answered a text request with nothing, twice.
var errEmptyReply = errors.New("the model returned an empty reply twice; try again, or a different model")

// askText asks for a text that must not be empty (facts, a plan, the final
// answer), once more when the reply is blank.
func (o *Orchestrator) askText(ctx context.Context, msgs []openai.ChatCompletionMessage) (string, error) {
	for range 2 {
		text, err := o.ask(ctx, msgs, nil)
		if err != nil || strings.TrimSpace(text) != "" {
			return text, err
		}
	}
	return "", errEmptyReply
}

// warn says that a call was too long for the model and is retried shorter.
func (o *Orchestrator) warn(source string, err error) {
	ev := agent.NewEvent(agent.EventWarning, source)
	ev.Content = fmt.Sprintf("the prompt was too long for the model (%v); retrying once with a shorter view of the thread", err)
	o.emit(ev)
}

// shrink keeps the first and the last three messages and cuts every other
// one hard, for a retry after a context-length error.
func shrink(msgs []openai.ChatCompletionMessage) []openai.ChatCompletionMessage {
	out := make([]openai.ChatCompletionMessage, len(msgs))
	copy(out, msgs)
	for i := 1; i < len(out)-3; i++ {
		out[i].MultiContent = nil
		out[i].Content = cutRunes(out[i].Content, 200) + " [...]"
	}
	return out
}

// finish asks for the final answer and closes the run. It uses the parent
// context, so a run stopped by its own time limit can still answer.
func (o *Orchestrator) finish(ctx context.Context, status, reason string, start time.Time) Result {
	prompt := finalAnswerPrompt(o.st.Task)
	if status != agent.StatusSuccess {
		prompt = limitAnswerPrompt(o.st.Task, reason)
	}
	msgs := append(o.threadMessages(), openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: prompt})
	before := o.st.Usage[agent.OrchestratorName]
	answer, err := o.askText(ctx, msgs)
	if err != nil {
		if ctx.Err() != nil {
			o.st.Status, o.st.StopReason = agent.StatusCancelled, "interrupted"
			o.checkpoint()
			return o.result(agent.StatusCancelled, "", "interrupted", time.Since(start), ctx.Err())
		}
		o.st.Status, o.st.StopReason = agent.StatusError, "final answer: "+err.Error()
		o.checkpoint()
		return o.result(agent.StatusError, "", o.st.StopReason, time.Since(start), err)
	}
	final := agent.NewMessage(agent.OrchestratorName, answer)
	// The message carries what its call cost, as every model reply does
	// (the run's total already counts it).
	after := o.st.Usage[agent.OrchestratorName]
	final.Usage = &agent.Usage{PromptTokens: after.PromptTokens - before.PromptTokens, CompletionTokens: after.CompletionTokens - before.CompletionTokens}
	o.st.Thread = append(o.st.Thread, final)
	o.emitMessage(final)
	o.st.FinalAnswer, o.st.Status, o.st.StopReason = answer, status, reason
	o.st.Done = status == agent.StatusSuccess
	o.checkpoint()
	return o.result(status, answer, reason, time.Since(start), nil)
}

func (o *Orchestrator) result(status, answer, reason string, d time.Duration, err error) Result {
	usage := make(map[string]agent.Usage, len(o.st.Usage))
	for k, v := range o.st.Usage {
		usage[k] = v
	}
	return Result{Status: status, FinalAnswer: answer, StopReason: reason, Turns: o.st.Turns,
		Replans: o.st.Replans, Usage: usage, Duration: d, Err: err}
}

func (o *Orchestrator) emitText(typ, content string) {
	ev := agent.NewEvent(typ, agent.OrchestratorName)
	ev.Content = content
	o.emit(ev)
}

func (o *Orchestrator) emitMessage(m agent.Message) {
	ev := agent.NewEvent(agent.EventMessage, m.Source)
	ev.ID = m.ID
	ev.Content = m.Content
	ev.ModelsUsage = m.Usage
	ev.Images = m.Images
	ev.Turn = o.st.Turns
	o.emit(ev)
}
