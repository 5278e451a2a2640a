package web

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/remote"
)

// launchTimeout bounds the start of Chrome; a binary that hangs at start is
// a launch failure, not a wait without end.
const launchTimeout = 60 * time.Second

// browserNames are looked up in PATH, in this order, when no path is given.
var browserNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// ErrNoBrowser is wrapped by the LaunchError returned when no Chrome or
// Chromium binary is found in PATH.
var ErrNoBrowser = errors.New("no chromium, chromium-browser, google-chrome or google-chrome-stable in PATH")

// LaunchError reports that the browser could not be started or reached at
// all. Unlike a page that fails to load, it ends the step with a Go error.
type LaunchError struct {
	// Path is the binary that was tried, or the CDP address; empty when none
	// was found.
	Path string
	Err  error
	// sandbox is set when Chrome said its sandbox could not start.
	sandbox bool
}

// Error says what failed and how to fix it.
func (e *LaunchError) Error() string {
	what := "browser"
	if e.Path != "" {
		what += " " + e.Path
	}
	return fmt.Sprintf("start %s: %v: install chromium (apt-get install chromium) or pass --browser-path (or --cdp to attach to a running Chrome)", what, e.Err)
}

// Unwrap returns the underlying error.
func (e *LaunchError) Unwrap() error { return e.Err }

// errBrowserLost means the browser process went away under an action. The
// surfer relaunches it and tells the model.
var errBrowserLost = errors.New("the browser process exited")

