package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chromedp/chromedp"
)

// framePlaceholder is where marks.js put a frame the surfer did not read.
var framePlaceholder = regexp.MustCompile("\n?\x00F[^\x00]*\x00\n?")

// maxOffscreenTargets caps the off-screen targets listed in the prompt.
const maxOffscreenTargets = 30

// maxViewportText caps the viewport text of one observation when the
// model's context leaves room for more; smaller windows get less (see
// budget).
const maxViewportText = 12000

// observeTimeout bounds one observation call; a page stuck in a script loop
// gets reported as not responding instead of stalling the run.
const observeTimeout = 5 * time.Second

// errPageHung means the tab's page does not answer at all (a script loop):
// the tab must be replaced.
var errPageHung = errors.New("the page stopped responding")

// observation is the state of the browser after an action.
type observation struct {
	pageData
	tabs         []tabInfo
	active       int
	stillLoading bool
	notes        []string
	shot         *shot
	// tab and frames identify what the observation saw, so it can be
	// reused while nothing changed.
	tab    *tab
	frames int
	navs   int // the tab's navigation count then
	ntabs  int // how many tabs were open
	// pdf is the page of a PDF the text shows, when the tab shows one.
	pdfPage, pdfPages int
}

// observe reads the active tab: metrics, labelled targets and the viewport
// text of the page and its frames. A page that does not answer at all is
// errPageHung.
func (c *chrome) observe(ctx context.Context) (*observation, error) {
	tb := c.activeTab()
	var data pageData
	var err error
	for attempt := 0; attempt < 3 && !tb.track.isCrashed(); attempt++ {
		octx, cancel := context.WithTimeout(ctx, observeTimeout)
		data, err = c.readPage(octx, tb)
		timedOut := errors.Is(octx.Err(), context.DeadlineExceeded)
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
		if timedOut && !c.answers(ctx, tb, hangProbe) {
			return nil, errPageHung
		}
		// Most often a navigation replaced the document under the call:
		// let it finish, then look again.
		sctx, scancel := tb.with(ctx)
		settle(sctx, tb, c.opts.SettleTimeout, -1)
		scancel()
	}
	o := &observation{pageData: data, active: c.active, tab: tb}
	tb.mu.Lock()
	o.frames = len(tb.frames)
	tb.mu.Unlock()
	if err != nil || tb.track.isCrashed() {
		o.URL = tb.track.lastURL
		o.Targets = nil
		o.Text = fmt.Sprintf("(The page did not respond when read: %v.)", err)
		if tb.track.isCrashed() {
			o.Text = "(The tab has crashed; the next action reloads it.)"
		}
	}
	var notes []string
	switch {
	case strings.HasPrefix(o.URL, "chrome-error:"):
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
	case o.URL != "":
		if perr := c.policy.check(o.URL); perr != nil {
			// The last gate: whatever way a refused page got into the
			// tab, its content never reaches the model.
			shown := o.URL
			o.pageData = pageData{pageMetrics: pageMetrics{URL: "about:blank", VW: data.VW, VH: data.VH}}
			notes = append(notes, fmt.Sprintf("The tab showed %s, which the browser may not open (%v); it was not read, and the tab was cleared.", shown, perr))
			if _, nerr := c.navigate(ctx, tb, "about:blank"); nerr != nil {
				return nil, nerr
			}
		} else if o.Type == "application/pdf" {
			notes = append(notes, c.showPDF(ctx, tb, o)...)
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

// readPage reads the page of tb and the frames that show in its viewport,
// as one page: the frames' targets numbered with the page's, their text at
// their place in the page's text.
func (c *chrome) readPage(ctx context.Context, tb *tab) (pageData, error) {
	frames := c.readFrames(ctx, tb)
	data, err := callIn[pageData](ctx, tb.mainWorld(), "observe(true)")
	if err != nil {
		return data, err
	}
	ids := tb.idsFor(docOf(data.Version))
	for i := range data.Targets {
		data.Targets[i].ID = ids.global(idKey{doc: docOf(data.Version), local: data.Targets[i].ID})
	}
	if data.Focused > 0 {
		data.Focused = ids.global(idKey{doc: docOf(data.Version), local: data.Focused})
	}
	for _, f := range frames {
		c.mergeFrame(ctx, &data, ids, f)
	}
	data.Text = framePlaceholder.ReplaceAllString(data.Text, "")
	return data, nil
}

// mergeFrame adds frame f's targets and text to the page's data. Targets
// the frame shows in the viewport count as in view only where a click
// reaches the frame (it is not covered in its parent).
func (c *chrome) mergeFrame(ctx context.Context, data *pageData, ids *idMap, f *frameRef) {
	fctx, cancel := context.WithTimeout(ctx, frameTimeout)
	defer cancel()
	fd, err := callIn[pageData](fctx, f.w, "observe(true)")
	if err != nil || c.policy.check(fd.URL) != nil {
		// A frame the browser may not show is never read, however it got
		// there (its loads are refused; this is the last gate).
		return
	}
	f.url, f.title = fd.URL, fd.Title
	var ux, uy float64
	if f.up != nil {
		ux, uy = f.up.offX, f.up.offY
	}
	var pts [][2]float64
	var cand []int
	for i := range fd.Targets {
		t := &fd.Targets[i]
		var rects [][4]float64
		if t.InView {
			for _, r := range t.Rects {
				x0, y0 := max(r[0]+f.offX, f.clip[0]), max(r[1]+f.offY, f.clip[1])
				x1, y1 := min(r[0]+r[2]+f.offX, f.clip[2]), min(r[1]+r[3]+f.offY, f.clip[3])
				if x1-x0 >= 1 && y1-y0 >= 1 {
					rects = append(rects, [4]float64{x0, y0, x1 - x0, y1 - y0})
				}
			}
		}
		t.Rects, t.InView = rects, len(rects) > 0
		if t.InView {
			r := rects[0]
			pts = append(pts, [2]float64{r[0] + r[2]/2 - ux, r[1] + r[3]/2 - uy})
			cand = append(cand, i)
		}
	}
	if len(pts) > 0 {
		hits := make([]bool, len(pts))
		if s, err := callOn(fctx, f.parent.sess, f.owner, `function(p) { return window.__m1.hitsFrame(this, p); }`, pts); err == nil {
			_ = json.Unmarshal([]byte(s), &hits)
		}
		for j, i := range cand {
			if !hits[j] {
				fd.Targets[i].InView, fd.Targets[i].Rects = false, nil
				fd.Targets[i].ID = -1 // covered in the parent: not offered
			}
		}
	}
	doc := docOf(fd.Version)
	for _, t := range fd.Targets {
		if t.ID < 0 {
			continue
		}
		t.ID = ids.global(idKey{frame: f.key, doc: doc, local: t.ID})
		data.Targets = append(data.Targets, t)
	}
	data.Offscreen += fd.Offscreen
	title := f.title
	if title == "" {
		title = f.url
	}
	block := fmt.Sprintf("\n\n[Frame: %s](%s)\n\n%s\n\n", mdEscape(title), f.url, strings.TrimSpace(fd.Text))
	data.Text = strings.Replace(data.Text, "\x00F"+f.key+"\x00", block, 1)
}

// hangProbe is how long a page may take to answer a trivial evaluation
// before it counts as not answering; a page is hung only after two such
// probes in a row with no navigation in between (a busy machine can be
// slow once; a navigation to another renderer can drop one; a heavy page
// can lay itself out for seconds). So a page is replaced after about 16 s
// without an answer — Chrome's own hang monitor waits longer still before it
// offers to kill a page, but it has a person to ask.
const hangProbe = 8 * time.Second

// answers reports whether tb's page answers a trivial evaluation within d,
// twice: any answer, even an error, or a navigation meanwhile, means its
// renderer is not stuck.
func (c *chrome) answers(ctx context.Context, tb *tab, d time.Duration) bool {
	for range 2 {
		navs := tb.track.navigations()
		if c.answersOnce(ctx, tb, d) || tb.track.navigations() != navs || tb.track.isCrashed() {
			return true
		}
	}
	return false
}

func (c *chrome) answersOnce(ctx context.Context, tb *tab, d time.Duration) bool {
	pctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	tctx, tcancel := tb.with(pctx)
	defer tcancel()
	_, err := chromedp.Run(tctx, chromedp.Evaluate[int]("1"))
	// The evaluation's own error is "canceled" whichever way it ended:
	// only the probe's deadline passing means no answer.
	return err == nil || ctx.Err() != nil || !errors.Is(pctx.Err(), context.DeadlineExceeded)
}

// viewportPercent is how much of the page height the viewport shows.
func (o *observation) viewportPercent() int {
	if o.pdfPages > 0 {
		return int(math.Round(100 / float64(o.pdfPages)))
	}
	if o.PageHeight <= 0 {
		return 100
	}
	return int(math.Min(100, math.Round(o.VH/o.PageHeight*100)))
}

func (o *observation) canScrollUp() bool {
	if o.pdfPages > 0 {
		return o.pdfPage > 1
	}
	return o.ScrollY > 0.5
}

func (o *observation) canScrollDown() bool {
	if o.pdfPages > 0 {
		return o.pdfPage < o.pdfPages
	}
	return o.ScrollY+o.VH < o.PageHeight-1
}

func (o *observation) position() string {
	switch {
	case o.pdfPages > 0:
		return fmt.Sprintf("on page %d of %d of the PDF", o.pdfPage, o.pdfPages)
	case !o.canScrollUp():
		return "at the top of the page"
	case !o.canScrollDown():
		return "at the bottom of the page"
	default:
		return fmt.Sprintf("%d%% down from the top of the page", int(math.Round(o.ScrollY/o.PageHeight*100)))
	}
}

// stateText is the page state as the team sees it after an action, with
// the viewport text cut at maxViewportText.
func (o *observation) stateText() string { return o.stateTextN(maxViewportText) }

// stateTextN is stateText with the viewport text cut at maxText bytes
// (on a character boundary).
func (o *observation) stateTextN(maxText int) string {
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
	if len(text) > maxText {
		text = cutUTF8(text, maxText) + "\n…(viewport text cut; scroll or use summarize_page/answer_question for the rest)"
	}
	if text == "" {
		b.WriteString("The viewport shows no text.")
	} else {
		b.WriteString("The following text is visible in the viewport:\n\n" + text)
	}
	return b.String()
}

// cutUTF8 returns the longest prefix of s of at most n bytes that ends on
// a character boundary.
func cutUTF8(s string, n int) string {
	if n >= len(s) {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
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
// maxOffscreenTargets others (marks.js returns the nearest first).
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

// cappedTargets returns the target lines within max bytes for the
// viewport's targets and off bytes for the others: when not all fit, the
// most prominent (largest) in-view targets are kept, listed in reading
// order, and the nearest off-screen ones. dropped counts what was left
// out.
func (o *observation) cappedTargets(maxIn, maxOff int) (inView, offScreen []string, dropped int) {
	type cand struct {
		t    markTarget
		line string
		area float64
		pos  int
	}
	var ins []cand
	total := 0
	for i, t := range o.Targets {
		if !t.InView {
			continue
		}
		area := 0.0
		for _, r := range t.Rects {
			area += r[2] * r[3]
		}
		c := cand{t: t, line: targetLine(t), area: area, pos: i}
		total += len(c.line) + 1
		ins = append(ins, c)
	}
	if total > maxIn {
		sort.SliceStable(ins, func(a, b int) bool { return ins[a].area > ins[b].area })
		used, keep := 0, ins[:0:0]
		for _, c := range ins {
			if used+len(c.line)+1 > maxIn {
				dropped++
				continue
			}
			used += len(c.line) + 1
			keep = append(keep, c)
		}
		sort.SliceStable(keep, func(a, b int) bool { return keep[a].pos < keep[b].pos })
		ins = keep
	}
	for _, c := range ins {
		inView = append(inView, c.line)
	}
	used := 0
	for _, t := range o.Targets {
		if t.InView || len(offScreen) >= maxOffscreenTargets {
			continue
		}
		line := targetLine(t)
		if used+len(line)+1 > maxOff {
			break
		}
		used += len(line) + 1
		offScreen = append(offScreen, line)
	}
	return inView, offScreen, dropped
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
