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
	"slices"
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
	// OnTurn, when set, is called as each turn starts, with its number; the
	// turn runs under the context it returns, and end is called with the
	// turn's error once it is over. Tracing gives each turn a span with it.
	OnTurn func(ctx context.Context, turn int) (_ context.Context, end func(error))
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
	msgs := []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: factsPrompt(o.task())}}
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
	facts, reasoning, err := o.askText(ctx, msgs, model.CallText)
	if err != nil {
		return fmt.Errorf("gather facts: %w", err)
	}
	o.st.Facts = facts
	o.emitText(agent.EventFacts, facts, reasoning)
	msgs = append(msgs,
		openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: facts},
		openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: planAsk})
	plan, reasoning, err := o.askText(ctx, msgs, model.CallText)
	if err != nil {
		return fmt.Errorf("make plan: %w", err)
	}
	msgs = append(msgs, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: plan})
	if plan, err = o.review(ctx, msgs, plan, reasoning, team); err != nil {
		return err
	}
	o.st.Plan = plan
	o.st.InLoop = false
	return nil
}

// review shows plan to the user when a reviewer is set and revises it with
// their feedback until they accept it (bounded).
func (o *Orchestrator) review(ctx context.Context, msgs []openai.ChatCompletionMessage, plan, reasoning, team string) (string, error) {
	o.emitText(agent.EventPlan, plan, reasoning)
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
		plan, reasoning, err = o.askText(ctx, msgs, model.CallText)
		if err != nil {
			return "", fmt.Errorf("revise plan: %w", err)
		}
		msgs = append(msgs, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: plan})
		o.emitText(agent.EventPlan, plan, reasoning)
	}
	return plan, nil
}

func (o *Orchestrator) startOuterLoop(ctx context.Context) error {
	for _, a := range o.team {
		if err := a.Reset(ctx); err != nil {
			return fmt.Errorf("reset %s: %w", a.Name(), err)
		}
	}
	ledger := agent.NewMessage(agent.OrchestratorName, taskLedger(o.st.Earlier, o.task(), teamDescription(o.team), o.st.Facts, o.st.Plan))
	o.st.Thread = []agent.Message{ledger}
	o.st.InLoop = true
	o.st.Stalls = 0
	o.emitMessage(ledger)
	o.checkpoint()
	return nil
}

// turn runs one inner-loop step. It reports whether the request is
// satisfied.
func (o *Orchestrator) turn(ctx context.Context) (satisfied bool, err error) {
	if o.st.Turns-o.turnBase >= o.opts.MaxTurns {
		return false, errLimit{fmt.Sprintf("turn limit of %d reached", o.opts.MaxTurns)}
	}
	if err := o.checkTokens(); err != nil {
		return false, err
	}
	o.st.Turns++
	if o.opts.OnTurn != nil {
		var end func(error)
		ctx, end = o.opts.OnTurn(ctx, o.st.Turns)
		defer func() { end(err) }()
	}
	ledger, reasoning, err := o.progressLedger(ctx)
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
		o.emitLedger(ledger, reasoning)
		return true, nil
	}
	if !ledger.IsProgressBeingMade.Answer || ledger.IsInLoop.Answer {
		o.st.Stalls++
	} else if o.st.Stalls > 0 {
		o.st.Stalls--
	}
	o.emitLedger(ledger, reasoning)
	if o.st.Stalls >= o.opts.MaxStalls {
		return false, o.maybeReplan(ctx)
	}
	return false, o.step(ctx, ledger)
}

func (o *Orchestrator) emitLedger(l agent.Ledger, reasoning string) {
	ev := agent.NewEvent(agent.EventLedger, agent.OrchestratorName)
	ev.Ledger = &l
	ev.Reasoning = reasoning
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
	msgs := append(o.threadMessages(), openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: updateFactsPrompt(o.task(), model.FitText(o.st.Facts, o.opts.ContextBudget/4))})
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

	reply, err := speaker.Step(ctx, agent.Turn{Thread: agentView(o.st.Thread, keepFull, o.opts.ContextBudget), Emit: o.emit})
	if err != nil && ctx.Err() == nil && errors.Is(err, model.ErrContextLength) {
		// The agent's own additions overflowed the model's context: one
		// retry with a much tighter view of the thread.
		o.warn(speaker.Name(), err)
		reply, err = speaker.Step(ctx, agent.Turn{Thread: agentView(o.st.Thread, 2, o.opts.ContextBudget/4), Emit: o.emit})
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, model.ErrToolsUnsupported) {
			return o.dropAgent(speaker, err)
		}
		ev := agent.NewEvent(agent.EventError, speaker.Name())
		ev.Content = errorDetail(err)
		o.emit(ev)
		// One short line into the thread: every later prompt carries it,
		// and a server's error may echo the whole request, screenshots
		// included. The error event above keeps more for the transcript.
		reply = agent.NewMessage(speaker.Name(), fmt.Sprintf("%s could not complete the step: %s", speaker.Name(), model.Cause(err)))
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

