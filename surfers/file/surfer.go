// Package file is m1's FileSurfer: an agent that opens local files and
// folders as markdown, pages through them and searches them, like a person
// with a file viewer. The conversion itself lives in package convert; this
// package adds the viewer (pages, search), the tools the model calls, the
// access policy (work dir and allowed paths only) and a per-session cache.
package file

//go:generate go run ./internal/fixtures/gen ../../testdata/files

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/model"
)

// Description is what the orchestrator's model is told the FileSurfer can do.
const Description = "An agent that can handle local files: it opens a file or folder of the work dir and " +
	"reads it as markdown (PDF, Word, Excel, PowerPoint, HTML, CSV, JSON, notebooks, EPUB, ZIP, images, text), " +
	"pages through it and searches it. It cannot edit files or run code."

// Surfer is the FileSurfer agent. It is safe for use by one run at a time.
type Surfer struct {
	client model.Client
	opts   options
	access *access
	// accessErr is set when the work dir or an allowed path cannot be
	// resolved; Step reports it, as the run cannot use the FileSurfer.
	accessErr error
	cache     *cache

	mu     sync.Mutex
	viewer *viewer
}

var (
	_ agent.Agent    = (*Surfer)(nil)
	_ agent.Stateful = (*Surfer)(nil)
)

// New returns a FileSurfer that thinks with client. A work dir or allowed
// path that does not exist is reported by the first Step.
func New(client model.Client, opts ...Option) *Surfer {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	acc, err := newAccess(o.workDir, o.allowPaths)
	return &Surfer{client: client, opts: o, access: acc, accessErr: err, cache: newCache(o.convertOptions)}
}

// Name returns agent.FileSurferName.
func (s *Surfer) Name() string { return agent.FileSurferName }

// Description tells the orchestrator what the FileSurfer can do.
func (s *Surfer) Description() string { return Description }

// Reset closes the open file. Cached conversions stay for the session.
func (s *Surfer) Reset(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.viewer = nil
	return nil
}

