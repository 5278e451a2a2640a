package terminal

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/client"
)

// benchBlock is the code both Docker benchmarks run: a Python block small
// enough that the time is the executor's, not the program's.
var benchBlock = CodeBlock{Tag: "python", Language: LangPython, Code: "print(6 * 7)\n"}

// BenchmarkDockerRunWarm measures a code block run in a container that is
// already up, as every run after the first in a session is: from Run to its
// result. It reports the median and the 95th percentile in ms.
func BenchmarkDockerRunWarm(b *testing.B) {
	img := benchImage(b)
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
	img := benchImage(b)
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

// benchImage returns the image the benchmarks run code in ($M1_IMAGE, else
// SandboxImage). It skips the benchmark when the daemon or the image is
// missing, except under CI, where it fails.
func benchImage(b *testing.B) string {
	b.Helper()
	img := os.Getenv("M1_IMAGE")
	if img == "" {
		img = SandboxImage
	}
	missing := func(format string, args ...any) {
		b.Helper()
		if os.Getenv("CI") != "" {
			b.Fatalf("CI is set but "+format, args...)
		}
		b.Skipf(format, args...)
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		missing("docker client: %v", err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		missing("docker is unreachable: %v", err)
	}
	if _, err := cli.ImageInspect(ctx, img); err != nil {
		missing("image %s is missing: %v", img, err)
	}
	return img
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
