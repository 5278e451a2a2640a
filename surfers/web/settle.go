package web

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/inspector"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"golang.org/x/net/publicsuffix"
)

// staleRequest is how long an unfinished request of the page counts
// against network quiet. Older ones are taken for long polls or streams,
// which would otherwise hold every action until the settle cap.
const staleRequest = time.Second

// pendingNavTimeout is how long a requested navigation that never starts
// loading keeps the page busy.
const pendingNavTimeout = time.Second

// frameSettle is how long a frame that started loading (a consent dialog,
// an embedded form) keeps the page busy, at most: frames are content, but
// one that hangs must not hold every action.
const frameSettle = 1500 * time.Millisecond

// timerWait is how long, after an action, the surfer waits at most for
// short timers the action's handlers set (a 300 ms debounce, a delayed
// update) to run.
const timerWait = time.Second

// tracker follows one tab's loading state from protocol events, so that
// settling waits exactly as long as the page is busy instead of sleeping.
// What counts as busy is what decides what the model reads: the main
// document until DOMContentLoaded, a navigation about to start, and the
// main frame's own requests for documents, scripts, styles and data while
// they are fresh. Images, media, frames, third-party hosts, beacons,
// sockets and long polls do not count: a hung tracking pixel or an
// analytics poll must not hold every action until the cap. Its handle
// method runs in chromedp's read loop and must stay fast.
type tracker struct {
	mu         sync.Mutex
	docLoading bool                      // the main document has not reached DOMContentLoaded
	frames     map[cdp.FrameID]time.Time // child frames loading, since when
	navAt      time.Time                 // a navigation was requested and has not started
	attaching  bool                      // attached mid-load; busy until DOMContentLoaded
	inflight   map[network.RequestID]request
	longLived  map[string]bool // request addresses (without query) seen to outlive staleRequest
	navigated  int             // main-frame navigations seen, to detect that one happened
	crashed    bool
	notes      []string
	wake       chan struct{}
	mainFrame  cdp.FrameID
	lastURL    string
	lastChange time.Time
	// docs are the document requests of the main frame in flight, so a
	// failed load can be told by its address rather than Chrome's error
	// page (chrome-error://chromewebdata/).
	docs       map[network.RequestID]string
	failedURL  string
	failedText string
	// aborted is the last main-frame document request that was cancelled
	// rather than shown: how a navigation that turns into a download ends
	// from the page's side, before the browser reports the download.
	aborted string
}

// request is an unfinished network request of the page.
type request struct {
	at     time.Time
	url    string
	counts bool // a request the page's content waits for (see tracker)
}

func newTracker() *tracker {
	return &tracker{
		inflight:  map[network.RequestID]request{},
		frames:    map[cdp.FrameID]time.Time{},
		longLived: map[string]bool{},
		docs:      map[network.RequestID]string{},
		wake:      make(chan struct{}),
	}
}

// setMain names the tab's main frame (a page target's main frame has the
// target's id), so a frame's own loading is never taken for the page's.
func (t *tracker) setMain(id cdp.FrameID) {
	t.mu.Lock()
	if t.mainFrame == "" {
		t.mainFrame = id
	}
	t.mu.Unlock()
}

// dropURL forgets requests for u: a download leaves its request unfinished
// from the page's point of view.
func (t *tracker) dropURL(u string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, r := range t.inflight {
		if r.url == u {
			delete(t.inflight, id)
		}
	}
	t.changed()
}

// changed wakes waiters; the caller holds mu.
func (t *tracker) changed() {
	close(t.wake)
	t.wake = make(chan struct{})
	t.lastChange = time.Now()
}

// isMain reports whether frame is the main frame; the caller holds mu.
func (t *tracker) isMain(frame cdp.FrameID) bool {
	return t.mainFrame == "" || frame == t.mainFrame
}

