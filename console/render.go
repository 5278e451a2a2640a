package console

import (
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"github.com/m1-project/m1/agent"
)

// agentColors gives every agent its own colour (ANSI 256 codes).
var agentColors = map[string]string{
	agent.OrchestratorName:     "212",
	agent.CoderName:            "39",
	agent.ComputerTerminalName: "208",
	agent.WebSurferName:        "78",
	agent.FileSurferName:       "178",
	agent.UserName:             "147",
}

// markdownSources are the agents whose messages are model-written
// markdown. The others' are not: program output, page text and a
// person's answers could be misread as markdown (a "#" line as a
// heading), so they are only wrapped.
var markdownSources = map[string]bool{
	agent.OrchestratorName: true,
	agent.CoderName:        true,
	agent.FileSurferName:   true,
}

const (
	// pipeWidth is the final answer box's width where no terminal gives
	// one (a pipe).
	pipeWidth = 80
	// ruleWidth is how far a block's heading rule runs at most.
	ruleWidth = 44
	// minWidth is the narrowest layout drawn; a narrower terminal wraps it.
	minWidth = 20
)

// Renderer prints events as styled blocks headed by the agent's name. On
// a terminal it renders markdown, wraps text to the terminal's width (read
// again at each event, so a resize is followed) and shows a spinner saying
// who works; in a pipe it prints plain text as it was written. It prints
// nothing that has not gone through Sanitize.
type Renderer struct {
	mu      sync.Mutex
	s       *Streams
	w       io.Writer
	tty     bool
	spin    bool
	styles  styles
	md      markdown
	maxStll int

	flow     flow
	act      string    // what the spinner says
	actSince time.Time // since when

	// held is an Orchestrator message that may be the final answer: it is
	// shown only if the result that follows does not show it in its box.
	held *agent.Event
	// lastOrch is the last Orchestrator message shown (a question to the
	// person is not shown twice).
	lastOrch string
	// errorsShown are the errors printed, so the result does not print the
	// same cause again.
	errorsShown []string
	// afterPrompt is set after a question to the person: a blank line
	// separates their answer from what follows.
	afterPrompt bool

	stream  stream
	spinner *spinner
}

// stream is a message being printed delta by delta.
type stream struct {
	id      string
	source  string
	san     StreamSanitizer
	printed strings.Builder // what reached the terminal, to count its rows
	foreign int             // the status line's count of other writes at the start
}

type styles struct {
	dim, bold, warn, err, ok, box lipgloss.Style
	r                             *lipgloss.Renderer
}

func (s styles) agent(name string) lipgloss.Style {
	c, ok := agentColors[name]
	if !ok {
		c = "252"
	}
	return s.r.NewStyle().Bold(true).Foreground(lipgloss.Color(c))
}

// Option changes how a Renderer shows a run.
type Option func(*Renderer)

// WithoutSpinner shows no spinner, for history (m1 show), where nobody
// is working.
func WithoutSpinner() Option { return func(c *Renderer) { c.spin = false } }

