// Package web is m1's WebSurfer: an agent that drives a real headless Chrome
// through the DevTools protocol (github.com/chromedp/chromedp). After every
// action it labels the page's interactive elements with numeric ids
// (set-of-marks), reads the viewport's text as markdown and, for vision
// models, draws the labels on a screenshot; the model answers with one tool
// call (visit_url, click, input_text, ...) that the surfer performs.
package web

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

// maxArgRetries is how many malformed tool calls one step tolerates before
// it reports back instead.
const maxArgRetries = 3

// description is what the orchestrator's model reads about the surfer.
const description = "A helpful assistant with access to a web browser (a real Chrome). Ask it to search the web, open pages, " +
	"and interact with them: click links and buttons, type into and submit forms, choose from drop-down lists, hover, scroll, " +
	"switch tabs and download files (it reports where downloads are saved). It can also answer questions about or summarize " +
	"the whole current page, and wait for slow pages."

// systemPrompt frames every decision call of the surfer.
const systemPrompt = `You are the WebSurfer of a team of AI agents. You control a real web browser to carry out the instruction you were last given: search, open pages, click, type, choose, scroll and read.
Each reply is exactly one tool call; the browser performs it and you see the new page state. Interactive elements are listed with numeric ids; use only ids from the current list. Never make up URLs, ids or facts.
Prefer the visible elements of the page over guessing URLs. If the instruction can be answered from what you already see, or needs no browser, answer in plain text instead of calling a tool.`

// Surfer is the WebSurfer agent. It is safe for use by one orchestrator;
// calls are serialized.
type Surfer struct {
	client model.Client
	opts   Options
	tools  []*tool

	base       context.Context
	baseCancel context.CancelFunc

	mu      sync.Mutex
	chrome  *chrome
	closed  bool
	restore *savedState
	usage   agent.Usage  // of the current step
	last    *observation // the latest observation, reused while the page has not changed
}

var (
	_ agent.Agent    = (*Surfer)(nil)
	_ agent.Closer   = (*Surfer)(nil)
	_ agent.Stateful = (*Surfer)(nil)
)

// New returns a WebSurfer that asks client what to do. The browser starts
// on first use; call Close when done.
func New(client model.Client, opts ...Option) *Surfer {
	o := DefaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if o.MaxSteps < 1 {
		o.MaxSteps = 1
	}
	if o.SettleTimeout <= 0 {
		o.SettleTimeout = DefaultOptions().SettleTimeout
	}
	if o.ViewportWidth <= 0 || o.ViewportHeight <= 0 {
		o.ViewportWidth, o.ViewportHeight = DefaultOptions().ViewportWidth, DefaultOptions().ViewportHeight
	}
	if o.StartPage == "" {
		o.StartPage = "about:blank"
	}
	base, cancel := context.WithCancel(context.Background())
	return &Surfer{
		client:     client,
		opts:       o,
		tools:      allTools(),
		base:       base,
		baseCancel: cancel,
		chrome:     newChrome(base, o),
	}
}

// Name returns "WebSurfer".
func (s *Surfer) Name() string { return agent.WebSurferName }

// Description tells the orchestrator what the surfer can do.
func (s *Surfer) Description() string { return description }

