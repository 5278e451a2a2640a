// Package agent holds the vocabulary every part of m1 shares: the Agent
// interface the orchestrator drives, the messages agents exchange, the events
// a run emits, and the approval hook that guards actions with side effects.
// It imports nothing else of m1, so every package may depend on it.
package agent

import (
	"context"
	"encoding/json"
)

// Names of the team members. The orchestrator matches next_speaker against
// these case-insensitively.
const (
	OrchestratorName     = "Orchestrator"
	CoderName            = "Coder"
	ComputerTerminalName = "ComputerTerminal"
	WebSurferName        = "WebSurfer"
	FileSurferName       = "FileSurfer"
	UserName             = "User"
)

// Agent is a member of the team. The orchestrator knows agents only through
// this interface.
type Agent interface {
	// Name is the agent's name as the orchestrator and the model see it.
	Name() string
	// Description tells the orchestrator's model what the agent can do.
	Description() string
	// Step takes the agent's turn and returns its reply. An error means the
	// machinery broke (browser died, daemon gone); a mistake the model can fix
	// belongs in the reply text instead.
	Step(ctx context.Context, t Turn) (Message, error)
	// Reset forgets what the agent learnt since the last reset, as at the
	// start of each outer loop.
	Reset(ctx context.Context) error
}

// Turn is what an agent gets for one step.
type Turn struct {
	// Thread holds the messages broadcast to the team since the last reset,
	// oldest first; the last one is normally the Orchestrator's instruction
	// to this agent. The orchestrator may have shortened older entries.
	Thread []Message
	// Emit reports intermediate events (tool calls, screenshots, code runs)
	// as they happen. It is never nil and safe to call from the step's
	// goroutine.
	Emit func(Event)
}

// EmitTo returns t.Emit, or a no-op when t.Emit is nil, so agents can be
// driven directly in tests.
func (t Turn) EmitTo() func(Event) {
	if t.Emit == nil {
		return func(Event) {}
	}
	return t.Emit
}

// Closer is implemented by agents that hold a process or container; the
// runner calls Close once at the end of a run, on every path.
type Closer interface {
	Close() error
}

// Stateful is implemented by agents whose private state must survive a
// checkpoint and resume (the browser's URL, the file viewer's page).
type Stateful interface {
	SaveState() (json.RawMessage, error)
	LoadState(ctx context.Context, state json.RawMessage) error
}