// Step asks the model which viewer actions serve the latest instruction,
// runs every tool call of its reply in order, and returns the viewer's
// state. A reply without tool calls is returned as the FileSurfer's answer.
func (s *Surfer) Step(ctx context.Context, t agent.Turn) (agent.Message, error) {
	emit := t.EmitTo()
	if s.accessErr != nil {
		return agent.Message{}, s.accessErr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	resp, err := s.client.Complete(ctx, model.Request{
		Messages:   s.prompt(t.Thread),
		Tools:      tools(),
		ToolChoice: "auto",
	})
	if err != nil {
		return agent.Message{}, fmt.Errorf("filesurfer: model call: %w", err)
	}
	usage := resp.Usage
	if len(resp.ToolCalls) == 0 {
		content := strings.TrimSpace(resp.Content)
		if content == "" {
			// An empty message would reach the model again as an assistant
			// turn without content, which the OpenAI API refuses; and the
			// Orchestrator should know that nothing was done.
			content = "The FileSurfer's model returned an empty reply" + finishNote(resp.FinishReason) +
				": no tool was called and there is no answer for this step.\n\n" + s.state()
		}
		msg := agent.NewMessage(agent.FileSurferName, content)
		msg.Usage = &usage
		return msg, nil
	}
	var notes []string
	for _, tc := range resp.ToolCalls {
		call := &agent.ToolCall{Name: tc.Function.Name, Arguments: tc.Function.Arguments}
		ev := agent.NewEvent(agent.EventToolCall, agent.FileSurferName)
		ev.Tool = call
		emit(ev)
		start := time.Now()
		note, err := s.runTool(ctx, tc.Function.Name, tc.Function.Arguments)
		if err != nil {
			var fix *fixable
			if !errors.As(err, &fix) {
				return agent.Message{}, fmt.Errorf("filesurfer: %s: %w", tc.Function.Name, err)
			}
			note = fix.msg
		}
		res := agent.NewEvent(agent.EventToolResult, agent.FileSurferName)
		res.Tool = &agent.ToolCall{Name: call.Name, Arguments: call.Arguments, Result: note, Error: err != nil, DurationMS: time.Since(start).Milliseconds()}
		emit(res)
		if note != "" {
			notes = append(notes, note)
		}
	}
	content := s.state()
	if len(notes) > 0 {
		content = strings.Join(notes, "\n") + "\n\n" + content
	}
	msg := agent.NewMessage(agent.FileSurferName, content)
	msg.Usage = &usage
	if v := s.viewer; v != nil && s.client.Info().Vision {
		for _, img := range v.doc.Images {
			msg.Images = append(msg.Images, agent.Image{MIME: img.MIME, Data: img.Data})
		}
	}
	return msg, nil
}

// finishNote says why a reply ended when that was not a normal stop, e.g.
// " (finish reason: length)".
func finishNote(reason string) string {
	if reason == "" || reason == "stop" {
		return ""
	}
	return " (finish reason: " + reason + ")"
}

// fixable is a mistake the model can correct (a bad path, bad arguments,
// a failed search): its text goes back as the tool's result.
type fixable struct{ msg string }

func (f *fixable) Error() string { return f.msg }

func fixf(format string, args ...any) error { return &fixable{msg: fmt.Sprintf(format, args...)} }

// state renders the viewer header and the current page, or says nothing
// is open.
func (s *Surfer) state() string {
	if s.viewer == nil {
		return "No file is open. Use open_path to open a file or folder of the work dir (" + s.access.workDir + ")."
	}
	return s.viewer.render()
}

const systemPrompt = `You are the FileSurfer, a member of a team solving a task. You read local files with a file viewer.
Tools: open_path opens a file or folder (relative to the work dir); page_down and page_up move the viewport;
find_on_page_ctrl_f searches the open document (case-insensitive, * matches anything) and jumps to the first
page with a match; find_next jumps to the next one. Call the tools that serve the latest request; you may call
several in order. Answer in plain text only when the request is a question you can answer from what is on screen.`

// prompt builds the model's messages: the instructions, the team's thread
// and the viewer's current state.
func (s *Surfer) prompt(thread []agent.Message) []openai.ChatCompletionMessage {
	msgs := []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleSystem, Content: systemPrompt}}
	const keep, maxChars = 20, 20000
	if len(thread) > keep {
		thread = thread[len(thread)-keep:]
	}
	for _, m := range thread {
		c := m.Content
		if len(c) > maxChars {
			c = c[:maxChars] + "\n[... shortened]"
		}
		role := openai.ChatMessageRoleUser
		if m.Source == agent.FileSurferName {
			role = openai.ChatMessageRoleAssistant
		} else {
			c = "(" + m.Source + ") " + c
		}
		msgs = append(msgs, openai.ChatCompletionMessage{Role: role, Content: c})
	}
	view := "No file is open yet."
	if s.viewer != nil {
		view = s.viewer.header()
	}
	msgs = append(msgs, openai.ChatCompletionMessage{
		Role:    openai.ChatMessageRoleUser,
		Content: "Work dir: " + s.access.workDir + "\nFile viewer state:\n" + view + "\n\nAct on the latest request above.",
	})
	return msgs
}

// savedState is what SaveState keeps: the open file and page.
type savedState struct {
	Path string `json:"path,omitempty"`
	Page int    `json:"page,omitempty"`
}

// SaveState records the open file and page so a resumed session reopens
// them.
func (s *Surfer) SaveState() (json.RawMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var st savedState
	if s.viewer != nil {
		st = savedState{Path: s.viewer.path, Page: s.viewer.page}
	}
	return json.Marshal(st)
}

// LoadState reopens the file and page SaveState recorded. A file that is
// gone or no longer readable leaves the viewer closed: the model can open
// something else.
func (s *Surfer) LoadState(ctx context.Context, state json.RawMessage) error {
	var st savedState
	if len(state) > 0 {
		if err := json.Unmarshal(state, &st); err != nil {
			return fmt.Errorf("filesurfer: load state: %w", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.viewer = nil
	if st.Path == "" || s.accessErr != nil {
		return nil
	}
	if _, err := s.open(ctx, st.Path); err != nil {
		var fix *fixable
		if errors.As(err, &fix) {
			return nil
		}
		return err
	}
	s.viewer.setPage(st.Page)
	return nil
}
