package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/m1-project/m1/batch"
	"github.com/m1-project/m1/model/scripted"
	"github.com/m1-project/m1/temporal"
)

// temporalCLI is the Temporal CLI that serves `temporal server start-dev`
// for the tests: $M1_TEMPORAL_CLI (.ci/run builds it, see .ci/temporal.sh).
// Without it the tests skip, except in CI, where they fail.
func temporalCLI(t *testing.T) string {
	t.Helper()
	path := os.Getenv("M1_TEMPORAL_CLI")
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("M1_TEMPORAL_CLI is not set in CI: .ci/run builds the Temporal CLI with .ci/temporal.sh and sets it")
		}
		t.Skip("no Temporal CLI: set M1_TEMPORAL_CLI to a temporal binary (.ci/temporal.sh builds one) to run the dev server tests")
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("M1_TEMPORAL_CLI: %v", err)
	}
	return path
}

// devServer starts `temporal server start-dev` on loopback, on a free port,
// with its state in a SQLite file under dir, and stops it when the test
// ends.
func devServer(t *testing.T, dir string) *testsuite.DevServer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var log bytes.Buffer
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:  temporalCLI(t),
		DBFilename:    filepath.Join(dir, "temporal.db"),
		LogLevel:      "error",
		ClientOptions: &client.Options{Namespace: "default", Logger: temporal.Logger(&log, 8)},
		Stdout:        io.Discard,
		Stderr:        &log,
	})
	if err != nil {
		t.Fatalf("start the Temporal dev server: %v\n%s", err, log.String())
	}
	t.Cleanup(func() { _ = srv.Stop() })
	return srv
}

// m1Process is the m1 binary (this test binary as m1) running in the
// background.
type m1Process struct {
	cmd      *exec.Cmd
	out, err *syncBuffer
	done     chan struct{}
}

func runBackground(t *testing.T, env []string, args ...string) *m1Process {
	t.Helper()
	cmd, out, errOut := m1Cmd(t, env, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &m1Process{cmd: cmd, out: out, err: errOut, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Signal(os.Interrupt)
			select {
			case <-p.done:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				<-p.done
			}
		}
	})
	return p
}

// wait waits for the process to end and returns its exit code.
func (p *m1Process) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(limit):
		t.Fatalf("m1 %v did not end in %s\nstdout:\n%s\nstderr:\n%s", p.cmd.Args[1:], limit, p.out, p.err)
	}
	return -1
}

// waitFor polls cond until it holds, or fails the test after limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
	}
}

// slowTasks is a scenario of tasks "Task ID: what is N*7?", each two Coder
// turns and an answer; turn 2's reply takes check (the first time for
// each task, when once is set). The Coder's second reply and one answer
// carry the API key, which m1 must keep out of everything it records.
func slowTasks(key string, ids []string, check time.Duration, once bool, touchDir string) *scripted.Scenario {
	sc := &scripted.Scenario{Name: "temporal", APIKey: key}
	for i, id := range ids {
		marker := "Task " + id + ":"
		n := i + 1
		turn2 := []scripted.Reply{{Content: fmt.Sprintf("checked %s; the key I saw was %s", id, key), Delay: check}}
		if touchDir != "" {
			turn2[0].Run = "touch " + filepath.Join(touchDir, id)
		}
		if once {
			turn2 = append(turn2, scripted.Reply{Content: fmt.Sprintf("checked %s", id)})
		}
		final := fmt.Sprintf("FINAL ANSWER: %d", n*7)
		if i == 0 {
			final = "The key was " + key + ".\n" + final
		}
		sc.Rules = append(sc.Rules,
			scripted.Rule{Name: "facts-" + id, Match: "GIVEN OR VERIFIED FACTS", Any: marker, Replies: []scripted.Reply{scripted.Text("1. GIVEN OR VERIFIED FACTS\n- none")}},
			scripted.Rule{Name: "plan-" + id, Match: "short (bullet )?plan", Any: marker, Replies: []scripted.Reply{scripted.Text("- Coder: compute, then check")}},
			scripted.Rule{Name: "ledger-done-" + id, Match: "is_request_satisfied", Any: "checked " + id, Replies: []scripted.Reply{ledgerSatisfied}},
			scripted.Rule{Name: "ledger-check-" + id, Match: "is_request_satisfied", Any: fmt.Sprintf("%s computed", id), Replies: []scripted.Reply{ledgerTo("Coder", "Check it.")}},
			scripted.Rule{Name: "ledger-start-" + id, Match: "is_request_satisfied", Any: marker, Replies: []scripted.Reply{ledgerTo("Coder", "Compute it.")}},
			scripted.Rule{Name: "coder1-" + id, System: "You are the Coder", Match: "Compute it", Any: marker,
				Replies: []scripted.Reply{{Content: fmt.Sprintf("%s computed: %d", id, n*7), Delay: 300 * time.Millisecond}}},
			scripted.Rule{Name: "coder2-" + id, System: "You are the Coder", Match: "Check it", Any: marker, Replies: turn2},
			scripted.Rule{Name: "final-" + id, Match: "final answer", Any: marker, Replies: []scripted.Reply{scripted.Text(final)}},
		)
	}
	return sc
}

