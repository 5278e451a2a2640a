package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/m1-project/m1/model/scripted"
)

// processFigures runs bin/m1 against the scripted server for the figures
// only a whole process shows: start-up, overhead per turn, peak memory and
// prompt growth.
func processFigures(ctx context.Context, o options, env environment, progress func(string, ...any)) []Figure {
	var out []Figure

	// The target is on m1's own start; with the ComputerTerminal on the
	// team m1 first checks Docker and the image, which is Docker's time.
	for _, st := range []struct {
		id, label, agents string
		target            *Target
		needs             string
	}{
		{"startup", "process start to first model request", "coder", under(targetStartupMS), ""},
		{"startup.team", "the same, default team (checks Docker first)", "coder,terminal,web,file", nil, env.noDocker},
	} {
		if st.needs != "" {
			out = append(out, notMeasured(st.id, "start-up", st.label, "ms", st.target, statusSkipped, st.needs))
			continue
		}
		progress("start-up, --agents %s: %d runs of %s", st.agents, o.starts, o.m1)
		sb := sandbox{env: []string{"M1_IMAGE=" + env.machine.Image}}
		for _, k := range []string{"DOCKER_HOST", "DOCKER_API_VERSION", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY"} {
			if v, ok := os.LookupEnv(k); ok {
				sb.env = append(sb.env, k+"="+v)
			}
		}
		ds, err := measureStartup(ctx, o.m1, sb, st.agents, o.starts)
		if err != nil {
			out = append(out, notMeasured(st.id, "start-up", st.label, "ms", st.target, statusError, err.Error()))
			continue
		}
		med, p95 := quantiles(ds)
		f := measured(st.id, "start-up", st.label, "ms", med, &p95, st.target)
		f.Note = fmt.Sprintf("%d runs of m1 --agents %s", len(ds), st.agents)
		out = append(out, f)
	}

	out = append(out, overheadFigures(ctx, o, progress)...)

	return append(out, browseFigures(ctx, o, env, progress)...)
}

// browseFigures runs the two 30-turn browsing runs (a vision model, then a
// text model) for the WebSurfer turn, memory and context figures.
func browseFigures(ctx context.Context, o options, env environment, progress func(string, ...any)) []Figure {
	var out []Figure
	const rssLabel = "m1 peak RSS, 30-turn browsing run"
	ledgerLabels := []string{"ledger prompt at turn 5", "ledger prompt at turn 15", "ledger prompt at turn 30"}
	const growLabel = "ledger prompt growth, turn 30 / turn 5"
	const totalLabel = "total tokens of the run"
	browseNotMeasured := func(status, note string) []Figure {
		fs := []Figure{notMeasured("memory.rss", "memory", rssLabel, "MB", under(targetRSSMB), status, note)}
		for i, l := range ledgerLabels {
			fs = append(fs, notMeasured(fmt.Sprintf("context.ledger%d", []int{5, 15, 30}[i]), "context", l, "tokens", nil, status, note))
		}
		return append(fs,
			notMeasured("context.growth", "context", growLabel, "×", atMost(targetLedgerGrow), status, note),
			notMeasured("context.total", "context", totalLabel, "tokens", nil, status, note))
	}
	if env.chrome == "" {
		out = append(out, turnFigures(browse{}, browse{}, errSkipped)...)
		return append(out, browseNotMeasured(statusSkipped, "no Chrome or Chromium in PATH")...)
	}
	progress("memory, context and WebSurfer turns: the 30-turn browsing run (testdata/scenarios/browse30.yaml), vision model")
	b, err := measureBrowse(ctx, o.m1, true)
	if err != nil {
		return append(out, browseNotMeasured(statusError, err.Error())...)
	}
	progress("WebSurfer turns: the 30-turn browsing run, text model")
	bt, terr := measureBrowse(ctx, o.m1, false)
	out = append(out, turnFigures(b, bt, terr)...)
	if b.peakKB > 0 {
		f := measured("memory.rss", "memory", rssLabel, "MB", float64(b.peakKB)*1024/1e6, nil, under(targetRSSMB))
		f.Note = "VmHWM of the m1 process; Chrome's processes are not counted"
		out = append(out, f)
	} else {
		out = append(out, notMeasured("memory.rss", "memory", rssLabel, "MB", under(targetRSSMB), statusSkipped, "no /proc/PID/status VmHWM on this system"))
	}
	for i, turn := range []int{5, 15, 30} {
		f := measured(fmt.Sprintf("context.ledger%d", turn), "context", ledgerLabels[i], "tokens", float64(b.ledger[turn-1]), nil, nil)
		f.Note = "estimated at 4 bytes a token, tool definitions included"
		out = append(out, f)
	}
	out = append(out, measured("context.growth", "context", growLabel, "×", float64(b.ledger[29])/float64(b.ledger[4]), nil, atMost(targetLedgerGrow)))
	f := measured("context.total", "context", totalLabel, "tokens", float64(b.totalTokens), nil, nil)
	f.Note = fmt.Sprintf("prompt and completion, all agents, from the result event; %d model calls, %d progress ledgers, %.1f s", b.calls, len(b.ledger), b.wall.Seconds())
	return append(out, f)
}

