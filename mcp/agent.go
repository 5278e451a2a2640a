// Package mcp makes Model Context Protocol servers members of m1's team.
// Each server of the config's mcp_servers becomes an Agent named after its
// key: the Orchestrator reads its description (the server's own
// instructions and tool list) and may pick it like any other agent; its
// model is offered the server's tools as they are (names, JSON schemas)
// and calls them through the official Go SDK
// (github.com/modelcontextprotocol/go-sdk). Stdio servers run in a process
// group of their own that ends with the run, however the run ends.
package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	openai "github.com/sashabaranov/go-openai"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/model"
)

// Options are an agent's settings.
type Options struct {
	// CallTimeout bounds one tool call (zero: DefaultCallTimeout).
	CallTimeout time.Duration
	// MaxRounds is how many model calls one step may make.
	MaxRounds int
	// Approver is asked before each call of a tool the server does not
	// mark read-only; nil approves everything.
	Approver agent.Approver
	// ImageDir, when set, is where pictures from tool results are saved.
	ImageDir string
}

// DefaultOptions returns the settings of an agent when no option changes
// them.
func DefaultOptions() Options {
	return Options{CallTimeout: DefaultCallTimeout, MaxRounds: DefaultMaxRounds}
}

// Option changes an agent's settings.
type Option func(*Options)

// WithCallTimeout bounds each tool call; zero keeps the default.
func WithCallTimeout(d time.Duration) Option {
	return func(o *Options) {
		if d > 0 {
			o.CallTimeout = d
		}
	}
}

// WithMaxRounds sets how many model calls one step may make.
func WithMaxRounds(n int) Option { return func(o *Options) { o.MaxRounds = max(1, n) } }

// WithApprover asks a before each tool call that is not read-only.
func WithApprover(a agent.Approver) Option { return func(o *Options) { o.Approver = a } }

// WithImageDir saves pictures from tool results in dir.
func WithImageDir(dir string) Option { return func(o *Options) { o.ImageDir = dir } }

// ApprovalKind is the kind of approval requests for the server called
// name: answering "a" approves every later call to that server.
func ApprovalKind(name string) string { return "mcp:" + name }

// Agent is an MCP server on the team. It is safe for use by one run at a
// time; steps are serialized.
type Agent struct {
	srv    *Server
	client model.Client
	opts   Options

	mu     sync.Mutex
	images int // pictures saved so far
}

var (
	_ agent.Agent  = (*Agent)(nil)
	_ agent.Closer = (*Agent)(nil)
)

// New returns the agent for srv, thinking with client.
func New(srv *Server, client model.Client, opts ...Option) *Agent {
	o := DefaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	return &Agent{srv: srv, client: client, opts: o}
}

// Name is the server's key in the config.
func (a *Agent) Name() string { return a.srv.Name() }

// Description tells the Orchestrator what the server offers, in its own
// words.
func (a *Agent) Description() string {
	return describe(a.srv.Name(), a.srv.Implementation(), a.srv.Instructions(), a.srv.Tools())
}

// Reset keeps the server running: what it holds is its own business.
func (a *Agent) Reset(context.Context) error { return nil }

// Close ends the server.
func (a *Agent) Close() error { return a.srv.Close() }

// systemPrompt frames every call of the agent's model.
func (a *Agent) systemPrompt() string {
	var b strings.Builder
	fmt.Fprintf(&b, "You are %s, a member of a team of AI agents working on a user's request. You act through the tools of the MCP server %q.", a.Name(), a.Name())
	if s := strings.TrimSpace(a.srv.Instructions()); s != "" {
		b.WriteString("\n\nThe server's instructions:\n" + clip(s, 4000))
	}
	if rs := a.srv.Resources(); len(rs) > 0 {
		b.WriteString("\n\nThe server's resources (read one with read_resource):")
		for i, r := range rs {
			if i == maxPromptResources {
				fmt.Fprintf(&b, "\n- and %d more", len(rs)-i)
				break
			}
			line := "\n- " + r.URI
			if r.Name != "" {
				line += " " + r.Name
			}
			if d := firstSentence(r.Description); d != "" {
				line += ": " + clip(d, 100)
			}
			b.WriteString(line)
		}
	}
	b.WriteString(`

Carry out the latest instruction you were given with these tools. Call the tools that serve it, with arguments that match their schemas; you may call several and call again once you see the results. When you are done, reply in plain text with a short answer: the tools' results reach the team as they are, so do not repeat them at length. If a tool fails, read the error and correct the call, or say plainly what went wrong. If the tools cannot do what is asked, say so.`)
	return b.String()
}