func writeTasks(t *testing.T, path string, ids []string) {
	t.Helper()
	var b strings.Builder
	for i, id := range ids {
		fmt.Fprintf(&b, `{"id": %q, "task": "Task %s: what is %d*7?", "answer": "%d"}`+"\n", id, id, i+1, (i+1)*7)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func rules(srv *scripted.Server) map[string]int {
	n := map[string]int{}
	for _, r := range srv.Requests() {
		n[r.Rule]++
	}
	return n
}

func readResults(t *testing.T, path string) map[string]batch.Result {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]batch.Result{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var r batch.Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("results line %q: %v", sc.Text(), err)
		}
		if _, dup := out[r.ID]; dup {
			t.Fatalf("task %s has two results", r.ID)
		}
		out[r.ID] = r
	}
	return out
}

// workerEnv is the environment of a worker on a machine of its own.
func workerEnv(dir, url, key string) []string {
	return []string{"OPENAI_API_KEY=" + key, "OPENAI_BASE_URL=" + url, "M1_MODEL=scripted",
		"XDG_STATE_HOME=" + filepath.Join(dir, "state"), "HOME=" + dir, "NO_COLOR=1"}
}

// Against a real Temporal dev server: two workers share a batch of six
// tasks; one is killed with SIGKILL in the middle of its tasks. The other
// finishes them from their last completed turn: six of six succeed, no
// task is started over or answered twice, and the API key is nowhere in
// Temporal's history. Then a batch stopped with Ctrl-C cancels its
// workflows, and its rerun goes on from where they stopped; and a task
// that keeps failing ends as error after --attempts attempts.
func TestTemporalDevServer(t *testing.T) {
	cliPath := temporalCLI(t)
	_ = cliPath
	dir := t.TempDir()
	dev := devServer(t, dir)
	addr := dev.FrontendHostPort()
	const key = "sk-temporal-SECRET-0123456789abcdef"

	t.Run("worker killed mid-task", func(t *testing.T) {
		ids := []string{"T1", "T2", "T3", "T4", "T5", "T6"}
		srv := scripted.New(t, slowTasks(key, ids, 4*time.Second, false, ""))
		tasks := filepath.Join(dir, "kill.jsonl")
		writeTasks(t, tasks, ids)
		queue := "kill"
		a := runBackground(t, workerEnv(filepath.Join(dir, "machine-a"), srv.URL(), key), "worker", "--temporal", addr, "--queue", queue, "--parallel", "3")
		b := runBackground(t, workerEnv(filepath.Join(dir, "machine-b"), srv.URL(), key), "worker", "--temporal", addr, "--queue", queue, "--parallel", "3")
		for _, w := range []*m1Process{a, b} {
			waitFor(t, time.Minute, "a worker to start", func() bool { return strings.Contains(w.err.String(), "taking tasks from queue kill") })
		}
		// The submitter has the key too; it must not send it anywhere.
		bt := runBackground(t, append(workerEnv(filepath.Join(dir, "submitter"), srv.URL(), key), "M1_TEMPORAL_ADDRESS="+addr),
			"batch", tasks, "--queue", queue, "--out", filepath.Join(dir, "kill-out"), "--heartbeat-timeout", "8s", "--agents", "coder", "--json")

		// Kill worker A once every task it took is in its second turn:
		// the first is done and checkpointed.
		started := regexp.MustCompile(`start \S+ task (T\d) attempt 1`)
		var onA []string
		waitFor(t, 2*time.Minute, "worker A's tasks to reach their second turn", func() bool {
			onA = nil
			for _, m := range started.FindAllStringSubmatch(a.out.String(), -1) {
				onA = append(onA, m[1])
			}
			n := rules(srv)
			for _, id := range onA {
				if n["coder2-"+id] == 0 {
					return false
				}
			}
			return len(onA) > 0
		})
		if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		a.wait(t, 10*time.Second)
		// Temporal holds the killed worker's last checkpoint of each task
		// (its turn-1 work) for the next attempt, and no key in it.
		batchID := readBatchID(t, filepath.Join(dir, "kill-out"))
		checked := 0
		for _, id := range onA {
			d, err := dev.Client().DescribeWorkflowExecution(context.Background(), "m1-"+batchID+"-"+id, "")
			if err != nil {
				t.Fatal(err)
			}
			pending := d.GetPendingActivities()
			if len(pending) != 1 {
				continue // already finished on the other worker
			}
			b, err := protojson.Marshal(pending[0].GetHeartbeatDetails())
			if err != nil {
				t.Fatal(err)
			}
			leak, control := scanBytes(b, key, id+" computed")
			if leak != "" || !control {
				t.Errorf("task %s: the checkpoint Temporal holds: key found %q, turn 1 found %v", id, leak, control)
			}
			checked++
		}
		if checked == 0 {
			t.Error("no task of the killed worker was still waiting for another: nothing checked")
		}

		if code := bt.wait(t, 4*time.Minute); code != 0 {
			t.Fatalf("batch exit %d\nstdout:\n%s\nstderr:\n%s\nworker B:\n%s%s", code, bt.out, bt.err, b.out, b.err)
		}
		res := readResults(t, filepath.Join(dir, "kill-out", batch.ResultsFile))
		if len(res) != 6 {
			t.Fatalf("%d results, want 6", len(res))
		}
		n := rules(srv)
		for _, id := range ids {
			r := res[id]
			if r.Status != "success" || r.Correct == nil || !*r.Correct {
				t.Errorf("task %s: %+v", id, r)
			}
			// Never started over, never answered twice.
			if n["facts-"+id] != 1 || n["plan-"+id] != 1 || n["coder1-"+id] != 1 || n["final-"+id] != 1 {
				t.Errorf("task %s: facts %d, plan %d, first turn %d, final answer %d requests; want 1 each",
					id, n["facts-"+id], n["plan-"+id], n["coder1-"+id], n["final-"+id])
			}
			if strings.Contains(r.FinalAnswer, key) {
				t.Errorf("task %s: the key is in the result", id)
			}
		}
		for _, id := range onA {
			r := res[id]
			// Its second turn was cut by the kill and done again on B.
			if r.Attempts != 2 || strings.Contains(r.Worker, fmt.Sprint(a.cmd.Process.Pid)) || n["coder2-"+id] != 2 {
				t.Errorf("task %s of the killed worker: attempts %d, worker %s, second turns %d", id, r.Attempts, r.Worker, n["coder2-"+id])
			}
		}
		if !strings.Contains(bt.out.String(), `"type":"batch_end"`) {
			t.Errorf("no batch_end event:\n%s", bt.out)
		}

		// Nothing in Temporal's history holds the key (T1's answer said
		// it; the control: the answer itself is found).
		for _, id := range ids {
			h := history(t, dev.Client(), "m1-"+batchID+"-"+id)
			leak, control := scanHistory(t, h, key, "FINAL ANSWER: ")
			if leak != "" || !control {
				t.Errorf("workflow of task %s: key found in its history %q; answer found %v", id, leak, control)
			}
			// The workflow replays deterministically from its history.
			replayer := worker.NewWorkflowReplayer()
			replayer.RegisterWorkflowWithOptions(temporal.TaskWorkflow, workflow.RegisterOptions{Name: temporal.WorkflowName})
			if err := replayer.ReplayWorkflowHistory(nil, h); err != nil {
				t.Errorf("replay the workflow of task %s: %v", id, err)
			}
		}
	})

	t.Run("batch interrupted then resumed", func(t *testing.T) {
		ids := []string{"U1", "U2"}
		touch := filepath.Join(dir, "touch")
		if err := os.MkdirAll(touch, 0o755); err != nil {
			t.Fatal(err)
		}
		srv := scripted.New(t, slowTasks(key, ids, 5*time.Minute, true, touch))
		tasks := filepath.Join(dir, "stop.jsonl")
		writeTasks(t, tasks, ids)
		out := filepath.Join(dir, "stop-out")
		w := runBackground(t, workerEnv(filepath.Join(dir, "machine-c"), srv.URL(), key), "worker", "--temporal", addr, "--queue", "stop", "--parallel", "2")
		waitFor(t, time.Minute, "the worker to start", func() bool { return strings.Contains(w.err.String(), "taking tasks") })
		args := []string{"batch", tasks, "--temporal", addr, "--queue", "stop", "--out", out, "--heartbeat-timeout", "3s", "--agents", "coder", "--json"}
		bt := runBackground(t, workerEnv(filepath.Join(dir, "submitter"), srv.URL(), key), args...)
		waitFor(t, 2*time.Minute, "both tasks to wait in their second turn", func() bool {
			_, e1 := os.Stat(filepath.Join(touch, "U1"))
			_, e2 := os.Stat(filepath.Join(touch, "U2"))
			return e1 == nil && e2 == nil
		})
		if err := bt.cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		if code := bt.wait(t, 2*time.Minute); code != exitInterrupt {
			t.Fatalf("interrupted batch exit %d\n%s\n%s", code, bt.out, bt.err)
		}
		batchID := readBatchID(t, out)
		for _, id := range ids {
			d, err := dev.Client().DescribeWorkflowExecution(context.Background(), "m1-"+batchID+"-"+id, "")
			if err != nil || d.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED {
				t.Fatalf("workflow of %s after Ctrl-C: %v %v", id, d.GetWorkflowExecutionInfo().GetStatus(), err)
			}
		}
		cancelled := regexp.MustCompile(`task U\d attempt 1 cancelled session`)
		waitFor(t, 30*time.Second, "the worker to report the cancellations", func() bool {
			return len(cancelled.FindAllString(w.out.String(), -1)) == 2
		})
		if strings.Contains(w.err.String(), "level=ERROR") {
			t.Errorf("the worker logged an expected cancellation as an error:\n%s", w.err)
		}
		// The cancelled workflows hold the tasks' checkpoints (the control)
		// and no key.
		for _, id := range ids {
			leak, control := scanHistory(t, history(t, dev.Client(), "m1-"+batchID+"-"+id), key, id+" computed")
			if leak != "" || !control {
				t.Errorf("cancelled workflow of %s: key found %q, checkpoint found %v", id, leak, control)
			}
		}

		bt = runBackground(t, workerEnv(filepath.Join(dir, "submitter"), srv.URL(), key), args...)
		if code := bt.wait(t, 2*time.Minute); code != 0 {
			t.Fatalf("rerun exit %d\n%s\n%s\nworker:\n%s%s", code, bt.out, bt.err, w.out, w.err)
		}
		if c := strings.Count(bt.out.String(), `"resumed":true`); c != 2 {
			t.Errorf("%d tasks resumed, want 2:\n%s", c, bt.out)
		}
		res := readResults(t, filepath.Join(out, batch.ResultsFile))
		n := rules(srv)
		for _, id := range ids {
			if r := res[id]; r.Status != "success" || r.Correct == nil || !*r.Correct {
				t.Errorf("task %s: %+v", id, r)
			}
			if n["facts-"+id] != 1 || n["coder1-"+id] != 1 || n["coder2-"+id] != 2 || n["final-"+id] != 1 {
				t.Errorf("task %s: facts %d, first turn %d, second turn %d, final %d requests; want 1, 1, 2, 1",
					id, n["facts-"+id], n["coder1-"+id], n["coder2-"+id], n["final-"+id])
			}
		}

		// Ctrl-C stops a worker cleanly.
		if err := w.cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		if code := w.wait(t, time.Minute); code != 0 {
			t.Errorf("worker exit %d after Ctrl-C:\n%s", code, w.err)
		}
	})

	t.Run("task that keeps failing", func(t *testing.T) {
		ids := []string{"F1", "F2"}
		sc := slowTasks(key, ids, 0, false, "")
		sc.Rules = append([]scripted.Rule{{Name: "broken-F1", Any: "Task F1:", Replies: []scripted.Reply{scripted.Fault(400, "this request is not valid")}}}, sc.Rules...)
		srv := scripted.New(t, sc)
		tasks := filepath.Join(dir, "fail.jsonl")
		writeTasks(t, tasks, ids)
		w := runBackground(t, workerEnv(filepath.Join(dir, "machine-d"), srv.URL(), key), "worker", "--temporal", addr, "--queue", "fail", "--parallel", "2")
		waitFor(t, time.Minute, "the worker to start", func() bool { return strings.Contains(w.err.String(), "taking tasks") })
		bt := runBackground(t, workerEnv(filepath.Join(dir, "submitter"), srv.URL(), key),
			"batch", tasks, "--temporal", addr, "--queue", "fail", "--out", filepath.Join(dir, "fail-out"), "--attempts", "2", "--agents", "coder")
		if code := bt.wait(t, 2*time.Minute); code != exitRuntime {
			t.Fatalf("batch exit %d, want %d\n%s\n%s", code, exitRuntime, bt.out, bt.err)
		}
		res := readResults(t, filepath.Join(dir, "fail-out", batch.ResultsFile))
		if r := res["F1"]; r.Status != "error" || r.Attempts != 2 || !strings.Contains(r.Error, "HTTP 400") || !strings.Contains(r.Error, "this request is not valid") {
			t.Errorf("failing task: %+v", r)
		}
		if r := res["F2"]; r.Status != "success" {
			t.Errorf("the other task: %+v", r)
		}
		if n := rules(srv)["broken-F1"]; n != 2 {
			t.Errorf("the failing task ran %d times, want 2 (--attempts 2)", n)
		}
		if !strings.Contains(bt.out.String(), "✗ F1  error") || !strings.Contains(bt.out.String(), "tasks     2: 1 success, 1 error") {
			t.Errorf("batch output:\n%s", bt.out)
		}
	})
}