// NewRenderer returns a renderer writing to s.Out. Colour needs a terminal
// and NO_COLOR unset; the spinner, markdown and wrapping need a terminal
// only. maxStalls is shown beside the stall count.
func NewRenderer(s *Streams, maxStalls int, opts ...Option) *Renderer {
	r := lipgloss.NewRenderer(s.Out)
	if s.Color() {
		r.SetColorProfile(termenv.ANSI256)
	} else {
		r.SetColorProfile(termenv.Ascii)
	}
	st := styles{
		r:    r,
		dim:  r.NewStyle().Faint(true),
		bold: r.NewStyle().Bold(true),
		warn: r.NewStyle().Foreground(lipgloss.Color("214")),
		err:  r.NewStyle().Bold(true).Foreground(lipgloss.Color("196")),
		ok:   r.NewStyle().Bold(true).Foreground(lipgloss.Color("42")),
		box:  r.NewStyle().Border(lipgloss.RoundedBorder()).Padding(0, 1),
	}
	c := &Renderer{s: s, w: s.Out, tty: s.OutTTY, spin: s.OutTTY, styles: st, md: markdown{color: s.Color()}, maxStll: maxStalls}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Handle prints e.
func (c *Renderer) Handle(e agent.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopSpinner()
	if e.Type == agent.EventDelta {
		c.delta(e)
		return
	}
	// Everything below prints only the sanitized copy.
	e = cleanEvent(e)
	if c.stream.id != "" && (e.Type != agent.EventMessage || e.ID != c.stream.id) {
		c.endStream(nil) // a stream ended without its message (an error)
	}
	if c.held != nil {
		held := *c.held
		c.held = nil
		if e.Type != agent.EventResult || e.FinalAnswer != held.Content {
			c.message(held)
		}
	}
	if e.Type == agent.EventMessage && e.Source == agent.OrchestratorName && !c.flow.instructing && c.stream.id != e.ID {
		// Not an instruction: the task ledger, or the final answer, which
		// the result's box shows. Known at the next event.
		c.held = &e
	} else {
		c.show(e)
	}
	label, keep := c.flow.activity(e)
	if !keep && label != c.act {
		c.act, c.actSince = label, time.Now()
	}
	if e.Type == agent.EventResult {
		c.act = ""
	}
	c.startSpinner(c.act, c.actSince)
}

// width is the terminal's width now, 0 in a pipe.
func (c *Renderer) width() int {
	w := c.s.Width()
	if w > 0 {
		w = max(w, minWidth)
	}
	return w
}

func (c *Renderer) show(e agent.Event) {
	if c.afterPrompt {
		fmt.Fprintln(c.w)
		c.afterPrompt = false
	}
	switch e.Type {
	case agent.EventTask:
		c.block("Task", e.Source, wrap(e.Content, c.width()))
	case agent.EventFacts:
		c.block("Facts", e.Source, c.body(e.Source, e.Content))
	case agent.EventPlan:
		c.block("Plan", e.Source, c.body(e.Source, e.Content))
	case agent.EventMessage:
		if c.stream.id == e.ID && e.ID != "" {
			c.endStream(&e)
		} else {
			c.message(e)
		}
	case agent.EventLedger:
		c.ledger(e)
	case agent.EventToolCall:
		if e.Tool != nil {
			c.note(e.Source, fmt.Sprintf("%s(%s)", e.Tool.Name, oneLine(e.Tool.Arguments, c.noteRoom(e.Source, len(e.Tool.Name)+2))))
		}
	case agent.EventToolResult:
		if e.Tool != nil && e.Tool.Error {
			c.note(e.Source, c.styles.warn.Render(e.Tool.Name+" failed: "+oneLine(e.Tool.Result, c.noteRoom(e.Source, len(e.Tool.Name)+8))))
		}
	case agent.EventProgress:
		if e.Tool != nil {
			c.note(e.Source, c.styles.dim.Render(e.Tool.Name+" … "+oneLine(e.Content, 120)))
		}
	case agent.EventCodeExecution:
		if e.Code != nil {
			c.note(e.Source, fmt.Sprintf("ran %s on %s: exit %d%s", e.Code.Language, e.Code.Executor, e.Code.ExitCode, ifThen(e.Code.TimedOut, " (timed out)")))
		}
	case agent.EventScreenshot:
		for _, img := range e.Images {
			c.note(e.Source, "screenshot "+img.Path)
		}
	case agent.EventReplan:
		c.line(c.styles.warn, "↻ "+e.Content)
		fmt.Fprintln(c.w)
	case agent.EventWarning:
		c.line(c.styles.warn, "! "+c.shortRetry(e.Content))
	case agent.EventError:
		c.line(c.styles.err, "✗ "+e.Source+": "+e.Content)
		c.errorsShown = append(c.errorsShown, e.Content)
	case agent.EventUserInput:
		c.question(e)
	case agent.EventApproval:
		if a := e.Approval; a != nil {
			verdict := c.styles.ok.Render("approved")
			if !a.Approved {
				verdict = c.styles.err.Render("refused")
			}
			c.note(e.Source, fmt.Sprintf("%s: %s%s", a.Action, verdict, ifThen(a.Reason != "", " ("+a.Reason+")")))
		}
	case agent.EventResult:
		c.result(e)
	}
}

// body renders a message's text: markdown on a terminal for model-written
// text, wrapped plain text for the rest, and as written in a pipe.
func (c *Renderer) body(source, text string) string {
	text = strings.TrimRight(text, "\n")
	w := c.width()
	if c.tty && markdownSources[source] && w > 0 {
		return c.md.render(text, w)
	}
	return wrap(text, w)
}

func (c *Renderer) message(e agent.Event) {
	c.header(e.Source)
	fmt.Fprintln(c.w, c.body(e.Source, e.Content))
	for _, img := range e.Images {
		if img.Path != "" {
			fmt.Fprintln(c.w, c.styles.dim.Render(wrap("[image: "+img.Path+"]", c.width())))
		}
	}
	fmt.Fprintln(c.w)
	if e.Source == agent.OrchestratorName {
		c.lastOrch = e.Content
	}
}

// flushHeld prints a held message; the run ended without a result.
func (c *Renderer) flushHeld() {
	if c.held != nil {
		c.message(*c.held)
		c.held = nil
	}
}

// question shows a question to the person. The Orchestrator's question was
// just shown as its message, so it is not repeated.
func (c *Renderer) question(e agent.Event) {
	c.header(e.Source)
	if e.Source == agent.UserName && strings.TrimSpace(e.Content) == strings.TrimSpace(c.lastOrch) && c.lastOrch != "" {
		fmt.Fprintln(c.w, c.styles.bold.Render("Answer the question above (Enter to skip):"))
	} else {
		// Line by line and not wrapped: an approval shows code exactly,
		// and a block would be padded to its widest line.
		for _, line := range strings.Split(strings.TrimRight(e.Content, "\n"), "\n") {
			fmt.Fprintln(c.w, c.styles.bold.Render(line))
		}
	}
	c.afterPrompt = true
}

// delta prints a piece of a streamed message as it comes.
func (c *Renderer) delta(e agent.Event) {
	if c.stream.id != e.ID {
		if c.stream.id != "" {
			c.endStream(nil)
		}
		if c.afterPrompt {
			fmt.Fprintln(c.w)
			c.afterPrompt = false
		}
		source := Clean(e.Source)
		c.header(source)
		c.stream = stream{id: e.ID, source: source, foreign: c.s.statusLine().foreignWrites()}
	}
	text := c.stream.san.Write(e.Content)
	if c.tty {
		// Tabs would make the rows counted below uncertain.
		text = strings.ReplaceAll(text, "\t", "    ")
	}
	c.stream.printed.WriteString(text)
	fmt.Fprint(c.w, text)
}

// endStream ends the streamed message; msg is the complete message, or nil
// when the stream broke off. On a terminal, a markdown message that still
// fits on the screen is drawn again, rendered: the cursor goes back up over
// the raw rows it streamed and the rendering replaces them.
func (c *Renderer) endStream(msg *agent.Event) {
	rest := c.stream.san.Flush()
	fmt.Fprint(c.w, rest)
	c.stream.printed.WriteString(rest)
	w, h := c.width(), c.s.Height()
	if h <= 0 {
		h = 24
	}
	if msg != nil && c.tty && w > 0 && markdownSources[c.stream.source] && rowsOf(c.stream.printed.String(), w) < h &&
		c.s.statusLine().foreignWrites() == c.stream.foreign {
		fmt.Fprint(c.w, "\r")
		if rows := rowsOf(c.stream.printed.String(), w); rows > 1 {
			fmt.Fprintf(c.w, "\x1b[%dA", rows-1)
		}
		fmt.Fprint(c.w, "\x1b[J")
		fmt.Fprintln(c.w, c.body(msg.Source, msg.Content))
	} else {
		fmt.Fprintln(c.w)
	}
	fmt.Fprintln(c.w)
	c.stream = stream{}
}

// rowsOf counts the terminal rows text takes at width columns.
func rowsOf(text string, width int) int {
	rows := 0
	for _, line := range strings.Split(text, "\n") {
		n := ansi.StringWidth(line)
		rows += max(1, (n+width-1)/width)
	}
	return rows
}

func (c *Renderer) rule(title string) string {
	n := ruleWidth - 4 - ansi.StringWidth(title)
	if w := c.width(); w > 0 {
		n = min(n, w-4-ansi.StringWidth(title))
	}
	return c.styles.dim.Render(strings.Repeat("─", max(0, n)))
}

func (c *Renderer) header(source string) {
	fmt.Fprintln(c.w, c.styles.agent(source).Render("── "+source+" ")+c.rule(source))
}

func (c *Renderer) block(title, source, body string) {
	fmt.Fprintln(c.w, c.styles.agent(source).Render("── "+title+" ")+c.rule(title))
	fmt.Fprintln(c.w, strings.TrimRight(body, "\n"))
	fmt.Fprintln(c.w)
}

// line prints text in style, wrapped to the terminal.
func (c *Renderer) line(style lipgloss.Style, text string) {
	for _, l := range strings.Split(wrap(text, c.width()), "\n") {
		fmt.Fprintln(c.w, style.Render(l))
	}
}

func (c *Renderer) note(source, text string) {
	fmt.Fprintln(c.w, wrap(c.styles.dim.Render("  ↳ "+source+": ")+text, c.width()))
}

// noteRoom is how many characters of a value fit on a note's line.
func (c *Renderer) noteRoom(source string, used int) int {
	w := c.width()
	if w == 0 {
		return 120
	}
	return max(20, w-6-len(source)-used)
}

func (c *Renderer) ledger(e agent.Event) {
	l := e.Ledger
	if l == nil {
		return
	}
	if l.IsRequestSatisfied.Answer {
		head := fmt.Sprintf("✓ turn %d · request satisfied", e.Turn)
		room := 100
		if w := c.width(); w > 0 {
			room = max(10, w-ansi.StringWidth(head)-4)
		}
		fmt.Fprintln(c.w, c.styles.ok.Render(head)+c.styles.dim.Render(" · "+oneLine(l.IsRequestSatisfied.Reason, room)))
		fmt.Fprintln(c.w)
		return
	}
	next := canonical(l.NextSpeaker.Answer)
	line := fmt.Sprintf("▸ turn %d · next %s · stalls %d/%d", e.Turn, c.styles.agent(next).Render(next), e.Stalls, c.maxStll)
	var flags []string
	if !l.IsProgressBeingMade.Answer {
		flags = append(flags, "no progress")
	}
	if l.IsInLoop.Answer {
		flags = append(flags, "in a loop")
	}
	if len(flags) > 0 {
		line += " · " + c.styles.warn.Render(strings.Join(flags, ", "))
	}
	fmt.Fprintln(c.w, c.styles.dim.Render(line))
}

// answerBox draws the final answer in a box as wide as the terminal (or as
// its text, if narrower), its text rendered and wrapped inside.
func (c *Renderer) answerBox(answer string) {
	w := c.width()
	if w == 0 {
		w = pipeWidth
	}
	inner := w - 4 // two borders, two spaces of padding
	body := wrap(strings.TrimRight(answer, "\n"), inner)
	if c.tty {
		body = c.md.render(answer, inner)
	}
	text := c.styles.bold.Render("Final answer") + "\n\n" + body
	box := c.styles.box
	if lipgloss.Width(text) > inner {
		box = box.Width(w - 2)
	}
	fmt.Fprintln(c.w, box.Render(text))
}

func (c *Renderer) result(e agent.Event) {
	style := c.styles.ok
	switch e.Status {
	case agent.StatusIncomplete:
		style = c.styles.warn
	case agent.StatusError, agent.StatusCancelled:
		style = c.styles.err
	}
	if e.FinalAnswer != "" {
		c.answerBox(e.FinalAnswer)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %s", c.styles.bold.Render("status"), style.Render(e.Status))
	if e.StopReason != "" && e.Status != agent.StatusSuccess {
		if c.shown(e.StopReason) {
			b.WriteString(" (the error above)")
		} else {
			fmt.Fprintf(&b, " (%s)", e.StopReason)
		}
	}
	fmt.Fprintf(&b, "\n%s  %s, %s, %s", c.styles.bold.Render("run   "), plural(e.Turns, "turn"), plural(e.Replans, "replan"), (time.Duration(e.DurationMS) * time.Millisecond).Round(time.Millisecond))
	names := make([]string, 0, len(e.Usage))
	var total agent.Usage
	for n, u := range e.Usage {
		names = append(names, n)
		total = total.Add(u)
	}
	sort.Strings(names)
	fmt.Fprintf(&b, "\n%s  %d prompt + %d completion", c.styles.bold.Render("tokens"), total.PromptTokens, total.CompletionTokens)
	if e.CostUSD > 0 {
		fmt.Fprintf(&b, " ($%.4f)", e.CostUSD)
	}
	for _, n := range names {
		u := e.Usage[n]
		fmt.Fprintf(&b, "\n        %-17s %7d + %d", n, u.PromptTokens, u.CompletionTokens)
	}
	if e.SessionID != "" {
		fmt.Fprintf(&b, "\n%s  %s", c.styles.bold.Render("session"), e.SessionID)
	}
	fmt.Fprintln(c.w, wrap(b.String(), c.width()))
}

// shown reports whether an error printed already holds reason (or is held
// by it): the cause is then not printed again.
func (c *Renderer) shown(reason string) bool {
	for _, s := range c.errorsShown {
		if len(s) >= 20 && (strings.Contains(reason, s) || strings.Contains(s, reason)) {
			return true
		}
	}
	return false
}

// oneLine joins s's lines and cuts it to n characters (runes, so a cut
// never splits one).
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func ifThen(cond bool, s string) string {
	if cond {
		return s
	}
	return ""
}

// retryWarning is the warning the runner emits for each failed model call
// that is tried again; modelPrefix starts the text of a model.Error.
var (
	retryWarning = regexp.MustCompile(`^model call failed \((.*)\); (retry \d+ in \S+)$`)
	modelPrefix  = regexp.MustCompile(`^model \S+ at \S+: `)
)

// shortRetry shortens a retry warning to its kind of failure ("server
// unavailable (HTTP 503)"): the same long cause would otherwise fill the
// screen once per attempt. The error that ends the attempts, if they all
// fail, gives it in full; the transcript keeps every warning whole.
func (c *Renderer) shortRetry(text string) string {
	m := retryWarning.FindStringSubmatch(text)
	if m == nil {
		return text
	}
	cause := modelPrefix.ReplaceAllString(m[1], "")
	if i := strings.IndexAny(cause, ":;"); i > 0 {
		cause = cause[:i]
	}
	return "model call failed (" + oneLine(cause, 60) + "); " + m[2]
}