// findBrowser returns the binary to launch.
func findBrowser(path string) (string, error) {
	if path != "" {
		p, err := exec.LookPath(path)
		if err != nil {
			return path, err
		}
		return p, nil
	}
	for _, name := range browserNames {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNoBrowser
}

// tab is one page target the surfer drives.
type tab struct {
	ctx    context.Context
	cancel context.CancelFunc
	id     target.ID
	root   bool // the first tab: its context owns the browser
	track  *tracker

	gens *frameGens // the documents of the tab's frames, to know a world is current

	mu        sync.Mutex
	epoch     int                    // the page's tag of the action under way (markAction), 0 when none
	markedNav int                    // the tab's navigation count then
	main      *world                 // the surfer's world in the main frame
	worlds    map[cdp.FrameID]*world // and in the frames
	oopifs    map[target.ID]*oopif   // sessions of frames in other processes
	frames    []*frameRef            // the frames of the last observation
	ids       *idMap                 // the ids the model sees
	pdf       *pdfView               // a PDF the tab shows, read as text
	// expectDownload says the last action clicked a link that downloads.
	expectDownload bool
}

// newTabState returns a tab's bookkeeping, before it is attached.
func newTabState(root bool) *tab {
	return &tab{root: root, track: newTracker(), gens: newFrameGens()}
}

// with returns a context for actions on tb that also ends when ctx ends, so
// a cancelled step stops waiting without closing the tab.
func (tb *tab) with(ctx context.Context) (context.Context, context.CancelFunc) {
	c, cancel := context.WithCancel(tb.ctx)
	stop := context.AfterFunc(ctx, cancel)
	return c, func() { stop(); cancel() }
}

// chrome is the browser of one session: launched lazily, relaunched when it
// dies, closed by Close. Only the Surfer's goroutine calls its methods; the
// event listeners share what is guarded by mu.
type chrome struct {
	opts   Options
	policy domainPolicy
	base   context.Context // ends on close

	allocCancel context.CancelFunc
	rootCtx     context.Context
	rootCancel  context.CancelFunc
	tabs        []*tab
	active      int
	lastURL     string
	profileDir  string // for tests: the user data dir of the launched Chrome
	shots       int
	proxy       *policyProxy // with domain flags, where all traffic goes
	staging     string       // where Chrome saves downloads before they are placed

	mu        sync.Mutex
	refused   []refusal // requests the policy refused since the last look
	trackers  []*tracker
	popups    []target.ID
	known     map[target.ID]bool
	downloads map[string]*download
	newDL     []*download
	reserved  map[string]bool
}

func newChrome(base context.Context, opts Options) *chrome {
	return &chrome{
		opts:      opts,
		policy:    newDomainPolicy(opts.AllowDomains, opts.BlockDomains),
		base:      base,
		known:     map[target.ID]bool{},
		downloads: map[string]*download{},
		reserved:  map[string]bool{},
	}
}

// running reports whether a browser was launched and is still connected.
func (c *chrome) running() bool { return c.rootCtx != nil && c.rootCtx.Err() == nil }

// lostGrace is how long lost waits for chromedp to notice a dead browser.
const lostGrace = 300 * time.Millisecond

// lost reports, after a call failed, whether the browser is gone. chromedp
// cancels the browser's context a moment after the connection drops, so a
// call can fail while running() still says yes; lost gives it a short grace
// to catch up. Only error paths pay for the wait.
func (c *chrome) lost() bool {
	if c.rootCtx == nil {
		return true
	}
	t := time.NewTimer(lostGrace)
	defer t.Stop()
	select {
	case <-c.rootCtx.Done():
		return true
	case <-t.C:
		return false
	}
}

// launched reports whether a browser was ever started and not closed.
func (c *chrome) launched() bool { return c.rootCtx != nil }

func (c *chrome) activeTab() *tab { return c.tabs[c.active] }

// launch starts (or attaches to) Chrome and prepares its first tab. Where
// Chrome's sandbox cannot start (not as root: there --no-sandbox is
// needed from the start), it tries once more without it and SandboxNote
// says so.
func (c *chrome) launch(ctx context.Context) error {
	err := c.launchOnce(ctx, false)
	var le *LaunchError
	if err != nil && errors.As(err, &le) && le.sandbox && os.Geteuid() != 0 && c.opts.CDPURL == "" {
		if err = c.launchOnce(ctx, true); err == nil {
			setSandboxNote(noSandboxFail)
		}
	}
	return err
}

func (c *chrome) launchOnce(ctx context.Context, noSandbox bool) error {
	var allocCtx context.Context
	var allocCancel context.CancelFunc
	out := &outputTail{}
	where := c.opts.CDPURL
	if where != "" {
		allocCtx, allocCancel = remote.NewAllocator(c.base, c.opts.CDPURL)
	} else {
		path, err := findBrowser(c.opts.BrowserPath)
		if err != nil {
			return &LaunchError{Path: path, Err: err}
		}
		where = path
		// Profiles of browsers killed with their m1 go first.
		sweepProfiles(os.TempDir())
		ao := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-domain-reliability", true),
			chromedp.Flag("no-pings", true),
			chromedp.WindowSize(c.opts.ViewportWidth, c.opts.ViewportHeight),
			// The browser runs code from any page: it gets only the
			// variables it needs, never the model's key.
			chromedp.NoInheritEnv,
			chromedp.Env(browserEnv(os.Environ())...),
			chromedp.CombinedOutput(out),
		)
		// Chrome's sandbox is kept wherever it can run; as root it cannot
		// (chromedp adds --no-sandbox then, and SandboxNote says why).
		if noSandbox {
			ao = append(ao, chromedp.NoSandbox)
		}
		if c.policy.hasHostRules() {
			px, err := startProxy(c.policy, c.noteProxyRefusal)
			if err != nil {
				return &LaunchError{Path: where, Err: err}
			}
			c.proxy = px
			ao = append(ao,
				chromedp.ProxyServer(px.url()),
				// Loopback addresses bypass a proxy unless told not to.
				chromedp.Flag("proxy-bypass-list", "<-loopback>"),
				chromedp.Flag("force-webrtc-ip-handling-policy", "disable_non_proxied_udp"),
			)
		}
		if !c.opts.Headless {
			ao = append(ao, chromedp.VisibleWindow)
		}
		allocCtx, allocCancel = chromedp.NewExecAllocator(c.base, ao...)
	}
	failed := func(err error) error {
		le := &LaunchError{Path: where, Err: err}
		if sandboxFailure.MatchString(out.String()) {
			le.sandbox = true
		}
		return le
	}

	root := newTabState(true)
	rootCtx, rootCancel := chromedp.NewContext(allocCtx, chromedp.WithListener(c.listener(root)))
	root.ctx, root.cancel = rootCtx, rootCancel
	stop := func() {
		rootCancel()
		allocCancel()
		c.closeProxy()
	}

	// The first Run binds the browser to rootCtx, so it must not carry the
	// step's deadline; the wait for it does.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(rootCtx) }()
	timer := time.NewTimer(launchTimeout)
	defer timer.Stop()
	select {
	case err := <-started:
		if err != nil {
			stop()
			return failed(err)
		}
	case <-ctx.Done():
		stop()
		<-started
		return ctx.Err()
	case <-timer.C:
		stop()
		<-started
		return &LaunchError{Path: where, Err: fmt.Errorf("no answer within %s", launchTimeout)}
	}

	c.rootCtx, c.rootCancel, c.allocCancel = rootCtx, rootCancel, allocCancel
	cc := chromedp.FromContext(rootCtx)
	root.id = cc.Target.TargetID
	root.track.setMain(cdp.FrameID(root.id))
	if p := cc.Browser.Process(); p != nil {
		c.profileDir = profileDirOf(p.Pid)
	}
	c.tabs, c.active = []*tab{root}, 0
	c.mu.Lock()
	c.trackers = []*tracker{root.track}
	c.known = map[target.ID]bool{root.id: true}
	c.popups = nil
	c.mu.Unlock()

	if err := chromedp.ListenBrowser(rootCtx, func(ev any) { c.browserEvent(rootCtx, ev) }); err != nil {
		c.shutdown()
		return failed(err)
	}
	if err := c.intercept(ctx); err != nil {
		c.shutdown()
		return failed(err)
	}
	if err := c.prepareDownloads(); err != nil {
		c.shutdown()
		return failed(err)
	}
	if err := c.setDownloads(ctx); err != nil {
		c.shutdown()
		return failed(err)
	}
	if err := c.setupTab(ctx, root); err != nil {
		c.shutdown()
		return failed(err)
	}
	return nil
}

