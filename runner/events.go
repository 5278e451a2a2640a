package runner

import (
	"sync"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/session"
)

// recorder writes a run's events: to the transcript, then to the caller's
// Output. It keeps the promises docs/events.md makes about the stream:
// every event carries the session id, the run's first event comes from
// the orchestrator (task, on a new run), and a run that cannot start still
// ends with a result.
type recorder struct {
	env    *Env
	sess   *session.Session
	redact *redactor
	// writeFailed hears of each event the transcript could not take.
	writeFailed func(error)

	mu sync.Mutex
	// started is set by the orchestrator's first event. Until then, what
	// the set-up says (the local executor's warning) waits, so it follows
	// the task instead of coming before it.
	started bool
	early   []agent.Event
}

func newRecorder(env *Env, sess *session.Session, redact *redactor, writeFailed func(error)) *recorder {
	return &recorder{env: env, sess: sess, redact: redact, writeFailed: writeFailed}
}

// emit records e, or keeps it until the run has started.
func (r *recorder) emit(e agent.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.started {
		r.early = append(r.early, e)
		return
	}
	r.write(e)
}

// orchestrator records an event of the orchestrator (or of an agent it
// runs); the first one starts the run and lets the held events follow it.
func (r *recorder) orchestrator(e agent.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.write(e)
	r.startLocked()
}

// failed records the end of a run that could not start: the task (on a
// new run, so the transcript says what was asked), what the set-up said,
// and a result with status error. It returns the result.
func (r *recorder) failed(task string, err error) agent.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.started && task != "" {
		ev := agent.NewEvent(agent.EventTask, agent.UserName)
		ev.Content = task
		r.write(ev)
	}
	ev := agent.NewEvent(agent.EventResult, agent.OrchestratorName)
	ev.Status, ev.StopReason, ev.Usage = agent.StatusError, err.Error(), map[string]agent.Usage{}
	return r.resultLocked(ev)
}

// result records the run's result, the last event, and returns it as
// recorded.
func (r *recorder) result(e agent.Event) agent.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.resultLocked(e)
}

func (r *recorder) resultLocked(e agent.Event) agent.Event {
	r.startLocked()
	return r.write(e)
}

func (r *recorder) startLocked() {
	if r.started {
		return
	}
	r.started = true
	for _, e := range r.early {
		r.write(e)
	}
	r.early = nil
}

// write redacts e, stamps the session, appends it to the transcript and
// passes it on. Caller holds r.mu, so events keep their order.
func (r *recorder) write(e agent.Event) agent.Event {
	e = r.redact.event(e)
	e.SessionID = r.sess.ID
	if err := r.sess.Append(e); err != nil {
		r.writeFailed(err)
	}
	if r.env.Output != nil {
		r.env.Output(e)
	}
	return e
}
