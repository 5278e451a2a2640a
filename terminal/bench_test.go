package terminal

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

// benchBlock is the code both Docker benchmarks run: a Python block small
// enough that the time is the executor's, not the program's.
var benchBlock = CodeBlock{Tag: "python", Language: LangPython, Code: "print(6 * 7)\n"}

// BenchmarkDockerRunWarm measures a code block run in a container that is
// already up, as every run after the first in a session is: from Run to its
// result. It reports the median and the 95th percentile in ms.
func BenchmarkDockerRunWarm(b *testing.B) {
	_, img := requireDocker(b)
	d, err := NewDocker(WithImage(img), WithWorkDir(b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	ctx := context.Background()
	// The first run starts the container; it is BenchmarkDockerColdStart's.
	runBlock(b, ctx, d)
	var ds []time.Duration
	for b.Loop() {
		start := time.Now()
		runBlock(b, ctx, d)
		ds = append(ds, time.Since(start))
	}
	reportLatency(b, ds)
}

// BenchmarkDockerColdStart measures a session's first code block: the
// container is created and started, then the block runs. It reports the
// median and the 95th percentile of that in ms, and the median time to
// remove the container at the end of the session (ms-remove), which the
// timer also counts.
func BenchmarkDockerColdStart(b *testing.B) {
	_, img := requireDocker(b)
	ctx := context.Background()
	var first, remove []time.Duration
	for b.Loop() {
		d, err := NewDocker(WithImage(img), WithWorkDir(b.TempDir()))
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		runBlock(b, ctx, d)
		first = append(first, time.Since(start))
		start = time.Now()
		if err := d.Close(); err != nil {
			b.Fatal(err)
		}
		remove = append(remove, time.Since(start))
	}
	reportLatency(b, first)
	slices.Sort(remove)
	if len(remove) > 0 {
		b.ReportMetric(millis(remove[len(remove)/2]), "ms-remove")
	}
}

// runBlock runs benchBlock in d and fails b unless it printed 42.
func runBlock(b *testing.B, ctx context.Context, d *Docker) {
	b.Helper()
	res, err := d.Run(ctx, benchBlock, Limits{Timeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	if res.ExitCode != 0 || strings.TrimSpace(res.Output) != "42" {
		b.Fatalf("exit %d, output %q; want exit 0 and 42", res.ExitCode, res.Output)
	}
}

// reportLatency adds the median and p95 of ds to the benchmark's output as
// ms-median and ms-p95, as the WebSurfer's benchmark does.
func reportLatency(b *testing.B, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	b.ReportMetric(millis(ds[len(ds)/2]), "ms-median")
	b.ReportMetric(millis(ds[min(len(ds)-1, len(ds)*95/100)]), "ms-p95")
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
