package serve

import (
	"context"
	"fmt"
	"strings"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/m1-project/m1/runner"
	"github.com/m1-project/m1/session"
)

// resumeSessionParams are resume_session's arguments.
type resumeSessionParams struct {
	SessionID      string  `json:"session_id" jsonschema:"the session to continue, as run_task returned it, or last for the newest"`
	FollowUp       string  `json:"follow_up,omitempty" jsonschema:"a new request in the same context; leave it out to go on with the original task (after a limit or a cancel)"`
	MaxTurns       int     `json:"max_turns,omitempty" jsonschema:"turns allowed from now on (default: as saved)"`
	MaxTokens      int     `json:"max_tokens,omitempty" jsonschema:"tokens allowed from now on (default: as saved)"`
	TimeoutSeconds float64 `json:"timeout_seconds,omitempty" jsonschema:"seconds allowed from now on (default: as saved)"`
}

const resumeSessionDesc = "Continue an m1 session from its last checkpoint: without follow_up it goes on with the original task (after a limit or a cancel); with follow_up the team works on the new request in the same context. Returns like run_task."

var resumeSessionTool = &sdk.Tool{Name: "resume_session", Description: resumeSessionDesc,
	Annotations: &sdk.ToolAnnotations{Title: "Continue an m1 session", OpenWorldHint: ptr(true), DestructiveHint: ptr(true)}}

func (h *handlers) resumeSession(ctx context.Context, req *sdk.CallToolRequest, p resumeSessionParams) (*sdk.CallToolResult, runOutcome, error) {
	id := strings.TrimSpace(p.SessionID)
	if id == "" {
		return nil, runOutcome{}, fmt.Errorf("session_id is empty: give the id run_task returned, or last")
	}
	if id == "last" {
		root := h.opts.SessionRoot
		if root == "" {
			var err error
			if root, err = session.Root(h.opts.Getenv); err != nil {
				return nil, runOutcome{}, err
			}
		}
		var err error
		if id, err = session.Last(root); err != nil {
			return nil, runOutcome{}, err
		}
	}
	adjust := func(o *runner.Options) error { return limits(o, p.MaxTurns, p.MaxTokens, p.TimeoutSeconds) }
	ctx, done := h.runContext(ctx)
	defer done()
	// Turns go on from the saved count, so the total is left unknown.
	out, err := runner.Resume(ctx, h.env(ctx, req, 0), id, strings.TrimSpace(p.FollowUp), adjust)
	return outcome(out, err)
}
