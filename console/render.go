package console

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/lipgloss"
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

// answerWidth is where the final answer's box wraps its text.
const answerWidth = 80

// Renderer prints events as styled blocks headed by the agent's name.
type Renderer struct {
	mu      sync.Mutex
	w       io.Writer
	r       *lipgloss.Renderer
	spin    bool
	styles  styles
	maxStll int

	streaming string          // id of the message whose deltas are being printed
	streamSan StreamSanitizer // what is kept back of those deltas
	spinner   *spinner
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

// NewRenderer returns a renderer writing to s.Out, with colour and a
// spinner only when s.Out is a terminal and NO_COLOR is unset. maxStalls is
// shown beside the stall count.
func NewRenderer(s *Streams, maxStalls int) *Renderer {
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
	return &Renderer{w: s.Out, r: r, spin: s.Color(), styles: st, maxStll: maxStalls}
}

// Handle prints e.
func (c *Renderer) Handle(e agent.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopSpinner()
	if c.streaming != "" && e.ID != c.streaming {
		// A stream ended without its message (an error): close the line.
		fmt.Fprintln(c.w, c.streamSan.Flush())
		c.streaming = ""
	}
	if e.Type == agent.EventDelta {
		if c.streaming != e.ID {
			c.header(Clean(e.Source))
			c.streaming = e.ID
			c.streamSan = StreamSanitizer{}
		}
		fmt.Fprint(c.w, c.streamSan.Write(e.Content))
		return
	}
	// Everything below prints only the sanitized copy.
	e = cleanEvent(e)
	switch e.Type {
	case agent.EventTask:
		c.block("Task", e.Source, e.Content)
	case agent.EventFacts:
		c.block("Facts", e.Source, e.Content)
	case agent.EventPlan:
		c.block("Plan", e.Source, e.Content)
	case agent.EventMessage:
		if c.streaming == e.ID && e.ID != "" {
			fmt.Fprintln(c.w, c.streamSan.Flush())
			fmt.Fprintln(c.w)
			c.streaming = ""
		} else {
			c.header(e.Source)
			fmt.Fprintln(c.w, strings.TrimRight(e.Content, "\n"))
			for _, img := range e.Images {
				if img.Path != "" {
					fmt.Fprintln(c.w, c.styles.dim.Render("[image: "+img.Path+"]"))
				}
			}
			fmt.Fprintln(c.w)
		}
	case agent.EventLedger:
		c.ledger(e)
	case agent.EventToolCall:
		if e.Tool != nil {
			c.note(e.Source, fmt.Sprintf("%s(%s)", e.Tool.Name, oneLine(e.Tool.Arguments, 120)))
		}
	case agent.EventToolResult:
		if e.Tool != nil && e.Tool.Error {
			c.note(e.Source, c.styles.warn.Render(e.Tool.Name+" failed: "+oneLine(e.Tool.Result, 160)))
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
		fmt.Fprintln(c.w, c.styles.warn.Render("↻ "+e.Content))
		fmt.Fprintln(c.w)
	case agent.EventWarning:
		fmt.Fprintln(c.w, c.styles.warn.Render("! "+e.Content))
	case agent.EventError:
		fmt.Fprintln(c.w, c.styles.err.Render("✗ "+e.Source+": "+e.Content))
	case agent.EventUserInput:
		c.header(e.Source)
		// Line by line: a block would be padded to its widest line.
		for _, line := range strings.Split(strings.TrimRight(e.Content, "\n"), "\n") {
			fmt.Fprintln(c.w, c.styles.bold.Render(line))
		}
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
		return
	}
	c.startSpinner(e)
}

func (c *Renderer) header(source string) {
	fmt.Fprintln(c.w, c.styles.agent(source).Render("── "+source+" ")+c.styles.dim.Render(strings.Repeat("─", max(0, 40-len(source)))))
}

func (c *Renderer) block(title, source, body string) {
	fmt.Fprintln(c.w, c.styles.agent(source).Render("── "+title+" ")+c.styles.dim.Render(strings.Repeat("─", max(0, 40-len(title)))))
	fmt.Fprintln(c.w, strings.TrimRight(body, "\n"))
	fmt.Fprintln(c.w)
}

func (c *Renderer) note(source, text string) {
	fmt.Fprintln(c.w, c.styles.dim.Render("  ↳ "+source+": ")+text)
}

func (c *Renderer) ledger(e agent.Event) {
	l := e.Ledger
	if l == nil {
		return
	}
	if l.IsRequestSatisfied.Answer {
		fmt.Fprintln(c.w, c.styles.ok.Render(fmt.Sprintf("✓ turn %d · request satisfied", e.Turn))+c.styles.dim.Render(" · "+oneLine(l.IsRequestSatisfied.Reason, 100)))
		fmt.Fprintln(c.w)
		return
	}
	line := fmt.Sprintf("▸ turn %d · next %s · stalls %d/%d", e.Turn, c.styles.agent(l.NextSpeaker.Answer).Render(l.NextSpeaker.Answer), e.Stalls, c.maxStll)
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

func (c *Renderer) result(e agent.Event) {
	status := e.Status
	style := c.styles.ok
	switch e.Status {
	case agent.StatusIncomplete:
		style = c.styles.warn
	case agent.StatusError, agent.StatusCancelled:
		style = c.styles.err
	}
	if e.FinalAnswer != "" {
		body := c.styles.bold.Render("Final answer") + "\n\n" + strings.TrimRight(e.FinalAnswer, "\n")
		box := c.styles.box
		if lipgloss.Width(body) > answerWidth {
			box = box.Width(answerWidth)
		}
		fmt.Fprintln(c.w, box.Render(body))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %s", c.styles.bold.Render("status"), style.Render(status))
	if e.StopReason != "" && e.Status != agent.StatusSuccess {
		fmt.Fprintf(&b, " (%s)", e.StopReason)
	}
	fmt.Fprintf(&b, "\n%s  %d turns, %d replans, %s", c.styles.bold.Render("run   "), e.Turns, e.Replans, (time.Duration(e.DurationMS) * time.Millisecond).Round(time.Millisecond))
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
	fmt.Fprintln(c.w, b.String())
}

// thinker guesses who works after e, for the spinner's label.
func thinker(e agent.Event) string {
	switch e.Type {
	case agent.EventLedger:
		if e.Ledger != nil && !e.Ledger.IsRequestSatisfied.Answer {
			return e.Ledger.NextSpeaker.Answer
		}
	case agent.EventMessage:
		if e.Source == agent.OrchestratorName {
			return ""
		}
	case agent.EventToolCall:
		return e.Source
	case agent.EventUserInput, agent.EventApproval:
		return ""
	}
	return agent.OrchestratorName
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

func ifThen(cond bool, s string) string {
	if cond {
		return s
	}
	return ""
}