// Step performs one turn: it shows the model the current page and the
// team's thread, runs the tool call the model picks and returns the new page
// state (with the labelled screenshot for vision models). A text answer
// instead of a tool call is returned as it is.
func (s *Surfer) Step(ctx context.Context, t agent.Turn) (agent.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return agent.Message{}, errors.New("websurfer: step after Close")
	}
	s.usage = agent.Usage{}
	emit := t.EmitTo()
	vision := s.client.Info().Vision

	notes, err := s.ensure(ctx)
	if err != nil {
		return agent.Message{}, err
	}
	// Tabs the page opened by itself since the last step stay in the
	// background, reported.
	notes = append(notes, s.chrome.adopt(ctx, s.chrome.takePopups(), true)...)
	// The observation that ended the last step is shown again while the
	// page has not changed since: one look per turn, not two.
	obs := s.reused(ctx)
	if obs == nil {
		obs, err = s.look(ctx, vision, emit)
		if errors.Is(err, errBrowserLost) {
			if notes, err = s.recover(ctx); err == nil {
				obs, err = s.look(ctx, vision, emit)
			}
		}
		if err != nil {
			return agent.Message{}, err
		}
	}
	obs.notes = append(notes, obs.notes...)

	bud := budgetFor(s.client.Info().ContextWindow)
	history := fitHistory(model.ThreadMessages(t.Thread, s.Name(), false), bud.history)
	var convo []openai.ChatCompletionMessage
	var lastState string
	retries, steps := 0, 0
	for {
		req := model.Request{
			Messages:   s.messages(history, convo, obs, vision, bud),
			Tools:      toolDefs(s.offeredTools(obs)),
			ToolChoice: "auto",
		}
		resp, err := s.client.Complete(ctx, req)
		if err != nil {
			return agent.Message{}, fmt.Errorf("websurfer model call: %w", err)
		}
		s.usage = s.usage.Add(resp.Usage)
		if len(resp.ToolCalls) == 0 {
			content := strings.TrimSpace(resp.Content)
			if lastState != "" {
				content = lastState + "\n\n" + content
			}
			return s.reply(content, nil, vision), nil
		}

		call := resp.ToolCalls[0]
		// The WebSurfer acts once and looks at the page before the next
		// action, so only the first call runs; the rest are said to be
		// left out, to the user and to the model, never dropped silently.
		dropped := droppedCalls(resp.ToolCalls)
		if dropped != "" {
			ev := agent.NewEvent(agent.EventWarning, s.Name())
			ev.Content = dropped
			emit(ev)
		}
		ev := agent.NewEvent(agent.EventToolCall, s.Name())
		ev.Tool = &agent.ToolCall{Name: call.Function.Name, Arguments: call.Function.Arguments}
		emit(ev)
		start := time.Now()
		out, next, err := s.perform(ctx, call.Function.Name, call.Function.Arguments, vision, emit)
		var ae *argError
		switch {
		case errors.As(err, &ae):
			res := agent.NewEvent(agent.EventToolResult, s.Name())
			res.Tool = &agent.ToolCall{Name: call.Function.Name, Result: ae.msg, Error: true, DurationMS: time.Since(start).Milliseconds()}
			emit(res)
			if retries++; retries > maxArgRetries {
				return s.reply("I could not make a valid browser action: "+ae.msg+"\n\n"+obs.stateText(), obs.shot, vision), nil
			}
			convo = append(convo, assistantCall(call), toolResult(call, joinNote("Error: "+ae.msg, dropped)))
			continue
		case err != nil:
			return agent.Message{}, err
		}
		obs = next
		lastState = strings.TrimSpace(out.text) + "\n\n" + obs.stateText()
		res := agent.NewEvent(agent.EventToolResult, s.Name())
		res.Tool = &agent.ToolCall{Name: call.Function.Name, Result: lastState, DurationMS: time.Since(start).Milliseconds()}
		emit(res)

		steps++
		if out.final || steps >= s.opts.MaxSteps {
			return s.reply(joinNote(lastState, dropped), obs.shot, vision), nil
		}
		convo = append(convo, assistantCall(call), toolResult(call, joinNote(lastState, dropped)))
	}
}

// droppedCalls says which calls of a reply with several were left out, ""
// when it held one.
func droppedCalls(calls []openai.ToolCall) string {
	if len(calls) < 2 {
		return ""
	}
	names := make([]string, len(calls)-1)
	for i, c := range calls[1:] {
		names[i] = c.Function.Name
	}
	return fmt.Sprintf("the model asked for %d browser actions at once; only the first (%s) was run, %s left out: ask for one action at a time",
		len(calls), calls[0].Function.Name, strings.Join(names, ", "))
}

func joinNote(text, note string) string {
	if note == "" {
		return text
	}
	return text + "\n\nNote: " + note + "."
}

