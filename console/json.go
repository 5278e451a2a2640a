package console

import (
	"encoding/json"
	"io"
	"sync"

	"github.com/m1-project/m1/agent"
)

// JSON writes each event as one JSON object on its own line, and nothing
// else, so `m1 --json | jq` works. Stream deltas are left out.
type JSON struct {
	mu      sync.Mutex
	enc     *json.Encoder
	results int
}

// NewJSON returns a JSON-lines writer on w.
func NewJSON(w io.Writer) *JSON {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &JSON{enc: enc}
}

// Handle writes e.
func (j *JSON) Handle(e agent.Event) {
	if e.Type == agent.EventDelta {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	_ = j.enc.Encode(e)
	if e.Type == agent.EventResult {
		j.results++
	}
}

// WroteResult reports whether a result event was written: the stream's
// last event, which a caller writes itself for a run that failed before
// the runner could.
func (j *JSON) WroteResult() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.results > 0
}