// errorDetail is an error's text for the transcript: a model error with
// the server's words at some length, never image data.
func errorDetail(err error) string {
	var me *model.Error
	if errors.As(err, &me) && me.Detail() != me.Said() {
		return err.Error() + "\nThe server said: " + me.Detail()
	}
	return err.Error()
}

// dropAgent takes an agent whose model cannot call tools off the team for
// the rest of the run and says so in the thread, so the next ledger plans
// without it (Ollama's "does not support tools", microsoft/magentic-ui#206).
func (o *Orchestrator) dropAgent(a agent.Agent, err error) error {
	name := a.Name()
	i := slices.IndexFunc(o.team, func(t agent.Agent) bool { return t.Name() == name })
	if i >= 0 {
		o.team = slices.Delete(slices.Clone(o.team), i, i+1)
		o.names = slices.Delete(slices.Clone(o.names), i, i+1)
	}
	ev := agent.NewEvent(agent.EventWarning, agent.OrchestratorName)
	ev.Content = fmt.Sprintf("%s is taken off the team for the rest of the run: its model cannot call tools, which %s needs (%s)", name, name, model.Cause(err))
	ev.Turn = o.st.Turns
	o.emit(ev)
	if len(o.team) == 0 {
		return fmt.Errorf("no agent is left on the team: %w", err)
	}
	msg := agent.NewMessage(agent.OrchestratorName, fmt.Sprintf(
		"%s has been taken off the team for the rest of this run: its model cannot call tools, which %s needs. The team is now: %s. Plan the remaining work without %s.",
		name, name, strings.Join(o.names, ", "), name))
	o.st.Thread = append(o.st.Thread, msg)
	o.emitMessage(msg)
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

func (o *Orchestrator) progressLedger(ctx context.Context) (agent.Ledger, string, error) {
	msgs := append(o.ledgerMessages(), openai.ChatCompletionMessage{
		Role:    openai.ChatMessageRoleUser,
		Content: progressPrompt(o.task(), teamDescription(o.team), o.names),
	})
	var lastErr error
	for range o.opts.MaxJSONRetries {
		resp, err := o.ask(ctx, msgs, responseFormat(o.names), model.CallLedger)
		if err != nil {
			return agent.Ledger{}, "", fmt.Errorf("progress ledger: %w", err)
		}
		l, err := ParseLedger(resp.Content, o.names)
		if err == nil {
			return l, resp.Reasoning, nil
		}
		if resp.FinishReason == "length" {
			err = fmt.Errorf("%w (the reply was cut off at the length limit: keep the reasons short)", err)
		}
		lastErr = err
		msgs = append(msgs,
			// An empty assistant message is refused by the API: say it was empty.
			openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: cmp.Or(strings.TrimSpace(cutRunes(resp.Content, maxEchoedReply)), model.EmptyReplyPlaceholder)},
			openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: ledgerRetryPrompt(err)})
	}
	return agent.Ledger{}, "", parseError{lastErr}
}

// maxEchoedReply bounds an unusable ledger reply sent back with the retry
// prompt: a runaway reply of megabytes must not be sent back whole.
const maxEchoedReply = 4000