// perform runs one tool call and observes the page after it. A browser
// that died on the way is relaunched and the outcome says so. Tabs the page
// opened before the action began are reported apart from the action's own.
func (s *Surfer) perform(ctx context.Context, name, args string, vision bool, emit func(agent.Event)) (outcome, *observation, error) {
	var late []string
	if s.chrome.running() {
		late = s.chrome.adopt(ctx, s.chrome.takePopups(), true)
	}
	out, err := s.act(ctx, name, args)
	switch {
	case errors.Is(err, errBrowserLost):
		notes, rerr := s.recover(ctx)
		if rerr != nil {
			return outcome{}, nil, rerr
		}
		out = outcome{text: "The browser stopped during the action; it may not have completed.\n" + strings.Join(notes, "\n")}
	case err != nil:
		return outcome{}, nil, err
	}
	if s.chrome.running() {
		s.chrome.awaitDownload(ctx, s.chrome.activeTab())
	}
	more, err := s.chrome.finishDownloads(ctx, s.opts.Approver)
	if err != nil {
		return outcome{}, nil, err
	}
	popups := s.chrome.adoptPopups(ctx)
	obs, err := s.look(ctx, vision, emit)
	if errors.Is(err, errBrowserLost) {
		var rn []string
		if rn, err = s.recover(ctx); err == nil {
			more = append(more, rn...)
			obs, err = s.look(ctx, vision, emit)
		}
	}
	if err != nil {
		return outcome{}, nil, err
	}
	obs.notes = append(append(append(late, popups...), more...), obs.notes...)
	return out, obs, nil
}

// reply builds the step's message; only vision models get the picture.
func (s *Surfer) reply(content string, sh *shot, vision bool) agent.Message {
	m := agent.NewMessage(s.Name(), content)
	if vision && sh != nil {
		m.Images = []agent.Image{{Path: sh.path, MIME: "image/png", Data: sh.png}}
	}
	u := s.usage
	m.Usage = &u
	return m
}

// ensure starts the browser on first use (restoring saved tabs) and
// relaunches it when it died since the last step.
func (s *Surfer) ensure(ctx context.Context) ([]string, error) {
	c := s.chrome
	switch {
	case !c.launched():
		if err := c.launch(ctx); err != nil {
			return nil, err
		}
		if r := s.restore; r != nil {
			s.restore = nil
			return s.openSaved(ctx, r)
		}
		if s.opts.StartPage != "" && s.opts.StartPage != "about:blank" {
			if _, err := c.navigate(ctx, c.activeTab(), s.opts.StartPage); err != nil {
				return nil, err
			}
		}
		return nil, nil
	case !c.running():
		return s.recover(ctx)
	}
	return s.healTab(ctx)
}

// recover relaunches a browser that died and reopens the last page.
func (s *Surfer) recover(ctx context.Context) ([]string, error) {
	c := s.chrome
	last := c.lastURL
	c.shutdown()
	if err := c.launch(ctx); err != nil {
		return nil, err
	}
	note := "The browser had stopped (it crashed or was killed) and was restarted"
	if last != "" && last != "about:blank" {
		if _, err := c.navigate(ctx, c.activeTab(), last); err != nil {
			return nil, err
		}
		note += "; the last page, " + last + ", was reopened"
	}
	return []string{note + ". Other tabs and form inputs were lost."}, nil
}

// healTab replaces the active tab when its renderer crashed, and reopens
// its page in the new one (a crash, unlike a hang, may not come again).
func (s *Surfer) healTab(ctx context.Context) ([]string, error) {
	c := s.chrome
	tb := c.activeTab()
	if !tb.track.isCrashed() {
		return nil, nil
	}
	u := tb.track.currentURL()
	if u == "" {
		u = c.lastURL
	}
	if err := c.replaceTab(ctx, c.active); err != nil {
		return nil, err
	}
	s.last = nil
	if u != "" && u != "about:blank" {
		if _, err := c.navigate(ctx, c.activeTab(), u); err != nil {
			return nil, err
		}
	}
	return []string{fmt.Sprintf("The tab had crashed and was reloaded (%s).", u)}, nil
}

// look observes the active tab and, for vision models (or with
// TextScreenshots), takes the labelled screenshot. A page that stopped
// responding has its tab replaced first.
func (s *Surfer) look(ctx context.Context, vision bool, emit func(agent.Event)) (*observation, error) {
	c := s.chrome
	o, err := c.observe(ctx)
	if errors.Is(err, errPageHung) {
		note, rerr := s.replaceHung(ctx, "when it was read")
		if rerr != nil {
			return nil, rerr
		}
		if o, err = c.observe(ctx); err == nil {
			o.notes = append([]string{note}, o.notes...)
		}
	}
	if err != nil {
		return nil, err
	}
	tb := c.activeTab()
	o.navs, o.ntabs = tb.track.navigations(), len(c.tabs)
	s.last = o
	if !vision && !s.opts.TextScreenshots {
		return o, nil
	}
	sh, err := c.screenshot(ctx, o)
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, ctx.Err()
	case err != nil && !c.running():
		return nil, errBrowserLost
	case err != nil:
		ev := agent.NewEvent(agent.EventWarning, s.Name())
		ev.Content = err.Error()
		emit(ev)
	}
	o.shot = sh
	if sh != nil && sh.path != "" {
		ev := agent.NewEvent(agent.EventScreenshot, s.Name())
		ev.Content = o.URL
		ev.Images = []agent.Image{{Path: sh.path, MIME: "image/png"}}
		emit(ev)
	}
	return o, nil
}

