package web

import (
	"context"
	"fmt"
)

const switchTabDesc = "Switch to another open tab by its index in the list of open tabs (0 is the first)."

type switchTabParams struct {
	Reasoning string `json:"reasoning" description:"Why this action, in one or two sentences."`
	Index     int    `json:"index" description:"The index of the tab to switch to."`
}

func manyTabs(o *observation) bool { return len(o.tabs) > 1 }

func switchTabTool() *tool {
	return defineTool("switch_tab", switchTabDesc, manyTabs, nil, func(ctx context.Context, s *Surfer, p switchTabParams) (outcome, error) {
		c := s.chrome
		if p.Index < 0 || p.Index >= len(c.tabs) {
			return outcome{text: fmt.Sprintf("There is no tab %d; the open tabs are 0 to %d.", p.Index, len(c.tabs)-1)}, nil
		}
		c.active = p.Index
		c.activate(ctx, c.activeTab())
		return outcome{text: fmt.Sprintf("I switched to tab %d.", p.Index)}, nil
	})
}

const closeTabDesc = "Close the current tab and go back to the tab left of it."

type closeTabParams struct {
	Reasoning string `json:"reasoning" description:"Why this action, in one or two sentences."`
}

func closeTabTool() *tool {
	return defineTool("close_tab", closeTabDesc, manyTabs, nil, func(ctx context.Context, s *Surfer, p closeTabParams) (outcome, error) {
		c := s.chrome
		if len(c.tabs) < 2 {
			return outcome{text: "This is the only tab; it stays open."}, nil
		}
		i := c.active
		c.closeTab(ctx, i)
		return outcome{text: fmt.Sprintf("I closed tab %d; tab %d is now current.", i, c.active)}, nil
	})
}