// maxPromptResources caps the resources listed in the system prompt.
const maxPromptResources = 20

// Step lets the model call the server's tools, for up to MaxRounds model
// calls, and returns every call with its result, then the model's own
// answer. Pictures in the results are attached for vision models.
func (a *Agent) Step(ctx context.Context, t agent.Turn) (agent.Message, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	emit := t.EmitTo()
	if err := a.srv.Ensure(ctx); err != nil {
		return agent.Message{}, err
	}
	notes := a.notices(emit)
	a.srv.Refresh(ctx)
	tools := newToolset(a.srv.Tools(), a.srv.HasResources())
	vision := a.client.Info().Vision

	msgs := append([]openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleSystem, Content: a.systemPrompt()}},
		model.ThreadMessages(t.Thread, a.Name(), false)...)
	if len(notes) > 0 {
		msgs = append(msgs, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: strings.Join(notes, "\n")})
	}
	var (
		usage  agent.Usage
		record []string
		images []agent.Image
		answer string
	)
	for round := 1; ; round++ {
		req := model.Request{Messages: msgs}
		if len(tools.defs) > 0 {
			req.Tools, req.ToolChoice = tools.defs, "auto"
		}
		resp, err := a.client.Complete(ctx, req)
		if err != nil {
			return agent.Message{}, fmt.Errorf("%s: model call: %w", a.Name(), err)
		}
		usage = usage.Add(resp.Usage)
		if len(resp.ToolCalls) == 0 {
			answer = strings.TrimSpace(resp.Content)
			break
		}
		calls := resp.ToolCalls
		for i := range calls {
			if calls[i].ID == "" {
				// Some servers send calls without ids and then refuse
				// their own echo without them.
				calls[i].ID = "call_" + agent.NewID()
			}
		}
		msgs = append(msgs, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: resp.Content, ToolCalls: calls})
		var shown []agent.Image
		for _, call := range calls {
			r, err := a.call(ctx, tools, call, emit)
			if err != nil {
				return agent.Message{}, err
			}
			// A restart before or during the call concerns its result.
			if ns := a.notices(emit); len(ns) > 0 {
				r.text = strings.Join(ns, "\n") + "\n" + r.text
			}
			msgs = append(msgs, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleTool, ToolCallID: call.ID,
				Name: call.Function.Name, Content: r.text})
			record = append(record, fmt.Sprintf("%s(%s) returned:\n%s", call.Function.Name, compactJSON(call.Function.Arguments), r.text))
			saved := a.keep(r.images)
			images = append(images, saved...)
			shown = append(shown, saved...)
		}
		if len(shown) > 0 {
			if vision {
				msgs = append(msgs, model.UserMessage("The pictures the tools returned, in order:", shown))
			} else {
				msgs = append(msgs, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser,
					Content: "The tools returned pictures, which this model cannot see; only their descriptions above are available."})
			}
		}
		if round >= a.opts.MaxRounds {
			answer = fmt.Sprintf("(stopped after %d rounds of tool calls; ask again to go on)", round)
			break
		}
	}

	var parts []string
	parts = append(parts, notes...)
	if len(record) > 0 {
		parts = append(parts, fmt.Sprintf("I called the tools of the MCP server %q:", a.Name()))
		parts = append(parts, record...)
	}
	switch {
	case answer != "":
		parts = append(parts, answer)
	case len(record) == 0:
		parts = append(parts, fmt.Sprintf("%s's model returned an empty reply: no tool was called and there is no answer for this step.", a.Name()))
	}
	msg := agent.NewMessage(a.Name(), strings.Join(parts, "\n\n"))
	msg.Usage = &usage
	if vision {
		msg.Images = images
	}
	return msg, nil
}

// notices reports the server's restarts since the last look, as warnings
// and as notes for the step's reply.
func (a *Agent) notices(emit func(agent.Event)) []string {
	var notes []string
	for _, n := range a.srv.Notices() {
		a.warn(emit, n)
		notes = append(notes, "Note: "+n+"; anything it kept in memory is lost.")
	}
	return notes
}

