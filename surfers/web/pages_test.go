package web

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/model"
)

// Hard cases of the real web, each on a hand-made page of testdata/sites
// and real Chromium.

// TestWedgedPageIsReplaced: a click that starts an endless script loop
// does not wedge the surfer; the tab is replaced, the model is told, and
// the next action (leaving for another page) works.
func TestWedgedPageIsReplaced(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, obs := h.visit("/wedge.html")
	state, obs := h.do("click", map[string]any{"target_id": h.id(obs, "Freeze the page")})
	mustContain(t, state, "stopped responding during the click action", "replaced by a blank one", "[about:blank](about:blank)")
	if len(h.s.chrome.tabs) != 1 {
		t.Fatalf("%d tabs after the replacement", len(h.s.chrome.tabs))
	}
	state, _ = h.visit("/vault.html")
	mustContain(t, state, "4711-ZETA")
	mustNotContain(t, state, "did not answer", "stopped responding")
}

// TestPageThatHangsBetweenStepsIsReplaced: a page that starts looping by
// itself after it was read is found hung at the next look, replaced, and
// the step goes on.
func TestPageThatHangsBetweenStepsIsReplaced(t *testing.T) {
	t.Parallel()
	var site string
	fm := &fakeModel{answer: func(n int, req model.Request) (*model.Response, error) {
		if n == 0 {
			return call("visit_url", map[string]any{"url": site + "/wedge.html?later=4000"}), nil
		}
		if n == 1 {
			return call("visit_url", map[string]any{"url": site + "/vault.html"}), nil
		}
		return &model.Response{Content: "done"}, nil
	}}
	s, url := newAgent(t, fm)
	site = url
	if _, err := s.Step(context.Background(), agent.Turn{Thread: []agent.Message{instruction("open the page")}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Second) // the page loops by now
	m, err := s.Step(context.Background(), agent.Turn{Thread: []agent.Message{instruction("open the vault")}})
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, lastText(fm.requests()[1]), "stopped responding when it was read", "replaced by a blank one")
	mustContain(t, m.Content, "4711-ZETA")
}

// TestConsentDialogInFrame: the consent dialog a page shows in a frame over
// itself is read and clickable; the page's links it covers are not
// offered; accepting removes it and the links come back.
func TestConsentDialogInFrame(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	state, obs := h.visit("/consent.html")
	mustContain(t, state, "CONSENT-TEXT-55", "[Frame: Consent]")
	accept := h.id(obs, "Accept all")
	h.id(obs, "Reject all")
	for _, tg := range obs.Targets {
		if tg.InView && (tg.Name == "Read the vault story" || tg.Name == "Home") {
			t.Fatalf("a link under the consent frame is offered: %+v", tg)
		}
	}
	state, obs = h.do("click", map[string]any{"target_id": accept})
	mustContain(t, state, "I clicked 'Accept all'")
	mustNotContain(t, state, "CONSENT-TEXT-55")
	state, _ = h.do("click", map[string]any{"target_id": h.id(obs, "Read the vault story")})
	mustContain(t, state, "4711-ZETA")
}

