package agent

import (
	"bytes"
	"encoding/json"
	"time"
)

// The JSON form of an event is a contract (docs/events.md, checked against
// docs/events.schema.json): a consumer finds the same fields on every
// event of a type, zeros included, and a tool's arguments as the object
// the model sent. Event's struct tags serve decoding; MarshalJSON writes
// the documented form.

// wireEvent is an Event as written. Pointers mark the fields a type
// always carries, zero or not.
type wireEvent struct {
	Type      string    `json:"type"`
	ID        string    `json:"id"`
	Time      time.Time `json:"time"`
	Source    string    `json:"source"`
	SessionID string    `json:"session_id,omitempty"`

	Content     string  `json:"content,omitempty"`
	Reasoning   string  `json:"reasoning,omitempty"`
	ModelsUsage *Usage  `json:"models_usage,omitempty"`
	Images      []Image `json:"images,omitempty"`

	Ledger   *Ledger         `json:"ledger,omitempty"`
	Tool     *wireTool       `json:"tool,omitempty"`
	Code     *CodeExecution  `json:"code,omitempty"`
	Approval *ApprovalRecord `json:"approval,omitempty"`
	Turn     *int            `json:"turn,omitempty"`
	Stalls   *int            `json:"stalls,omitempty"`

	Status      *string `json:"status,omitempty"`
	FinalAnswer *string `json:"final_answer,omitempty"`
	StopReason  *string `json:"stop_reason,omitempty"`
	Turns       *int    `json:"turns,omitempty"`
	Replans     *int    `json:"replans,omitempty"`
	Usage       any     `json:"usage,omitempty"` // a map; {} on a result
	CostUSD     float64 `json:"cost_usd,omitempty"`
	DurationMS  *int64  `json:"duration_ms,omitempty"`
}

type wireTool struct {
	Name       string  `json:"name"`
	Arguments  any     `json:"arguments,omitempty"`
	Result     *string `json:"result,omitempty"`
	Error      *bool   `json:"error,omitempty"`
	DurationMS *int64  `json:"duration_ms,omitempty"`
}

// MarshalJSON writes e as docs/events.md documents it.
func (e Event) MarshalJSON() ([]byte, error) {
	w := wireEvent{
		Type: e.Type, ID: e.ID, Time: e.Time, Source: e.Source, SessionID: e.SessionID,
		Content: e.Content, Reasoning: e.Reasoning, ModelsUsage: e.ModelsUsage, Images: e.Images,
		Ledger: e.Ledger, Code: e.Code, Approval: e.Approval,
		CostUSD: e.CostUSD,
	}
	if len(e.Usage) > 0 {
		w.Usage = e.Usage
	}
	if e.Turn != 0 {
		w.Turn = &e.Turn
	}
	if e.Stalls != 0 {
		w.Stalls = &e.Stalls
	}
	if e.Status != "" {
		w.Status = &e.Status
	}
	if e.Tool != nil {
		w.Tool = &wireTool{Name: e.Tool.Name, Arguments: arguments(e.Tool.Arguments)}
		if e.Tool.Result != "" {
			w.Tool.Result = &e.Tool.Result
		}
		if e.Tool.Error {
			w.Tool.Error = &e.Tool.Error
		}
		if e.Tool.DurationMS != 0 {
			w.Tool.DurationMS = &e.Tool.DurationMS
		}
	}
	switch e.Type {
	case EventLedger, EventReplan:
		w.Turn, w.Stalls = &e.Turn, &e.Stalls
	case EventMessage:
		w.Turn = &e.Turn
	case EventToolResult:
		if w.Tool != nil {
			w.Tool.Result, w.Tool.Error, w.Tool.DurationMS = &e.Tool.Result, &e.Tool.Error, &e.Tool.DurationMS
		}
	case EventResult:
		w.Status, w.FinalAnswer, w.StopReason = &e.Status, &e.FinalAnswer, &e.StopReason
		w.Turns, w.Replans, w.DurationMS = &e.Turns, &e.Replans, &e.DurationMS
		if e.Usage == nil {
			w.Usage = map[string]Usage{}
		} else {
			w.Usage = e.Usage
		}
	}
	return json.Marshal(w)
}

// arguments is a tool call's arguments as written: the JSON object the
// model sent, or its exact text when that is not a JSON object (a mistake
// the model is told about).
func arguments(s string) any {
	if s == "" {
		return nil
	}
	if t := bytes.TrimSpace([]byte(s)); len(t) > 0 && t[0] == '{' && json.Valid(t) {
		return json.RawMessage(t)
	}
	return s
}

// UnmarshalJSON reads a tool call whose arguments are an object (schema
// 2) or a string (schema 1, or text that was not JSON).
func (t *ToolCall) UnmarshalJSON(b []byte) error {
	type plain ToolCall
	var w struct {
		plain
		Arguments json.RawMessage `json:"arguments"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*t = ToolCall(w.plain)
	t.Arguments = ""
	if len(w.Arguments) > 0 && w.Arguments[0] == '"' {
		return json.Unmarshal(w.Arguments, &t.Arguments)
	}
	if len(w.Arguments) > 0 && string(w.Arguments) != "null" {
		t.Arguments = string(w.Arguments)
	}
	return nil
}
