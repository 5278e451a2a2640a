// Command bench measures m1's own cost against the scripted model server,
// which answers at once, so every figure is m1's and not a model's: start-up,
// orchestration overhead per turn, WebSurfer and ComputerTerminal action
// latency, FileSurfer throughput, peak memory and prompt growth over a
// 30-turn browsing run. `make bench` builds bin/m1 and runs it from the
// repository root.
//
// It runs bin/m1 itself for the process-level figures, then the Go
// benchmarks (go test -bench) of surfers/web, terminal and
// surfers/file/convert, keeping their raw output in bench/latest.txt. It
// prints the figures as a table and writes them to bench/results.json with
// the machine they were taken on. docs/performance.md explains each figure.
//
// A missed target is printed, not an error: the exit status is 1 only when
// a measurement broke (a benchmark or an m1 run failed). Figures that need
// Chrome or Docker are marked skipped when those are missing.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// options are the command's flags.
type options struct {
	goCmd    string // the go command
	m1       string // the m1 binary
	out      string // results.json
	raw      string // raw go test -bench output
	goBench  string // parse this go test output instead of running the benchmarks
	starts   int    // start-up runs
	turns    int    // turns of the overhead runs
	overRuns int    // overhead runs per output mode
	markdown bool   // print the table in Markdown
	show     string // print the table of this results file and stop
	only     string // measure only this group, keeping the others' figures in out
}

