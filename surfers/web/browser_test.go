package web

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

func toolNames(ts []*tool) map[string]bool {
	m := map[string]bool{}
	for _, t := range ts {
		m[t.name] = true
	}
	return m
}

func TestNavigateAndClickLinkByID(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	state, obs := h.visit("/index.html")
	mustContain(t, state, "The web browser is open to the page [M1 Test Home]("+h.site.URL+"/)",
		"Welcome to the test site", "[Vault]("+h.site.URL+"/vault.html)")
	mustNotContain(t, state, "4711-ZETA")
	inView, _ := obs.targetLists()
	vault := h.id(obs, "Vault")
	mustContain(t, inView[0]+"\n"+inView[1]+"\n"+inView[2], `"name": "Vault", "role": "link", "tools": ["click", "hover"]}`)

	state, obs = h.do("click", map[string]any{"target_id": vault})
	mustContain(t, state, "I clicked 'Vault'", "[Vault]("+h.site.URL+"/vault.html)", "4711-ZETA")
	if obs.URL != h.site.URL+"/vault.html" {
		t.Fatalf("url = %s", obs.URL)
	}
}

func TestInputTextWithAndWithoutEnter(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, obs := h.visit("/search.html")
	live := h.id(obs, "Live filter")

	state, obs := h.do("input_text", map[string]any{"input_field_id": live, "text_value": "mango", "press_enter": false})
	mustContain(t, state, `I typed "mango" into 'Live filter'`, "Live: mango", "[Search]("+h.site.URL+"/search.html)")
	if tg, _ := obs.target(live); tg.Value != "mango" {
		t.Fatalf("the field's value is %q, want mango", tg.Value)
	}

	// Typing again replaces the text rather than appending to it.
	state, _ = h.do("input_text", map[string]any{"input_field_id": live, "text_value": "kiwi", "press_enter": false})
	mustContain(t, state, "Live: kiwi")

	q := h.id(obs, "Search the catalogue")
	state, obs = h.do("input_text", map[string]any{"input_field_id": q, "text_value": "blue shoes", "press_enter": true})
	mustContain(t, state, "and pressed Enter", "Results for: blue shoes")
	if obs.Title != "Results" {
		t.Fatalf("title = %q after submitting the form", obs.Title)
	}
}

func TestInputTextOnNonTextElement(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, obs := h.visit("/index.html")
	state, _ := h.do("input_text", map[string]any{"input_field_id": h.id(obs, "Vault"), "text_value": "x", "press_enter": false})
	mustContain(t, state, "does not take text")
}

func TestSelectOption(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, obs := h.visit("/select.html")
	colour := h.id(obs, "Colour")
	tg, _ := obs.target(colour)
	if len(tg.Tools) != 1 || tg.Tools[0] != "select_option" {
		t.Fatalf("select tools = %v", tg.Tools)
	}
	state, _ := h.do("select_option", map[string]any{"target_id": colour, "option": "Green"})
	mustContain(t, state, `I chose "Green"`, "Chosen colour: Green")

	state, _ = h.do("select_option", map[string]any{"target_id": colour, "option": "Purple"})
	mustContain(t, state, `has no option "Purple"`, "Red; Green; Blue")
}

func TestHoverChangesPage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	state, obs := h.visit("/hover.html")
	mustNotContain(t, state, "Hovered-42")
	state, _ = h.do("hover", map[string]any{"target_id": h.id(obs, "Products")})
	mustContain(t, state, "I moved the mouse over 'Products'", "Secret menu item: Hovered-42")
}

func TestScrollLongPage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	state, obs := h.visit("/long.html")
	mustContain(t, state, "positioned at the top of the page", "Paragraph 1:")
	mustNotContain(t, state, "END-OF-LONG-PAGE", "Paragraph 150:")
	if offered := toolNames(h.s.offeredTools(obs)); !offered["scroll_down"] || offered["scroll_up"] {
		t.Fatalf("at the top: offered %v", offered)
	}
	if p := obs.viewportPercent(); p >= 50 {
		t.Fatalf("viewport shows %d%% of a long page", p)
	}
	_, off := obs.targetLists()
	mustContain(t, strings.Join(off, "\n"), `"name": "Bottom link"`)

	state, obs = h.do("scroll_down", nil)
	mustContain(t, state, "I scrolled down one page.", "down from the top of the page")
	mustNotContain(t, state, "Paragraph 1:")
	if offered := toolNames(h.s.offeredTools(obs)); !offered["scroll_down"] || !offered["scroll_up"] {
		t.Fatalf("in the middle: offered %v", offered)
	}
	for i := 0; i < 50 && obs.canScrollDown(); i++ {
		state, obs = h.do("scroll_down", nil)
	}
	mustContain(t, state, "positioned at the bottom of the page", "END-OF-LONG-PAGE")
	if offered := toolNames(h.s.offeredTools(obs)); offered["scroll_down"] || !offered["scroll_up"] {
		t.Fatalf("at the bottom: offered %v", offered)
	}
	state, _ = h.do("scroll_up", nil)
	mustContain(t, state, "I scrolled up one page.")
	mustNotContain(t, state, "END-OF-LONG-PAGE")
}