func readBatchID(t *testing.T, out string) string {
	t.Helper()
	id, err := batch.ID(out)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// history fetches a workflow's whole history, across its runs' latest.
func history(t *testing.T, c client.Client, id string) *historypb.History {
	t.Helper()
	it := c.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatalf("history of %s: %v", id, err)
		}
		h.Events = append(h.Events, ev)
	}
	if len(h.Events) == 0 {
		t.Fatalf("workflow %s has no history", id)
	}
	return h
}

var base64Run = regexp.MustCompile(`[A-Za-z0-9+/]{24,}={0,2}`)

// scanHistory looks for secret in everything h holds, payloads decoded,
// base64 inside them decoded and gzip unpacked, and says where it was
// found (empty: nowhere) and whether control was found.
func scanHistory(t *testing.T, h *historypb.History, secret, control string) (string, bool) {
	t.Helper()
	b, err := protojson.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	return scanBytes(b, secret, control)
}

// scanBytes is scanHistory's search in b.
func scanBytes(b []byte, secret, control string) (string, bool) {
	found := false
	var leak string
	var scan func(b []byte, depth int)
	scan = func(b []byte, depth int) {
		if leak != "" || depth > 4 {
			return
		}
		if bytes.Contains(b, []byte(secret)) {
			leak = string(b[max(0, bytes.Index(b, []byte(secret))-80):min(len(b), bytes.Index(b, []byte(secret))+len(secret)+20)])
			return
		}
		if bytes.Contains(b, []byte(control)) {
			found = true
		}
		if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
			if zr, err := gzip.NewReader(bytes.NewReader(b)); err == nil {
				if u, err := io.ReadAll(zr); err == nil {
					scan(u, depth+1)
				}
			}
			return
		}
		for _, m := range base64Run.FindAll(b, -1) {
			if d, err := base64.StdEncoding.DecodeString(string(m)); err == nil {
				scan(d, depth+1)
			}
		}
	}
	scan(b, 0)
	return leak, found
}