// interceptPatterns are the requests the browser pauses for the policy:
// all of them with domain flags, else only local files (refused always,
// and without a cost for the pages of the web).
func (c *chrome) interceptPatterns() []*fetch.RequestPattern {
	if c.policy.hasHostRules() {
		return []*fetch.RequestPattern{{URLPattern: "*"}}
	}
	return []*fetch.RequestPattern{{URLPattern: "file:*"}, {URLPattern: "filesystem:*"}}
}

// intercept pauses requests for the policy at the browser level, where it
// sees every request of every target (tabs, popups before their first
// load, frames, workers) before it is sent. An attached browser (--cdp) is
// the user's own, with tabs that are none of m1's business: there each of
// the surfer's tabs is intercepted instead (setupTab).
func (c *chrome) intercept(ctx context.Context) error {
	if c.opts.CDPURL != "" {
		return nil
	}
	cctx, cancel := withStop(ctx, c.rootCtx)
	defer cancel()
	if _, err := chromedp.CallBrowser(cctx, fetch.Enable, fetch.EnableParams{Patterns: c.interceptPatterns()}); err != nil {
		return fmt.Errorf("enable request interception: %w", err)
	}
	return nil
}

func (c *chrome) closeProxy() {
	if c.proxy != nil {
		c.proxy.close()
		c.proxy = nil
	}
}

// profileDirOf reads the --user-data-dir of a running process, so tests can
// check that nothing of it survives Close.
func profileDirOf(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return ""
	}
	for _, arg := range strings.Split(string(b), "\x00") {
		if v, ok := strings.CutPrefix(arg, "--user-data-dir="); ok {
			return v
		}
	}
	return ""
}

// withStop derives from the chromedp context cctx a context that also ends
// when ctx ends.
func withStop(ctx, cctx context.Context) (context.Context, context.CancelFunc) {
	c, cancel := context.WithCancel(cctx)
	stop := context.AfterFunc(ctx, cancel)
	return c, func() { stop(); cancel() }
}