// TestFramesOfEveryOrigin: same-origin, cross-origin (another port) and
// cross-site (another host, another renderer) frames are all read; a link
// in the cross-site frame is clicked and a field in the cross-origin one
// typed into.
func TestFramesOfEveryOrigin(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	other := httptest.NewServer(http.FileServer(http.Dir(filepath.Join("..", "..", "testdata", "sites"))))
	t.Cleanup(other.Close)
	_, port, _ := net.SplitHostPort(other.Listener.Addr().String())
	state, obs := h.visit("/frames/outer.html?p=" + port)
	if n := strings.Count(state, "FRAME-SECRET-77"); n != 3 {
		t.Fatalf("the text of %d frames of 3 is read:\n%s", n, state)
	}
	var links, fields []int
	for _, tg := range obs.Targets {
		switch tg.Name {
		case "Vault from the frame":
			links = append(links, tg.ID)
		case "Frame search":
			fields = append(fields, tg.ID)
		}
	}
	if len(links) != 3 || len(fields) != 3 {
		t.Fatalf("frame targets: links %v, fields %v in %+v", links, fields, obs.Targets)
	}
	// The third frame is the cross-site one (localhost): its own renderer.
	state, _ = h.do("click", map[string]any{"target_id": links[2]})
	mustContain(t, state, "4711-ZETA", "[Vault](http://localhost:"+port+"/vault.html)")

	_, obs = h.visit("/frames/outer.html?p=" + port)
	var field int
	for _, tg := range obs.Targets {
		if tg.Name == "Frame search" {
			field = tg.ID // the last one: cross-site
		}
	}
	state, _ = h.do("input_text", map[string]any{"input_field_id": field, "text_value": "kiwi", "press_enter": true})
	mustContain(t, state, "and pressed Enter", "Results for: kiwi")
}

// TestBusyPageDoesNotHoldActions: a hung image, a long poll and a poll
// every 300 ms do not make every action wait for the settle cap.
func TestBusyPageDoesNotHoldActions(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	state, obs := h.visit("/busy.html")
	mustNotContain(t, state, "still loading")
	state, _ = h.do("click", map[string]any{"target_id": h.id(obs, "Show")})
	mustContain(t, state, "SHOWN-NOW")
	mustNotContain(t, state, "still loading")
	state, _ = h.do("scroll_down", nil)
	mustNotContain(t, state, "still loading")
}

// TestLateUpdatesAreSeen: an update 300 ms after a click, a debounced
// autocomplete and a tab opened 300 ms after a click all belong to their
// action.
func TestLateUpdatesAreSeen(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, obs := h.visit("/late.html")
	state, _ := h.do("click", map[string]any{"target_id": h.id(obs, "Update in a moment")})
	mustContain(t, state, "LATE-UPDATE-OK")
	state, _ = h.do("input_text", map[string]any{"input_field_id": h.id(obs, "Fruit"), "text_value": "mango", "press_enter": false})
	mustContain(t, state, "Suggestion: mango pie")
	state, _ = h.do("click", map[string]any{"target_id": h.id(obs, "Open the vault shortly")})
	mustContain(t, state, "The action opened a new tab", "4711-ZETA")
}

// TestPopupOpenedBetweenActions: a tab a page opens by itself after the
// last look is reported as such, and the next action's result is its own.
func TestPopupOpenedBetweenActions(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, obs := h.visit("/late.html?popup=1500")
	time.Sleep(3 * time.Second)
	state, _ := h.do("click", map[string]any{"target_id": h.id(obs, "Update in a moment")})
	mustContain(t, state, "Since the previous action, the page opened a new tab by itself", "LATE-UPDATE-OK", "[Late updates]")
	mustNotContain(t, state, "The action opened a new tab")
}

// TestPDFIsRead: a PDF opened by address or by a link is read as text,
// page by page, and answer_question reads all of it.
func TestPDFIsRead(t *testing.T) {
	t.Parallel()
	fm := &fakeModel{answer: func(n int, req model.Request) (*model.Response, error) {
		return &model.Response{Content: "ok"}, nil
	}}
	requireChrome(t)
	site := newSite(t)
	s := New(fm, WithSettleTimeout(5*time.Second))
	closeAndCheck(t, s)
	h := &harness{t: t, s: s, site: site, ctx: context.Background()}
	if _, err := s.ensure(h.ctx); err != nil {
		t.Fatal(err)
	}
	state, obs := h.visit("/paper.pdf")
	mustContain(t, state, "PDF document of 2 page(s)", "PDF-HEADING-ONE", "PDF-CELL-777", "on page 1 of 2")
	mustNotContain(t, state, "PDF-PAGE-TWO-MARKER")
	if offered := toolNames(s.offeredTools(obs)); !offered["scroll_down"] || offered["scroll_up"] {
		t.Fatalf("on page 1: offered %v", offered)
	}
	state, _ = h.do("scroll_down", nil)
	mustContain(t, state, "I turned to page 2 of 2", "PDF-PAGE-TWO-MARKER")
	h.do("answer_question", map[string]any{"question": "What is in the North cell?"})
	reqs := fm.requests()
	mustContain(t, lastText(reqs[len(reqs)-1]), "PDF-CELL-777", "PDF-PAGE-TWO-MARKER")

	_, obs = h.visit("/pdf.html")
	state, _ = h.do("click", map[string]any{"target_id": h.id(obs, "The paper (PDF)")})
	mustContain(t, state, "PDF-HEADING-ONE")
}