// call runs one tool call the model made, asking for approval first when
// the tool is not read-only. Mistakes the model can fix, a refusal, a
// tool's own error, a timeout and a restart all come back as text; only a
// server gone for good (or Ctrl-C) is an error.
func (a *Agent) call(ctx context.Context, tools toolset, call openai.ToolCall, emit func(agent.Event)) (result, error) {
	name, args := call.Function.Name, call.Function.Arguments
	ev := agent.NewEvent(agent.EventToolCall, a.Name())
	ev.Tool = &agent.ToolCall{Name: name, Arguments: args}
	emit(ev)
	start := time.Now()
	done := func(r result) (result, error) {
		res := agent.NewEvent(agent.EventToolResult, a.Name())
		res.Tool = &agent.ToolCall{Name: name, Arguments: args, Result: r.text, Error: r.isError, DurationMS: time.Since(start).Milliseconds()}
		res.Images = nil
		emit(res)
		return r, nil
	}
	fixable := func(format string, v ...any) (result, error) {
		return done(result{text: fmt.Sprintf(format, v...), isError: true})
	}

	tool := tools.byName[name]
	if tool == nil {
		return fixable("There is no tool %q. The tools are: %s.", name, strings.Join(tools.names(), ", "))
	}
	raw, err := argsObject(args)
	if err != nil {
		return fixable("%v", err)
	}
	if tool == readResource {
		return a.readResource(ctx, raw, done, fixable)
	}
	if !readOnly(tool) {
		d, err := agent.Approve(ctx, a.opts.Approver, agent.ApprovalRequest{
			Agent:  a.Name(),
			Kind:   ApprovalKind(a.Name()),
			Action: fmt.Sprintf("call %s's tool %s", a.Name(), tool.Name),
			Detail: approvalDetail(tool, raw),
		})
		if err != nil {
			return result{}, err
		}
		if !d.Approved {
			return fixable("The call was not approved: %s. Do not call this tool again for the same purpose unless asked.", d.Reason)
		}
	}
	res, err := a.srv.Call(ctx, tool.Name, raw, a.opts.CallTimeout, a.progress(tool.Name, emit))
	var (
		se *StoppedError
		te *ToolError
	)
	switch {
	case err == nil:
		return done(convert(res))
	case ctx.Err() != nil:
		return result{}, ctx.Err()
	case errors.As(err, &te):
		return fixable("The server refused the call: %s", te.Msg)
	case errors.Is(err, ErrTimeout):
		return fixable("The call was cancelled: %v. The tool may be slow or stuck; try a smaller request or another way.", err)
	case errors.As(err, &se) && se.Restarted:
		return fixable("The server stopped during the call (%s) and was restarted; the call may not have completed, and anything the server kept in memory is lost.", se.Detail)
	}
	return result{}, err
}

// readResource reads the resource the model named, reporting like a tool
// call.
func (a *Agent) readResource(ctx context.Context, args json.RawMessage, done func(result) (result, error),
	fixable func(string, ...any) (result, error)) (result, error) {
	var p resourceParams
	if err := json.Unmarshal(args, &p); err != nil || strings.TrimSpace(p.URI) == "" {
		return fixable("read_resource needs the resource's uri, e.g. {\"uri\": \"file:///notes.md\"}")
	}
	res, err := a.srv.ReadResource(ctx, strings.TrimSpace(p.URI), a.opts.CallTimeout)
	var (
		se *StoppedError
		te *ToolError
	)
	switch {
	case err == nil:
		content := make([]sdk.Content, 0, len(res.Contents))
		for _, rc := range res.Contents {
			content = append(content, &sdk.EmbeddedResource{Resource: rc})
		}
		return done(convert(&sdk.CallToolResult{Content: content}))
	case ctx.Err() != nil:
		return result{}, ctx.Err()
	case errors.As(err, &te):
		return fixable("The server could not read %s: %s", p.URI, te.Msg)
	case errors.Is(err, ErrTimeout):
		return fixable("Reading the resource was cancelled: %v.", err)
	case errors.As(err, &se) && se.Restarted:
		return fixable("The server stopped while reading the resource (%s) and was restarted; try again.", se.Detail)
	}
	return result{}, err
}

