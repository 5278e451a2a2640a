package web

import (
	"context"
	"fmt"

	"github.com/chromedp/chromedp"
)

const scrollDownDesc = "Scroll the viewport one screen down, towards the end of the page."

const scrollUpDesc = "Scroll the viewport one screen up, towards the top of the page."

type scrollParams struct {
	Reasoning string `json:"reasoning" description:"Why this action, in one or two sentences."`
}

func scrollDownTool() *tool {
	return defineTool("scroll_down", scrollDownDesc, (*observation).canScrollDown, nil, func(ctx context.Context, s *Surfer, p scrollParams) (outcome, error) {
		return s.scroll(ctx, 1)
	})
}

func scrollUpTool() *tool {
	return defineTool("scroll_up", scrollUpDesc, (*observation).canScrollUp, nil, func(ctx context.Context, s *Surfer, p scrollParams) (outcome, error) {
		return s.scroll(ctx, -1)
	})
}

// scroll moves the document by one viewport height in direction dir.
func (s *Surfer) scroll(ctx context.Context, dir int) (outcome, error) {
	c := s.chrome
	tb := c.activeTab()
	if page, pages, ok := tb.turnPDF(dir); ok {
		return outcome{text: fmt.Sprintf("I turned to page %d of %d of the PDF.", page, pages)}, nil
	}
	tctx, cancel := tb.with(ctx)
	defer cancel()
	js := fmt.Sprintf(`window.scrollBy({top: %d * window.innerHeight, behavior: "instant"})`, dir)
	if err := chromedp.Do(tctx, chromedp.Evaluate[chromedp.Void](js)); err != nil {
		return s.failed(ctx, "scroll", err)
	}
	// Scrolling can load more (lazy images, infinite lists).
	settle(tctx, tb, c.opts.SettleTimeout, -1)
	if dir > 0 {
		return outcome{text: "I scrolled down one page."}, nil
	}
	return outcome{text: "I scrolled up one page."}, nil
}