// countedTypes are the requests a page's content waits for.
var countedTypes = map[network.ResourceType]bool{
	network.ResourceTypeDocument: true, network.ResourceTypeStylesheet: true,
	network.ResourceTypeScript: true, network.ResourceTypeXHR: true, network.ResourceTypeFetch: true,
}

// sameSite reports whether u is on the same site (scheme-less registrable
// domain) as the page at pageURL.
func sameSite(u, pageURL string) bool {
	a, err1 := url.Parse(u)
	b, err2 := url.Parse(pageURL)
	if err1 != nil || err2 != nil {
		return false
	}
	ha, hb := canonHost(a.Hostname()), canonHost(b.Hostname())
	if ha == hb {
		return true
	}
	sa, err1 := publicsuffix.EffectiveTLDPlusOne(ha)
	sb, err2 := publicsuffix.EffectiveTLDPlusOne(hb)
	return err1 == nil && err2 == nil && sa == sb
}

// requestKey is a request's address without query and fragment, so the
// rounds of a long poll share one.
func requestKey(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i]
	}
	return u
}

func (t *tracker) handle(ev any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch ev := ev.(type) {
	case *page.EventFrameRequestedNavigation:
		if t.isMain(ev.FrameID) {
			t.navAt = time.Now()
		}
	case *page.EventFrameStartedLoading:
		if t.isMain(ev.FrameID) {
			t.docLoading = true
			t.navAt = time.Time{}
		} else {
			t.frames[ev.FrameID] = time.Now()
		}
	case *page.EventFrameStoppedLoading:
		if t.isMain(ev.FrameID) {
			// The main frame's load event waits for its frames, those in
			// other processes included (which report no stop here).
			t.docLoading, t.attaching = false, false
			t.navAt = time.Time{}
			clear(t.frames)
		} else {
			delete(t.frames, ev.FrameID)
		}
	case *page.EventFrameDetached:
		delete(t.frames, ev.FrameID)
	case *page.EventDomContentEventFired:
		t.docLoading, t.attaching = false, false
	case *page.EventLifecycleEvent:
		if ev.Name == "DOMContentLoaded" && t.isMain(ev.FrameID) {
			t.docLoading, t.attaching = false, false
		} else {
			return
		}
	case *page.EventFrameNavigated:
		if ev.Frame != nil && ev.Frame.ParentID == "" {
			t.mainFrame = ev.Frame.ID
			t.lastURL = ev.Frame.URL + ev.Frame.URLFragment
			t.navigated++
			t.navAt = time.Time{}
			switch {
			case ev.Frame.UnreachableURL != "":
				t.failedURL = ev.Frame.UnreachableURL
			case !strings.HasPrefix(ev.Frame.URL, "chrome-error:"):
				t.failedURL, t.failedText = "", ""
			}
		}
	case *page.EventNavigatedWithinDocument:
		if t.isMain(ev.FrameID) {
			t.lastURL = ev.URL
			t.navigated++
		}
	case *page.EventLoadEventFired:
		t.attaching = false
	case *network.EventRequestWillBeSent:
		u := ""
		if ev.Request != nil {
			u = ev.Request.URL
		}
		main := t.isMain(ev.FrameID)
		counts := main && countedTypes[ev.Type] && !t.longLived[requestKey(u)] &&
			(ev.Type == network.ResourceTypeDocument || t.lastURL == "" || sameSite(u, t.lastURL))
		t.inflight[ev.RequestID] = request{at: time.Now(), url: u, counts: counts}
		if ev.Type == network.ResourceTypeDocument && main && len(t.docs) < 100 {
			t.docs[ev.RequestID] = u
		}
	case *network.EventLoadingFinished:
		t.finish(ev.RequestID)
		delete(t.docs, ev.RequestID)
	case *network.EventLoadingFailed:
		t.finish(ev.RequestID)
		if u, ok := t.docs[ev.RequestID]; ok {
			delete(t.docs, ev.RequestID)
			if ev.Canceled {
				t.aborted = u
			} else {
				t.failedURL, t.failedText = u, ev.ErrorText
			}
		}
	case *inspector.EventTargetCrashed:
		t.crashed = true
	default:
		return
	}
	t.changed()
}

