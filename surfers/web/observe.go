package web

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
)

// maxOffscreenTargets caps the off-screen targets listed in the prompt.
const maxOffscreenTargets = 30

// maxViewportText caps the viewport text of one observation; a viewport of
// a dense page can hold more than is useful per step.
const maxViewportText = 12000

// observeTimeout bounds one observation call; a page stuck in a script loop
// gets reported as not responding instead of stalling the run.
const observeTimeout = 5 * time.Second

// observation is the state of the browser after an action.
type observation struct {
	pageData
	tabs         []tabInfo
	active       int
	stillLoading bool
	notes        []string
	shot         *shot
}

// observe reads the active tab: metrics, labelled targets and the viewport
// text, in one call into the page.
func (c *chrome) observe(ctx context.Context) (*observation, error) {
	tb := c.activeTab()
	var data pageData
	var err error
	for attempt := 0; attempt < 4 && !tb.track.isCrashed(); attempt++ {
		octx, cancel := context.WithTimeout(ctx, observeTimeout)
		data, err = callMarks[pageData](octx, tb, "observe(true)")
		cancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if c.lost() {
			return nil, errBrowserLost
		}
		if tb.track.isCrashed() {
			break
		}
		// Most often a navigation replaced the document under the call:
		// let it finish, then look again.
		sctx, scancel := tb.with(ctx)
		settle(sctx, tb, c.opts.SettleTimeout, -1)
		scancel()
	}
	o := &observation{pageData: data, active: c.active}
	if err != nil || tb.track.isCrashed() {
		o.URL = tb.track.lastURL
		o.Targets = nil
		o.Text = fmt.Sprintf("(The page did not respond when read: %v.)", err)
		if tb.track.isCrashed() {
			o.Text = "(The tab has crashed; the next action reloads it.)"
		}
	}
	var notes []string
	if strings.HasPrefix(o.URL, "chrome-error:") {
		// Chrome's error page: name the address that failed and why.
		if u, why := tb.track.failure(); u != "" {
			o.URL, o.Title = u, u
			o.Targets, o.Text = nil, ""
			switch why {
			case "net::ERR_BLOCKED_BY_CLIENT":
				// The refusal's own note says why.
			case "":
				notes = append(notes, fmt.Sprintf("The page %s could not be loaded.", u))
			default:
				notes = append(notes, fmt.Sprintf("The page %s could not be loaded: %s.", u, why))
			}
		}
	} else if o.URL != "" {
		if perr := c.policy.check(o.URL); perr != nil {
			// The last gate: whatever way a refused page got into the
			// tab, its content never reaches the model.
			shown := o.URL
			o.pageData = pageData{pageMetrics: pageMetrics{URL: "about:blank", VW: data.VW, VH: data.VH}}
			notes = append(notes, fmt.Sprintf("The tab showed %s, which the browser may not open (%v); it was not read, and the tab was cleared.", shown, perr))
			if _, nerr := c.navigate(ctx, tb, "about:blank"); nerr != nil {
				return nil, nerr
			}
		}
	}
	if o.URL != "" {
		c.lastURL = o.URL
	}
	if len(c.tabs) > 1 {
		o.tabs = c.tabInfos(ctx)
	}
	o.notes = append(append(notes, tb.track.takeNotes()...), c.takeRefusals()...)
	return o, nil
}

// viewportPercent is how much of the page height the viewport shows.
func (o *observation) viewportPercent() int {
	if o.PageHeight <= 0 {
		return 100
	}
	return int(math.Min(100, math.Round(o.VH/o.PageHeight*100)))
}

func (o *observation) canScrollUp() bool { return o.ScrollY > 0.5 }

func (o *observation) canScrollDown() bool { return o.ScrollY+o.VH < o.PageHeight-1 }

func (o *observation) position() string {
	switch {
	case !o.canScrollUp():
		return "at the top of the page"
	case !o.canScrollDown():
		return "at the bottom of the page"
	default:
		return fmt.Sprintf("%d%% down from the top of the page", int(math.Round(o.ScrollY/o.PageHeight*100)))
	}
}

// stateText is the page state as the team sees it after an action.
func (o *observation) stateText() string {
	var b strings.Builder
	title := o.Title
	if title == "" {
		title = o.URL
	}
	fmt.Fprintf(&b, "The web browser is open to the page [%s](%s).\n", mdEscape(title), o.URL)
	fmt.Fprintf(&b, "The viewport shows %d%% of the webpage, and is positioned %s.\n", o.viewportPercent(), o.position())
	if o.stillLoading {
		b.WriteString("The page was still loading when it was read; `sleep` gives it more time.\n")
	}
	for _, n := range o.notes {
		b.WriteString(n + "\n")
	}
	if len(o.tabs) > 1 {
		b.WriteString("Open tabs:\n")
		for i, t := range o.tabs {
			cur := ""
			if i == o.active {
				cur = " (current)"
			}
			title := t.Title
			if title == "" {
				title = t.URL
			}
			fmt.Fprintf(&b, "- tab %d: [%s](%s)%s\n", i, mdEscape(title), t.URL, cur)
		}
	}
	text := strings.TrimSpace(o.Text)
	if len(text) > maxViewportText {
		text = text[:maxViewportText] + "\n…(viewport text cut; scroll or use summarize_page/answer_question for the rest)"
	}
	if text == "" {
		b.WriteString("The viewport shows no text.")
	} else {
		b.WriteString("The following text is visible in the viewport:\n\n" + text)
	}
	return b.String()
}

func mdEscape(s string) string {
	return strings.NewReplacer("[", "(", "]", ")", "\n", " ").Replace(s)
}

// targetLine renders a target the way Magentic-One lists them: one JSON
// object per line.
func targetLine(t markTarget) string {
	q := func(s string) string {
		b, _ := json.Marshal(s)
		return string(b)
	}
	tools := make([]string, len(t.Tools))
	for i, x := range t.Tools {
		tools[i] = q(x)
	}
	line := fmt.Sprintf(`{"id": %d, "name": %s, "role": %s, "tools": [%s]`, t.ID, q(t.Name), q(t.Role), strings.Join(tools, ", "))
	if t.Value != "" {
		line += fmt.Sprintf(`, "value": %s`, q(t.Value))
	}
	return line + "}"
}

// targetLists returns the lines of the targets in the viewport and of up to
// maxOffscreenTargets others.
func (o *observation) targetLists() (inView, offScreen []string) {
	for _, t := range o.Targets {
		if t.InView {
			inView = append(inView, targetLine(t))
		} else if len(offScreen) < maxOffscreenTargets {
			offScreen = append(offScreen, targetLine(t))
		}
	}
	return inView, offScreen
}

// target finds a labelled target by id.
func (o *observation) target(id int) (markTarget, bool) {
	for _, t := range o.Targets {
		if t.ID == id {
			return t, true
		}
	}
	return markTarget{}, false
}