// setupTab sizes the viewport and, in a browser m1 attached to, intercepts
// the tab's requests for the policy (a launched browser intercepts all of
// them at once: see intercept).
func (c *chrome) setupTab(ctx context.Context, tb *tab) error {
	tctx, cancel := tb.with(ctx)
	defer cancel()
	if _, err := chromedp.Call(tctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
		Width: int64(c.opts.ViewportWidth), Height: int64(c.opts.ViewportHeight), DeviceScaleFactor: 1,
	}); err != nil {
		return fmt.Errorf("set viewport: %w", err)
	}
	if _, err := chromedp.Call(tctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: timersJS, RunImmediately: ptr(true),
	}); err != nil {
		return fmt.Errorf("add the timer hook: %w", err)
	}
	if c.opts.CDPURL != "" {
		if _, err := chromedp.Call(tctx, fetch.Enable, fetch.EnableParams{Patterns: c.interceptPatterns()}); err != nil {
			return fmt.Errorf("enable request interception: %w", err)
		}
	}
	return nil
}

// listener handles the events of one tab. It runs in chromedp's read loop:
// no commands here, only bookkeeping and goroutines.
func (c *chrome) listener(tb *tab) func(ev any) {
	return func(ev any) {
		tb.track.handle(ev)
		tb.gens.handle(ev)
		switch ev := ev.(type) {
		case *target.EventTargetCreated:
			info := ev.TargetInfo
			if info != nil && info.Type == "page" && info.OpenerID != "" {
				c.mu.Lock()
				if !c.known[info.TargetID] {
					c.known[info.TargetID] = true
					c.popups = append(c.popups, info.TargetID)
				}
				c.mu.Unlock()
			}
		case *page.EventJavascriptDialogOpening:
			accept := ev.Type == page.DialogTypeAlert || ev.Type == page.DialogTypeBeforeunload
			how := "dismissed"
			if accept {
				how = "accepted"
			}
			tb.track.note(fmt.Sprintf("The page showed a %s dialog saying %q; it was %s.", ev.Type, ev.Message, how))
			go func() {
				_, _ = chromedp.Call(tb.ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: accept})
			}()
		case *fetch.EventRequestPaused:
			go c.decide(tb.ctx, ev, false)
		}
	}
}

// decide lets an intercepted request through or refuses it. cctx is the
// chromedp context of the session that paused it: the browser's, or a
// tab's (browser is false then).
func (c *chrome) decide(cctx context.Context, ev *fetch.EventRequestPaused, browser bool) {
	call := func(fail bool) {
		var err error
		switch {
		case fail && browser:
			_, err = chromedp.CallBrowser(cctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: network.ErrorReasonBlockedByClient})
		case fail:
			_, err = chromedp.Call(cctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: network.ErrorReasonBlockedByClient})
		case browser:
			_, err = chromedp.CallBrowser(cctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
		default:
			_, err = chromedp.Call(cctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
		}
		_ = err // the request or the browser went away meanwhile
	}
	u := ""
	if ev.Request != nil {
		u = ev.Request.URL
	}
	if err := c.policy.check(u); err != nil {
		c.noteRefusal(refusal{url: u, doc: ev.ResourceType == network.ResourceTypeDocument, err: err})
		call(true)
		return
	}
	call(false)
}

// refusal is a request the policy refused.
type refusal struct {
	url string
	doc bool // a page or frame, not a resource of one
	err error
}

func (c *chrome) noteRefusal(r refusal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.refused) < 1000 {
		c.refused = append(c.refused, r)
	}
}

// noteProxyRefusal is told of a connection the proxy refused (WebSockets,
// names that resolve to blocked addresses). Those are not reported to the
// model: the proxy cannot tell a page's connection from the browser's own
// background traffic, and the requests it could name were refused above.
func (c *chrome) noteProxyRefusal(hostport string, err error) {}

// refusedURL reports whether the policy refused a request for u.
func (c *chrome) refusedURL(u string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.refused {
		if r.url == u {
			return true
		}
	}
	return false
}

// dropRefusal forgets the refusal of u, which a note has reported in
// another way.
func (c *chrome) dropRefusal(u string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.refused[:0]
	for _, r := range c.refused {
		if r.url != u {
			out = append(out, r)
		}
	}
	c.refused = out
}

// takeRefusals turns the refusals since the last look into notes for the
// model: each refused page, and a count of refused resources with an
// example.
func (c *chrome) takeRefusals() []string {
	c.mu.Lock()
	rs := c.refused
	c.refused = nil
	c.mu.Unlock()
	var notes []string
	var others []refusal
	seen := map[string]bool{}
	for _, r := range rs {
		if seen[r.url] {
			continue
		}
		seen[r.url] = true
		if r.doc && len(notes) < 5 {
			notes = append(notes, fmt.Sprintf("The browser refused to open %s: %v.", r.url, r.err))
			continue
		}
		others = append(others, r)
	}
	if len(others) > 0 {
		notes = append(notes, fmt.Sprintf("The page tried to reach %d address(es) the browser may not contact, and was refused (e.g. %s: %v).", len(others), others[0].url, others[0].err))
	}
	return notes
}