// task is the request as prompts carry it: whole unless it is larger than
// a quarter of the budget, in which case its head and tail are kept (the
// transcript keeps it whole).
func (o *Orchestrator) task() string {
	return model.FitText(o.st.Task, o.opts.ContextBudget/4)
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

// ask makes one orchestrator call and accounts its usage. A
// context-length error gets one retry with the thread compacted harder; a
// content filter's refusal one retry with the latest agent message cut to
// its head, where a page's text that looks like instructions usually is.
func (o *Orchestrator) ask(ctx context.Context, msgs []openai.ChatCompletionMessage, format *openai.ChatCompletionResponseFormat, kind model.CallKind) (*model.Response, error) {
	req := model.Request{Messages: msgs, ResponseFormat: format, Kind: kind}
	resp, err := o.client.Complete(ctx, req)
	switch {
	case err != nil && errors.Is(err, model.ErrContextLength):
		o.warn(agent.OrchestratorName, err)
		req.Messages = shrink(msgs)
		resp, err = o.client.Complete(ctx, req)
	case err != nil && errors.Is(err, model.ErrContentFilter):
		if cut, ok := cutLatestAgentMessage(msgs); ok {
			ev := agent.NewEvent(agent.EventWarning, agent.OrchestratorName)
			ev.Content = fmt.Sprintf("the server's content filter refused the prompt (%s); retrying once with the latest agent message cut to its head", model.Cause(err))
			o.emit(ev)
			req.Messages = cut
			resp, err = o.client.Complete(ctx, req)
		}
	}
	if err != nil {
		return nil, err
	}
	o.st.addUsage(agent.OrchestratorName, &resp.Usage)
	return resp, nil
}

// filterHead is how much of a message a retry after a content filter's
// refusal keeps.
const filterHead = 300

// cutLatestAgentMessage returns msgs with the latest message from an agent
// (a user turn before the final prompt) cut to its head; false when there
// is none.
func cutLatestAgentMessage(msgs []openai.ChatCompletionMessage) ([]openai.ChatCompletionMessage, bool) {
	for i := len(msgs) - 2; i >= 0; i-- {
		m := msgs[i]
		if m.Role != openai.ChatMessageRoleUser {
			continue
		}
		out := slices.Clone(msgs)
		text := m.Content
		if len(m.MultiContent) > 0 {
			text = ""
			for _, p := range m.MultiContent {
				text += p.Text
			}
		}
		out[i] = openai.ChatCompletionMessage{Role: m.Role,
			Content: cutRunes(text, filterHead) + "\n[... cut: the server's content filter refused this message; the full text is in the transcript]"}
		return out, true
	}
	return nil, false
}

// errEmptyReply is a model that answered a text request with nothing, twice.
var errEmptyReply = errors.New("the model returned an empty reply twice; try again, or a different model")

// askText asks for a text that must not be empty (facts, a plan, the final
// answer), once more when the reply is blank. It returns the text and the
// model's reasoning, if it showed any.
func (o *Orchestrator) askText(ctx context.Context, msgs []openai.ChatCompletionMessage, kind model.CallKind) (string, string, error) {
	for range 2 {
		resp, err := o.ask(ctx, msgs, nil, kind)
		if err != nil {
			return "", "", err
		}
		if strings.TrimSpace(resp.Content) != "" {
			return resp.Content, resp.Reasoning, nil
		}
	}
	return "", "", errEmptyReply
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
	prompt := finalAnswerPrompt(o.task())
	if status != agent.StatusSuccess {
		prompt = limitAnswerPrompt(o.task(), reason)
	}
	msgs := append(o.threadMessages(), openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: prompt})
	before := o.st.Usage[agent.OrchestratorName]
	answer, reasoning, err := o.askText(ctx, msgs, model.CallFinal)
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
	final.Usage = &agent.Usage{PromptTokens: after.PromptTokens - before.PromptTokens, CompletionTokens: after.CompletionTokens - before.CompletionTokens,
		CachedPromptTokens: after.CachedPromptTokens - before.CachedPromptTokens, Estimated: after.Estimated}
	final.Reasoning = reasoning
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

func (o *Orchestrator) emitText(typ, content, reasoning string) {
	ev := agent.NewEvent(typ, agent.OrchestratorName)
	ev.Content = content
	ev.Reasoning = reasoning
	o.emit(ev)
}

func (o *Orchestrator) emitMessage(m agent.Message) {
	ev := agent.NewEvent(agent.EventMessage, m.Source)
	ev.ID = m.ID
	ev.Content = m.Content
	ev.Reasoning = m.Reasoning
	ev.ModelsUsage = m.Usage
	ev.Images = m.Images
	ev.Turn = o.st.Turns
	o.emit(ev)
}
