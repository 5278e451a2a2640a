package web

import (
	"context"
	"fmt"
	"time"
)

const sleepDesc = "Wait a few seconds for a page that is still loading or changing, then look again."

// maxSleep bounds one sleep call.
const maxSleep = 60 * time.Second

type sleepParams struct {
	Reasoning string  `json:"reasoning" description:"Why this action, in one or two sentences."`
	Seconds   float64 `json:"seconds" description:"How long to wait, in seconds (default 3, at most 60)."`
}

func sleepTool() *tool {
	return defineTool("sleep", sleepDesc, nil, nil, func(ctx context.Context, s *Surfer, p sleepParams) (outcome, error) {
		d := time.Duration(p.Seconds * float64(time.Second))
		if d <= 0 {
			d = 3 * time.Second
		}
		d = min(d, maxSleep)
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return outcome{}, ctx.Err()
		}
		tb := s.chrome.activeTab()
		tctx, cancel := tb.with(ctx)
		defer cancel()
		settle(tctx, tb, s.opts.SettleTimeout, -1)
		return outcome{text: fmt.Sprintf("I waited %s.", d)}, nil
	})
}