func main() {
	var o options
	flag.StringVar(&o.goCmd, "go", "go", "the go command that runs the Go benchmarks")
	flag.StringVar(&o.m1, "m1", "bin/m1", "the m1 binary to measure (make build writes it)")
	flag.StringVar(&o.out, "out", "bench/results.json", "where to write the figures as JSON")
	flag.StringVar(&o.raw, "raw", "bench/latest.txt", "where to keep the raw go test -bench output")
	flag.StringVar(&o.goBench, "gobench", "", "read the Go benchmark figures from this go test -bench output instead of running them")
	flag.IntVar(&o.starts, "starts", 20, "start-up runs")
	flag.IntVar(&o.turns, "turns", 30, "turns of each overhead run")
	flag.IntVar(&o.overRuns, "overhead-runs", 5, "overhead runs per output mode (console, --json)")
	flag.BoolVar(&o.markdown, "markdown", false, "print the table in Markdown, as docs/performance.md shows it")
	flag.StringVar(&o.show, "show", "", "print the table of an earlier results file (such as bench/results.json) and measure nothing")
	flag.StringVar(&o.only, "only", "", "measure only one group of figures, batch, web (the WebSurfer's actions and turns and the browsing run's memory and context), orchestration (m1's overhead per turn, OTLP export on among them) or telemetry (BenchmarkTurnOverhead), and replace them in -out, keeping its other figures")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./bench [flags]  (from the repository root; make bench builds bin/m1 first)\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 0 || o.starts < 1 || o.turns < 1 || o.overRuns < 1 || o.only != "" && onlyGroups[o.only] == nil {
		flag.Usage()
		os.Exit(2)
	}
	if o.show != "" {
		if err := show(o.show, o.markdown, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// run takes every measurement, prints the table to stdout and writes the
// results file. It returns an error when a measurement broke, after
// writing what it has.
func run(ctx context.Context, o options, stdout, stderr io.Writer) error {
	if _, err := os.Stat("go.mod"); err != nil {
		return fmt.Errorf("run from the repository root (make bench): %w", err)
	}
	if _, err := os.Stat(o.m1); err != nil {
		return fmt.Errorf("m1 binary: %w; run make build first", err)
	}
	// Each m1 run has a work dir of its own as its working directory.
	m1, err := filepath.Abs(o.m1)
	if err != nil {
		return err
	}
	o.m1 = m1
	started := time.Now()
	env := probe(ctx, o.m1)
	res := &results{Date: started.UTC().Format(time.RFC3339), Machine: env.machine, Commit: env.commit, Dirty: env.dirty, M1: env.m1Version}

	progress := func(format string, args ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", args...) }

	if o.only != "" {
		return runOnly(ctx, o, env, res, started, stdout, progress)
	}
	// The process-level runs go first: the Docker benchmarks leave the
	// disk busy for a while, which the checkpoint written each turn feels.
	res.add(processFigures(ctx, o, env, progress)...)
	res.add(batchFigures(ctx, o, progress)...)

	var bench []benchResult
	var broken []string // go test runs that failed
	source := o.raw
	if o.goBench != "" {
		source = o.goBench
		progress("reading Go benchmark output from %s", o.goBench)
		f, err := os.Open(o.goBench)
		if err != nil {
			return err
		}
		bench, err = parseBench(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("read %s: %w", o.goBench, err)
		}
	} else {
		bench, broken = runGoBenchmarks(ctx, goBenchmarks, o.goCmd, o.raw, stdout, progress)
	}
	res.add(goFigures(bench, source, env)...)
	res.sort()

	errored := 0
	for _, f := range res.Figures {
		if f.Status == statusError {
			errored++
		}
	}
	res.Seconds = time.Since(started).Seconds()

	if err := res.write(o.out); err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	res.table(stdout, o.markdown)
	fmt.Fprintf(stdout, "\nfigures written to %s", o.out)
	if o.goBench == "" {
		fmt.Fprintf(stdout, ", raw Go benchmark output to %s", o.raw)
	}
	fmt.Fprintf(stdout, " (%.0f s)\n", res.Seconds)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if len(broken) > 0 || errored > 0 {
		msg := fmt.Sprintf("%d figures not measured because a measurement broke (listed above)", errored)
		if len(broken) > 0 {
			msg += "; failed:\n  " + strings.Join(broken, "\n  ")
		}
		return errors.New(msg)
	}
	return nil
}

// show prints the table of the results file at path.
func show(path string, markdown bool, stdout io.Writer) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var res results
	if err := json.Unmarshal(b, &res); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	res.table(stdout, markdown)
	return nil
}

// onlyGroups are the groups of figures -only measures again, by its value.
var onlyGroups = map[string][]string{
	"batch": {"batch"},
	// The WebSurfer's action benchmarks and the two browsing runs, which
	// also give the memory and context figures.
	"web": {"WebSurfer", "WebSurfer turn", "memory", "context"},
	// m1's own overhead per turn, console, --json, OTLP export on, tmpfs.
	"orchestration": {"orchestration"},
	// BenchmarkTurnOverhead: what OpenTelemetry export adds to a turn.
	"telemetry": {"telemetry"},
}

// keepOthers readies r, an earlier run's results, for new figures of the
// -only group only: it drops that group's figures and earlier update line,
// and adds update.
func (r *results) keepOthers(only, update string) {
	mine := onlyGroups[only]
	r.Figures = slices.DeleteFunc(slices.Clone(r.Figures), func(f Figure) bool { return slices.Contains(mine, f.Group) })
	r.Updates = slices.DeleteFunc(slices.Clone(r.Updates), func(u string) bool { return strings.HasPrefix(u, only+" figures:") })
	r.Updates = append(r.Updates, update)
}

// runOnly measures the figures of one group alone (o.only, a key of onlyGroups)
// and puts them into the results file in place of its earlier ones of
// those groups; the file keeps its date, commit and machine, and an update
// line says when and under what load these were taken.
func runOnly(ctx context.Context, o options, env environment, res *results, started time.Time, stdout io.Writer, progress func(string, ...any)) error {
	mine := onlyGroups[o.only]
	update := fmt.Sprintf("%s figures: %s, commit %s", o.only, res.Date, res.Commit)
	if res.Dirty {
		update += " (uncommitted changes)"
	}
	update += ", load " + res.Machine.Load
	if b, err := os.ReadFile(o.out); err == nil {
		// The file keeps its own date, commit and machine: they are its
		// other figures'. The update says when these were taken.
		var old results
		if err := json.Unmarshal(b, &old); err != nil {
			return fmt.Errorf("read %s: %w", o.out, err)
		}
		*res = old
	}
	res.keepOthers(o.only, update)
	var broken []string
	switch o.only {
	case "batch":
		res.add(batchFigures(ctx, o, progress)...)
	case "orchestration":
		res.add(overheadFigures(ctx, o, progress)...)
	case "web", "telemetry":
		if o.only == "web" {
			res.add(browseFigures(ctx, o, env, progress)...)
		}
		pkg := map[string]string{"web": "./surfers/web", "telemetry": "./telemetry"}[o.only]
		var gbs []goBenchmark
		for _, gb := range goBenchmarks {
			if gb.pkg == pkg {
				gbs = append(gbs, gb)
			}
		}
		bench, failed := runGoBenchmarks(ctx, gbs, o.goCmd, o.raw, stdout, progress)
		broken = failed
		for _, f := range goFigures(bench, o.raw, env) {
			if slices.Contains(mine, f.Group) {
				res.add(f)
			}
		}
	}
	res.sort()
	if err := res.write(o.out); err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	res.table(stdout, o.markdown)
	fmt.Fprintf(stdout, "\nfigures written to %s (%.0f s)\n", o.out, time.Since(started).Seconds())
	if len(broken) > 0 {
		return fmt.Errorf("failed:\n  %s", strings.Join(broken, "\n  "))
	}
	for _, f := range res.Figures {
		if slices.Contains(mine, f.Group) && f.Status == statusError {
			return fmt.Errorf("a %s measurement broke (listed above)", o.only)
		}
	}
	return ctx.Err()
}