// reused returns the last observation again when nothing changed since it
// was taken: the same tab and document, no new tab, note or download, and
// the same document version (marks.js counts every change to the document,
// its scroll and size). It costs one evaluation, against a full look.
func (s *Surfer) reused(ctx context.Context) *observation {
	o := s.last
	c := s.chrome
	if o == nil || !c.running() || o.tab != c.activeTab() || o.ntabs != len(c.tabs) || o.frames > 0 || o.pdfPages > 0 {
		return nil
	}
	tb := o.tab
	if tb.track.navigations() != o.navs || tb.track.hasNotes() || c.pending() {
		return nil
	}
	if busy, _ := tb.track.busy(time.Now()); busy {
		return nil
	}
	vctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	v, err := tb.mainWorld().eval(vctx, "window.__m1 ? window.__m1.version() : ''", false)
	if err != nil || v == "" || v != o.Version {
		return nil
	}
	cp := *o
	cp.notes = nil
	return &cp
}

// replaceHung replaces the active tab, whose page stopped responding (a
// script that never yields), with a blank one, and returns what the model
// should be told. The page is not reopened: it would hang again.
func (s *Surfer) replaceHung(ctx context.Context, when string) (string, error) {
	c := s.chrome
	u := c.activeTab().track.currentURL()
	if u == "" {
		u = c.lastURL
	}
	if err := c.replaceTab(ctx, c.active); err != nil {
		return "", err
	}
	s.last = nil
	return fmt.Sprintf("The page %s stopped responding %s (a script kept it busy); its tab was closed and replaced by a blank one. The page was not reopened, since it would hang again; avoid what made it hang.", u, when), nil
}

// messages builds the decision prompt: system, the team's thread, the
// actions of this step so far, and the current page.
func (s *Surfer) messages(history, convo []openai.ChatCompletionMessage, o *observation, vision bool, bud budget) []openai.ChatCompletionMessage {
	msgs := make([]openai.ChatCompletionMessage, 0, len(history)+len(convo)+2)
	msgs = append(msgs, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleSystem, Content: systemPrompt})
	msgs = append(msgs, history...)
	msgs = append(msgs, convo...)
	var images []agent.Image
	if vision && o.shot != nil {
		images = []agent.Image{{MIME: "image/png", Data: o.shot.png}}
	}
	return append(msgs, model.UserMessage(s.pagePrompt(o, vision, bud), images))
}

// pagePrompt describes the current page for the decision call, within the
// budget of the model's context: the viewport text, the targets in view
// (the most prominent first when they do not all fit) and the nearest
// off-screen ones.
func (s *Surfer) pagePrompt(o *observation, vision bool, bud budget) string {
	var b strings.Builder
	b.WriteString("Current state of the browser:\n")
	b.WriteString(o.stateTextN(bud.text))
	b.WriteString("\n\n")
	if vision && o.shot != nil {
		b.WriteString("The attached screenshot shows the viewport; each interactive element has a coloured box with its numeric id in the same colour.\n\n")
	}
	inView, off, dropped := o.cappedTargets(bud.inView, bud.offScreen)
	if len(inView) == 0 {
		b.WriteString("No interactive elements are in the viewport.\n")
	} else {
		b.WriteString("Interactive elements in the viewport (one JSON object per line):\n")
		b.WriteString(strings.Join(inView, "\n") + "\n")
		if dropped > 0 {
			fmt.Fprintf(&b, "(%d smaller elements in the viewport are not listed, to keep within the model's context; their text shows above.)\n", dropped)
		}
	}
	if len(off) > 0 {
		fmt.Fprintf(&b, "\nInteractive elements outside the viewport, nearest first (scroll to reach them; %d listed of %d):\n", len(off), max(len(off), o.Offscreen))
		b.WriteString(strings.Join(off, "\n") + "\n")
	}
	if o.Focused > 0 {
		fmt.Fprintf(&b, "\nThe keyboard focus is on element %d.\n", o.Focused)
	}
	names := make([]string, 0, len(s.tools))
	for _, t := range s.offeredTools(o) {
		names = append(names, t.name)
	}
	fmt.Fprintf(&b, "\nRespond to the most recent instruction to you with exactly one tool call (%s), or answer in plain text if no browser action is needed.", strings.Join(names, ", "))
	return b.String()
}