// errSkipped stands for a measurement skipped for want of Chrome.
var errSkipped = errors.New("no Chrome or Chromium in PATH")

// turnFigures are the WebSurfer's figures of the browsing runs (v with a
// vision model, t with a text model; terr t's error): a click that
// navigates, from the model's tool call to m1's next request, with the
// clicked page's load taken out and shown on its own.
func turnFigures(v, t browse, terr error) []Figure {
	const group = "WebSurfer turn"
	labels := []struct{ id, label string }{
		{"turn.click.text", "click on a local page, model reply to next request (text model), page load excluded"},
		{"turn.click.vision", "the same, vision model"},
		{"turn.load", "page load of the clicked page (excluded above)"},
		{"turn.look.text", "ledger reply to the WebSurfer's request (its look first), text model"},
	}
	targets := []*Target{under(targetTurnTextMS), under(targetTurnVisionMS), nil, nil}
	if errors.Is(terr, errSkipped) {
		var out []Figure
		for i, l := range labels {
			out = append(out, notMeasured(l.id, group, l.label, "ms", targets[i], statusSkipped, terr.Error()))
		}
		return out
	}
	fig := func(i int, ds []time.Duration, note string) Figure {
		if len(ds) == 0 {
			why := "no measurement"
			if i%2 == 0 && terr != nil {
				why = terr.Error()
			}
			return notMeasured(labels[i].id, group, labels[i].label, "ms", targets[i], statusError, why)
		}
		med, p95 := quantiles(ds)
		f := measured(labels[i].id, group, labels[i].label, "ms", med, &p95, targets[i])
		f.Note = note
		return f
	}
	var out []Figure
	if terr != nil {
		out = append(out, notMeasured(labels[0].id, group, labels[0].label, "ms", targets[0], statusError, terr.Error()))
	} else {
		out = append(out, fig(0, t.clicks, fmt.Sprintf("%d clicks of the trail's Next link; the gap at the scripted server, less the page's DOMContentLoaded time", len(t.clicks))))
	}
	out = append(out, fig(1, v.clicks, fmt.Sprintf("%d clicks, screenshot scaled and sent", len(v.clicks))))
	out = append(out, fig(2, append(append([]time.Duration(nil), t.loads...), v.loads...), "from the start of the navigation to DOMContentLoaded, as the page reports it (Navigation Timing)"))
	if terr == nil {
		out = append(out, fig(3, t.looks, fmt.Sprintf("%d turns", len(t.looks))))
	}
	return out
}