// finish forgets a request; one that lived past staleRequest marks its
// address as long-lived, so the next round of a long poll never counts.
// The caller holds mu.
func (t *tracker) finish(id network.RequestID) {
	r, ok := t.inflight[id]
	if !ok {
		return
	}
	delete(t.inflight, id)
	if time.Since(r.at) >= staleRequest && len(t.longLived) < 1000 {
		t.longLived[requestKey(r.url)] = true
	}
}

// note records something the next state text must mention (a dialog, a
// refused navigation).
func (t *tracker) note(s string) {
	t.mu.Lock()
	t.notes = append(t.notes, s)
	t.mu.Unlock()
}

func (t *tracker) hasNotes() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.notes) > 0
}

func (t *tracker) takeNotes() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.notes
	t.notes = nil
	return n
}

// busy reports whether the page is still loading what its content waits
// for, and the channel that closes on the next change.
func (t *tracker) busy(now time.Time) (bool, <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.crashed {
		return false, t.wake
	}
	if t.docLoading || t.attaching {
		return true, t.wake
	}
	if !t.navAt.IsZero() && now.Sub(t.navAt) < pendingNavTimeout {
		return true, t.wake
	}
	for _, at := range t.frames {
		if now.Sub(at) < frameSettle {
			return true, t.wake
		}
	}
	for _, r := range t.inflight {
		if r.counts && now.Sub(r.at) < staleRequest {
			return true, t.wake
		}
	}
	return false, t.wake
}

// takeAborted returns (and forgets) the address of the last main-frame
// document request that was cancelled.
func (t *tracker) takeAborted() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	u := t.aborted
	t.aborted = ""
	return u
}

// failure returns the address and error of the main frame's last failed
// load, while Chrome's error page shows it.
func (t *tracker) failure() (url, text string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failedURL, t.failedText
}

// currentURL is the main frame's address as of its last navigation.
func (t *tracker) currentURL() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lastURL
}

func (t *tracker) navigations() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.navigated
}

func (t *tracker) isCrashed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.crashed
}

func (t *tracker) clearCrash() {
	t.mu.Lock()
	t.crashed = false
	t.docLoading = false
	t.inflight = map[network.RequestID]request{}
	clear(t.frames)
	t.mu.Unlock()
}

// probeJS lets the renderer run what the action queued (a click handler
// that navigates, a timer of zero) before the tracker is asked, without a
// fixed sleep: one animation frame and one task.
const probeJS = `new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)))`

// timersJS is added to every document of the surfer's tabs, in the page's
// own world, before the page's scripts run. It follows the short timers
// (at most 1 s) that are set after the surfer marks the start of an action,
// including the timers those timers set, so the surfer can wait for a
// debounced autocomplete or a delayed update that the action caused, and
// not for the page's own polling loops (their timers carry the tag of the
// time before the mark). A page can tamper with it; that only changes how
// long the surfer waits, within timerWait.
const timersJS = `(() => {
  if (window.__m1t) return;
  const set = window.setTimeout, clear = window.clearTimeout;
  const st = { epoch: 0, cur: 0, pending: new Map() };
  window.setTimeout = function (fn, ms, ...args) {
    if (typeof fn !== "function" || !(Number(ms || 0) <= 1000)) return set.apply(this, arguments);
    const tag = st.cur || st.epoch;
    const id = set.call(this, function () {
      st.pending.delete(id);
      const prev = st.cur;
      st.cur = tag;
      try { return fn.apply(this, args); } finally { st.cur = prev; }
    }, ms);
    if (tag) st.pending.set(id, tag);
    return id;
  };
  window.clearTimeout = function (id) { st.pending.delete(id); return clear.apply(this, arguments); };
  const busy = (e) => { for (const t of st.pending.values()) if (t >= e) return true; return false; };
  Object.defineProperty(window, "__m1t", { value: Object.freeze({
    mark() { return ++st.epoch; },
    wait(e, max) {
      const end = performance.now() + max;
      // Nothing pending: no wait at all. Once pending timers ran, one
      // frame and one task let what they changed be drawn.
      if (!busy(e)) return Promise.resolve(false);
      return new Promise((resolve) => {
        const check = () => {
          if (!busy(e)) return requestAnimationFrame(() => set(() => resolve(false), 0));
          if (performance.now() >= end) return resolve(true);
          set(check, 15);
        };
        check();
      });
    },
  }) });
})();`

