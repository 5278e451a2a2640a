package model_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/m1-project/m1/model"
	"github.com/m1-project/m1/model/scripted"
)

func TestListModels(t *testing.T) {
	t.Parallel()
	srv := scripted.New(t, &scripted.Scenario{Models: []string{"zeta", "alpha", "mid"}})
	ids, err := model.ListModels(t.Context(), model.Endpoint{Model: "alpha", BaseURL: srv.URL(), APIKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"alpha", "mid", "zeta"}; !slices.Equal(ids, want) {
		t.Errorf("ids = %v, want %v", ids, want)
	}
}

// statusServer answers every request with status and an OpenAI-style error
// body, and counts the requests.
func statusServer(t *testing.T, status int) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		// Servers do echo the key they were given.
		_, _ = w.Write([]byte(`{"error": {"message": "Incorrect API key provided: ` + testKey + `", "type": "invalid_request_error", "code": "invalid_api_key"}}`))
	}))
	t.Cleanup(ts.Close)
	return ts, &n
}

func TestListModelsErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status int
		kind   error
	}{
		{http.StatusUnauthorized, model.ErrAuth},
		{http.StatusForbidden, model.ErrAuth},
		{http.StatusNotFound, model.ErrModelNotFound},
		{http.StatusServiceUnavailable, model.ErrUnavailable},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			t.Parallel()
			ts, n := statusServer(t, tc.status)
			_, err := model.ListModels(t.Context(), model.Endpoint{Model: "gpt-4o", BaseURL: ts.URL + "/v1", APIKey: testKey})
			var me *model.Error
			if !errors.As(err, &me) || !errors.Is(err, tc.kind) || me.StatusCode != tc.status {
				t.Fatalf("err = %v, want a %v *model.Error with status %d", err, tc.kind, tc.status)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("the error shows the key: %v", err)
			}
			if got := n.Load(); got != 1 {
				t.Errorf("%d requests, want 1: listing is never retried", got)
			}
		})
	}
}

func TestListModelsRefused(t *testing.T) {
	t.Parallel()
	_, err := model.ListModels(t.Context(), model.Endpoint{Model: "gpt-4o", BaseURL: "http://" + refusedAddr(t) + "/v1", APIKey: testKey})
	if !errors.Is(err, syscall.ECONNREFUSED) || !errors.Is(err, model.ErrUnavailable) {
		t.Fatalf("err = %v, want a refused connection", err)
	}
}

func TestListModelsTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(ts.Close)
	t.Cleanup(func() { close(release) })
	_, err := model.ListModels(t.Context(), model.Endpoint{Model: "gpt-4o", BaseURL: ts.URL + "/v1", APIKey: testKey},
		model.WithTimeout(50*time.Millisecond))
	if !errors.Is(err, model.ErrUnavailable) || !strings.Contains(err.Error(), "no answer within 50ms") {
		t.Fatalf("err = %v, want a timeout", err)
	}
}