func TestShortPageOffersNoScroll(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, obs := h.visit("/vault.html")
	if offered := toolNames(h.s.offeredTools(obs)); offered["scroll_down"] || offered["scroll_up"] || offered["switch_tab"] || !offered["click"] {
		t.Fatalf("offered %v", offered)
	}
}

func TestHistoryBack(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, obs := h.visit("/index.html")
	h.do("click", map[string]any{"target_id": h.id(obs, "Vault")})
	state, obs := h.do("history_back", nil)
	mustContain(t, state, "I went back one page.", "Welcome to the test site")
	if obs.Title != "M1 Test Home" {
		t.Fatalf("title after back = %q", obs.Title)
	}
	// Ids stay valid after coming back (a new document labels afresh).
	state, _ = h.do("click", map[string]any{"target_id": h.id(obs, "Vault")})
	mustContain(t, state, "4711-ZETA")
}

func TestHistoryBackAtStart(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	state, _ := h.do("history_back", nil)
	mustContain(t, state, "There is no previous page")
}

func TestLinkOpensNewTab(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, obs := h.visit("/newtab.html")
	state, obs := h.do("click", map[string]any{"target_id": h.id(obs, "Open the vault in a new tab")})
	mustContain(t, state, "opened a new tab (tab 1 of 2)", "4711-ZETA", "Open tabs:", "- tab 0: [New tab opener]", "- tab 1: [Vault]("+h.site.URL+"/vault.html) (current)")
	if offered := toolNames(h.s.offeredTools(obs)); !offered["switch_tab"] || !offered["close_tab"] {
		t.Fatalf("with two tabs: offered %v", offered)
	}

	state, _ = h.do("switch_tab", map[string]any{"index": 0})
	mustContain(t, state, "I switched to tab 0.", "[New tab opener]", "- tab 0: [New tab opener]("+h.site.URL+"/newtab.html) (current)")
	mustNotContain(t, state, "4711-ZETA")

	state, _ = h.do("switch_tab", map[string]any{"index": 5})
	mustContain(t, state, "There is no tab 5")

	// Closing the first tab (the one that owns the browser) keeps the other.
	state, obs = h.do("close_tab", nil)
	mustContain(t, state, "I closed tab 0", "4711-ZETA")
	mustNotContain(t, state, "Open tabs:")
	state, _ = h.do("click", map[string]any{"target_id": h.id(obs, "Back home")})
	mustContain(t, state, "Welcome to the test site")
}

func TestDownloadLandsInDownloadDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	h := newHarness(t, WithDownloadDir(dir))
	_, obs := h.visit("/download.html")
	state, _ := h.do("click", map[string]any{"target_id": h.id(obs, "Get the report")})
	want := filepath.Join(dir, "report.csv")
	mustContain(t, state, "Downloaded report.csv to "+want)
	b, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "quarter,revenue\nQ1,100\nQ2,140\n" {
		t.Fatalf("downloaded %q", b)
	}
	// A second download of the same file does not overwrite the first.
	state, _ = h.do("click", map[string]any{"target_id": h.id(obs, "Get the report")})
	mustContain(t, state, "Downloaded report.csv to "+filepath.Join(dir, "report (1).csv"))
}

func TestDownloadRefusedWithoutDir(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, obs := h.visit("/download.html")
	state, _ := h.do("click", map[string]any{"target_id": h.id(obs, "Get the report")})
	mustContain(t, state, "downloads are disabled")
}

func TestPageThatNeverFinishesLoading(t *testing.T) {
	t.Parallel()
	h := newHarness(t, WithSettleTimeout(time.Second))
	start := time.Now()
	state, _ := h.visit("/slow")
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("observation took %s with a 1s cap", d)
	}
	mustContain(t, state, "still loading", "Partial content")
}

func TestBlockedDomain(t *testing.T) {
	t.Parallel()
	h := newHarness(t, WithBlockDomains("blocked.example", "localhost"))
	state, _ := h.do("visit_url", map[string]any{"url": "https://www.blocked.example/page"})
	mustContain(t, state, "I did not open https://www.blocked.example/page", "blocked")

	// A link to a blocked host is refused too: clicks cannot escape.
	_, obs := h.visit("/escape.html")
	state, obs = h.do("click", map[string]any{"target_id": h.id(obs, "Escape link")})
	mustContain(t, state, "The browser refused to open http://localhost:", "the domain localhost is blocked")
	mustNotContain(t, state, "4711-ZETA")
	_ = obs
}