// measureStartup runs m1 n times with the team agents (after one run to
// warm the page cache) on a task the scripted model settles at once, and
// returns, for each run, the time from starting the process to the first
// chat request reaching the server.
func measureStartup(ctx context.Context, m1 string, sb sandbox, agents string, n int) ([]time.Duration, error) {
	var ds []time.Duration
	for i := -1; i < n; i++ {
		srv, err := scripted.Listen("127.0.0.1:0", coderScenario(0))
		if err != nil {
			return nil, err
		}
		sb.base = srv.URL()
		res, err := runM1(ctx, m1, sb, false, "--agents", agents, "What is 6 times 7?")
		reqs := srv.Requests()
		srv.Close()
		if err != nil {
			return nil, err
		}
		if len(reqs) == 0 {
			return nil, errors.New("m1 made no model request")
		}
		if i >= 0 {
			ds = append(ds, reqs[0].Received.Sub(res.start))
		}
	}
	return ds, nil
}

// measureOverhead runs m1 on a Coder-only task of turns turns, runs times,
// and returns m1's own time for each turn and for each model call: from a
// reply's end to the next request's arrival. The Coder writes no code and
// nothing else is on the team, so no tool work is in between.
func measureOverhead(ctx context.Context, m1 string, sb sandbox, turns, runs int, jsonOut bool) (perTurn, perCall []time.Duration, err error) {
	for range runs {
		srv, err := scripted.Listen("127.0.0.1:0", coderScenario(turns))
		if err != nil {
			return nil, nil, err
		}
		args := []string{"--agents", "coder", "--max-turns", strconv.Itoa(turns + 5), "Write a short note on each of the next steps."}
		if jsonOut {
			args = append([]string{"--json"}, args...)
		}
		sb.base = srv.URL()
		_, err = runM1(ctx, m1, sb, false, args...)
		reqs := srv.Requests()
		srv.Close()
		if err != nil {
			return nil, nil, err
		}
		var ledgers []int
		for i, r := range reqs {
			if r.Rule == "ledger" {
				ledgers = append(ledgers, i)
			}
		}
		if len(ledgers) != turns+1 {
			return nil, nil, fmt.Errorf("%d progress ledgers, want %d (%d turns, then done)", len(ledgers), turns+1, turns)
		}
		for t := range turns {
			var turn time.Duration
			for i := ledgers[t]; i < ledgers[t+1]; i++ {
				gap := reqs[i+1].Received.Sub(reqs[i].Replied)
				perCall = append(perCall, gap)
				turn += gap
			}
			perTurn = append(perTurn, turn)
		}
	}
	return perTurn, perCall, nil
}

// browse is what the 30-turn browsing run measured.
type browse struct {
	peakKB      int64 // the m1 process's VmHWM
	ledger      []int // prompt tokens of each progress-ledger request
	totalTokens int   // tokens of the run, from its result event
	calls       int   // model calls
	wall        time.Duration
	// clicks are, for each click on the trail's Next link, m1's time from
	// the model's tool call to its next request, less the page load;
	// loads are those page loads, and looks the time from the progress
	// ledger's reply to the WebSurfer's own request (its look at the page
	// before it asks the model).
	clicks, loads, looks []time.Duration
}

// timingLog records the page loads the trail's pages report: each sends
// its path and its navigation's DOMContentLoaded time (ms from the start of
// the navigation) in a beacon to /timing.
type timingLog struct {
	mu    sync.Mutex
	loads map[string]time.Duration
}

func (l *timingLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(io.LimitReader(r.Body, 1024))
	path, ms, ok := strings.Cut(strings.TrimSpace(string(b)), " ")
	if v, err := strconv.ParseFloat(ms, 64); ok && err == nil {
		l.mu.Lock()
		l.loads[path] = time.Duration(v * float64(time.Millisecond))
		l.mu.Unlock()
	}
	w.WriteHeader(http.StatusNoContent)
}

