package console

import "github.com/m1-project/m1/agent"

// cleanEvent returns a copy of e with every text a person could read made
// safe by Sanitize. The renderer shows nothing of an event but this copy,
// so no path (a tool's result, a ledger's reason, a file name) can forget
// it. The event itself, which goes to the transcript and --json, is left
// exact.
func cleanEvent(e agent.Event) agent.Event {
	// Type and ID are never shown, but a transcript read by `m1 show -`
	// may hold anything, and a valid one is unchanged by Clean.
	e.Type, e.ID, e.Source = Clean(e.Type), Clean(e.ID), Clean(e.Source)
	e.Content, e.Reasoning = Clean(e.Content), Clean(e.Reasoning)
	if len(e.Images) > 0 {
		imgs := make([]agent.Image, len(e.Images))
		for i, img := range e.Images {
			imgs[i] = agent.Image{Path: Clean(img.Path), MIME: Clean(img.MIME)}
		}
		e.Images = imgs
	}
	if e.Ledger != nil {
		l := *e.Ledger
		for _, b := range []*agent.LedgerBool{&l.IsRequestSatisfied, &l.IsInLoop, &l.IsProgressBeingMade} {
			b.Reason = Clean(b.Reason)
		}
		for _, s := range []*agent.LedgerString{&l.NextSpeaker, &l.InstructionOrQuestion} {
			s.Reason, s.Answer = Clean(s.Reason), Clean(s.Answer)
		}
		e.Ledger = &l
	}
	if e.Tool != nil {
		t := *e.Tool
		t.Name, t.Arguments, t.Result = Clean(t.Name), Clean(t.Arguments), Clean(t.Result)
		e.Tool = &t
	}
	if e.Code != nil {
		c := *e.Code
		c.Language, c.Code, c.Filename = Clean(c.Language), Clean(c.Code), Clean(c.Filename)
		c.Executor, c.Output = Clean(c.Executor), Clean(c.Output)
		e.Code = &c
	}
	if e.Approval != nil {
		a := *e.Approval
		a.Agent, a.Kind, a.Action, a.Detail, a.Reason = Clean(a.Agent), Clean(a.Kind), Clean(a.Action), Clean(a.Detail), Clean(a.Reason)
		e.Approval = &a
	}
	e.Status, e.FinalAnswer, e.StopReason, e.SessionID = Clean(e.Status), Clean(e.FinalAnswer), Clean(e.StopReason), Clean(e.SessionID)
	if len(e.Usage) > 0 {
		u := make(map[string]agent.Usage, len(e.Usage))
		for k, v := range e.Usage {
			u[Clean(k)] = v
		}
		e.Usage = u
	}
	return e
}
