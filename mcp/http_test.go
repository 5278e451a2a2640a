package mcp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/m1-project/m1/config"
)

// httpServer serves an MCP server over streamable HTTP that wants a
// bearer token.
func httpServer(t *testing.T) *httptest.Server {
	t.Helper()
	s := sdk.NewServer(&sdk.Implementation{Name: "remote", Version: "1.0"}, &sdk.ServerOptions{Instructions: "A remote test server."})
	sdk.AddTool(s, &sdk.Tool{Name: "echo", Description: "Echoes.", Annotations: ro()},
		func(_ context.Context, _ *sdk.CallToolRequest, a echoArgs) (*sdk.CallToolResult, any, error) {
			return text("remote echo: " + a.Message), nil, nil
		})
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s }, nil)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer t0ken-123" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts
}

func TestHTTPServer(t *testing.T) {
	t.Parallel()
	ts := httpServer(t)
	cfg := config.MCPServer{Name: "remote", URL: ts.URL + "/mcp", Headers: map[string]string{"Authorization": "Bearer t0ken-123"}}
	srv, err := Connect(t.Context(), cfg, nil, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if srv.Instructions() != "A remote test server." || len(srv.Tools()) != 1 {
		t.Errorf("instructions %q, tools %v", srv.Instructions(), srv.Tools())
	}
	res, err := srv.Call(t.Context(), "echo", []byte(`{"message":"hi"}`), 0, nil)
	if err != nil || convert(res).text != "remote echo: hi" {
		t.Fatalf("call: %v %v", res, err)
	}

	cfg.Headers = nil
	if _, err := Connect(t.Context(), cfg, nil, 10*time.Second); err == nil || !strings.Contains(err.Error(), "Unauthorized") && !strings.Contains(err.Error(), "401") {
		t.Errorf("without the token: %v", err)
	}
}