// measureBrowse walks the WebSurfer through the 30-page trail of
// testdata/sites (testdata/scenarios/browse30.yaml), as the context test in
// cmd/m1 does, watching m1's peak RSS, with a vision or a text model.
func measureBrowse(ctx context.Context, m1 string, vision bool) (browse, error) {
	tl := &timingLog{loads: map[string]time.Duration{}}
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServer(http.Dir("testdata/sites")))
	mux.Handle("/timing", tl)
	site := httptest.NewServer(mux)
	defer site.Close()
	data, err := os.ReadFile("testdata/scenarios/browse30.yaml")
	if err != nil {
		return browse{}, err
	}
	sc, err := scripted.ParseScenario([]byte(strings.ReplaceAll(string(data), "${SITE}", site.URL)))
	if err != nil {
		return browse{}, err
	}
	srv, err := scripted.Listen("127.0.0.1:0", sc)
	if err != nil {
		return browse{}, err
	}
	defer srv.Close()
	// The model info the context test uses: a 16k window.
	config := `client:
  config:
    model: scripted
    base_url: ` + srv.URL() + `
    api_key: bench-key
    model_info: {vision: ` + strconv.FormatBool(vision) + `, function_calling: true, json_output: true, context_window: 16000}
`
	res, err := runM1(ctx, m1, sandbox{config: config}, true, "--json", "--agents", "web", "--max-turns", "40", "--no-stream",
		"Walk the trail to its end and report the treasure code.")
	if err != nil {
		return browse{}, err
	}
	var b browse
	b.peakKB, b.wall = res.peakKB, res.wall
	reqs := srv.Requests()
	b.calls = len(reqs)
	clicks := 0
	tl.mu.Lock()
	defer tl.mu.Unlock()
	for i, r := range reqs {
		switch r.Rule {
		case "ledger", "done":
			b.ledger = append(b.ledger, r.PromptTokens())
		case "web-next":
			clicks++
			if i > 0 && reqs[i-1].Rule == "ledger" {
				b.looks = append(b.looks, r.Received.Sub(reqs[i-1].Replied))
			}
			// The k-th click leaves page k for page k+1.
			load, ok := tl.loads[fmt.Sprintf("/trail/%02d.html", clicks+1)]
			if i+1 < len(reqs) && ok {
				b.loads = append(b.loads, load)
				b.clicks = append(b.clicks, reqs[i+1].Received.Sub(r.Replied)-load)
			}
		}
	}
	if len(b.ledger) < 31 {
		return browse{}, fmt.Errorf("%d progress ledgers, want at least 31 (30 pages, then done)", len(b.ledger))
	}
	if len(b.clicks) < 20 {
		return browse{}, fmt.Errorf("%d clicks with a page load reported, want at least 20 of 29", len(b.clicks))
	}
	result, err := resultEvent(res.stdout)
	if err != nil {
		return browse{}, err
	}
	if result.Status != "success" || !strings.Contains(result.FinalAnswer, "TRAIL-30-OK") {
		return browse{}, fmt.Errorf("the run ended %s (%s) without the trail's code: %q", result.Status, result.StopReason, result.FinalAnswer)
	}
	for _, u := range result.Usage {
		b.totalTokens += u.PromptTokens + u.CompletionTokens
	}
	return b, nil
}

// resultEvent finds the result event in m1's --json output (docs/events.md).
func resultEvent(out []byte) (result, error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var r result
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.Type == "result" {
			return r, nil
		}
	}
	return result{}, errors.New("no result event in m1's --json output")
}

type result struct {
	Type        string `json:"type"`
	Status      string `json:"status"`
	FinalAnswer string `json:"final_answer"`
	StopReason  string `json:"stop_reason"`
	Usage       map[string]struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
}

// sandbox is how one m1 run is set up: a model given by base URL through
// the environment, or by a config file; a fresh home, state, temp and work
// dir either way, under root (default: the system's temp dir).
type sandbox struct {
	base   string
	config string
	root   string
	env    []string // more environment, KEY=VALUE
	// noWorkDir leaves out --work-dir, for commands that take none (m1
	// batch, m1 worker); they still run in the work dir.
	noWorkDir bool
}

// tmpfs is a folder in memory on Linux.
const tmpfs = "/dev/shm"

// runResult is what runM1 saw of a finished run.
type runResult struct {
	start  time.Time // just before the process was started
	wall   time.Duration
	stdout []byte
	peakKB int64 // VmHWM at the last look before exit; 0 when not watched
}

