package main

import (
	"strings"
	"testing"
)

func TestParseBench(t *testing.T) {
	t.Parallel()
	out := `goos: linux
goarch: amd64
pkg: github.com/m1-project/m1/surfers/web
cpu: AMD EPYC
BenchmarkActionLatency/text/navigate-2         	      30	  37625078 ns/op	        34.19 ms-median	        59.44 ms-p95	   91298 B/op	     436 allocs/op
BenchmarkConvertFixtures/docx-2          	     602	    418309 ns/op	  21.73 MB/s	  256355 B/op	    4297 allocs/op
BenchmarkDockerRunWarm
--- SKIP: BenchmarkDockerRunWarm
    bench_test.go:12: docker is unreachable
BenchmarkOdd-2  12  oops ns/op
PASS
ok  	github.com/m1-project/m1/surfers/web	12.174s
`
	rs, err := parseBench(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 {
		t.Fatalf("parsed %d results, want 2: %+v", len(rs), rs)
	}
	nav, ok := find(rs, "BenchmarkActionLatency/text/navigate")
	if !ok || nav.Iters != 30 || nav.Metrics["ms-median"] != 34.19 || nav.Metrics["ms-p95"] != 59.44 || nav.Metrics["allocs/op"] != 436 {
		t.Errorf("navigate: %+v", nav)
	}
	docx, ok := find(rs, "BenchmarkConvertFixtures/docx")
	if !ok || docx.Metrics["MB/s"] != 21.73 || docx.Metrics["ns/op"] != 418309 {
		t.Errorf("docx: %+v", docx)
	}
}

func TestTargets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		target *Target
		value  float64
		want   string
	}{
		{under(50), 49.9, statusPass},
		{under(50), 50, statusFail},
		{atMost(2), 2, statusPass},
		{atMost(2), 2.01, statusFail},
		{nil, 1e9, statusInfo},
	}
	for _, tt := range tests {
		if got := measured("x", "g", "l", "ms", tt.value, nil, tt.target).Status; got != tt.want {
			t.Errorf("value %v, target %+v: %s, want %s", tt.value, tt.target, got, tt.want)
		}
	}
}

func TestOnlyKeepsOtherGroups(t *testing.T) {
	t.Parallel()
	r := results{
		Updates: []string{"batch figures: then", "web figures: then"},
		Figures: []Figure{
			measured("startup", "start-up", "s", "ms", 8, nil, nil),
			measured("web.text.click", "WebSurfer", "c", "ms", 49, nil, nil),
			measured("turn.click.text", "WebSurfer turn", "t", "ms", 120, nil, nil),
			measured("memory.rss", "memory", "m", "MB", 45, nil, nil),
			measured("context.total", "context", "x", "tokens", 1, nil, nil),
			measured("batch.overhead", "batch", "b", "ms", 50, nil, nil),
		},
	}
	r.keepOthers("web", "web figures: now")
	var ids []string
	for _, f := range r.Figures {
		ids = append(ids, f.ID)
	}
	if got := strings.Join(ids, " "); got != "startup batch.overhead" {
		t.Errorf("kept %s", got)
	}
	if got := strings.Join(r.Updates, "; "); got != "batch figures: then; web figures: now" {
		t.Errorf("updates %s", got)
	}
	r.keepOthers("batch", "batch figures: now")
	if len(r.Figures) != 1 || r.Figures[0].ID != "startup" {
		t.Errorf("after -only batch: %+v", r.Figures)
	}
}
