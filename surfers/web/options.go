package web

import (
	"time"

	"github.com/m1-project/m1/agent"
)

// Options configure a Surfer. Start from DefaultOptions and change what you
// need, or pass Option funcs to New.
type Options struct {
	// BrowserPath is the Chrome or Chromium binary. Empty means look for
	// chromium, chromium-browser, google-chrome and google-chrome-stable in
	// PATH.
	BrowserPath string
	// CDPURL, when set, attaches to a running Chrome (a ws:// or http://
	// DevTools address) instead of launching one.
	CDPURL string
	// Headless runs the launched browser without a window.
	Headless bool
	// ViewportWidth and ViewportHeight are the page viewport in CSS pixels.
	ViewportWidth, ViewportHeight int
	// ModelImageWidth and ModelImageHeight are the size the screenshot is
	// scaled to before it goes to a vision model.
	ModelImageWidth, ModelImageHeight int
	// SettleTimeout caps the wait for a page to load and the network to go
	// quiet after an action. The observation is taken when it runs out.
	SettleTimeout time.Duration
	// ScreenshotDir is where each screenshot is saved as PNG (the session
	// directory). Empty means screenshots are not saved. Screenshots are
	// taken for vision models only, unless TextScreenshots is set.
	ScreenshotDir string
	// TextScreenshots takes (and saves) a screenshot at every observation
	// for text models too, for the transcript; they cost about 100 ms an
	// observation and the model never sees them.
	TextScreenshots bool
	// DownloadDir is where downloads land. Empty means downloads are
	// refused.
	DownloadDir string
	// AllowDomains, when not empty, is the only set of domains (and their
	// subdomains) the browser may load pages from.
	AllowDomains []string
	// BlockDomains are domains (and their subdomains) the browser must not
	// load pages from. They win over AllowDomains.
	BlockDomains []string
	// SearchEngine is the search_web URL template; {query} (or %s) is
	// replaced by the escaped query.
	SearchEngine string
	// StartPage is opened when the browser starts and on Reset.
	StartPage string
	// Approver is asked before actions with side effects (typing, submitting,
	// buying, downloading). Nil approves everything.
	Approver agent.Approver
	// MaxSteps is how many browser actions one Step may take. Each model call
	// still yields exactly one action; more than one lets the surfer chain a
	// few actions before it reports back.
	MaxSteps int
}

// DefaultOptions returns the options New starts from: a headless 1440x900
// browser, a 10 s settle cap, Bing for searches, about:blank as the start
// page (the network is often closed; nothing is fetched at start) and one
// action per step, as in Magentic-One.
func DefaultOptions() Options {
	return Options{
		Headless:         true,
		ViewportWidth:    1440,
		ViewportHeight:   900,
		ModelImageWidth:  1224,
		ModelImageHeight: 765,
		SettleTimeout:    10 * time.Second,
		SearchEngine:     "https://www.bing.com/search?q={query}",
		StartPage:        "about:blank",
		MaxSteps:         1,
	}
}

// Option changes the Options of a Surfer.
type Option func(*Options)

// WithOptions replaces all options at once, for callers that built an
// Options value from DefaultOptions.
func WithOptions(o Options) Option { return func(p *Options) { *p = o } }

// WithBrowserPath picks the Chrome or Chromium binary to launch.
func WithBrowserPath(path string) Option { return func(o *Options) { o.BrowserPath = path } }

// WithCDP attaches to a running Chrome at the DevTools address url instead of
// launching one. Close then closes only the surfer's tabs.
func WithCDP(url string) Option { return func(o *Options) { o.CDPURL = url } }

// WithHeadless chooses between a headless browser (the default) and a
// visible window.
func WithHeadless(headless bool) Option { return func(o *Options) { o.Headless = headless } }

// WithViewport sets the viewport size in CSS pixels (default 1440x900).
func WithViewport(width, height int) Option {
	return func(o *Options) { o.ViewportWidth, o.ViewportHeight = width, height }
}

// WithModelImageSize sets the size screenshots are scaled to for vision
// models (default 1224x765).
func WithModelImageSize(width, height int) Option {
	return func(o *Options) { o.ModelImageWidth, o.ModelImageHeight = width, height }
}

// WithSettleTimeout caps the wait for load and network quiet after each
// action (default 10 s).
func WithSettleTimeout(d time.Duration) Option { return func(o *Options) { o.SettleTimeout = d } }

// WithScreenshotDir saves each screenshot as a PNG in dir, normally the
// session directory.
func WithScreenshotDir(dir string) Option { return func(o *Options) { o.ScreenshotDir = dir } }

// WithTextScreenshots takes and saves screenshots for text models too,
// for the transcript (the model does not see them).
func WithTextScreenshots(on bool) Option { return func(o *Options) { o.TextScreenshots = on } }

// WithDownloadDir lets the browser save downloads in dir, normally the work
// directory's downloads/ folder. Without it downloads are refused.
func WithDownloadDir(dir string) Option { return func(o *Options) { o.DownloadDir = dir } }

// WithAllowDomains limits browsing to these domains and their subdomains.
func WithAllowDomains(domains ...string) Option {
	return func(o *Options) { o.AllowDomains = append(o.AllowDomains, domains...) }
}

// WithBlockDomains forbids these domains and their subdomains.
func WithBlockDomains(domains ...string) Option {
	return func(o *Options) { o.BlockDomains = append(o.BlockDomains, domains...) }
}

// WithSearchEngine sets the search_web URL template, with {query} or %s where
// the escaped query goes.
func WithSearchEngine(template string) Option { return func(o *Options) { o.SearchEngine = template } }

// WithStartPage sets the page opened at start and on Reset (default
// about:blank).
func WithStartPage(url string) Option { return func(o *Options) { o.StartPage = url } }

// WithApprover asks a before actions with side effects.
func WithApprover(a agent.Approver) Option { return func(o *Options) { o.Approver = a } }

// WithMaxSteps lets one Step chain up to n actions, one per model call
// (default 1).
func WithMaxSteps(n int) Option { return func(o *Options) { o.MaxSteps = n } }
