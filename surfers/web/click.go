package web

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/domdebugger"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/runtime"
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
		if pr.Covered != "" {
			// A click there would reach the cover (a dialog, an overlay),
			// not the element: say so rather than click something else.
			return outcome{text: fmt.Sprintf("I did not click %s: it is covered by %q at its place on the screen; deal with that first (close it, or scroll).", describe(pr, p.TargetID), pr.Covered)}, nil
		}
		tctx, cancel := tb.with(ctx)
		defer cancel()
		if err := chromedp.Do(tctx,
			chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, pr.X, pr.Y),
			chromedp.MouseClickXY(pr.X, pr.Y),
		); err != nil {
			return s.failed(ctx, fmt.Sprintf("click %d", p.TargetID), err)
		}
		if pr.Download {
			tb.mu.Lock()
			tb.expectDownload = true
			tb.mu.Unlock()
		}
		text := fmt.Sprintf("I clicked %s.", describe(pr, p.TargetID))
		if pr.AriaHidden {
			text += " The page marks that element as hidden (aria-hidden), so it may be inactive."
		}
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

// approveClick asks before every click when an approver is set: any
// element can carry a script that changes something (a div whose handler
// posts a form, a link that deletes), so guessing from its text is not
// enough. The reason said is the likeliest effect. The element's name goes
// into the request as the page wrote it; the side that prints it makes
// control characters visible and says so.
func approveClick(ctx context.Context, s *Surfer, p clickParams) (*agent.ApprovalRequest, error) {
	if s.opts.Approver == nil {
		return nil, nil
	}
	pr, err := prepareTarget(ctx, s.chrome.activeTab(), p.TargetID)
	if err != nil || !pr.OK {
		return nil, nil // the click itself reports the problem
	}
	why := "may run the page's scripts, which can change things"
	switch {
	case pr.Submits:
		why = "submits a form"
	case pr.Download:
		why = "starts a download"
	case sensitiveWords.MatchString(pr.Name):
		why = "looks like an irreversible step"
	case pr.Href != "" && !pr.NewTab:
		why = "opens " + pr.Href
	case pr.NewTab:
		why = "opens a new tab"
	}
	return &agent.ApprovalRequest{
		Action: fmt.Sprintf("click %s on %s", describe(pr, p.TargetID), s.chrome.lastURL),
		Detail: fmt.Sprintf("The element %s. Reason given: %s", why, p.Reasoning),
	}, nil
}

// approveHover asks before a hover when an approver is set and a script
// listens for the pointer on the element, one of its ancestors or the page
// (a mouseover handler can post as a click can); a hover that only opens a
// CSS menu is not asked about.
func approveHover(ctx context.Context, s *Surfer, p hoverParams) (*agent.ApprovalRequest, error) {
	if s.opts.Approver == nil {
		return nil, nil
	}
	tb := s.chrome.activeTab()
	pr, err := prepareTarget(ctx, tb, p.TargetID)
	if err != nil || !pr.OK {
		return nil, nil
	}
	on, err := pointerListeners(ctx, tb, p.TargetID)
	if err != nil || len(on) == 0 {
		return nil, nil
	}
	return &agent.ApprovalRequest{
		Action: fmt.Sprintf("hover over %s on %s", describe(pr, p.TargetID), s.chrome.lastURL),
		Detail: fmt.Sprintf("Scripts of the page listen for the pointer there (%s) and can change things. Reason given: %s", strings.Join(on, ", "), p.Reasoning),
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
	return defineTool("hover", hoverDesc, nil, approveHover, func(ctx context.Context, s *Surfer, p hoverParams) (outcome, error) {
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

// hoverEvents are the events a hover fires.
var hoverEvents = map[string]bool{
	"mouseover": true, "mouseenter": true, "mousemove": true,
	"pointerover": true, "pointerenter": true, "pointermove": true,
}

// pointerListeners lists the hover events scripts listen for on target id,
// its ancestors (across shadow roots), the document and the window. The
// page's listeners belong to its own world, so the element is looked at
// there.
func pointerListeners(ctx context.Context, tb *tab, id int) ([]string, error) {
	w, _, local, ok := tb.locate(id)
	if !ok {
		return nil, fmt.Errorf("no element %d", id)
	}
	ctxID, err := w.ensure(ctx)
	if err != nil {
		return nil, err
	}
	sctx, cancel := withStop(ctx, w.sess)
	defer cancel()
	return chromedp.Run(sctx, func(ctx context.Context, t *chromedp.Target) ([]string, error) {
		const group = "m1-hover"
		defer func() {
			_, _ = cdp.Call(ctx, t, runtime.ReleaseObjectGroup, runtime.ReleaseObjectGroupParams{ObjectGroup: group})
		}()
		res, err := cdp.Call(ctx, t, runtime.Evaluate, runtime.EvaluateParams{
			Expression: marksJS + "\n;window.__m1.element(" + strconv.Itoa(local) + ")", ContextID: ctxID, ObjectGroup: group,
		})
		if err != nil {
			return nil, err
		}
		if res.ExceptionDetails != nil || res.Result == nil || res.Result.ObjectID == "" {
			return nil, fmt.Errorf("find element %d", id)
		}
		node, err := cdp.Call(ctx, t, dom.DescribeNode, dom.DescribeNodeParams{ObjectID: res.Result.ObjectID})
		if err != nil || node.Node == nil {
			return nil, fmt.Errorf("find element %d: %v", id, err)
		}
		inPage, err := cdp.Call(ctx, t, dom.ResolveNode, dom.ResolveNodeParams{BackendNodeID: node.Node.BackendNodeID, ObjectGroup: group})
		if err != nil || inPage.Object == nil {
			return nil, fmt.Errorf("find element %d: %v", id, err)
		}
		chain, err := cdp.Call(ctx, t, runtime.CallFunctionOn, runtime.CallFunctionOnParams{
			ObjectID:            inPage.Object.ObjectID,
			FunctionDeclaration: `function() { const out = []; for (let n = this; n; n = n.parentNode || n.host) { out.push(n); if (n.nodeType === 9 && n.defaultView) out.push(n.defaultView); } return out; }`,
			ObjectGroup:         group,
		})
		if err != nil || chain.Result == nil || chain.Result.ObjectID == "" {
			return nil, fmt.Errorf("walk up from element %d: %v", id, err)
		}
		props, err := cdp.Call(ctx, t, runtime.GetProperties, runtime.GetPropertiesParams{ObjectID: chain.Result.ObjectID, OwnProperties: ptr(true)})
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		var on []string
		for _, pd := range props.Result {
			if pd.Value == nil || pd.Value.ObjectID == "" {
				continue
			}
			if _, err := strconv.Atoi(pd.Name); err != nil {
				continue
			}
			ls, err := cdp.Call(ctx, t, domdebugger.GetEventListeners, domdebugger.GetEventListenersParams{ObjectID: pd.Value.ObjectID, Depth: ptr[int64](0)})
			if err != nil {
				continue
			}
			for _, l := range ls.Listeners {
				if hoverEvents[l.Type] && !seen[l.Type] {
					seen[l.Type] = true
					on = append(on, l.Type)
				}
			}
		}
		return on, nil
	})
}
