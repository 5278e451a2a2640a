package orchestrator

import (
	"time"

	"github.com/m1-project/m1/agent"
)

// State is everything the orchestrator needs to continue a run: it is
// checkpointed after every turn and restored by resume.
type State struct {
	Task string `json:"task"`
	// Earlier holds the earlier requests of the session and their answers,
	// for a follow-up; it is part of every task ledger.
	Earlier string          `json:"earlier,omitempty"`
	Facts   string          `json:"facts"`
	Plan    string          `json:"plan"`
	Thread  []agent.Message `json:"thread"`
	InLoop  bool            `json:"in_loop"`
	Turns   int             `json:"turns"`
	Stalls  int             `json:"stalls"`
	Replans int             `json:"replans"`
	// Usage is the token count per agent, the Orchestrator included.
	Usage map[string]agent.Usage `json:"usage"`
	// Elapsed is the wall-clock time spent in earlier runs of this session.
	Elapsed time.Duration `json:"elapsed"`
	// Done is set once a final answer was given.
	Done bool `json:"done"`
	// Status and FinalAnswer are the last run's outcome.
	Status      string `json:"status,omitempty"`
	FinalAnswer string `json:"final_answer,omitempty"`
	StopReason  string `json:"stop_reason,omitempty"`
}

// TotalUsage adds up the usage of every agent.
func (s *State) TotalUsage() agent.Usage {
	var u agent.Usage
	for _, v := range s.Usage {
		u = u.Add(v)
	}
	return u
}

func (s *State) addUsage(source string, u *agent.Usage) {
	if u == nil {
		return
	}
	if s.Usage == nil {
		s.Usage = map[string]agent.Usage{}
	}
	s.Usage[source] = s.Usage[source].Add(*u)
}

// Result is how a run ended.
type Result struct {
	Status      string
	FinalAnswer string
	StopReason  string
	Turns       int
	Replans     int
	Usage       map[string]agent.Usage
	Duration    time.Duration
	// Err is set when Status is error: the cause, for the exit code.
	Err error
}

// Event returns the final "result" event of the run.
func (r Result) Event(sessionID string) agent.Event {
	e := agent.NewEvent(agent.EventResult, agent.OrchestratorName)
	e.Status = r.Status
	e.FinalAnswer = r.FinalAnswer
	e.StopReason = r.StopReason
	e.Turns = r.Turns
	e.Replans = r.Replans
	e.Usage = r.Usage
	e.DurationMS = r.Duration.Milliseconds()
	e.SessionID = sessionID
	if e.Usage == nil {
		e.Usage = map[string]agent.Usage{}
	}
	return e
}
