package mcp

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/m1-project/m1/config"
)

// CheckResult is what Check found out about one server.
type CheckResult struct {
	// Name is the server's key in the config.
	Name string
	// Server is the name and version the server gave ("Everything 2.0.0").
	Server string
	// Tools are its tools' names, in its order; ReadOnly counts those it
	// marks read-only (called without asking under --approve).
	Tools    []string
	ReadOnly int
	// Took is how long starting and listing took.
	Took time.Duration
	// Err says what failed; nil when the server started and listed its
	// tools.
	Err error
}

// Summary says in one line what the server offers: "Everything 2.0.0,
// 13 tools (11 read-only): echo, get-sum, ...".
func (r CheckResult) Summary() string {
	var b strings.Builder
	if r.Server != "" {
		b.WriteString(r.Server + ", ")
	}
	fmt.Fprintf(&b, "%d tools", len(r.Tools))
	if len(r.Tools) > 0 {
		fmt.Fprintf(&b, " (%d read-only): %s", r.ReadOnly, clip(strings.Join(r.Tools, ", "), 300))
	}
	fmt.Fprintf(&b, "; started in %s", r.Took.Round(10*time.Millisecond))
	return b.String()
}

// Check starts each server (or connects to it), lists its tools and ends
// it again, all side by side, as m1 doctor does. Results are in the
// order of servers.
func Check(ctx context.Context, servers []config.MCPServer, getenv func(string) string) []CheckResult {
	out := make([]CheckResult, len(servers))
	var wg sync.WaitGroup
	for i, s := range servers {
		wg.Go(func() { out[i] = check(ctx, s, getenv) })
	}
	wg.Wait()
	return out
}

func check(ctx context.Context, s config.MCPServer, getenv func(string) string) CheckResult {
	r := CheckResult{Name: s.Name}
	start := time.Now()
	srv, err := Connect(ctx, s, getenv, s.StartTimeout())
	r.Took = time.Since(start)
	if err != nil {
		r.Err = err
		return r
	}
	defer srv.Close()
	if impl := srv.Implementation(); impl != nil {
		r.Server = strings.TrimSpace(impl.Name + " " + impl.Version)
		if impl.Title != "" {
			r.Server = strings.TrimSpace(impl.Title + " " + impl.Version)
		}
	}
	for _, t := range srv.Tools() {
		r.Tools = append(r.Tools, t.Name)
		if readOnly(t) {
			r.ReadOnly++
		}
	}
	return r
}
