package main

import (
	"runtime/debug"
	"strings"
	"testing"

	"github.com/m1-project/m1/console"
)

// With stdin a terminal and no argument there is no task to read: m1 says
// so rather than waiting for input nobody knows it wants.
func TestNoTaskFromATerminal(t *testing.T) {
	t.Parallel()
	io, out, errOut := console.Test("")
	io.InTTY = true
	code := Main(nil, io, func(string) string { return "" })
	if code != exitUsage || !strings.Contains(errOut.String(), "no task given: run m1 \"your task\"") || out.Len() != 0 {
		t.Errorf("exit %d, stderr %q, stdout %q; want exit 2 and \"no task given\"", code, errOut, out)
	}
}

func TestClosest(t *testing.T) {
	t.Parallel()
	names := []string{"show", "sessions", "read", "resume", "doctor", "version", "help", "completion", "environment", "exit-codes"}
	for typed, want := range map[string]string{
		"sesions": "sessions", "versoin": "version", "shwo": "show", "doctr": "doctor",
		"reume": "resume", "sess": "sessions", "enviroment": "environment", "Sessions": "sessions",
		"exitcodes": "exit-codes",
		// Real one-word tasks stay tasks.
		"hello": "", "soon": "", "summarise": "", "translate": "", "hi": "",
	} {
		if got := closest(typed, names); got != want {
			t.Errorf("closest(%q) = %q, want %q", typed, got, want)
		}
	}
}

func TestBuildVersion(t *testing.T) {
	t.Parallel()
	vcs := func(rev, modified string) *debug.BuildInfo {
		bi := &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261129173141-ad403d87ce42+dirty"}}
		bi.Settings = []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.time", Value: "2026-11-29T17:31:41Z"}, {Key: "vcs.modified", Value: modified}}
		return bi
	}
	for _, c := range []struct {
		name, set string
		bi        *debug.BuildInfo
		ok        bool
		want      string
	}{
		{"ldflags win", "v1.2.0", vcs("ad403d87ce42c64772049f0141003a9b327d284c", "true"), true, "v1.2.0"},
		{"go install module@version", "dev", &debug.BuildInfo{Main: debug.Module{Version: "v1.3.0"}}, true, "v1.3.0"},
		{"a checkout", "dev", vcs("ad403d87ce42c64772049f0141003a9b327d284c", "false"), true, "dev (commit ad403d87ce42, 2026-11-29)"},
		{"a changed checkout", "dev", vcs("ad403d87ce42c64772049f0141003a9b327d284c", "true"), true, "dev (commit ad403d87ce42, 2026-11-29, with uncommitted changes)"},
		{"no vcs", "dev", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, true, "dev"},
		{"no build info", "dev", nil, false, "dev"},
	} {
		if got := buildVersion(c.set, c.bi, c.ok); got != c.want {
			t.Errorf("%s: buildVersion = %q, want %q", c.name, got, c.want)
		}
	}
}