// TestClippedContentIsNotOffered: slides a carousel hides and a collapsed
// menu are neither offered nor read; a click on a stale id of one says
// why.
func TestClippedContentIsNotOffered(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	state, obs := h.visit("/carousel.html")
	mustContain(t, state, "SLIDE-ONE-TEXT", "First slide link")
	mustNotContain(t, state, "SLIDE-TWO-TEXT", "SLIDE-THREE-TEXT", "Second slide link", "COLLAPSED-MENU-TEXT", "Collapsed menu link")
	for _, tg := range obs.Targets {
		if tg.InView && strings.Contains(tg.Name, "Second slide") {
			t.Fatalf("hidden slide offered: %+v", tg)
		}
	}
	// A stale id of the hidden slide's link (as a model might remember).
	tb := h.s.chrome.activeTab()
	id, err := tb.mainWorld().eval(h.ctx, marksJS+`;String(window.__m1.ids.get(document.querySelector('a[href="index.html"]')) || (window.__m1.next++, window.__m1.byId.set(window.__m1.next - 1, document.querySelector('a[href="index.html"]')), window.__m1.ids.set(document.querySelector('a[href="index.html"]'), window.__m1.next - 1), window.__m1.next - 1))`, false)
	if err != nil {
		t.Fatal(err)
	}
	var local int
	for _, c := range id {
		local = local*10 + int(c-'0')
	}
	global := tb.idsFor(tb.ids.doc).global(idKey{doc: tb.ids.doc, local: local})
	state, _ = h.do("click", map[string]any{"target_id": global})
	mustContain(t, state, "hidden inside a box that clips it")
}

// TestCoveredAndAriaHiddenClicks: a click on an element covered by a
// dialog is not made and says what covers it; a click on an aria-hidden
// element says the page marks it hidden.
func TestCoveredAndAriaHiddenClicks(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, obs := h.visit("/carousel.html")
	state, _ := h.do("click", map[string]any{"target_id": h.id(obs, "Decorative button")})
	mustContain(t, state, "PRESSED", "aria-hidden")
	under := h.id(obs, "Button under the dialog")
	h.do("click", map[string]any{"target_id": h.id(obs, "Open dialog")})
	state, _ = h.do("click", map[string]any{"target_id": under})
	mustContain(t, state, "I did not click", "it is covered by", "Newsletter dialog")
	mustNotContain(t, state, "UNDER-PRESSED")
}

// TestSlottedTextOfWebComponent: light-DOM content slotted into a shadow
// root is read where it shows, and its link is offered.
func TestSlottedTextOfWebComponent(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	state, obs := h.visit("/webcomp.html")
	mustContain(t, state, "SLOTTED-TITLE-9", "SLOTTED-BODY-TEXT", "SHADOW-OWN-TEXT", "[a slotted link]")
	mustNotContain(t, state, "Fallback title", "Fallback body")
	h.id(obs, "a slotted link")
	full, err := h.s.chrome.fullText(h.ctx, h.s.chrome.activeTab())
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, full.Text, "SLOTTED-TITLE-9", "SLOTTED-BODY-TEXT")
}

