package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/m1-project/m1/model/scripted"
)

// Sizes of the batch runs.
const (
	batchOverheadTasks = 40                     // tasks of the overhead run
	batchRateTasks     = 24                     // tasks of each throughput run
	batchModelDelay    = 100 * time.Millisecond // the model's time per reply in the throughput runs
	memoryTasks        = 8                      // tasks running at once in the memory runs
)

// batchFigures measures m1 batch and m1 worker against the scripted
// model: what a batch adds to each task, tasks per minute at 1, 2 and 4 at
// once, and the memory a running task costs a batch and a worker.
func batchFigures(ctx context.Context, o options, progress func(string, ...any)) []Figure {
	var out []Figure

	// The overhead is mostly the disk: each task's checkpoints, summary
	// and results line are synced. The same run with everything in memory
	// shows what is left.
	roots := []struct{ id, where, root string }{{"", "", ""}}
	if st, err := os.Stat(tmpfs); err == nil && st.IsDir() {
		roots = append(roots, struct{ id, where, root string }{".tmpfs", ", state on tmpfs", tmpfs})
	}
	for _, rt := range roots {
		label := "batch overhead per task, instant model" + rt.where
		progress("%s: %d tasks, one at a time", label, batchOverheadTasks)
		r, err := runBatchIn(ctx, o.m1, rt.root, batchOverheadTasks, 1, 0, 0)
		if err != nil {
			out = append(out, notMeasured("batch.overhead"+rt.id, "batch", label, "ms", nil, statusError, err.Error()))
			continue
		}
		f := measured("batch.overhead"+rt.id, "batch", label, "ms", millis(r.wall-r.inRuns)/float64(r.tasks), nil, nil)
		f.Note = fmt.Sprintf("(wall - the runs' own time) / tasks: %d tasks in %s, the runs %s; work dir, session and its synced checkpoints, results line",
			r.tasks, r.wall.Round(time.Millisecond), r.inRuns.Round(time.Millisecond))
		out = append(out, f)
		if rt.id == "" {
			f = measured("batch.per_task", "batch", "wall time per task, one at a time, instant model", "ms", millis(r.wall)/float64(r.tasks), nil, nil)
			f.Note = "the whole batch process, start-up included, divided by its tasks"
			out = append(out, f)
		}
	}

	for _, n := range []int{1, 2, 4} {
		id := fmt.Sprintf("batch.rate.%d", n)
		label := fmt.Sprintf("tasks per minute, --parallel %d, model %s a reply", n, batchModelDelay)
		progress("%s: %d tasks", label, batchRateTasks)
		r, err := runBatch(ctx, o.m1, batchRateTasks, n, batchModelDelay, 0)
		if err != nil {
			out = append(out, notMeasured(id, "batch", label, "tasks/min", nil, statusError, err.Error()))
			continue
		}
		f := measured(id, "batch", label, "tasks/min", float64(r.tasks)/r.wall.Minutes(), nil, nil)
		f.Note = fmt.Sprintf("%d tasks of 4 model calls each in %s", r.tasks, r.wall.Round(time.Millisecond))
		out = append(out, f)
	}

	// Memory: tasks that hold for a while, so that n of them are running
	// together; the process's peak over one task at a time.
	progress("memory per running task, m1 batch: %d tasks at once, then one", memoryTasks)
	one, err1 := runBatch(ctx, o.m1, memoryTasks, 1, 0, 2*time.Second)
	many, err2 := runBatch(ctx, o.m1, memoryTasks, memoryTasks, 0, 2*time.Second)
	if err := errors.Join(err1, err2); err != nil {
		out = append(out, notMeasured("batch.memory", "batch", "m1 batch memory per running task", "MB", nil, statusError, err.Error()))
	} else {
		per := float64(many.peakKB-one.peakKB) * 1024 / 1e6 / float64(memoryTasks-1)
		f := measured("batch.memory", "batch", "m1 batch memory per running task", "MB", per, nil, nil)
		f.Note = fmt.Sprintf("(peak RSS with %d tasks running - with 1) / %d; peaks %.1f and %.1f MB; the Coder only, so no Chrome or container (their own processes)",
			memoryTasks, memoryTasks-1, float64(many.peakKB)*1024/1e6, float64(one.peakKB)*1024/1e6)
		out = append(out, f)
	}

	cli := os.Getenv("M1_TEMPORAL_CLI")
	if cli == "" {
		return append(out, notMeasured("worker.memory", "batch", "m1 worker memory per running task", "MB", nil, statusSkipped,
			"no Temporal CLI: set M1_TEMPORAL_CLI (.ci/temporal.sh builds it)"))
	}
	progress("memory per running task, m1 worker on a Temporal dev server: %d tasks at once", memoryTasks)
	w, err := measureWorker(ctx, o.m1, cli)
	if err != nil {
		return append(out, notMeasured("worker.memory", "batch", "m1 worker memory per running task", "MB", nil, statusError, err.Error()))
	}
	f := measured("worker.memory", "batch", "m1 worker memory per running task", "MB", float64(w.peakKB-w.idleKB)*1024/1e6/memoryTasks, nil, nil)
	f.Note = fmt.Sprintf("(peak RSS with %d tasks running - idle RSS) / %d; idle %.1f MB, peak %.1f MB; the Coder only",
		memoryTasks, memoryTasks, float64(w.idleKB)*1024/1e6, float64(w.peakKB)*1024/1e6)
	return append(out, f)
}

