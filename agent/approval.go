package agent

import "context"

// Kinds of actions that may need the user's approval.
const (
	ApproveCode    = "code"
	ApproveBrowser = "browser"
)

// ApprovalRequest describes an action with side effects before it happens.
type ApprovalRequest struct {
	Agent string `json:"agent"`
	// Kind is ApproveCode or ApproveBrowser; "approve all" applies per kind.
	Kind string `json:"kind"`
	// Action is a one-line summary ("run python in docker container m1-...").
	Action string `json:"action"`
	// Detail is what the user should read before deciding (the code, the
	// element and text).
	Detail string `json:"detail,omitempty"`
}

// Decision is the user's answer to an ApprovalRequest.
type Decision struct {
	Approved bool   `json:"approved"`
	Reason   string `json:"reason,omitempty"`
}

// ApprovalRecord is what the transcript keeps of a request and its decision.
type ApprovalRecord struct {
	ApprovalRequest
	Decision
}

// Approver decides whether an action may run. Agents that take actions with
// side effects accept one as an option; a nil Approver approves everything.
type Approver interface {
	Approve(ctx context.Context, r ApprovalRequest) (Decision, error)
}

// Approve asks a, treating a nil a as approval.
func Approve(ctx context.Context, a Approver, r ApprovalRequest) (Decision, error) {
	if a == nil {
		return Decision{Approved: true}, nil
	}
	return a.Approve(ctx, r)
}