// TestLongURLsAreShortened: long link addresses are cut in the viewport
// text, so the results themselves fit.
func TestLongURLsAreShortened(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	state, _ := h.visit("/longurls.html")
	mustContain(t, state, "[Result title 1](https://www.search.example/ck/a?!&&p=", "…)", "Snippet of result 12.")
	mustNotContain(t, state, strings.Repeat("a", 100))
}

// TestFiveThousandLinks: the in-view target list is capped by the model's
// budget, the most prominent kept and the rest counted.
func TestFiveThousandLinks(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, obs := h.visit("/links5000.html")
	inView, _ := obs.targetLists()
	if len(inView) < 200 {
		t.Fatalf("only %d links in view: the test page is wrong", len(inView))
	}
	for _, window := range []int{128000, 8000} {
		b := budgetFor(window)
		prompt := h.s.pagePrompt(obs, false, b)
		in, _, dropped := obs.cappedTargets(b.inView, b.offScreen)
		if dropped == 0 || len(strings.Join(in, "\n")) > b.inView {
			t.Fatalf("window %d: %d in-view lines kept, %d dropped, budget %d", window, len(in), dropped, b.inView)
		}
		mustContain(t, prompt, "smaller elements in the viewport are not listed")
		if len(prompt) > b.text+b.inView+b.offScreen+fixedPromptBytes {
			t.Fatalf("window %d: prompt of %d bytes", window, len(prompt))
		}
	}
	// The link far down is reached by scrolling, and clicked.
	state, _ := h.do("click", map[string]any{"target_id": h.id(obs, "Link number 1")})
	mustContain(t, state, "4711-ZETA")
}

// TestFailedLoadNamesTheAddress: a click whose page cannot be loaded shows
// the address and the error, not Chrome's chrome-error:// page.
func TestFailedLoadNamesTheAddress(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dead := deadURL(t, "/gone.html")
	_, obs := h.visit("/index.html")
	tb := h.s.chrome.activeTab()
	if _, err := tb.mainWorld().eval(h.ctx, `document.querySelector('a').href = `+"'"+dead+"'"+`; "ok"`, false); err != nil {
		t.Fatal(err)
	}
	state, _ := h.do("click", map[string]any{"target_id": h.id(obs, "Vault")})
	mustContain(t, state, "open to the page ["+dead+"]("+dead+")", "could not be loaded: net::ERR_CONNECTION_REFUSED")
	mustNotContain(t, state, "chrome-error://")
}

// TestNoTestPageWaitsTheCap: no page of the test site, the hard cases
// included (a hung image, a long poll, frames, 5,000 links, a PDF), makes
// visiting it wait the settle cap; only the page that really never
// finishes loading does.
func TestNoTestPageWaitsTheCap(t *testing.T) {
	t.Parallel()
	// The default cap: a loaded test machine takes seconds to lay out
	// 5,000 links.
	h := newHarness(t, WithSettleTimeout(DefaultOptions().SettleTimeout))
	pages, err := filepath.Glob(filepath.Join("..", "..", "testdata", "sites", "*.html"))
	if err != nil {
		t.Fatal(err)
	}
	pages = append(pages, "frames/outer.html", "trail/01.html", "paper.pdf")
	for _, p := range pages {
		p = "/" + strings.TrimPrefix(filepath.ToSlash(p), "../../testdata/sites/")
		if p == "/wedge.html" {
			continue // visiting it is fine; its button hangs it (TestWedgedPageIsReplaced)
		}
		state, _ := h.visit(p)
		if strings.Contains(state, "still loading") {
			// Once more: a page that waits for something it should
			// not (a poll, a hung image) waits the cap every time,
			// while a test machine loaded by other jobs can take the
			// cap once to build the 20,000 paragraphs of huge.html.
			t.Logf("%s waited the cap; visiting it again", p)
			state, _ = h.visit(p)
		}
		mustNotContain(t, state, "still loading")
	}
	state, _ := h.visit("/slow")
	mustContain(t, state, "still loading")
}
