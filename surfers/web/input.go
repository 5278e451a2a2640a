package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/m1-project/m1/agent"
)

const inputTextDesc = "Type text into an input field by its numeric id, replacing what it holds, and optionally press Enter (which submits most search forms)."

type inputTextParams struct {
	Reasoning    string `json:"reasoning" description:"Why this action, in one or two sentences."`
	InputFieldID int    `json:"input_field_id" description:"The numeric id of the input field."`
	TextValue    string `json:"text_value" description:"The text to type."`
	PressEnter   bool   `json:"press_enter" description:"Whether to press Enter after typing."`
}

func (p inputTextParams) validate() error { return requireID("input_field_id", p.InputFieldID) }

func inputTextTool() *tool {
	return defineTool("input_text", inputTextDesc, nil, approveInput, func(ctx context.Context, s *Surfer, p inputTextParams) (outcome, error) {
		c := s.chrome
		tb := c.activeTab()
		id := p.InputFieldID
		pr, err := prepareTarget(ctx, tb, id)
		if err != nil {
			return s.failed(ctx, fmt.Sprintf("type into %d", id), err)
		}
		if !pr.OK {
			return outcome{text: fmt.Sprintf("I could not type into %d: %s.", id, vanished(pr, id))}, nil
		}
		if pr.Select {
			return outcome{text: fmt.Sprintf("Element %d is a drop-down list; use select_option to choose from it.", id)}, nil
		}
		if !pr.Text {
			return outcome{text: fmt.Sprintf("Element %d (%s) does not take text; use click instead.", id, pr.Role)}, nil
		}
		if pr.Covered != "" {
			return outcome{text: fmt.Sprintf("I did not type into %s: it is covered by %q at its place on the screen; deal with that first (close it, or scroll).", describe(pr, id), pr.Covered)}, nil
		}
		tctx, cancel := tb.with(ctx)
		defer cancel()
		if _, f, _, _ := tb.locate(id); f != nil {
			// A field in a frame gets the focus as a user gives it: a click
			// (a frame of another site may not take focus from a script).
			if err := chromedp.Do(tctx, chromedp.MouseClickXY(pr.X, pr.Y)); err != nil {
				return s.failed(ctx, fmt.Sprintf("type into %d", id), err)
			}
		}
		ok, _, _, err := callTarget[bool](ctx, tb, id, "focusForTyping")
		if err != nil {
			return s.failed(ctx, fmt.Sprintf("type into %d", id), err)
		}
		if !ok {
			return outcome{text: fmt.Sprintf("I could not type into %d: it is no longer on the page.", id)}, nil
		}
		// insertText goes through the editor like typing does, so pages
		// that watch input events (frameworks, autocompletes) see it.
		if p.TextValue == "" {
			err = keyPress(tctx, "Delete", "Delete", 46, "")
		} else {
			_, err = chromedp.Call(tctx, input.InsertText, input.InsertTextParams{Text: p.TextValue})
		}
		if err != nil {
			return s.failed(ctx, fmt.Sprintf("type into %d", id), err)
		}
		text := fmt.Sprintf("I typed %q into %s.", p.TextValue, describe(pr, id))
		if p.PressEnter {
			if err := keyPress(tctx, "Enter", "Enter", 13, "\r"); err != nil {
				return s.failed(ctx, "press Enter", err)
			}
			text = fmt.Sprintf("I typed %q into %s and pressed Enter.", p.TextValue, describe(pr, id))
		}
		if settle(tctx, tb, c.opts.SettleTimeout, -1) {
			text += " The page was still loading when read."
		}
		return outcome{text: text}, nil
	})
}

