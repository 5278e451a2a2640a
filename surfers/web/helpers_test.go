package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/model"
)

// requireChrome skips the test when no browser is installed, except in CI,
// where a missing browser is a failure.
func requireChrome(t testing.TB) {
	t.Helper()
	if _, err := findBrowser(""); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the WebSurfer tests need Chromium in CI: %v", err)
		}
		t.Skipf("no browser to drive (install chromium to run this test): %v", err)
	}
}

// newSite serves testdata/sites plus /slow, a page whose body never ends,
// /hang, which never answers, /poll, a long poll (answers after 30 s), and
// /ping, which answers at once.
func newSite(t testing.TB) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServer(http.Dir(filepath.Join("..", "..", "testdata", "sites"))))
	release := make(chan struct{})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	mux.HandleFunc("/poll", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		case <-time.After(30 * time.Second):
		}
		_, _ = io.WriteString(w, "{}")
	})
	mux.HandleFunc("/ping", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<!doctype html><html><head><title>Slow page</title></head><body><h1>Partial content</h1><p>The rest never comes.</p>")
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	ts := httptest.NewServer(mux)
	t.Cleanup(func() {
		close(release)
		ts.Close()
	})
	return ts
}

// fakeModel is a model.Client whose answers a test function computes from
// the request; it records every request.
type fakeModel struct {
	info   model.Info
	answer func(n int, req model.Request) (*model.Response, error)

	mu   sync.Mutex
	reqs []model.Request
}

var _ model.Client = (*fakeModel)(nil)

func (f *fakeModel) Complete(ctx context.Context, req model.Request) (*model.Response, error) {
	f.mu.Lock()
	n := len(f.reqs)
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	if f.answer == nil {
		return &model.Response{Content: "ok"}, nil
	}
	return f.answer(n, req)
}

func (f *fakeModel) Info() model.Info { return f.info }

func (f *fakeModel) requests() []model.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]model.Request(nil), f.reqs...)
}

// call is a model response with one tool call.
func call(name string, args map[string]any) *model.Response {
	if _, ok := args["reasoning"]; !ok {
		args["reasoning"] = "test"
	}
	b, _ := json.Marshal(args)
	return callRaw(name, string(b))
}

func callRaw(name, args string) *model.Response {
	r := &model.Response{}
	r.ToolCalls = append(r.ToolCalls, toolCall(name, args))
	return r
}

// lastText is the text of a request's last message.
func lastText(req model.Request) string {
	m := req.Messages[len(req.Messages)-1]
	if m.Content != "" {
		return m.Content
	}
	var parts []string
	for _, p := range m.MultiContent {
		parts = append(parts, p.Text)
	}
	return strings.Join(parts, "\n")
}

// targetID finds the id of the target named name in a prompt or state.
func targetID(t testing.TB, text, name string) int {
	t.Helper()
	re := regexp.MustCompile(`\{"id": (\d+), "name": ` + regexp.QuoteMeta(strconv.Quote(name)))
	m := re.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no target named %q in:\n%s", name, text)
	}
	id, _ := strconv.Atoi(m[1])
	return id
}

// harness drives a surfer's browser layer directly, tool call by tool call.
type harness struct {
	t    testing.TB
	s    *Surfer
	site *httptest.Server
	ctx  context.Context
}

func newHarness(t testing.TB, opts ...Option) *harness {
	t.Helper()
	requireChrome(t)
	site := newSite(t)
	s := New(&fakeModel{}, append([]Option{WithSettleTimeout(5 * time.Second)}, opts...)...)
	closeAndCheck(t, s)
	ctx := context.Background()
	if _, err := s.ensure(ctx); err != nil {
		t.Fatalf("start browser: %v", err)
	}
	return &harness{t: t, s: s, site: site, ctx: ctx}
}

// closeAndCheck closes s at the end of the test and checks that no process
// of its browser survives and its profile is gone.
func closeAndCheck(t testing.TB, s *Surfer) {
	t.Cleanup(func() {
		dir := s.chrome.profileDir
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if dir == "" {
			return // never launched
		}
		assertNoChrome(t, dir)
	})
}

// assertNoChrome fails when a process still runs with the profile dir, or
// the dir still exists.
func assertNoChrome(t testing.TB, dir string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		pids := processesUsing(dir)
		if len(pids) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("chrome processes %v still run with profile %s", pids, dir)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("temporary profile %s was not removed", dir)
	}
}

func processesUsing(dir string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if strings.Contains(string(b), "--user-data-dir="+dir+"\x00") {
			// A zombie has an empty cmdline, so this is a live process.
			pids = append(pids, pid)
		}
	}
	return pids
}

// do performs one tool call the way Step does and returns the state text
// and the observation.
func (h *harness) do(name string, args map[string]any) (string, *observation) {
	h.t.Helper()
	if args == nil {
		args = map[string]any{}
	}
	args["reasoning"] = "test"
	b, _ := json.Marshal(args)
	out, obs, err := h.s.perform(h.ctx, name, string(b), false, func(agent.Event) {})
	if err != nil {
		h.t.Fatalf("%s %s: %v", name, b, err)
	}
	return out.text + "\n\n" + obs.stateText(), obs
}

// visit opens a page of the test site.
func (h *harness) visit(path string) (string, *observation) {
	h.t.Helper()
	return h.do("visit_url", map[string]any{"url": h.site.URL + path})
}

// id finds a target by name in an observation.
func (h *harness) id(o *observation, name string) int {
	h.t.Helper()
	for _, t := range o.Targets {
		if t.Name == name {
			return t.ID
		}
	}
	var names []string
	for _, t := range o.Targets {
		names = append(names, fmt.Sprintf("%d=%q", t.ID, t.Name))
	}
	h.t.Fatalf("no target %q among %s", name, strings.Join(names, ", "))
	return 0
}

func mustContain(t testing.TB, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Fatalf("want %q in:\n%s", w, got)
		}
	}
}

func mustNotContain(t testing.TB, got string, nots ...string) {
	t.Helper()
	for _, w := range nots {
		if strings.Contains(got, w) {
			t.Fatalf("did not want %q in:\n%s", w, got)
		}
	}
}

func toolCall(name, args string) openai.ToolCall {
	return openai.ToolCall{ID: "call_" + agent.NewID(), Type: openai.ToolTypeFunction, Function: openai.FunctionCall{Name: name, Arguments: args}}
}