// runM1 runs m1 in a fresh sandbox with args, its stdout a pipe, and waits
// for it to end. With watchRSS it polls /proc/PID/status for the process's
// peak RSS (VmHWM, which only grows) until it exits. A run that does not
// exit 0 is an error holding the end of its stderr.
func runM1(ctx context.Context, m1 string, sb sandbox, watchRSS bool, args ...string) (runResult, error) {
	dir, err := os.MkdirTemp(sb.root, "m1-bench-")
	if err != nil {
		return runResult{}, err
	}
	defer os.RemoveAll(dir)
	work := filepath.Join(dir, "work")
	for _, d := range []string{work, filepath.Join(dir, "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return runResult{}, err
		}
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"XDG_STATE_HOME=" + filepath.Join(dir, "state"),
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"XDG_CACHE_HOME=" + filepath.Join(dir, "cache"),
		"TMPDIR=" + filepath.Join(dir, "tmp"),
	}
	env = append(env, sb.env...)
	var pre []string
	if !sb.noWorkDir {
		pre = []string{"--work-dir", work}
	}
	if sb.base != "" {
		env = append(env, "OPENAI_BASE_URL="+sb.base, "OPENAI_API_KEY=bench-key", "M1_MODEL=scripted")
	}
	if sb.config != "" && !sb.noWorkDir {
		cfg := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(cfg, []byte(sb.config), 0o600); err != nil {
			return runResult{}, err
		}
		pre = append(pre, "--config", cfg)
	}

	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, m1, append(pre, args...)...)
	cmd.Env = env
	cmd.Dir = work
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr

	var res runResult
	res.start = time.Now()
	if err := cmd.Start(); err != nil {
		return runResult{}, fmt.Errorf("start m1: %w", err)
	}
	done := make(chan struct{})
	watched := make(chan int64, 1)
	if watchRSS {
		go func() { watched <- watchPeakRSS(cmd.Process.Pid, done) }()
	}
	err = cmd.Wait()
	res.wall = time.Since(res.start)
	close(done)
	if watchRSS {
		res.peakKB = <-watched
	}
	res.stdout = stdout.Bytes()
	if err != nil {
		return res, fmt.Errorf("m1 %s: %w: %s", strings.Join(args, " "), err, lastLines(stderr.String(), 5))
	}
	return res, nil
}

// watchPeakRSS reads the VmHWM of process pid every few milliseconds until
// done is closed and returns the last value read, in kB. VmHWM is the
// kernel's own high-water mark of the process's resident set, so a spike
// between two looks is not missed.
func watchPeakRSS(pid int, done <-chan struct{}) int64 {
	path := fmt.Sprintf("/proc/%d/status", pid)
	var peak int64
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if v := firstValue(path, "VmHWM"); v != "" {
			if kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(v, "kB")), 10, 64); err == nil {
				peak = max(peak, kb)
			}
		}
		select {
		case <-done:
			return peak
		case <-tick.C:
		}
	}
}

// coderScenario is a task the Coder works on for turns turns, one short
// note a turn with no code in it, before the progress ledger says it is
// done. With turns 0 the first ledger says so.
func coderScenario(turns int) *scripted.Scenario {
	ledgers := make([]scripted.Reply, 0, turns+1)
	notes := make([]scripted.Reply, 0, turns+1)
	for i := range turns {
		ledgers = append(ledgers, scripted.Text(ledgerJSON(false, fmt.Sprintf("Write note %d of %d: one sentence, no code.", i+1, turns))))
		notes = append(notes, scripted.Text(fmt.Sprintf("Note %d: this step needs no code; it is written down and done.", i+1)))
	}
	ledgers = append(ledgers, scripted.Text(ledgerJSON(true, "None.")))
	if len(notes) == 0 {
		notes = append(notes, scripted.Text("Nothing to do."))
	}
	return &scripted.Scenario{Name: "bench-coder", Rules: []scripted.Rule{
		{Name: "facts", Match: "GIVEN OR VERIFIED FACTS", Replies: []scripted.Reply{scripted.Text(
			"1. GIVEN OR VERIFIED FACTS\n- The request asks for short notes.\n2. FACTS TO LOOK UP\n- none\n3. FACTS TO DERIVE\n- none\n4. EDUCATED GUESSES\n- none\n")}},
		{Name: "plan", Match: "short (bullet )?plan", Replies: []scripted.Reply{scripted.Text("- Coder: write the notes, one a turn.\n")}},
		{Name: "ledger", Match: "is_request_satisfied|could not be used", Replies: ledgers},
		{Name: "final", Match: "final answer", Replies: []scripted.Reply{scripted.Text("The notes are written.")}},
		{Name: "coder", System: "You are the Coder", Replies: notes},
	}}
}

