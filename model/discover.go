package model

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Kinds of servers m1 recognises when it asks for the context window.
const (
	ServerLlamaCpp = "llama.cpp"
	ServerOllama   = "ollama"
	ServerVLLM     = "vllm"
)

// serverInfo is what discovery learnt about the server.
type serverInfo struct {
	kind   string
	window int
	source string
	// pending are notices kept until the first call, so none comes before
	// the run's first event.
	pending []StepDown
}

// discoveryTimeout bounds all of discovery; a server that does not answer
// these requests at once does not have them.
const discoveryTimeout = 5 * time.Second

// OllamaDefaultWindow is the window Ollama serves a model with unless
// OLLAMA_CONTEXT_LENGTH or num_ctx says otherwise; its OpenAI endpoint
// ignores num_ctx in requests and cuts longer prompts silently
// (ollama/ollama#5902).
const OllamaDefaultWindow = 4096

// MinUsefulWindow is the context below which m1's prompts (task ledger,
// thread, page text) leave too little room for a run.
const MinUsefulWindow = 16000

// discover asks the server, once, what it is and how much context it
// holds: llama.cpp's /props (n_ctx), Ollama's /api/ps and /api/show, or
// vLLM's /models (max_model_len). It costs no tokens. OpenAI and Azure are
// not asked: their windows are known by model.
func (c *client) discover(ctx context.Context) {
	c.discoverMu.Lock()
	defer c.discoverMu.Unlock()
	if !c.discovered {
		c.discovered = true
		if !c.opts.noDiscovery && !c.openAIFamily() {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), discoveryTimeout)
			c.server = c.askServer(dctx)
			cancel()
			c.afterDiscovery()
		}
	}
}

// flushNotices reports what discovery learnt, once, at the first call: by
// then the run has begun, so no notice comes before its first event.
func (c *client) flushNotices() {
	c.discoverMu.Lock()
	pending := c.server.pending
	c.server.pending = nil
	c.discoverMu.Unlock()
	for _, d := range pending {
		c.caps.record(d)
		if c.opts.onStepDown != nil {
			c.opts.onStepDown(d)
		}
	}
}

// afterDiscovery sets what the server's kind implies and notes a window
// smaller than the config says or than a run needs.
func (c *client) afterDiscovery() {
	s := &c.server
	if s.kind == ServerLlamaCpp {
		// json_schema is silently ignored by some builds while json_object
		// with a schema is honoured (llama.md finding 9); and Llama 3.1
		// templates reserve web_search (finding 10).
		c.caps.update(func(cp *caps) { cp.llamaSchema, cp.renameTools = true, true })
	}
	stated := c.statedWindow()
	switch {
	case s.window > 0 && stated > s.window:
		s.pending = append(s.pending, StepDown{Quirk: quirkForServer(s.kind),
			Said:   fmt.Sprintf("the server holds %d tokens of context (%s), the config says %d", s.window, s.source, stated),
			Change: fmt.Sprintf("prompts are kept within %d tokens", s.window)})
	case s.window > 0 && s.window < MinUsefulWindow:
		fix := "use a model or server with a larger context"
		if s.kind == ServerOllama {
			fix = "set OLLAMA_CONTEXT_LENGTH=32768 (or more) where Ollama runs, or num_ctx in the model's Modelfile"
		} else if s.kind == ServerLlamaCpp {
			fix = "start llama-server with a larger -c"
		}
		s.pending = append(s.pending, StepDown{Quirk: quirkForServer(s.kind),
			Said:   fmt.Sprintf("the server holds only %d tokens of context (%s), less than m1's prompts need (%d)", s.window, s.source, MinUsefulWindow),
			Change: fmt.Sprintf("prompts are cut to fit %d tokens, so agents see less of the thread and pages; %s", s.window, fix)})
	}
}

func quirkForServer(kind string) string {
	switch kind {
	case ServerOllama:
		return "ollama-small-ctx"
	case ServerVLLM:
		return "vllm-max-model-len"
	}
	return "llamacpp-context-shift"
}

// statedWindow is the context window the config states, 0 when it does
// not.
func (c *client) statedWindow() int {
	if slices.Contains(c.ep.InfoStated, "context_window") {
		return c.ep.Info.ContextWindow
	}
	return 0
}

