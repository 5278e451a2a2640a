package scripted

import "encoding/json"

// PromptTokens estimates the prompt tokens of a recorded chat request at
// about four bytes a token: the text of every message plus the tool
// definitions offered. Images are not counted. Tests and benchmarks use it
// to follow how a run's prompts grow.
func (r Recorded) PromptTokens() int {
	n := 0
	for _, m := range r.Request.Messages {
		n += len(messageText(m))
	}
	for _, t := range r.Request.Tools {
		if b, err := json.Marshal(t); err == nil {
			n += len(b)
		}
	}
	return (n + 3) / 4
}
