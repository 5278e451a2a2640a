package web

import (
	"context"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/inspector"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// staleRequest is how long an unfinished request counts against network
// quiet. Older ones are taken for long polls or streams, which would
// otherwise hold every action until the settle cap.
const staleRequest = 2 * time.Second

// pendingNavTimeout is how long a requested navigation that never starts
// loading keeps the page busy.
const pendingNavTimeout = time.Second

// tracker follows one tab's loading state from protocol events, so that
// settling waits exactly as long as the page is busy instead of sleeping.
// Its handle method runs in chromedp's read loop and must stay fast.
type tracker struct {
	mu         sync.Mutex
	loading    map[cdp.FrameID]bool
	navAt      time.Time // a navigation was requested and has not started
	attaching  bool      // attached mid-load; busy until the load event
	inflight   map[network.RequestID]request
	navigated  int // main-frame navigations seen, to detect that one happened
	crashed    bool
	notes      []string
	wake       chan struct{}
	mainFrame  cdp.FrameID
	lastURL    string
	lastChange time.Time
}

// request is an unfinished network request of the page.
type request struct {
	at  time.Time
	url string
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

func newTracker() *tracker {
	return &tracker{
		loading:  map[cdp.FrameID]bool{},
		inflight: map[network.RequestID]request{},
		wake:     make(chan struct{}),
	}
}

// changed wakes waiters; the caller holds mu.
func (t *tracker) changed() {
	close(t.wake)
	t.wake = make(chan struct{})
	t.lastChange = time.Now()
}

func (t *tracker) handle(ev any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch ev := ev.(type) {
	case *page.EventFrameRequestedNavigation:
		t.navAt = time.Now()
	case *page.EventFrameStartedLoading:
		t.loading[ev.FrameID] = true
		t.navAt = time.Time{}
	case *page.EventFrameStoppedLoading:
		delete(t.loading, ev.FrameID)
		t.navAt = time.Time{}
		if ev.FrameID == t.mainFrame {
			t.attaching = false
		}
	case *page.EventFrameDetached:
		delete(t.loading, ev.FrameID)
	case *page.EventFrameNavigated:
		if ev.Frame != nil && ev.Frame.ParentID == "" {
			t.mainFrame = ev.Frame.ID
			t.lastURL = ev.Frame.URL + ev.Frame.URLFragment
			t.navigated++
			t.navAt = time.Time{}
		}
	case *page.EventNavigatedWithinDocument:
		if ev.FrameID == t.mainFrame || t.mainFrame == "" {
			t.lastURL = ev.URL
			t.navigated++
		}
	case *page.EventLoadEventFired:
		t.attaching = false
	case *network.EventRequestWillBeSent:
		switch ev.Type {
		case network.ResourceTypeWebSocket, network.ResourceTypeEventSource, network.ResourceTypePing:
			return
		}
		u := ""
		if ev.Request != nil {
			u = ev.Request.URL
		}
		t.inflight[ev.RequestID] = request{at: time.Now(), url: u}
	case *network.EventLoadingFinished:
		delete(t.inflight, ev.RequestID)
	case *network.EventLoadingFailed:
		delete(t.inflight, ev.RequestID)
	case *inspector.EventTargetCrashed:
		t.crashed = true
	default:
		return
	}
	t.changed()
}

// note records something the next state text must mention (a dialog, a
// refused navigation).
func (t *tracker) note(s string) {
	t.mu.Lock()
	t.notes = append(t.notes, s)
	t.mu.Unlock()
}

func (t *tracker) takeNotes() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.notes
	t.notes = nil
	return n
}

// busy reports whether the page is still loading, and the channel that
// closes on the next change.
func (t *tracker) busy(now time.Time) (bool, <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.crashed {
		return false, t.wake
	}
	if len(t.loading) > 0 || t.attaching {
		return true, t.wake
	}
	if !t.navAt.IsZero() && now.Sub(t.navAt) < pendingNavTimeout {
		return true, t.wake
	}
	for _, r := range t.inflight {
		if now.Sub(r.at) < staleRequest {
			return true, t.wake
		}
	}
	return false, t.wake
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
	t.loading = map[cdp.FrameID]bool{}
	t.inflight = map[network.RequestID]request{}
	t.mu.Unlock()
}

// probeJS lets the renderer run what the action queued (a click handler
// that navigates, a timer of zero) before the tracker is asked, without a
// fixed sleep: one animation frame and one task.
const probeJS = `new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)))`

// settle waits until the tab is quiet or the cap runs out; it reports
// whether the cap ran out. With navSince >= 0 it first waits for a
// main-frame navigation after that count (history moves, which start
// asynchronously).
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
