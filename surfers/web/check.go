package web

import (
	"context"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
)

// BrowserInfo is what CheckBrowser found.
type BrowserInfo struct {
	// Path is the binary that was launched, or the DevTools address
	// attached to.
	Path string
	// Product is the browser's name and version, e.g.
	// "HeadlessChrome/131.0.6778.85".
	Product string
}

// CheckBrowser starts the browser a Surfer made with opts would use, the
// same way (found in PATH or at WithBrowserPath, or attached with WithCDP),
// asks its version and closes it again; no process of it is left when it
// returns. m1 doctor uses it to tell whether the WebSurfer can work on this
// machine. ctx bounds the whole check. Its errors are *LaunchError, or
// ctx's error when ctx ends first.
func CheckBrowser(ctx context.Context, opts ...Option) (BrowserInfo, error) {
	o := DefaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	return newChrome(ctx, o).check(ctx)
}

// check launches c, reads the version and shuts c down.
func (c *chrome) check(ctx context.Context) (BrowserInfo, error) {
	info := BrowserInfo{Path: c.opts.CDPURL}
	if info.Path == "" {
		info.Path, _ = findBrowser(c.opts.BrowserPath)
	}
	if err := c.launch(ctx); err != nil {
		return info, err
	}
	defer c.shutdown()
	cctx, cancel := withStop(ctx, c.rootCtx)
	defer cancel()
	v, err := chromedp.CallBrowser(cctx, cdpbrowser.GetVersion, cdp.Empty{})
	if err != nil {
		if ctx.Err() != nil {
			return info, ctx.Err()
		}
		return info, &LaunchError{Path: info.Path, Err: err}
	}
	info.Product = v.Product
	return info, nil
}