func toolDefs(ts []*tool) []openai.Tool {
	out := make([]openai.Tool, len(ts))
	for i, t := range ts {
		out[i] = t.def
	}
	return out
}

func assistantCall(call openai.ToolCall) openai.ChatCompletionMessage {
	return openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, ToolCalls: []openai.ToolCall{call}}
}

func toolResult(call openai.ToolCall, text string) openai.ChatCompletionMessage {
	return openai.ChatCompletionMessage{Role: openai.ChatMessageRoleTool, ToolCallID: call.ID, Name: call.Function.Name, Content: text}
}

// Reset closes extra tabs and goes back to the start page, as at the start
// of each outer loop of the orchestrator. A browser not yet started stays
// so.
func (s *Surfer) Reset(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chrome
	if s.closed || !c.launched() {
		return nil
	}
	if !c.running() {
		c.shutdown()
		return nil // relaunched lazily by the next step
	}
	for len(c.tabs) > 1 {
		c.closeTab(ctx, len(c.tabs)-1)
	}
	c.active = 0
	_, err := c.navigate(ctx, c.activeTab(), s.opts.StartPage)
	if errors.Is(err, errBrowserLost) {
		c.shutdown()
		return nil
	}
	c.lastURL = s.opts.StartPage
	return err
}

// Close stops the browser and removes its temporary profile; an attached
// browser (WithCDP) only loses the surfer's tabs. It is safe to call more
// than once and from another goroutine while a step runs.
func (s *Surfer) Close() error {
	s.baseCancel() // interrupts a running step and kills the browser
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.chrome.shutdown()
	return nil
}

// savedState is what SaveState keeps: the open tabs' URLs.
type savedState struct {
	URLs   []string `json:"urls"`
	Active int      `json:"active"`
}

// SaveState records the open pages so a resumed session reopens them.
func (s *Surfer) SaveState() (json.RawMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := savedState{}
	c := s.chrome
	switch {
	case c.running():
		for _, t := range c.tabInfos(context.Background()) {
			st.URLs = append(st.URLs, t.URL)
		}
		st.Active = c.active
	case s.restore != nil:
		st = *s.restore
	case c.lastURL != "":
		st.URLs = []string{c.lastURL}
	}
	return json.Marshal(st)
}

// LoadState reopens the pages of a saved state: at once when the browser
// runs, else when it starts.
func (s *Surfer) LoadState(ctx context.Context, raw json.RawMessage) error {
	var st savedState
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &st); err != nil {
			return fmt.Errorf("websurfer state: %w", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(st.URLs) == 0 {
		return nil
	}
	if !s.chrome.running() {
		s.restore = &st
		if len(st.URLs) > 0 {
			s.chrome.lastURL = st.URLs[min(max(st.Active, 0), len(st.URLs)-1)]
		}
		return nil
	}
	_, err := s.openSaved(ctx, &st)
	return err
}

// openSaved opens the saved URLs, one tab each.
func (s *Surfer) openSaved(ctx context.Context, st *savedState) ([]string, error) {
	c := s.chrome
	for i, u := range st.URLs {
		if i > 0 {
			if err := c.newTab(ctx); err != nil {
				return nil, err
			}
		}
		if u == "" || u == "about:blank" {
			continue
		}
		if _, err := c.navigate(ctx, c.activeTab(), u); err != nil {
			return nil, err
		}
	}
	c.active = min(max(st.Active, 0), len(c.tabs)-1)
	c.activate(ctx, c.activeTab())
	return []string{fmt.Sprintf("The browser reopened the %d page(s) of the saved session.", len(st.URLs))}, nil
}
