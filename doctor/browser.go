package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/m1-project/m1/runner"
	"github.com/m1-project/m1/surfers/web"
)

// browserCheck starts the WebSurfer's browser headless and closes it.
func browserCheck(ctx context.Context, opts Options) Check {
	c := Check{Name: "chrome", Status: StatusSkip}
	if !slices.Contains(opts.Agents, runner.AgentWeb) {
		c.Message = "skipped: web is not in --agents"
		return c
	}
	ctx, cancel := context.WithTimeout(ctx, browserTimeout)
	defer cancel()
	info, err := web.CheckBrowser(ctx, web.WithBrowserPath(opts.BrowserPath), web.WithCDP(opts.CDP))
	var le *web.LaunchError
	switch {
	case err == nil && opts.CDP != "":
		c.Status, c.Message = StatusOK, fmt.Sprintf("attached to %s (%s)", redactURL(info.Path), info.Product)
	case err == nil:
		c.Status, c.Message, c.Hint = StatusOK, fmt.Sprintf("%s (%s) starts headless", info.Path, info.Product), web.SandboxNote()
	case errors.Is(err, web.ErrNoBrowser):
		c.Status, c.Message = StatusFail, web.ErrNoBrowser.Error()
		c.Hint = "install chromium (apt-get install chromium), or pass --browser-path"
	case errors.Is(err, context.DeadlineExceeded):
		c.Status, c.Message = StatusFail, fmt.Sprintf("%s did not start within %s", info.Path, browserTimeout)
		c.Hint = "check that it is Chrome or Chromium and starts headless (--headless=new)"
	case errors.As(err, &le) && opts.CDP != "":
		c.Status, c.Message = StatusFail, fmt.Sprintf("cannot attach to %s: %v", redactURL(le.Path), le.Err)
		c.Hint = "start Chrome with --remote-debugging-port, or drop --cdp to launch one"
	case errors.As(err, &le) && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission)):
		c.Status, c.Message = StatusFail, fmt.Sprintf("%s: %v", le.Path, pathCause(le.Err))
		c.Hint = "pass --browser-path with a Chrome or Chromium binary, or install chromium (apt-get install chromium)"
	case errors.As(err, &le):
		// chromedp ends its message with a colon when Chrome printed nothing.
		c.Status, c.Message = StatusFail, fmt.Sprintf("%s did not start: %s", le.Path, strings.TrimRight(le.Err.Error(), ": \n"))
		c.Hint = "check that --browser-path is Chrome or Chromium, or install chromium (apt-get install chromium)"
	default:
		c.Status, c.Message = StatusFail, err.Error()
	}
	return c
}