// ledgerJSON is a progress ledger that hands the next turn to the Coder,
// or, with done, ends the run.
func ledgerJSON(done bool, instruction string) string {
	field := func(reason string, answer any) map[string]any {
		return map[string]any{"reason": reason, "answer": answer}
	}
	b, _ := json.Marshal(map[string]any{
		"is_request_satisfied":    field("Judged by the benchmark.", done),
		"is_in_loop":              field("Each turn asks for a new note.", false),
		"is_progress_being_made":  field("A note was written.", true),
		"next_speaker":            field("The Coder writes the notes.", "Coder"),
		"instruction_or_question": field("The next note.", instruction),
	})
	return string(b)
}

// quantiles returns the median and the 95th percentile of ds in ms.
func quantiles(ds []time.Duration) (median, p95 float64) {
	s := slices.Clone(ds)
	slices.Sort(s)
	return millis(s[len(s)/2]), millis(s[min(len(s)-1, len(s)*95/100)])
}

func mean(ds []time.Duration) float64 {
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return millis(sum) / float64(len(ds))
}

func millis(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// overheadFigures are the orchestration figures: m1's own time per turn
// and per model call over a Coder-only run, on the console, with --json,
// with OpenTelemetry export on and with the state on tmpfs.
func overheadFigures(ctx context.Context, o options, progress func(string, ...any)) []Figure {
	var out []Figure
	type overheadMode struct {
		id, label, callLabel string
		json                 bool
		root                 string // where the run's dirs go; "" for the usual temp dir
		target               *Target
		env                  []string
	}
	// A receiver on loopback that takes OTLP/HTTP exports and drops them,
	// for the run with telemetry on.
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer sink.Close()
	modes := []overheadMode{
		{"overhead.console", "overhead per turn, console to a pipe", "overhead per model call, console to a pipe", false, "", under(targetOverheadMS), nil},
		{"overhead.json", "overhead per turn, --json", "overhead per model call, --json", true, "", nil, nil},
		// The same with OpenTelemetry export on: every span and metric
		// goes over OTLP/HTTP to the sink (docs/observability.md).
		{"overhead.otel", "overhead per turn, --json, OTLP export on", "", true, "", nil,
			[]string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + sink.URL}},
	}
	// The same run with the session state in memory shows how much of the
	// overhead is the checkpoint m1 syncs to disk after every turn.
	if st, err := os.Stat(tmpfs); err == nil && st.IsDir() {
		modes = append(modes, overheadMode{"overhead.tmpfs", "overhead per turn, console, state on tmpfs", "", false, tmpfs, nil, nil})
	}
	for _, mode := range modes {
		progress("%s: %d runs of %d Coder turns", mode.label, o.overRuns, o.turns)
		perTurn, perCall, err := measureOverhead(ctx, o.m1, sandbox{root: mode.root, env: mode.env}, o.turns, o.overRuns, mode.json)
		if err != nil {
			out = append(out, notMeasured(mode.id, "orchestration", mode.label, "ms", mode.target, statusError, err.Error()))
			continue
		}
		med, p95 := quantiles(perTurn)
		f := measured(mode.id, "orchestration", mode.label, "ms", med, &p95, mode.target)
		f.Note = fmt.Sprintf("%d turns; mean %.2f ms a turn", len(perTurn), mean(perTurn))
		out = append(out, f)
		if mode.callLabel == "" {
			continue
		}
		cmed, cp95 := quantiles(perCall)
		f = measured(mode.id+".call", "orchestration", mode.callLabel, "ms", cmed, &cp95, nil)
		f.Note = fmt.Sprintf("%d model calls", len(perCall))
		out = append(out, f)
	}
	return out
}
