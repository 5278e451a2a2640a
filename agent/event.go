package agent

import "time"

// SchemaVersion is the version of the JSON event schema in docs/events.md
// and docs/events.schema.json. Version 2 writes a tool's arguments as an
// object rather than a string.
const SchemaVersion = "2"

// Event types. docs/events.md documents each.
const (
	EventTask          = "task"
	EventFacts         = "facts"
	EventPlan          = "plan"
	EventLedger        = "ledger"
	EventMessage       = "message"
	EventToolCall      = "tool_call"
	EventToolResult    = "tool_result"
	EventCodeExecution = "code_execution"
	EventScreenshot    = "screenshot"
	EventReplan        = "replan"
	EventWarning       = "warning"
	EventError         = "error"
	EventUserInput     = "user_input_requested"
	EventApproval      = "approval"
	EventResult        = "result"
	// EventDelta carries a piece of a message still being streamed; its ID
	// is the ID of the message it belongs to. The console shows deltas as
	// they come; the JSON stream and the transcript leave them out, since
	// the whole message follows.
	EventDelta = "delta"
	// EventProgress reports how far a tool call running for a while has
	// come (an MCP server's progress notification); Tool names the tool.
	EventProgress = "progress"
)

// Event is one line of the --json stream and of the session transcript.
// Fields beyond the common four are set by the event types that use them;
// MarshalJSON writes the form docs/events.md documents.
type Event struct {
	Type   string    `json:"type"`
	ID     string    `json:"id"`
	Time   time.Time `json:"time"`
	Source string    `json:"source"`

	Content string `json:"content,omitempty"`
	// Reasoning is the model's thinking behind a message, facts, plan or
	// ledger, when the model showed it; for the record, not acted on.
	Reasoning   string  `json:"reasoning,omitempty"`
	ModelsUsage *Usage  `json:"models_usage,omitempty"`
	Images      []Image `json:"images,omitempty"`

	// Ledger is set on "ledger" events.
	Ledger *Ledger `json:"ledger,omitempty"`
	// Tool is set on "tool_call" and "tool_result" events.
	Tool *ToolCall `json:"tool,omitempty"`
	// Code is set on "code_execution" events.
	Code *CodeExecution `json:"code,omitempty"`
	// Approval is set on "approval" events.
	Approval *ApprovalRecord `json:"approval,omitempty"`
	// Turn and Stalls locate the event in the loop where it matters.
	Turn   int `json:"turn,omitempty"`
	Stalls int `json:"stalls,omitempty"`

	// The fields below are set on the final "result" event only.
	Status      string           `json:"status,omitempty"`
	FinalAnswer string           `json:"final_answer,omitempty"`
	StopReason  string           `json:"stop_reason,omitempty"`
	Turns       int              `json:"turns,omitempty"`
	Replans     int              `json:"replans,omitempty"`
	Usage       map[string]Usage `json:"usage,omitempty"`
	// CostUSD is the run's cost where the config gives prices per model.
	CostUSD    float64 `json:"cost_usd,omitempty"`
	DurationMS int64   `json:"duration_ms,omitempty"`
	// SessionID names the run's session; the runner sets it on every
	// event, so a consumer can follow or resume a run that dies.
	SessionID string `json:"session_id,omitempty"`
}

// NewEvent returns an event of type typ from source with a fresh id and time.
func NewEvent(typ, source string) Event {
	return Event{Type: typ, ID: NewID(), Time: time.Now().UTC(), Source: source}
}

// Ledger is the progress ledger the orchestrator asks for every turn.
type Ledger struct {
	IsRequestSatisfied    LedgerBool   `json:"is_request_satisfied"`
	IsInLoop              LedgerBool   `json:"is_in_loop"`
	IsProgressBeingMade   LedgerBool   `json:"is_progress_being_made"`
	NextSpeaker           LedgerString `json:"next_speaker"`
	InstructionOrQuestion LedgerString `json:"instruction_or_question"`
}

// LedgerBool is a yes/no answer of the progress ledger with its reason.
type LedgerBool struct {
	Reason string `json:"reason"`
	Answer bool   `json:"answer"`
}

// LedgerString is a free-text answer of the progress ledger with its reason.
type LedgerString struct {
	Reason string `json:"reason"`
	Answer string `json:"answer"`
}

// ToolCall describes a tool the model called and, on tool_result, what came
// back.
type ToolCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments,omitempty"`
	Result    string `json:"result,omitempty"`
	Error     bool   `json:"error,omitempty"`
	// DurationMS is set on results.
	DurationMS int64 `json:"duration_ms,omitempty"`
}

// CodeExecution describes one code block run by the ComputerTerminal.
type CodeExecution struct {
	Language string `json:"language"`
	Code     string `json:"code"`
	Filename string `json:"filename,omitempty"`
	Executor string `json:"executor"`
	ExitCode int    `json:"exit_code"`
	Output   string `json:"output"`
	TimedOut bool   `json:"timed_out"`
}

// Status values of the result event.
const (
	StatusSuccess    = "success"
	StatusIncomplete = "incomplete"
	StatusError      = "error"
	StatusCancelled  = "cancelled"
)