// approveInput asks before typing: text may be sent to a site, and Enter
// submits.
func approveInput(ctx context.Context, s *Surfer, p inputTextParams) (*agent.ApprovalRequest, error) {
	if s.opts.Approver == nil {
		return nil, nil
	}
	action := fmt.Sprintf("type into field %d on %s", p.InputFieldID, s.chrome.lastURL)
	if pr, err := prepareTarget(ctx, s.chrome.activeTab(), p.InputFieldID); err == nil && pr.OK {
		action = fmt.Sprintf("type into %s on %s", describe(pr, p.InputFieldID), s.chrome.lastURL)
	}
	if p.PressEnter {
		action += " and press Enter"
	}
	return &agent.ApprovalRequest{Action: action, Detail: p.TextValue}, nil
}

// approveSelect asks before choosing in a drop-down when an approver is
// set: a change handler can submit or navigate (a jump menu) as a click
// can.
func approveSelect(ctx context.Context, s *Surfer, p selectOptionParams) (*agent.ApprovalRequest, error) {
	if s.opts.Approver == nil {
		return nil, nil
	}
	what := fmt.Sprintf("drop-down %d", p.TargetID)
	if pr, err := prepareTarget(ctx, s.chrome.activeTab(), p.TargetID); err == nil && pr.OK {
		what = describe(pr, p.TargetID)
	}
	return &agent.ApprovalRequest{
		Action: fmt.Sprintf("choose %q in %s on %s", p.Option, what, s.chrome.lastURL),
		Detail: fmt.Sprintf("A change of choice can run the page's scripts, which can submit or navigate. Reason given: %s", p.Reasoning),
	}, nil
}

// keyPress sends one key down and up.
func keyPress(ctx context.Context, key, code string, vk int64, text string) error {
	for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeKeyDown, input.DispatchKeyEventTypeKeyUp} {
		p := input.DispatchKeyEventParams{Type: typ, Key: key, Code: code, WindowsVirtualKeyCode: vk, NativeVirtualKeyCode: vk}
		if typ == input.DispatchKeyEventTypeKeyDown {
			p.Text = text
		}
		if _, err := chromedp.Call(ctx, input.DispatchKeyEvent, p); err != nil {
			return err
		}
	}
	return nil
}

const selectOptionDesc = "Choose an option of a drop-down list (<select>) by its numeric id and the option's visible text."

type selectOptionParams struct {
	Reasoning string `json:"reasoning" description:"Why this action, in one or two sentences."`
	TargetID  int    `json:"target_id" description:"The numeric id of the drop-down list."`
	Option    string `json:"option" description:"The visible text (or value) of the option to choose."`
}

func (p selectOptionParams) validate() error {
	if err := requireID("target_id", p.TargetID); err != nil {
		return err
	}
	if strings.TrimSpace(p.Option) == "" {
		return errors.New("option is required")
	}
	return nil
}

func selectOptionTool() *tool {
	return defineTool("select_option", selectOptionDesc, nil, approveSelect, func(ctx context.Context, s *Surfer, p selectOptionParams) (outcome, error) {
		c := s.chrome
		tb := c.activeTab()
		arg, _ := json.Marshal(p.Option)
		res, _, found, err := callTarget[prepared](ctx, tb, p.TargetID, "selectOption", string(arg))
		if !found {
			res.Reason = "unknown"
		}
		if err != nil {
			return s.failed(ctx, fmt.Sprintf("choose %q in %d", p.Option, p.TargetID), err)
		}
		if !res.OK {
			switch res.Reason {
			case "notselect":
				return outcome{text: fmt.Sprintf("Element %d is not a drop-down list; click it to open it instead.", p.TargetID)}, nil
			case "nooption":
				return outcome{text: fmt.Sprintf("Drop-down %d has no option %q; its options are: %s.", p.TargetID, p.Option, strings.Join(res.Options, "; "))}, nil
			}
			return outcome{text: fmt.Sprintf("I could not choose in %d: %s.", p.TargetID, vanished(res, p.TargetID))}, nil
		}
		tctx, cancel := tb.with(ctx)
		defer cancel()
		settle(tctx, tb, c.opts.SettleTimeout, -1)
		return outcome{text: fmt.Sprintf("I chose %q in drop-down %d.", res.Chosen, p.TargetID)}, nil
	})
}
