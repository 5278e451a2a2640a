package web

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCheckBrowser(t *testing.T) {
	t.Parallel()
	requireChrome(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c := newChrome(ctx, DefaultOptions())
	info, err := c.check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := findBrowser("")
	if info.Path != want || !strings.Contains(info.Product, "Chrome") {
		t.Errorf("info = %+v, want path %s and a Chrome product", info, want)
	}
	if c.profileDir == "" {
		t.Fatal("no profile dir recorded: was a browser launched?")
	}
	// check returns only after the browser is shut down.
	assertNoChrome(t, c.profileDir)
}

func TestCheckBrowserFails(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, path string
	}{
		{"missing", filepath.Join(t.TempDir(), "no-such-chrome")},
		{"not a browser", "/bin/false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			info, err := CheckBrowser(ctx, WithBrowserPath(tc.path))
			var le *LaunchError
			if !errors.As(err, &le) {
				t.Fatalf("err = %v, want a *LaunchError", err)
			}
			if info.Path != tc.path || !strings.Contains(err.Error(), tc.path) {
				t.Errorf("info.Path = %q, err = %v; want both to name %s", info.Path, err, tc.path)
			}
		})
	}
}
