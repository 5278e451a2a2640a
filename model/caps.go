package model

import (
	"fmt"
	"strings"
	"sync"
)

// ledgerMode is how a request that wants a JSON object is sent.
type ledgerMode int

const (
	modePlain      ledgerMode = iota // the prompt alone asks for JSON
	modeJSONObject                   // response_format json_object
	modeSchema                       // response_format json_schema
)

func (m ledgerMode) String() string {
	switch m {
	case modeSchema:
		return "json_schema"
	case modeJSONObject:
		return "json_object"
	}
	return "plain prompt"
}

// caps is what m1 knows one endpoint accepts. It starts from the model's
// Info and the kind of server, and only ever steps down: a refusal is
// learnt once, for the rest of the session.
type caps struct {
	ledger        ledgerMode
	jsonObject    bool // json_object may be sent
	vision        bool
	tools         bool
	alternate     bool // merge same-role turns and start with user
	nineCharIDs   bool
	renameTools   bool
	stream        bool
	streamOptions bool
	maxCompletion bool // send the cap as max_completion_tokens
	temperature   bool
	parallel      bool // send parallel_tool_calls: true with tools unless asked otherwise
	noParallel    bool // the server refused parallel_tool_calls
	llamaSchema   bool // send a schema as json_object + schema (llama.cpp)
}

// capState guards an endpoint's caps; clients of one endpoint share it.
type capState struct {
	mu sync.Mutex
	c  caps
	// learnt lists the step-downs so far, for Info and doctor.
	learnt []StepDown
}

func (s *capState) get() caps {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c
}

func (s *capState) update(f func(*caps)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.c)
}

// StepDown is a capability an endpoint turned out not to have, learnt from
// a refusal. The client reports each one once (WithOnStepDown), so a user
// can see in the transcript why a run behaved as it did.
type StepDown struct {
	// Quirk is the name of the row of Quirks that recognised the refusal.
	Quirk string
	// Said is the server's words, cut short.
	Said string
	// Status is the HTTP status of the refusal (200 for an error inside a
	// stream).
	Status int
	// Change says what the client does from now on.
	Change string
}

// String is the warning a user sees.
func (d StepDown) String() string {
	if d.Status == 0 {
		// Learnt from the server's description of itself, not a refusal.
		return fmt.Sprintf("%s; %s (%s)", d.Said, d.Change, d.Quirk)
	}
	return fmt.Sprintf("the model server refused a request (HTTP %d: %s); from now on %s (%s)", d.Status, d.Said, d.Change, d.Quirk)
}

// stepDown applies q's step to the caps and says what changed; "" when the
// step changes nothing (it was taken already, or there is none).
func (s *capState) stepDown(q *Quirk, msg string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &s.c
	switch q.step {
	case stepSchemaOff:
		if c.ledger != modeSchema && !c.llamaSchema {
			return ""
		}
		c.llamaSchema = false
		c.ledger = modeJSONObject
		return "the progress ledger is asked for with response_format json_object instead of json_schema"
	case stepJSONObjectOff:
		was := c.jsonObject
		c.jsonObject = false
		if c.ledger != modeJSONObject {
			if was {
				return "response_format json_object is left out"
			}
			return ""
		}
		// LM Studio names what it takes: 'json_schema' or 'text'. The
		// server's own words are better evidence than the model's name.
		if strings.Contains(strings.ToLower(msg), "'json_schema'") {
			c.ledger = modeSchema
			return "the progress ledger is asked for with response_format json_schema instead of json_object"
		}
		c.ledger = modePlain
		return "the progress ledger is asked for by the prompt alone, without response_format"
	case stepFormatOff:
		if c.ledger == modePlain && !c.llamaSchema {
			return ""
		}
		c.ledger, c.jsonObject, c.llamaSchema = modePlain, false, false
		return "the progress ledger is asked for by the prompt alone, without response_format"
	case stepVisionOff:
		if !c.vision {
			return ""
		}
		c.vision = false
		return "images are left out of this model's prompts (vision off)"
	case stepAlternate:
		if c.alternate {
			return ""
		}
		c.alternate = true
		return "consecutive turns of one role are merged and every prompt starts with a user turn"
	case stepNineCharIDs:
		if c.nineCharIDs {
			return ""
		}
		c.nineCharIDs = true
		return "tool-call ids are sent as 9 alphanumeric characters"
	case stepRenameTools:
		if c.renameTools {
			return ""
		}
		c.renameTools = true
		return "tools named like a template's built-in tool are renamed on the wire (web_search is sent as search_the_web)"
	case stepStreamOptionsOff:
		if !c.streamOptions || !c.stream {
			return ""
		}
		c.streamOptions = false
		return "replies stream without stream_options (token counts are estimated when the server sends none)"
	case stepStreamOff:
		if !c.stream {
			return ""
		}
		c.stream = false
		return "replies are asked for unstreamed"
	case stepMaxCompletion:
		if c.maxCompletion {
			return ""
		}
		c.maxCompletion = true
		return "the reply cap is sent as max_completion_tokens"
	case stepTemperatureOff:
		if !c.temperature {
			return ""
		}
		c.temperature = false
		return "the configured temperature is left out"
	case stepParallelOff:
		if c.noParallel {
			return ""
		}
		c.parallel, c.noParallel = false, true
		return "parallel_tool_calls is left out"
	case stepToolsOff:
		c.tools = false
	}
	return ""
}

// record keeps a step-down for Learnt.
func (s *capState) record(d StepDown) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.learnt = append(s.learnt, d)
}

func (s *capState) steps() []StepDown {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]StepDown(nil), s.learnt...)
}