// window is the context the endpoint holds: the server's own where it
// said, never more than the config states; else the config's, else the
// model's known window.
func (c *client) window() int {
	stated := c.statedWindow()
	if w := c.server.window; w > 0 && (stated == 0 || w < stated) {
		return w
	}
	if stated > 0 {
		return stated
	}
	if c.ep.Info.ContextWindow > 0 {
		return c.ep.Info.ContextWindow
	}
	return DefaultContextWindow
}

// windowSource says where window's figure comes from.
func (c *client) windowSource() string {
	stated := c.statedWindow()
	switch {
	case c.server.window > 0 && (stated == 0 || c.server.window < stated):
		return c.server.source
	case stated > 0:
		return "model_info.context_window in the config"
	}
	return "m1's default for " + c.ep.Model
}

// root is the server's address without the /v1 of its OpenAI API, where
// llama.cpp and Ollama serve their own endpoints.
func (c *client) root() string {
	base := strings.TrimRight(c.ep.BaseURL, "/")
	return strings.TrimSuffix(base, "/v1")
}

func (c *client) askServer(ctx context.Context) serverInfo {
	// llama.cpp: GET /props → default_generation_settings.n_ctx.
	var props struct {
		Settings *struct {
			NCtx int `json:"n_ctx"`
		} `json:"default_generation_settings"`
		NCtx int `json:"n_ctx"`
	}
	if c.getJSON(ctx, http.MethodGet, c.root()+"/props", nil, &props) == nil && (props.Settings != nil || props.NCtx > 0) {
		n := props.NCtx
		if props.Settings != nil && props.Settings.NCtx > 0 {
			n = props.Settings.NCtx
		}
		return serverInfo{kind: ServerLlamaCpp, window: n, source: "llama.cpp /props n_ctx"}
	}
	// Ollama: a loaded model's context in /api/ps, else num_ctx in
	// /api/show, else Ollama's default.
	var show struct {
		Parameters string         `json:"parameters"`
		ModelInfo  map[string]any `json:"model_info"`
	}
	if c.getJSON(ctx, http.MethodPost, c.root()+"/api/show", map[string]string{"model": c.ep.Model}, &show) == nil &&
		(show.ModelInfo != nil || show.Parameters != "") {
		var ps struct {
			Models []struct {
				Name          string `json:"name"`
				Model         string `json:"model"`
				ContextLength int    `json:"context_length"`
			} `json:"models"`
		}
		if c.getJSON(ctx, http.MethodGet, c.root()+"/api/ps", nil, &ps) == nil {
			for _, m := range ps.Models {
				if (m.Name == c.ep.Model || m.Model == c.ep.Model || m.Name == c.ep.Model+":latest") && m.ContextLength > 0 {
					return serverInfo{kind: ServerOllama, window: m.ContextLength, source: "Ollama /api/ps context_length"}
				}
			}
		}
		for _, line := range strings.Split(show.Parameters, "\n") {
			f := strings.Fields(line)
			if len(f) == 2 && f[0] == "num_ctx" {
				var n int
				if _, err := fmt.Sscan(f[1], &n); err == nil && n > 0 {
					return serverInfo{kind: ServerOllama, window: n, source: "Ollama /api/show num_ctx"}
				}
			}
		}
		return serverInfo{kind: ServerOllama, window: OllamaDefaultWindow, source: "Ollama's default window"}
	}
	// vLLM: GET /models lists max_model_len.
	var models struct {
		Data []struct {
			ID          string `json:"id"`
			MaxModelLen int    `json:"max_model_len"`
		} `json:"data"`
	}
	if c.getJSON(ctx, http.MethodGet, strings.TrimRight(c.ep.BaseURL, "/")+"/models", nil, &models) == nil {
		for _, m := range models.Data {
			if m.MaxModelLen > 0 && (m.ID == c.ep.Model || len(models.Data) == 1) {
				return serverInfo{kind: ServerVLLM, window: m.MaxModelLen, source: "vLLM /models max_model_len"}
			}
		}
	}
	return serverInfo{}
}

// getJSON makes one small request and decodes a 200 JSON answer.
func (c *client) getJSON(ctx context.Context, method, u string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if err := c.authorize(ctx, req); err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(out)
}
