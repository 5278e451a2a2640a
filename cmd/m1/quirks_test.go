package main

import (
	"bytes"
	"cmp"
	"net/http"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// Script commands about what m1 sent to a scripted server in a quirk mode.

// norepeat [-rule NAME]: no request was sent again unchanged after a quirk
// mode refused it: every later request's body differs from each refused
// one. Faults scripted as replies (a 500 that a retry cures) and rate
// limits (429) are not refusals of the request and may be repeated; with
// -rule, the error replies of rule NAME are scripted refusals (a server's
// words m1 must recognise as one) and count too.
func cmdNoRepeat(ts *testscript.TestScript, neg bool, args []string) {
	rule := ""
	if len(args) == 2 && args[0] == "-rule" {
		rule, args = args[1], args[2:]
	}
	if neg || len(args) != 0 {
		ts.Fatalf("usage: norepeat [-rule NAME]")
	}
	reqs := server(ts).Requests()
	for i, r := range reqs {
		scripted := rule != "" && r.Rule == rule && r.Status >= 400
		if (r.Quirk == "" && !scripted) || r.Status == http.StatusTooManyRequests {
			continue
		}
		for j := i + 1; j < len(reqs); j++ {
			if bytes.Equal(reqs[j].Body, r.Body) {
				ts.Fatalf("request %d repeats request %d unchanged after %s refused it (HTTP %d)", j+1, i+1, cmp.Or(r.Quirk, r.Rule), r.Status)
			}
		}
	}
}

// refused [-quirk NAME] COUNT: the quirk modes (or mode NAME) refused
// COUNT requests. COUNT may be N+ for at least N.
func cmdRefused(ts *testscript.TestScript, neg bool, args []string) {
	quirk := ""
	if len(args) == 3 && args[0] == "-quirk" {
		quirk, args = args[1], args[2:]
	}
	if len(args) != 1 {
		ts.Fatalf("usage: refused [-quirk NAME] COUNT")
	}
	atLeast := strings.HasSuffix(args[0], "+")
	want, err := strconv.Atoi(strings.TrimSuffix(args[0], "+"))
	ts.Check(err)
	got := 0
	for _, r := range server(ts).Requests() {
		if r.Quirk != "" && (quirk == "" || r.Quirk == quirk) {
			got++
		}
	}
	ok := got == want || (atLeast && got >= want)
	if ok == neg {
		ts.Fatalf("%d requests refused by %s, want %s%s", got, orAny(quirk), map[bool]string{true: "not "}[neg], args[0])
	}
}

// promptmax [-rule NAME] TOKENS: no request (of rule NAME) had a prompt
// of more than TOKENS estimated tokens, however many steps failed.
func cmdPromptMax(ts *testscript.TestScript, neg bool, args []string) {
	rule := ""
	if len(args) == 3 && args[0] == "-rule" {
		rule, args = args[1], args[2:]
	}
	if neg || len(args) != 1 {
		ts.Fatalf("usage: promptmax [-rule NAME] TOKENS")
	}
	limit, err := strconv.Atoi(args[0])
	ts.Check(err)
	for i, r := range server(ts).Requests() {
		if rule != "" && r.Rule != rule {
			continue
		}
		if n := r.PromptTokens(); n > limit {
			ts.Fatalf("request %d (%s) has a prompt of about %d tokens, over %d", i+1, r.Rule, n, limit)
		}
	}
}

// truncated COUNT: the server cut COUNT prompts from the front to fit its
// window (llamacpp-context-shift, ollama-small-ctx).
func cmdTruncated(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: truncated COUNT")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	for _, r := range server(ts).Requests() {
		if r.Truncated {
			got++
		}
	}
	if (got == want) == neg {
		ts.Fatalf("%d prompts truncated, want %s%d", got, map[bool]string{true: "not "}[neg], want)
	}
}

func orAny(q string) string {
	if q == "" {
		return "any quirk mode"
	}
	return q
}

// showrequests: logs each request the scripted server got — rule, status,
// quirk, estimated prompt tokens — for diagnosing a script.
func cmdShowRequests(ts *testscript.TestScript, neg bool, args []string) {
	for i, r := range server(ts).Requests() {
		ts.Logf("request %d: rule %q status %d quirk %q prompt %d tokens truncated %v", i+1, r.Rule, r.Status, r.Quirk, r.PromptTokens(), r.Truncated)
	}
}
