package web

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/model"
)

// actionGrace is added to the settle cap to bound a whole action.
const actionGrace = 20 * time.Second

// tool is one function the model may call. Each lives in its own file with
// its typed parameter struct.
type tool struct {
	name string
	def  openai.Tool
	// offered reports whether the tool makes sense on this page (scrolling
	// only where the page scrolls); nil means always.
	offered func(o *observation) bool
	run     func(ctx context.Context, s *Surfer, args string) (outcome, error)
}

// outcome is what an action did, in words for the model.
type outcome struct {
	text string
	// final ends the step after this action (an answer was produced).
	final bool
}

// argError is a malformed call (bad JSON, unknown tool, missing argument):
// the model is told and may try again within the step.
type argError struct{ msg string }

func (e *argError) Error() string { return e.msg }

// approvalFunc describes the side effect an action is about to have, or
// returns nil when it has none worth asking about.
type approvalFunc[P any] func(ctx context.Context, s *Surfer, p P) (*agent.ApprovalRequest, error)

// defineTool builds a tool from its parameter struct. The approval wrapper
// asks the Approver before run when approve returns a request; a refusal
// goes back to the model as the action's result.
func defineTool[P any](name, desc string, offered func(*observation) bool, approve approvalFunc[P], run func(ctx context.Context, s *Surfer, p P) (outcome, error)) *tool {
	var zero P
	return &tool{
		name:    name,
		def:     model.Tool(name, desc, zero),
		offered: offered,
		run: func(ctx context.Context, s *Surfer, args string) (outcome, error) {
			var p P
			if err := model.DecodeArgs(args, &p); err != nil {
				return outcome{}, &argError{err.Error()}
			}
			if v, ok := any(p).(interface{ validate() error }); ok {
				if err := v.validate(); err != nil {
					return outcome{}, &argError{fmt.Sprintf("%s: %v", name, err)}
				}
			}
			if approve != nil {
				req, err := approve(ctx, s, p)
				if err != nil {
					return outcome{}, err
				}
				if req != nil {
					req.Agent, req.Kind = agent.WebSurferName, agent.ApproveBrowser
					dec, err := agent.Approve(ctx, s.opts.Approver, *req)
					if err != nil {
						return outcome{}, fmt.Errorf("ask approval for %s: %w", name, err)
					}
					if !dec.Approved {
						return outcome{text: fmt.Sprintf("The user did not approve the action (%s)%s. Choose another way or report back.", req.Action, reason(dec))}, nil
					}
				}
			}
			return run(ctx, s, p)
		},
	}
}

// allTools returns the toolset in the order the model sees it.
func allTools() []*tool {
	return []*tool{
		visitURLTool(), searchWebTool(), historyBackTool(),
		clickTool(), inputTextTool(), hoverTool(), selectOptionTool(),
		scrollUpTool(), scrollDownTool(),
		answerQuestionTool(), summarizePageTool(), sleepTool(),
		switchTabTool(), closeTabTool(),
	}
}

// offeredTools returns the tools that apply to the page o shows.
func (s *Surfer) offeredTools(o *observation) []*tool {
	var out []*tool
	for _, t := range s.tools {
		if t.offered == nil || t.offered(o) {
			out = append(out, t)
		}
	}
	return out
}

