package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/m1-project/m1/batch"
	"github.com/m1-project/m1/console"
)

// waitfor [-alive PIDFILE] FILE...: waits until every FILE exists, so a
// script can act at a known point of a run in the background (a
// scenario's run hook touches the file). It fails after two minutes, and
// with -alive at once when the process whose pid PIDFILE holds has exited
// (a background m1 started as sh -c 'echo $$ > PIDFILE; exec m1 ...'):
// a run that died early is reported as such rather than waited on.
func cmdWaitFor(ts *testscript.TestScript, neg bool, args []string) {
	pidFile := ""
	if len(args) > 1 && args[0] == "-alive" {
		pidFile, args = ts.MkAbs(args[1]), args[2:]
	}
	if neg || len(args) == 0 {
		ts.Fatalf("usage: waitfor [-alive PIDFILE] FILE...")
	}
	deadline := time.Now().Add(2 * time.Minute)
	for _, f := range args {
		for {
			if _, err := os.Stat(ts.MkAbs(f)); err == nil {
				break
			}
			if pidFile != "" && exited(pidFile) {
				ts.Fatalf("the process of %s exited before %s appeared", filepath.Base(pidFile), f)
			}
			if time.Now().After(deadline) {
				ts.Fatalf("%s did not appear in 2m", f)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// exited reports whether the process whose pid pidFile holds has ended
// (gone, or a zombie not yet reaped). A pid file not yet written says
// nothing.
func exited(pidFile string) bool {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return syscall.Kill(pid, 0) != nil
	}
	// The state follows the command name, which is in parentheses.
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
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