// progress returns the handler that turns the server's progress
// notifications for one call into events, at most maxProgressEvents of
// them (and always the last, when the total is known).
func (a *Agent) progress(tool string, emit func(agent.Event)) func(*sdk.ProgressNotificationParams) {
	var (
		mu sync.Mutex
		n  int
	)
	return func(p *sdk.ProgressNotificationParams) {
		mu.Lock()
		defer mu.Unlock()
		n++
		if n > maxProgressEvents && (p.Total == 0 || p.Progress < p.Total) {
			return
		}
		ev := agent.NewEvent(agent.EventProgress, a.Name())
		ev.Tool = &agent.ToolCall{Name: tool}
		ev.Content = progressText(p)
		emit(ev)
	}
}

// maxProgressEvents caps the progress events of one call, so a chatty
// server cannot flood the transcript.
const maxProgressEvents = 50

// progressText reads "3/5: Step 3 of 5" or "40%" or "3".
func progressText(p *sdk.ProgressNotificationParams) string {
	var s string
	switch {
	case p.Total > 0:
		s = fmt.Sprintf("%s/%s", num(p.Progress), num(p.Total))
	default:
		s = num(p.Progress)
	}
	if p.Message != "" {
		s += ": " + p.Message
	}
	return s
}

func num(f float64) string {
	if f == float64(int64(f)) {
		return fmt.Sprint(int64(f))
	}
	return fmt.Sprintf("%.2f", f)
}

func (a *Agent) warn(emit func(agent.Event), msg string) {
	ev := agent.NewEvent(agent.EventWarning, a.Name())
	ev.Content = msg
	emit(ev)
}

// keep saves pictures in ImageDir, when set, and returns them with their
// paths.
func (a *Agent) keep(imgs []agent.Image) []agent.Image {
	if a.opts.ImageDir == "" || len(imgs) == 0 {
		return imgs
	}
	if err := os.MkdirAll(a.opts.ImageDir, 0o755); err != nil {
		return imgs
	}
	for i := range imgs {
		a.images++
		p := filepath.Join(a.opts.ImageDir, fmt.Sprintf("%s-%03d%s", a.Name(), a.images, extension(imgs[i].MIME)))
		if os.WriteFile(p, imgs[i].Data, 0o644) == nil {
			imgs[i].Path = p
		}
	}
	return imgs
}

func extension(mime string) string {
	switch mime {
	case "image/png":
		return ".png"
	case "image/jpeg", "image/jpg":
		return ".jpg"
	case "image/gif":
		return ".gif"
	case "image/webp":
		return ".webp"
	case "image/svg+xml":
		return ".svg"
	}
	return ".img"
}

// argsObject checks that the model's arguments are a JSON object (empty
// means {}), with a message the model can act on when not.
func argsObject(args string) (json.RawMessage, error) {
	s := strings.TrimSpace(args)
	if s == "" {
		return json.RawMessage("{}"), nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &m); err != nil || m == nil {
		return nil, fmt.Errorf("the arguments are not a JSON object (%s); call the tool again with a JSON object that matches its schema", errText(err))
	}
	return json.RawMessage(s), nil
}

func errText(err error) string {
	if err == nil {
		return "null"
	}
	return err.Error()
}

// approvalDetail is what the person reads before deciding: the tool's
// description and the arguments, one per line.
func approvalDetail(t *sdk.Tool, args json.RawMessage) string {
	var b strings.Builder
	if d := firstSentence(t.Description); d != "" {
		b.WriteString(clip(d, 200) + "\n")
	}
	var m map[string]any
	_ = json.Unmarshal(args, &m)
	if len(m) == 0 {
		b.WriteString("(no arguments)")
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v, _ := json.Marshal(m[k])
		fmt.Fprintf(&b, "%s: %s\n", k, clip(string(v), 2000))
	}
	return strings.TrimRight(b.String(), "\n")
}

// compactJSON writes arguments on one line for the step's record.
func compactJSON(s string) string {
	var v any
	if json.Unmarshal([]byte(s), &v) != nil {
		return clip(oneLine(s), 500)
	}
	b, _ := json.Marshal(v)
	return clip(string(b), 500)
}