// markAction tells the page that an action starts now, so that settle
// afterwards waits for the short timers the action sets. A page without
// the timer hook (a document from before the surfer attached) just gets
// no timer wait.
func markAction(ctx context.Context, tb *tab) {
	mctx, cancel := context.WithTimeout(ctx, observeTimeout)
	defer cancel()
	tctx, tcancel := tb.with(mctx)
	defer tcancel()
	n, err := chromedp.Run(tctx, chromedp.Evaluate[int](`window.__m1t ? window.__m1t.mark() : 0`))
	if err != nil {
		n = 0
	}
	tb.mu.Lock()
	tb.epoch, tb.markedNav = n, tb.track.navigations()
	tb.mu.Unlock()
}

// settle waits until the tab is quiet or the cap runs out; it reports
// whether the cap ran out. With navSince >= 0 it first waits for a
// main-frame navigation after that count (history moves, which start
// asynchronously). After an action marked with markAction, it also waits
// (within timerWait of the mark) for the short timers the action set, and
// then for whatever those started.
func settle(ctx context.Context, tb *tab, limit time.Duration, navSince int) (timedOut bool) {
	deadline := time.Now().Add(limit)
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()

	probe := func() {
		pctx, pcancel := context.WithTimeout(ctx, 250*time.Millisecond)
		defer pcancel()
		_, _ = chromedp.Run(pctx, chromedp.Evaluate[chromedp.Void](probeJS, chromedp.EvalAwaitPromise))
	}
	probe()

	if navSince >= 0 {
		for tb.track.navigations() == navSince {
			_, wake := tb.track.busy(time.Now())
			select {
			case <-wake:
			case <-ctx.Done():
				return true
			}
		}
	}
	tb.mu.Lock()
	epoch, markedNav := tb.epoch, tb.markedNav
	tb.epoch = 0 // one wait per mark
	tb.mu.Unlock()
	// The wait for timers is bounded from the end of the action, not from
	// its mark: on a busy machine the action itself can take a second.
	timersEnd := time.Now().Add(timerWait)
	for {
		if waitQuiet(ctx, tb) {
			return true
		}
		// The timers the action set, while the document it set them in
		// lives.
		left := time.Until(timersEnd)
		if epoch == 0 || left <= 0 || tb.track.navigations() != markedNav {
			return false
		}
		wctx, wcancel := context.WithTimeout(ctx, left+250*time.Millisecond)
		_, err := chromedp.Run(wctx, chromedp.Evaluate[bool](
			"window.__m1t ? window.__m1t.wait("+strconv.Itoa(epoch)+", "+strconv.FormatInt(left.Milliseconds(), 10)+") : false",
			chromedp.EvalAwaitPromise))
		wcancel()
		if ctx.Err() != nil {
			return true
		}
		epoch = 0
		if err != nil {
			return false
		}
		// What the timers started (a fetch, a navigation) is waited for
		// by the next round.
	}
}

// waitQuiet waits until the tracker says the tab is not busy; it reports
// whether ctx ended first.
func waitQuiet(ctx context.Context, tb *tab) bool {
	for {
		busy, wake := tb.track.busy(time.Now())
		if !busy {
			return false
		}
		select {
		case <-wake:
		case <-time.After(100 * time.Millisecond):
			// Re-check: requests turn stale and navigations expire
			// without an event.
		case <-ctx.Done():
			return true
		}
	}
}
