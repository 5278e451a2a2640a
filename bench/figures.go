package main

import (
	"fmt"
	"strings"
)

// The targets.
const (
	targetStartupMS  = 50  // start-up under 50 ms
	targetOverheadMS = 2   // orchestration overhead under 2 ms a turn
	targetWebMS      = 300 // WebSurfer action median under 300 ms
	// A WebSurfer click on a local page, from the model's reply to the
	// next request, page load excluded: median under 150 ms with a text
	// model and under 250 ms with a vision model.
	targetTurnTextMS   = 150
	targetTurnVisionMS = 250
	targetRSSMB        = 60 // m1's peak RSS under 60 MB
	targetLedgerGrow   = 2  // ledger prompt at turn 30 at most twice turn 5's
)

// goFigures turns the Go benchmarks' results, read from source, into
// figures. A benchmark with no result is skipped when what it needs is
// missing and broken otherwise.
func goFigures(rs []benchResult, source string, env environment) []Figure {
	var out []Figure
	absent := func(id, group, label, unit string, target *Target, needs string) Figure {
		if needs != "" {
			return notMeasured(id, group, label, unit, target, statusSkipped, needs)
		}
		return notMeasured(id, group, label, unit, target, statusError, "no result in "+source)
	}
	latency := func(id, group, label, bench string, target *Target, needs string) Figure {
		r, ok := find(rs, bench)
		med, okMed := r.Metrics["ms-median"]
		p95, okP95 := r.Metrics["ms-p95"]
		if !ok || !okMed || !okP95 {
			return absent(id, group, label, "ms", target, needs)
		}
		return measured(id, group, label, "ms", med, &p95, target)
	}

	noChrome := ""
	if env.chrome == "" {
		noChrome = "no Chrome or Chromium in PATH"
	}
	for _, mode := range []string{"text", "vision"} {
		for _, action := range []string{"navigate", "click", "type", "scroll"} {
			out = append(out, latency("web."+mode+"."+action, "WebSurfer", action+" ("+mode+" model)",
				"BenchmarkActionLatency/"+mode+"/"+action, under(targetWebMS), noChrome))
		}
	}
	// One look at pages of growing size: it should follow what the
	// viewport holds, not the whole page.
	for _, pg := range []struct{ name, label string }{
		{"index", "one look at a small page"},
		{"links5000", "one look at a page of 5,000 links"},
		{"huge", "one look at a 680,000 px page (20,000 links)"},
	} {
		out = append(out, latency("web.observe."+pg.name, "WebSurfer", pg.label, "BenchmarkObserve/"+pg.name, nil, noChrome))
	}

	out = append(out,
		latency("terminal.warm", "ComputerTerminal", "code block, warm container", "BenchmarkDockerRunWarm", nil, env.noDocker),
		latency("terminal.cold", "ComputerTerminal", "first block: start container + run", "BenchmarkDockerColdStart", nil, env.noDocker))
	warm, okWarm := find(rs, "BenchmarkDockerRunWarm")
	cold, okCold := find(rs, "BenchmarkDockerColdStart")
	if okWarm && okCold && warm.Metrics["ms-median"] > 0 && cold.Metrics["ms-median"] > 0 {
		f := measured("terminal.start", "ComputerTerminal", "container start: first block - warm block", "ms",
			cold.Metrics["ms-median"]-warm.Metrics["ms-median"], nil, nil)
		f.Note = "the difference of the two medians: what the first code block of a session pays extra"
		out = append(out, f)
	}
	if r, ok := find(rs, "BenchmarkDockerColdStart"); ok && r.Metrics["ms-remove"] > 0 {
		out = append(out, measured("terminal.remove", "ComputerTerminal", "remove container at session end", "ms", r.Metrics["ms-remove"], nil, nil))
	}

	out = append(out, telemetryFigures(rs, absent)...)

	const prefix = "BenchmarkConvertFixtures/"
	var all *Figure
	for _, r := range rs {
		format, ok := strings.CutPrefix(r.Name, prefix)
		mbs, okMB := r.Metrics["MB/s"]
		if !ok || !okMB {
			continue
		}
		f := measured("file."+format, "FileSurfer", format, "MB/s", mbs, nil, nil)
		if format == "all" {
			f.Label = "all fixtures together"
			all = &f
			continue
		}
		out = append(out, f)
	}
	if all != nil {
		out = append(out, *all)
	} else {
		out = append(out, absent("file.all", "FileSurfer", "all fixtures together", "MB/s", nil, ""))
	}
	return out
}

// telemetryFigures reads BenchmarkTurnOverhead: an in-process turn with
// the OTEL_* variables unset, with spans and metrics exported, and with
// content too, each run in turn within one benchmark so that other load on
// the machine weighs on them alike.
func telemetryFigures(rs []benchResult, absent func(id, group, label, unit string, target *Target, needs string) Figure) []Figure {
	const bench = "BenchmarkTurnOverhead"
	r, ok := find(rs, bench)
	rows := []struct{ id, label, metric string }{
		{"telemetry.unset", "in-process turn, OTEL_* unset", "us/turn-unset"},
		{"telemetry.set", "the same, spans and metrics exported", "us/turn-set"},
		{"telemetry.content", "the same, with --otel-content", "us/turn-content"},
	}
	var out []Figure
	for _, row := range rows {
		v, okV := r.Metrics[row.metric]
		if !ok || !okV {
			out = append(out, absent(row.id, "telemetry", row.label, "µs", nil, ""))
			continue
		}
		f := measured(row.id, "telemetry", row.label, "µs", v, nil, nil)
		if c, okC := r.Metrics["cpu-"+row.metric]; okC {
			f.Note = fmt.Sprintf("%.0f µs of CPU a turn", c)
		}
		out = append(out, f)
	}
	set, okSet := r.Metrics["cpu-us/turn-set"]
	unset, okUnset := r.Metrics["cpu-us/turn-unset"]
	if ok && okSet && okUnset {
		f := measured("telemetry.added", "telemetry", "CPU export adds to a turn (set - unset)", "µs", set-unset, nil, nil)
		f.Note = "a ledger call, a step with a model call and a tool call: five spans and nine metric points a turn"
		out = append(out, f)
	}
	return out
}
