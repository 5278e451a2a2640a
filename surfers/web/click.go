package web

import (
	"context"
	"fmt"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/m1-project/m1/agent"
)

const clickDesc = "Click an interactive element by its numeric id from the list of targets."

type clickParams struct {
	Reasoning string `json:"reasoning" description:"Why this action, in one or two sentences."`
	TargetID  int    `json:"target_id" description:"The numeric id of the element to click."`
}

func (p clickParams) validate() error { return requireID("target_id", p.TargetID) }

func clickTool() *tool {
	return defineTool("click", clickDesc, nil, approveClick, func(ctx context.Context, s *Surfer, p clickParams) (outcome, error) {
		c := s.chrome
		tb := c.activeTab()
		pr, err := prepareTarget(ctx, tb, p.TargetID)
		if err != nil {
			return s.failed(ctx, fmt.Sprintf("click %d", p.TargetID), err)
		}
		if !pr.OK {
			return outcome{text: fmt.Sprintf("I could not click %d: %s.", p.TargetID, vanished(pr, p.TargetID))}, nil
		}
		if pr.Select {
			return outcome{text: fmt.Sprintf("Element %d is a drop-down list; use select_option to choose from it.", p.TargetID)}, nil
		}
		tctx, cancel := tb.with(ctx)
		defer cancel()
		if err := chromedp.Do(tctx,
			chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, pr.X, pr.Y),
			chromedp.MouseClickXY(pr.X, pr.Y),
		); err != nil {
			return s.failed(ctx, fmt.Sprintf("click %d", p.TargetID), err)
		}
		text := fmt.Sprintf("I clicked %s.", describe(pr, p.TargetID))
		if pr.NewTab {
			// The tab it opens arrives as a browser event; give it the cap.
			c.waitPopup(ctx, c.opts.SettleTimeout)
		}
		if settle(tctx, tb, c.opts.SettleTimeout, -1) {
			text += " The page was still loading when read."
		}
		return outcome{text: text}, nil
	})
}

// approveClick asks before clicks that submit a form or whose text reads
// like an irreversible step.
func approveClick(ctx context.Context, s *Surfer, p clickParams) (*agent.ApprovalRequest, error) {
	pr, err := prepareTarget(ctx, s.chrome.activeTab(), p.TargetID)
	if err != nil || !pr.OK {
		return nil, nil // the click itself reports the problem
	}
	why := ""
	switch {
	case pr.Submits:
		why = "submits a form"
	case sensitiveWords.MatchString(pr.Name):
		why = "looks like an irreversible step"
	case pr.Download:
		why = "starts a download"
	default:
		return nil, nil
	}
	return &agent.ApprovalRequest{
		Action: fmt.Sprintf("click %s on %s", describe(pr, p.TargetID), s.chrome.lastURL),
		Detail: fmt.Sprintf("The element %s. Reason given: %s", why, p.Reasoning),
	}, nil
}

// describe names a target for the state text.
func describe(pr prepared, id int) string {
	name := pr.Name
	if name == "" {
		return fmt.Sprintf("element %d (%s)", id, pr.Role)
	}
	return fmt.Sprintf("'%s' (%s %d)", name, pr.Role, id)
}

const hoverDesc = "Move the mouse over an element by its numeric id, e.g. to open a menu or show a tooltip."

type hoverParams struct {
	Reasoning string `json:"reasoning" description:"Why this action, in one or two sentences."`
	TargetID  int    `json:"target_id" description:"The numeric id of the element to hover over."`
}

func (p hoverParams) validate() error { return requireID("target_id", p.TargetID) }

func hoverTool() *tool {
	return defineTool("hover", hoverDesc, nil, nil, func(ctx context.Context, s *Surfer, p hoverParams) (outcome, error) {
		c := s.chrome
		tb := c.activeTab()
		pr, err := prepareTarget(ctx, tb, p.TargetID)
		if err != nil {
			return s.failed(ctx, fmt.Sprintf("hover over %d", p.TargetID), err)
		}
		if !pr.OK {
			return outcome{text: fmt.Sprintf("I could not hover over %d: %s.", p.TargetID, vanished(pr, p.TargetID))}, nil
		}
		tctx, cancel := tb.with(ctx)
		defer cancel()
		if err := chromedp.Do(tctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, pr.X, pr.Y)); err != nil {
			return s.failed(ctx, fmt.Sprintf("hover over %d", p.TargetID), err)
		}
		settle(tctx, tb, c.opts.SettleTimeout, -1)
		return outcome{text: fmt.Sprintf("I moved the mouse over %s.", describe(pr, p.TargetID))}, nil
	})
}
