package model

import (
	"fmt"
	"sync"
)

// Endpoints shares what clients learn about an endpoint: clients made with
// the same Endpoints and the same endpoint (server, model, deployment,
// api-version and stated capabilities) step down together, so a refusal
// is learnt once per run rather than once per agent. The zero value is
// ready to use; a run makes one (config.Config holds it).
type Endpoints struct {
	mu sync.Mutex
	m  map[string]*capState
}

// WithEndpoints makes the client share its endpoint's capabilities with
// the other clients of e.
func WithEndpoints(e *Endpoints) Option { return func(o *options) { o.shared = e } }

// state returns the shared caps of c's endpoint, made from init on first
// use.
func (e *Endpoints) state(key string, init func() caps) *capState {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.m == nil {
		e.m = map[string]*capState{}
	}
	s, ok := e.m[key]
	if !ok {
		s = &capState{c: init()}
		e.m[key] = s
	}
	return s
}

// endpointKey identifies what a client talks to, with what it assumes.
func (c *client) endpointKey() string {
	return fmt.Sprintf("%s|%s|%s|%s|%s|%+v|%v", c.ep.Provider, c.ep.BaseURL, c.ep.Model, c.deployment(), c.ep.APIVersion, c.ep.Info, c.opts.mergeRoles)
}