func TestAllowDomains(t *testing.T) {
	t.Parallel()
	h := newHarness(t, WithAllowDomains("127.0.0.1"))
	state, _ := h.visit("/vault.html")
	mustContain(t, state, "4711-ZETA")
	state, _ = h.do("visit_url", map[string]any{"url": "https://example.com/"})
	mustContain(t, state, "not in the allowed domains")
}

func TestClickVanishedElement(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, obs := h.visit("/vanish.html")
	eph := h.id(obs, "Ephemeral link")
	state, obs := h.do("click", map[string]any{"target_id": h.id(obs, "Remove the link")})
	mustNotContain(t, state, "Ephemeral link")
	state, _ = h.do("click", map[string]any{"target_id": eph})
	mustContain(t, state, "I could not click", "no longer on the page")
	state, _ = h.do("click", map[string]any{"target_id": 9999})
	mustContain(t, state, "there is no element with id 9999")
}

// deadURL is an address on a loopback port nothing listens on any more:
// loading it is refused.
func deadURL(t *testing.T, path string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "http://" + l.Addr().String() + path
}

func TestNavigationError(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	u := deadURL(t, "/")
	state, _ := h.do("visit_url", map[string]any{"url": u})
	mustContain(t, state, "Navigation to "+u+" failed: net::ERR_CONNECTION_REFUSED")
	// The surfer goes on.
	state, _ = h.visit("/vault.html")
	mustContain(t, state, "4711-ZETA")
}

func TestBrowserKilledIsRelaunched(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.visit("/vault.html")
	first := h.s.chrome.profileDir
	p := chromedp.FromContext(h.s.chrome.rootCtx).Browser.Process()
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	// The next action notices, relaunches and reopens the page.
	state, _ := h.do("scroll_down", nil)
	mustContain(t, state, "The browser stopped during the action", "was restarted", "4711-ZETA")
	if h.s.chrome.profileDir == first {
		t.Fatalf("profile dir not renewed")
	}
	assertNoChrome(t, first)
}

func TestCrashedTabIsReloaded(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.visit("/vault.html")
	tb := h.s.chrome.activeTab()
	tctx, cancel := tb.with(h.ctx)
	go func() { _, _ = chromedp.Call(tctx, page.Crash, cdp.Empty{}) }() // answers never, the renderer dies
	deadline := time.Now().Add(10 * time.Second)
	for !tb.track.isCrashed() {
		if time.Now().After(deadline) {
			t.Fatal("no crash event")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	start := time.Now()
	o, err := h.s.chrome.observe(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("observing a crashed tab took %s", d)
	}
	mustContain(t, o.stateText(), "The tab has crashed")
	// The next action reloads it first.
	state, _ := h.do("scroll_down", nil)
	mustContain(t, state, "The tab had crashed and was reloaded", "The action was not performed", "4711-ZETA")
}

func TestAttachWithCDP(t *testing.T) {
	t.Parallel()
	requireChrome(t)
	site := newSite(t)
	path, _ := findBrowser("")
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, path, "--headless", "--no-sandbox", "--remote-debugging-port=0",
		"--user-data-dir="+dir, "--no-first-run", "--disable-background-networking", "--disable-component-update", "about:blank")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		for deadline := time.Now().Add(5 * time.Second); len(processesUsing(dir)) > 0; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Errorf("chrome processes %v outlive the test", processesUsing(dir))
				break
			}
		}
	})
	var ws string
	for deadline := time.Now().Add(20 * time.Second); ws == ""; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("chrome wrote no DevToolsActivePort")
		}
		b, err := os.ReadFile(filepath.Join(dir, "DevToolsActivePort"))
		if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); err == nil && len(lines) == 2 {
			ws = "ws://127.0.0.1:" + lines[0] + lines[1]
		}
	}
	s := New(&fakeModel{}, WithCDP(ws))
	h := &harness{t: t, s: s, site: site, ctx: context.Background()}
	if _, err := s.ensure(h.ctx); err != nil {
		t.Fatal(err)
	}
	state, _ := h.visit("/vault.html")
	mustContain(t, state, "4711-ZETA")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The attached browser outlives the surfer.
	if cmd.ProcessState != nil {
		t.Fatal("closing the surfer stopped the attached browser")
	}
	if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("attached browser gone after Close: %v", err)
	}
}