// batchRun is what one m1 batch run measured.
type batchRun struct {
	tasks  int
	wall   time.Duration
	inRuns time.Duration // the sum of the tasks' own duration_ms
	peakKB int64
}

// runBatch runs m1 batch on n tasks that settle at once, parallel at a
// time, against a model that takes delay for each reply and hold for each
// final answer.
func runBatch(ctx context.Context, m1 string, n, parallel int, delay, hold time.Duration) (batchRun, error) {
	return runBatchIn(ctx, m1, "", n, parallel, delay, hold)
}

// runBatchIn is runBatch with the batch's files and state under root
// ("" for the system's temp dir).
func runBatchIn(ctx context.Context, m1, root string, n, parallel int, delay, hold time.Duration) (batchRun, error) {
	sc := coderScenario(0)
	for i := range sc.Rules {
		for j := range sc.Rules[i].Replies {
			sc.Rules[i].Replies[j].Delay = delay
			if sc.Rules[i].Name == "final" {
				sc.Rules[i].Replies[j].Delay = max(delay, hold)
			}
		}
	}
	srv, err := scripted.Listen("127.0.0.1:0", sc)
	if err != nil {
		return batchRun{}, err
	}
	defer srv.Close()
	dir, err := os.MkdirTemp(root, "m1-bench-batch-")
	if err != nil {
		return batchRun{}, err
	}
	defer os.RemoveAll(dir)
	tasks := filepath.Join(dir, "tasks.jsonl")
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"id": "t%d", "task": "What is %d times 7?"}`+"\n", i, i)
	}
	if err := os.WriteFile(tasks, []byte(b.String()), 0o644); err != nil {
		return batchRun{}, err
	}
	out := filepath.Join(dir, "out")
	res, err := runM1(ctx, m1, sandbox{base: srv.URL(), root: root, noWorkDir: true}, true,
		"batch", tasks, "--agents", "coder", "--parallel", strconv.Itoa(parallel), "--out", out, "--json")
	if err != nil {
		return batchRun{}, err
	}
	r := batchRun{wall: res.wall, peakKB: res.peakKB}
	sc2 := bufio.NewScanner(bytes.NewReader(res.stdout))
	sc2.Buffer(nil, 16<<20)
	for sc2.Scan() {
		var ev struct {
			Type   string `json:"type"`
			Result struct {
				Status     string `json:"status"`
				DurationMS int64  `json:"duration_ms"`
			} `json:"result"`
		}
		if json.Unmarshal(sc2.Bytes(), &ev) != nil || ev.Type != "task_end" {
			continue
		}
		if ev.Result.Status != "success" {
			return r, fmt.Errorf("a task ended %s", ev.Result.Status)
		}
		r.tasks++
		r.inRuns += time.Duration(ev.Result.DurationMS) * time.Millisecond
	}
	if r.tasks != n {
		return r, fmt.Errorf("%d of %d tasks ended", r.tasks, n)
	}
	return r, nil
}

// workerMemory is the RSS of an m1 worker, idle and at its peak.
type workerMemory struct{ idleKB, peakKB int64 }

// measureWorker starts a Temporal dev server from cli, an m1 worker taking
// memoryTasks at once, and a batch of memoryTasks tasks that each hold
// for a few seconds, and reads the worker's RSS before and during them.
func measureWorker(ctx context.Context, m1, cli string) (workerMemory, error) {
	dir, err := os.MkdirTemp("", "m1-bench-worker-")
	if err != nil {
		return workerMemory{}, err
	}
	defer os.RemoveAll(dir)
	dev, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{ExistingPath: cli, LogLevel: "error",
		DBFilename: filepath.Join(dir, "temporal.db"), Stdout: io.Discard, Stderr: io.Discard,
		ClientOptions: &client.Options{Namespace: "default", Logger: quietLogger{}}})
	if err != nil {
		return workerMemory{}, fmt.Errorf("start the Temporal dev server: %w", err)
	}
	defer func() { _ = dev.Stop() }()

	sc := coderScenario(0)
	for i := range sc.Rules {
		if sc.Rules[i].Name == "final" {
			sc.Rules[i].Replies[0].Delay = 3 * time.Second
		}
	}
	srv, err := scripted.Listen("127.0.0.1:0", sc)
	if err != nil {
		return workerMemory{}, err
	}
	defer srv.Close()
	env := append(os.Environ(), "OPENAI_BASE_URL="+srv.URL(), "OPENAI_API_KEY=bench-key", "M1_MODEL=scripted",
		"XDG_STATE_HOME="+filepath.Join(dir, "state"), "HOME="+dir)
	var werr bytes.Buffer
	worker := exec.CommandContext(ctx, m1, "worker", "--temporal", dev.FrontendHostPort(), "--queue", "bench", "--parallel", strconv.Itoa(memoryTasks))
	worker.Env, worker.Dir, worker.Stdout, worker.Stderr = env, dir, io.Discard, &werr
	if err := worker.Start(); err != nil {
		return workerMemory{}, err
	}
	defer func() {
		_ = worker.Process.Signal(os.Interrupt)
		_ = worker.Wait()
	}()
	for deadline := time.Now().Add(time.Minute); !strings.Contains(werr.String(), "taking tasks"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			return workerMemory{}, fmt.Errorf("the worker did not start: %s", lastLines(werr.String(), 5))
		}
	}
	time.Sleep(time.Second)
	var m workerMemory
	status := fmt.Sprintf("/proc/%d/status", worker.Process.Pid)
	m.idleKB = kB(firstValue(status, "VmRSS"))

	tasks := filepath.Join(dir, "tasks.jsonl")
	var b strings.Builder
	for i := range memoryTasks {
		fmt.Fprintf(&b, `{"id": "t%d", "task": "What is %d times 7?"}`+"\n", i, i)
	}
	if err := os.WriteFile(tasks, []byte(b.String()), 0o644); err != nil {
		return m, err
	}
	sub := exec.CommandContext(ctx, m1, "batch", tasks, "--temporal", dev.FrontendHostPort(), "--queue", "bench",
		"--agents", "coder", "--out", filepath.Join(dir, "out"), "--json")
	var subErr bytes.Buffer
	sub.Env, sub.Dir, sub.Stdout, sub.Stderr = env, dir, io.Discard, &subErr
	if err := sub.Run(); err != nil {
		return m, fmt.Errorf("m1 batch --temporal: %w: %s", err, lastLines(subErr.String(), 5))
	}
	m.peakKB = kB(firstValue(status, "VmHWM"))
	if m.idleKB == 0 || m.peakKB == 0 {
		return m, errors.New("no /proc/PID/status VmRSS or VmHWM on this system")
	}
	return m, nil
}

func kB(v string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(v, "kB")), 10, 64)
	return n
}

// quietLogger drops the SDK's log lines.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}
