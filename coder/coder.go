// Package coder is the Coder: a model-backed agent that reasons, answers,
// and writes Python or shell code for the ComputerTerminal to run.
package coder

import (
	"context"
	"fmt"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/model"
)

// Description is what the orchestrator is told about the Coder.
const Description = "A helpful and general-purpose AI assistant with strong skills in language, reasoning, analysis and programming. It writes Python or shell code for the ComputerTerminal to run, and reads the results."

// systemPrompt is the Coder's standing instruction.
const systemPrompt = `You are the Coder, a member of a team working on a user's request. You solve tasks with your knowledge, reasoning and code.

When code helps (computing, transforming data, checking facts, working with files), write it in a fenced block tagged python or sh, for the ComputerTerminal to run. Rules for code:
- Put everything needed in one block; the ComputerTerminal runs it as is, in the working directory, and shows you the output. Do not ask anyone to edit or complete it.
- Print the results you need to see; nothing is shown unless printed.
- To save the code to a file, put "# filename: <name>" on the first line of the block.
- If a run fails, read the error, fix the code and send the whole corrected block again.

When no code is needed, answer directly and plainly. Check your answer before you give it, and say how sure you are when it matters.`

// Coder is the code-writing assistant agent.
type Coder struct {
	client model.Client
	stream bool
}

// Option configures a Coder.
type Option func(*Coder)

// WithStreaming makes the Coder stream its reply as delta events.
func WithStreaming(on bool) Option { return func(c *Coder) { c.stream = on } }

// New returns a Coder that thinks with client.
func New(client model.Client, opts ...Option) *Coder {
	c := &Coder{client: client}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Name implements agent.Agent.
func (c *Coder) Name() string { return agent.CoderName }

// Description implements agent.Agent.
func (c *Coder) Description() string { return Description }

// Reset implements agent.Agent; the Coder keeps no state of its own.
func (c *Coder) Reset(context.Context) error { return nil }

// Step answers the latest instruction given the thread.
func (c *Coder) Step(ctx context.Context, t agent.Turn) (agent.Message, error) {
	emit := t.EmitTo()
	info := c.client.Info()
	msgs := append([]openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleSystem, Content: systemPrompt}},
		model.ThreadMessages(t.Thread, agent.CoderName, info.Vision)...)
	// The prompt fits the Coder's own model, whatever window the
	// Orchestrator's has.
	msgs = model.FitMessages(msgs, model.PromptBudget(info.ContextWindow))
	id := agent.NewID()
	req := model.Request{Messages: msgs, Kind: model.CallAgent}
	if c.stream {
		req.OnDelta = func(d string) {
			ev := agent.NewEvent(agent.EventDelta, agent.CoderName)
			ev.ID = id
			ev.Content = d
			emit(ev)
		}
	}
	resp, err := c.client.Complete(ctx, req)
	if err != nil {
		return agent.Message{}, fmt.Errorf("coder: %w", err)
	}
	usage := resp.Usage
	content := resp.Content
	if strings.TrimSpace(content) == "" {
		// An empty message would reach the model again as an assistant
		// turn without content, which the OpenAI API refuses; and the
		// Orchestrator should know there is no answer.
		content = "The Coder's model returned an empty reply" + finishNote(resp.FinishReason) + ": there is no answer for this step."
		if len(resp.ToolCalls) > 0 {
			content = fmt.Sprintf("The Coder's model called the tool %q, but the Coder has no tools: there is no answer for this step.", resp.ToolCalls[0].Function.Name)
		}
	}
	return agent.Message{ID: id, Source: agent.CoderName, Content: content, Reasoning: resp.Reasoning, Usage: &usage, Time: time.Now().UTC()}, nil
}

// finishNote says why a reply ended when that was not a normal stop, e.g.
// " (finish reason: length)".
func finishNote(reason string) string {
	if reason == "" || reason == "stop" {
		return ""
	}
	return " (finish reason: " + reason + ")"
}
