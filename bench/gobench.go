package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// goBenchmark is one go test -bench run. The -benchtime is chosen per
// benchmark: a count gives the latency benchmarks enough samples for a p95
// while keeping the slow ones short.
type goBenchmark struct {
	pkg       string
	name      string // top-level benchmark; its sub-benchmarks run with it
	benchtime string
}

var goBenchmarks = []goBenchmark{
	{"./surfers/web", "BenchmarkActionLatency", "40x"},
	{"./surfers/web", "BenchmarkObserve", "20x"},
	{"./terminal", "BenchmarkDockerRunWarm", "30x"},
	{"./terminal", "BenchmarkDockerColdStart", "10x"},
	{"./surfers/file/convert", "BenchmarkConvertFixtures", "0.3s"},
	{"./telemetry", "BenchmarkTurnOverhead", "100x"},
}

// runGoBenchmarks runs the benchmarks gbs one after the other, showing their
// output on stdout as it comes and keeping it in raw. It returns the parsed
// results and a line for each run that failed; a failed run does not stop
// the others.
func runGoBenchmarks(ctx context.Context, gbs []goBenchmark, goCmd, raw string, stdout io.Writer, progress func(string, ...any)) ([]benchResult, []string) {
	var failed []string
	if err := os.MkdirAll(filepath.Dir(raw), 0o755); err != nil {
		return nil, []string{err.Error()}
	}
	f, err := os.Create(raw)
	if err != nil {
		return nil, []string{err.Error()}
	}
	defer f.Close()
	var all []benchResult
	for _, gb := range gbs {
		if ctx.Err() != nil {
			break
		}
		args := []string{"test", "-run", "^$", "-bench", "^" + gb.name + "$", "-benchmem", "-benchtime", gb.benchtime, gb.pkg}
		progress("%s %s", goCmd, strings.Join(args, " "))
		var buf strings.Builder
		cmd := exec.CommandContext(ctx, goCmd, args...)
		cmd.Stdout = io.MultiWriter(stdout, f, &buf)
		cmd.Stderr = cmd.Stdout
		if err := cmd.Run(); err != nil {
			failed = append(failed, fmt.Sprintf("go test -bench %s %s: %v", gb.name, gb.pkg, err))
		}
		rs, _ := parseBench(strings.NewReader(buf.String()))
		all = append(all, rs...)
	}
	return all, failed
}

// benchResult is one line of go test -bench output.
type benchResult struct {
	// Name is the benchmark's name without the -GOMAXPROCS suffix, e.g.
	// BenchmarkActionLatency/text/click.
	Name  string
	Iters int64
	// Metrics maps each unit to its value: "ns/op", "MB/s", "B/op",
	// "allocs/op" and custom ones such as "ms-median".
	Metrics map[string]float64
}

var procsSuffix = regexp.MustCompile(`-\d+$`)

// parseBench reads the result lines of go test -bench output and ignores
// everything else. A result line is the name, the iteration count, then
// pairs of value and unit.
func parseBench(r io.Reader) ([]benchResult, error) {
	var out []benchResult
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || len(fields)%2 != 0 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		iters, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			continue
		}
		res := benchResult{Name: procsSuffix.ReplaceAllString(fields[0], ""), Iters: iters, Metrics: map[string]float64{}}
		ok := true
		for i := 2; i < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				ok = false
				break
			}
			res.Metrics[fields[i+1]] = v
		}
		if ok {
			out = append(out, res)
		}
	}
	return out, sc.Err()
}

// find returns the result named name.
func find(rs []benchResult, name string) (benchResult, bool) {
	for _, r := range rs {
		if r.Name == name {
			return r, true
		}
	}
	return benchResult{}, false
}
