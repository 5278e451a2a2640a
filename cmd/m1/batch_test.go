package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/m1-project/m1/batch"
	"github.com/m1-project/m1/console"
)

// waitfor FILE...: waits until every FILE exists, so a script can act at a
// known point of a run in the background (a scenario's run hook touches
// the file). It fails after two minutes.
func cmdWaitFor(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: waitfor FILE...")
	}
	deadline := time.Now().Add(2 * time.Minute)
	for _, f := range args {
		for {
			if _, err := os.Stat(ts.MkAbs(f)); err == nil {
				break
			}
			if time.Now().After(deadline) {
				ts.Fatalf("%s did not appear in 2m", f)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// The progress bar is drawn on a terminal's stderr and erased before each
// task line, which goes to stdout; piped, there is no bar.
func TestBatchViewTerminal(t *testing.T) {
	t.Parallel()
	for _, tty := range []bool{true, false} {
		io, out, errOut := console.Test("")
		io.ErrTTY = tty
		v := newBatchView(&factory{io: io, getenv: func(string) string { return "" }}, false)
		v.handle(batch.Event{Type: batch.EventBatchStart, Batch: &batch.Info{Tasks: 3, ToRun: 3, Parallel: 2, ParallelFrom: "2 cores", Results: "out/results.jsonl", Mode: "local"}})
		v.handle(batch.Event{Type: batch.EventTaskStart, ID: "a"})
		v.handle(batch.Event{Type: batch.EventTaskStart, ID: "b"})
		yes := true
		v.handle(batch.Event{Type: batch.EventTaskEnd, ID: "a", Result: &batch.Result{ID: "a", Status: "success", FinalAnswer: "FINAL ANSWER: 42\u202e", Correct: &yes, Turns: 2}})
		v.handle(batch.Event{Type: batch.EventTaskEnd, ID: "b", Result: &batch.Result{ID: "b", Status: "error", Error: "model down"}})
		v.handle(batch.Event{Type: batch.EventBatchEnd, Summary: &batch.Summary{Tasks: 3, Ended: 2, ByStatus: map[string]int{"success": 1, "error": 1, "not_started": 1}, Scored: 1, Correct: 1, Accuracy: 1, Interrupted: true}})
		v.close()
		for _, want := range []string{"✓ a  success correct  2 turns  0s  42\\u202e\n", "✗ b  error  0 turns  0s  model down\n",
			"tasks     3: 1 success, 1 error, 1 not started\n", "accuracy  100.0% (1 of 1 scored tasks correct)\n", "stopped   run the same command again"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("tty=%v: stdout lacks %q:\n%s", tty, want, out.String())
			}
		}
		if strings.Contains(out.String(), "\x1b") {
			t.Errorf("tty=%v: escape codes on stdout: %q", tty, out.String())
		}
		bar := strings.Contains(errOut.String(), "\r\x1b[K") && strings.Contains(errOut.String(), "1/3 done · 1 running · 0 failed") &&
			strings.Contains(errOut.String(), "2/3 done · 0 running · 1 failed")
		if bar != tty {
			t.Errorf("tty=%v: progress bar shown=%v:\n%q", tty, bar, errOut.String())
		}
		if !strings.Contains(errOut.String(), "m1 batch: 3 tasks, 3 to run, 2 at once (2 cores); results in out/results.jsonl") {
			t.Errorf("tty=%v: no start line:\n%q", tty, errOut.String())
		}
	}
}