// browserEvent handles browser-wide events (downloads). Same rules as
// listener.
func (c *chrome) browserEvent(rootCtx context.Context, ev any) {
	switch ev := ev.(type) {
	case *fetch.EventRequestPaused:
		go c.decide(rootCtx, ev, true)
	case *cdpbrowser.EventDownloadWillBegin:
		c.beginDownload(rootCtx, ev)
	case *cdpbrowser.EventDownloadProgress:
		c.progressDownload(ev)
	}
}

// pending reports whether something happened in the browser that the next
// observation must report: a new tab, a refused request, a download.
func (c *chrome) pending() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.popups) > 0 || len(c.refused) > 0 || len(c.newDL) > 0
}

// takePopups returns the tabs pages opened since the last call.
func (c *chrome) takePopups() []target.ID {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.popups
	c.popups = nil
	return p
}

// waitPopup waits within d for a page to open a tab.
func (c *chrome) waitPopup(ctx context.Context, d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		c.mu.Lock()
		n := len(c.popups)
		c.mu.Unlock()
		if n > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// adoptPopups attaches to tabs the page opened and switches to the newest,
// returning what the state text should say about them.
func (c *chrome) adoptPopups(ctx context.Context) []string {
	return c.adopt(ctx, c.takePopups(), false)
}

// adopt attaches to the tabs ids. With late, they were opened before the
// action under way (a page's timer, seconds after the last action): they
// stay in the background and are reported as such, so the action's own
// result is not taken for theirs.
func (c *chrome) adopt(ctx context.Context, ids []target.ID, late bool) []string {
	var notes []string
	prev := c.active
	for _, id := range ids {
		tb := newTabState(false)
		tb.id = id
		tb.track.setMain(cdp.FrameID(id))
		// Busy until its DOMContentLoaded: it may have started loading
		// before we attached, and then we never see the start.
		tb.track.attaching = true
		tctx, cancel := chromedp.NewContext(c.rootCtx, chromedp.WithTargetID(id), chromedp.WithListener(c.listener(tb)))
		tb.ctx, tb.cancel = tctx, cancel
		// The first Run binds the tab's read loop to its context, so it
		// gets the tab context itself.
		if err := chromedp.Do(tctx); err != nil {
			cancel()
			continue // closed again before we got there
		}
		if err := c.setupTab(ctx, tb); err != nil {
			cancel()
			continue
		}
		c.tabs = append(c.tabs, tb)
		idx := len(c.tabs) - 1
		c.mu.Lock()
		c.trackers = append(c.trackers, tb.track)
		c.mu.Unlock()
		if !late {
			c.active = idx
			c.activate(ctx, tb)
		}
		if rs, _ := evalString(ctx, tb, `document.readyState + " " + location.href`); (strings.HasPrefix(rs, "complete ") || strings.HasPrefix(rs, "interactive ")) && !strings.HasSuffix(rs, " about:blank") {
			tb.track.mu.Lock()
			tb.track.attaching = false
			tb.track.mu.Unlock()
		}
		sctx, scancel := tb.with(ctx)
		settle(sctx, tb, c.opts.SettleTimeout, -1)
		scancel()
		u := tb.track.currentURL()
		if u == "" {
			u, _ = evalString(ctx, tb, `location.href`)
		}
		f, why := tb.track.failure()
		if f == "" && strings.HasPrefix(u, "chrome-error:") {
			// It failed before we attached: the target knows its address.
			cctx, cancel := withStop(ctx, c.rootCtx)
			if info, err := chromedp.CallBrowser(cctx, target.GetTargetInfo, target.GetTargetInfoParams{TargetID: id}); err == nil && info.TargetInfo != nil {
				f = info.TargetInfo.URL
			}
			cancel()
			if why == "" && c.refusedURL(f) {
				why = "net::ERR_BLOCKED_BY_CLIENT"
			}
		}
		refuse := func(note string) {
			notes = append(notes, note)
			c.closeTab(ctx, idx)
			if late {
				c.active = min(prev, len(c.tabs)-1)
			}
		}
		if strings.HasPrefix(u, "chrome-error:") && f != "" {
			// The load failed; a refused one was never sent (the policy's
			// interception pauses a new tab's first request too).
			err := c.policy.check(f)
			if err == nil && why == "net::ERR_BLOCKED_BY_CLIENT" {
				err = errors.New("the browser refused it")
			}
			if err != nil {
				c.dropRefusal(f)
				refuse(fmt.Sprintf("The page opened a new tab for %s, which was refused and closed: %v.", f, err))
				continue
			}
		}
		if err := c.policy.check(u); err != nil {
			refuse(fmt.Sprintf("The page opened a new tab for %s, which was closed: %v.", u, err))
			continue
		}
		if late {
			notes = append(notes, fmt.Sprintf("Since the previous action, the page opened a new tab by itself (tab %d of %d, %s); the browser stays on the current tab.", idx, len(c.tabs), u))
			continue
		}
		notes = append(notes, fmt.Sprintf("The action opened a new tab (tab %d of %d); the browser switched to it.", c.active, len(c.tabs)))
	}
	if late {
		c.active = min(prev, len(c.tabs)-1)
		c.activate(ctx, c.activeTab())
	}
	return notes
}

// replaceTab closes tab i, whose page stopped responding or whose renderer
// died, and puts a new blank tab in its place (a new page, in a new
// renderer: the hung one cannot even be navigated away from).
func (c *chrome) replaceTab(ctx context.Context, i int) error {
	old := c.tabs[i]
	tb, err := c.openTab(ctx, "open a tab to replace the hung one")
	if err != nil {
		return err
	}
	c.mu.Lock()
	for j, t := range c.trackers {
		if t == old.track {
			c.trackers = append(c.trackers[:j], c.trackers[j+1:]...)
			break
		}
	}
	c.mu.Unlock()
	c.tabs[i] = tb
	old.dropFrames()
	// The browser closes the hung page even though its renderer does not
	// answer; a chromedp context of an adopted tab is ended too.
	cctx, ccancel := context.WithTimeout(c.rootCtx, 5*time.Second)
	_, _ = chromedp.CallBrowser(cctx, target.CloseTarget, target.CloseTargetParams{TargetID: old.id})
	ccancel()
	if !old.root && old.cancel != nil {
		go old.cancel()
	}
	c.activate(ctx, c.activeTab())
	return nil
}

// newTab opens a blank tab and makes it active.
func (c *chrome) newTab(ctx context.Context) error {
	tb, err := c.openTab(ctx, "open tab")
	if err != nil {
		return err
	}
	c.tabs = append(c.tabs, tb)
	c.active = len(c.tabs) - 1
	return nil
}

// openTab opens a blank page in a new target, known to the browser's
// listeners and set up like every tab, but not yet among c.tabs; what
// names the step in an error.
func (c *chrome) openTab(ctx context.Context, what string) (*tab, error) {
	tb := newTabState(false)
	tctx, cancel := chromedp.NewContext(c.rootCtx, chromedp.WithListener(c.listener(tb)))
	tb.ctx, tb.cancel = tctx, cancel
	if err := chromedp.Do(tctx); err != nil {
		cancel()
		if !c.running() {
			return nil, errBrowserLost
		}
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	tb.id = chromedp.FromContext(tctx).Target.TargetID
	tb.track.setMain(cdp.FrameID(tb.id))
	c.mu.Lock()
	c.known[tb.id] = true
	c.trackers = append(c.trackers, tb.track)
	c.mu.Unlock()
	if err := c.setupTab(ctx, tb); err != nil {
		cancel()
		return nil, err
	}
	return tb, nil
}

// activate brings tb to the front; background tabs may be throttled.
func (c *chrome) activate(ctx context.Context, tb *tab) {
	cctx, cancel := withStop(ctx, c.rootCtx)
	defer cancel()
	_, _ = chromedp.CallBrowser(cctx, target.ActivateTarget, target.ActivateTargetParams{TargetID: tb.id})
}

// closeTab closes tab i and makes its left neighbour active.
func (c *chrome) closeTab(ctx context.Context, i int) {
	tb := c.tabs[i]
	if tb.root {
		// The root context owns the browser: close only its page.
		cctx, cancel := withStop(ctx, c.rootCtx)
		_, _ = chromedp.CallBrowser(cctx, target.CloseTarget, target.CloseTargetParams{TargetID: tb.id})
		cancel()
	} else {
		tb.cancel()
	}
	c.tabs = append(c.tabs[:i], c.tabs[i+1:]...)
	c.mu.Lock()
	for j, t := range c.trackers {
		if t == tb.track {
			c.trackers = append(c.trackers[:j], c.trackers[j+1:]...)
			break
		}
	}
	c.mu.Unlock()
	if c.active >= i && c.active > 0 {
		c.active--
	}
	c.activate(ctx, c.activeTab())
}

// tabInfo is a tab as the state text lists it.
type tabInfo struct {
	Title, URL string
}

// tabInfos lists the open tabs in order.
func (c *chrome) tabInfos(ctx context.Context) []tabInfo {
	cctx, cancel := withStop(ctx, c.rootCtx)
	defer cancel()
	res, err := chromedp.CallBrowser(cctx, target.GetTargets, target.GetTargetsParams{})
	byID := map[target.ID]*target.Info{}
	if err == nil {
		for _, info := range res.TargetInfos {
			byID[info.TargetID] = info
		}
	}
	out := make([]tabInfo, len(c.tabs))
	for i, tb := range c.tabs {
		if info := byID[tb.id]; info != nil {
			out[i] = tabInfo{Title: info.Title, URL: info.URL}
		} else {
			out[i] = tabInfo{URL: tb.track.lastURL}
		}
	}
	return out
}

// navigate loads u in tb. It returns text for the model when the load is
// refused or fails, and an error only when the browser broke.
func (c *chrome) navigate(ctx context.Context, tb *tab, u string) (string, error) {
	if err := c.policy.check(u); err != nil {
		return fmt.Sprintf("I did not open %s: %v.", u, err), nil
	}
	tctx, cancel := tb.with(ctx)
	defer cancel()
	nctx, ncancel := context.WithTimeout(tctx, c.opts.SettleTimeout)
	res, err := chromedp.Call(nctx, page.Navigate, page.NavigateParams{URL: u})
	ncancel()
	switch {
	case err != nil && ctx.Err() != nil:
		return "", ctx.Err()
	case err != nil && c.lost():
		return "", errBrowserLost
	case err != nil && errors.Is(err, context.DeadlineExceeded):
		_, _ = chromedp.Call(tctx, page.StopLoading, cdp.Empty{})
		return fmt.Sprintf("The server at %s did not answer within %s; the navigation was stopped.", u, c.opts.SettleTimeout), nil
	case err != nil:
		return fmt.Sprintf("Navigation to %s failed: %v.", u, err), nil
	case res.ErrorText != "" && !res.IsDownload:
		settle(tctx, tb, c.opts.SettleTimeout, -1)
		if res.ErrorText == "net::ERR_BLOCKED_BY_CLIENT" {
			return fmt.Sprintf("Navigation to %s was refused.", u), nil
		}
		return fmt.Sprintf("Navigation to %s failed: %s.", u, res.ErrorText), nil
	}
	if settle(tctx, tb, c.opts.SettleTimeout, -1) {
		return fmt.Sprintf("I opened %s; it was still loading after %s.", u, c.opts.SettleTimeout), nil
	}
	return fmt.Sprintf("I opened %s.", u), nil
}

// shutdown stops the browser (or leaves the attached one) and waits until
// its processes are gone and the temporary profile is removed.
func (c *chrome) shutdown() {
	for _, tb := range c.tabs {
		if !tb.root && tb.cancel != nil {
			tb.cancel()
		}
	}
	if c.rootCancel != nil {
		c.rootCancel()
	}
	if c.allocCancel != nil {
		c.allocCancel()
	}
	c.tabs, c.active = nil, 0
	c.rootCtx, c.rootCancel, c.allocCancel = nil, nil, nil
	c.closeProxy()
	c.removeStaging()
}

func ptr[T any](v T) *T { return &v }
