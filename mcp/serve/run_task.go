package serve

import (
	"context"
	"fmt"
	"strings"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/runner"
)

// runTaskParams are run_task's arguments.
type runTaskParams struct {
	Task           string   `json:"task" jsonschema:"the task in plain words, as complete as a person would give it; the team plans and works on it"`
	Agents         []string `json:"agents,omitempty" jsonschema:"the team besides the Orchestrator: coder, terminal, web, file, mcp (every MCP server m1 is configured with) or a configured MCP server's name; default: the team m1 mcp was started with"`
	MaxTurns       int      `json:"max_turns,omitempty" jsonschema:"stop after this many turns with a best-effort answer (default 20)"`
	MaxTokens      int      `json:"max_tokens,omitempty" jsonschema:"stop when the agents together used this many tokens (default: no limit)"`
	TimeoutSeconds float64  `json:"timeout_seconds,omitempty" jsonschema:"stop after this many seconds (default: no limit)"`
	WorkDir        string   `json:"work_dir,omitempty" jsonschema:"the folder the agents read and write, relative to m1's work dir or inside a folder it may use; default: m1's work dir"`
}

// runOutcome is what run_task and resume_session return.
type runOutcome struct {
	FinalAnswer string  `json:"final_answer" jsonschema:"the team's answer to the task"`
	Status      string  `json:"status" jsonschema:"success, incomplete (a limit was reached; the answer is best effort), error or cancelled"`
	SessionID   string  `json:"session_id" jsonschema:"the session, for resume_session and m1 show"`
	StopReason  string  `json:"stop_reason,omitempty" jsonschema:"why the run stopped early"`
	Turns       int     `json:"turns"`
	TotalTokens int     `json:"total_tokens"`
	CostUSD     float64 `json:"cost_usd,omitempty"`
}

const runTaskDesc = "Run a task with m1's team of agents (an Orchestrator directing a Coder, a ComputerTerminal that runs code in a sandbox, a WebSurfer with a real browser, a FileSurfer and configured MCP servers) until it can answer. Returns the final answer, the status and the session id; a run takes minutes and reports each turn as progress. Cancel the call to stop the run."

var runTaskTool = &sdk.Tool{Name: "run_task", Description: runTaskDesc,
	Annotations: &sdk.ToolAnnotations{Title: "Run a task with m1", OpenWorldHint: ptr(true), DestructiveHint: ptr(true)}}

func ptr[T any](v T) *T { return &v }

func (h *handlers) runTask(ctx context.Context, req *sdk.CallToolRequest, p runTaskParams) (*sdk.CallToolResult, runOutcome, error) {
	task := strings.TrimSpace(p.Task)
	if task == "" {
		return nil, runOutcome{}, fmt.Errorf("task is empty: say what m1 should do")
	}
	opts := h.opts.Run
	if len(p.Agents) > 0 {
		opts.Agents = p.Agents
	}
	if err := limits(&opts, p.MaxTurns, p.MaxTokens, p.TimeoutSeconds); err != nil {
		return nil, runOutcome{}, err
	}
	if p.WorkDir != "" {
		dir, err := h.workDir(p.WorkDir)
		if err != nil {
			return nil, runOutcome{}, err
		}
		opts.WorkDir = dir
	}
	ctx, done := h.runContext(ctx)
	defer done()
	out, err := runner.Run(ctx, h.env(ctx, req, opts.MaxTurns), opts, task)
	return outcome(out, err)
}

// limits applies the limits a call gives (zero: keep).
func limits(o *runner.Options, turns, tokens int, timeout float64) error {
	switch {
	case turns < 0 || tokens < 0 || timeout < 0:
		return fmt.Errorf("limits cannot be negative")
	}
	if turns > 0 {
		o.MaxTurns = turns
	}
	if tokens > 0 {
		o.MaxTokens = tokens
	}
	if timeout > 0 {
		o.Timeout = time.Duration(timeout * float64(time.Second))
	}
	return nil
}

// env is the environment of a run for one call: no person, and a progress
// notification to the client at every turn.
func (h *handlers) env(ctx context.Context, req *sdk.CallToolRequest, maxTurns int) runner.Env {
	env := runner.Env{Getenv: h.opts.Getenv, Stderr: h.opts.Stderr, SessionRoot: h.opts.SessionRoot}
	token := req.Params.GetProgressToken()
	if token == nil || req.Session == nil {
		return env
	}
	env.Output = func(e agent.Event) {
		if e.Type != agent.EventLedger || e.Ledger == nil {
			return
		}
		l := e.Ledger
		msg := fmt.Sprintf("turn %d: %s — %s", e.Turn, l.NextSpeaker.Answer, oneLine(l.InstructionOrQuestion.Answer, 200))
		if l.IsRequestSatisfied.Answer {
			msg = fmt.Sprintf("turn %d: the request is satisfied; writing the final answer", e.Turn)
		}
		// Best effort: a client that stopped listening does not stop
		// the run.
		_ = req.Session.NotifyProgress(ctx, &sdk.ProgressNotificationParams{ProgressToken: token,
			Progress: float64(e.Turn), Total: float64(maxTurns), Message: msg})
	}
	return env
}

// outcome turns a run's outcome into the tool's result: the final answer
// as text, and everything as structured content. A run that could not
// start, or ended in error, is a tool error the client's model can read.
func outcome(out runner.Outcome, err error) (*sdk.CallToolResult, runOutcome, error) {
	if err != nil && out.Result.Type == "" {
		return nil, runOutcome{}, err
	}
	r := out.Result
	o := runOutcome{FinalAnswer: r.FinalAnswer, Status: r.Status, SessionID: out.SessionID, StopReason: r.StopReason,
		Turns: r.Turns, CostUSD: r.CostUSD}
	for _, u := range r.Usage {
		o.TotalTokens += u.Total()
	}
	text := r.FinalAnswer
	if strings.TrimSpace(text) == "" {
		text = "(no final answer)"
	}
	text += fmt.Sprintf("\n\n[m1: status %s, session %s, %d turns", o.Status, o.SessionID, o.Turns)
	if o.StopReason != "" {
		text += ", stopped: " + o.StopReason
	}
	text += "]"
	res := &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: text}}}
	if err != nil || r.Status == agent.StatusError {
		res.IsError = true
		if err != nil {
			res.Content = append(res.Content, &sdk.TextContent{Text: "error: " + err.Error()})
		}
	}
	return res, o, nil
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}