// act runs the named tool. Unknown names and malformed arguments are
// argErrors; a browser that died is errBrowserLost.
func (s *Surfer) act(ctx context.Context, name, args string) (outcome, error) {
	for _, t := range s.tools {
		if t.name != name {
			continue
		}
		if s.chrome.activeTab().track.isCrashed() {
			notes, err := s.healTab(ctx)
			if err != nil {
				return outcome{}, err
			}
			return outcome{text: strings.Join(notes, " ") + " The action was not performed; its ids may have changed."}, nil
		}
		// A page that hangs (a script loop, a dead renderer) must not hold
		// the run: every action gets a cap beyond the settle cap, and a
		// watchdog replaces the tab as soon as its page stops answering.
		actx, cancel := context.WithTimeout(ctx, s.opts.SettleTimeout+actionGrace)
		defer cancel()
		tb := s.chrome.activeTab()
		markAction(actx, tb)
		rctx, rcancel := context.WithCancel(actx)
		stop := s.chrome.watch(rctx, tb, rcancel)
		out, err := t.run(rctx, s, args)
		hung := stop()
		rcancel()
		if hung && ctx.Err() == nil && !s.chrome.lost() {
			note, rerr := s.replaceHung(ctx, "during the "+name+" action")
			if rerr != nil {
				return outcome{}, rerr
			}
			if name == "visit_url" || name == "search_web" {
				// Going elsewhere is what the model asked for: the new tab
				// can.
				rctx, rcancel := context.WithTimeout(ctx, s.opts.SettleTimeout+actionGrace)
				defer rcancel()
				if out, err := t.run(rctx, s, args); err == nil {
					return outcome{text: note + "\n" + out.text, final: out.final}, nil
				}
			}
			return outcome{text: note + " The " + name + " action may not have completed."}, nil
		}
		switch {
		case err == nil:
			return out, nil
		case ctx.Err() != nil:
			return out, ctx.Err()
		case s.chrome.lost():
			return out, errBrowserLost
		case errors.Is(err, context.DeadlineExceeded):
			return outcome{text: fmt.Sprintf("The page did not respond within %s; the %s action may not have completed.", s.opts.SettleTimeout+actionGrace, name)}, nil
		}
		return out, err
	}
	names := make([]string, len(s.tools))
	for i, t := range s.tools {
		names[i] = t.name
	}
	return outcome{}, &argError{fmt.Sprintf("there is no tool named %q; call one of: %s", name, strings.Join(names, ", "))}
}

// watchEvery is how often a running action checks that its page still
// answers.
const watchEvery = 500 * time.Millisecond

// watch checks, while an action runs, that tb's page answers a trivial
// evaluation; when one goes unanswered for hangProbe (a script that never
// yields: every command to the page would wait for ever), it calls hung,
// which ends the action. stop ends the watch and reports whether it fired.
// A fast action ends before the first check and costs nothing.
func (c *chrome) watch(ctx context.Context, tb *tab, hung func()) (stop func() bool) {
	done := make(chan struct{})
	ctx, cancel := context.WithCancel(ctx)
	var fired atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTimer(watchEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if !c.answers(ctx, tb, hangProbe) {
				select {
				case <-done:
					return
				default:
				}
				if ctx.Err() == nil {
					fired.Store(true)
					hung()
				}
				return
			}
			t.Reset(watchEvery)
		}
	}()
	return func() bool {
		close(done)
		cancel() // a check under way ends at once
		wg.Wait()
		return fired.Load()
	}
}

// failed turns an error from the page into an outcome the model reads,
// keeping errors that mean the machine broke.
func (s *Surfer) failed(ctx context.Context, what string, err error) (outcome, error) {
	switch {
	case ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded):
		return outcome{}, ctx.Err()
	case s.chrome.lost():
		return outcome{}, errBrowserLost
	case errors.Is(err, context.DeadlineExceeded):
		return outcome{text: fmt.Sprintf("I could not %s: the page did not respond in time.", what)}, nil
	}
	return outcome{text: fmt.Sprintf("I could not %s: %v.", what, err)}, nil
}

// sensitiveWords are button and link texts that suggest an irreversible
// step; clicking them needs approval.
var sensitiveWords = regexp.MustCompile(`(?i)\b(buy|purchase|order|checkout|check out|pay|payment|delete|remove|send|confirm|subscribe|unsubscribe|transfer|donate)\b`)

// requireID is shared validation for tools that take a target id.
func requireID(name string, id int) error {
	if id <= 0 {
		return fmt.Errorf("%s is required: the numeric id of a target from the list", name)
	}
	return nil
}
