package web

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/m1-project/m1/agent"
)

// BenchmarkActionLatency measures, for each kind of action, the time from
// receiving a tool call to the next observation being ready, on local
// static pages. It reports the median and the 95th percentile in ms.
func BenchmarkActionLatency(b *testing.B) {
	for _, vision := range []bool{false, true} {
		name := "text"
		if vision {
			name = "vision"
		}
		b.Run(name, func(b *testing.B) {
			h := newHarness(b, WithScreenshotDir(b.TempDir()))
			_, obs := h.visit("/index.html")
			vault := h.id(obs, "Vault")
			_, obs = h.visit("/search.html")
			live := h.id(obs, "Live filter")

			measure := func(b *testing.B, setup func(), tool string, args map[string]any) {
				args["reasoning"] = "bench"
				raw, _ := json.Marshal(args)
				var ds []time.Duration
				for b.Loop() {
					b.StopTimer()
					setup()
					b.StartTimer()
					start := time.Now()
					if _, _, err := h.s.perform(h.ctx, tool, string(raw), vision, func(agent.Event) {}); err != nil {
						b.Fatal(err)
					}
					ds = append(ds, time.Since(start))
				}
				report(b, ds)
			}
			noop := func() {}
			b.Run("navigate", func(b *testing.B) {
				measure(b, noop, "visit_url", map[string]any{"url": h.site.URL + "/index.html"})
			})
			b.Run("click", func(b *testing.B) {
				measure(b, func() { h.visit("/index.html") }, "click", map[string]any{"target_id": vault})
			})
			b.Run("type", func(b *testing.B) {
				h.visit("/search.html")
				measure(b, noop, "input_text", map[string]any{"input_field_id": live, "text_value": "mango", "press_enter": false})
			})
			b.Run("scroll", func(b *testing.B) {
				h.visit("/long.html")
				dir := "scroll_down"
				measure(b, func() {
					// Alternate so there is always room to scroll.
					if o, err := h.s.chrome.observe(h.ctx); err == nil && !o.canScrollDown() {
						h.visit("/long.html")
					}
				}, dir, map[string]any{})
			})
		})
	}
}

// report adds the median and p95 of ds to the benchmark's output.
func report(b *testing.B, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(ds[len(ds)/2]), "ms-median")
	b.ReportMetric(ms(ds[min(len(ds)-1, len(ds)*95/100)]), "ms-p95")
}

// BenchmarkObserve measures one observation (the page's targets and
// viewport text, in the page) of pages of growing size: its cost should
// follow what the viewport holds, not the whole page.
func BenchmarkObserve(b *testing.B) {
	h := newHarness(b)
	for _, page := range []string{"index.html", "links5000.html", "huge.html"} {
		b.Run(strings.TrimSuffix(page, ".html"), func(b *testing.B) {
			h.visit("/" + page)
			var ds []time.Duration
			for b.Loop() {
				start := time.Now()
				if _, err := h.s.chrome.observe(h.ctx); err != nil {
					b.Fatal(err)
				}
				ds = append(ds, time.Since(start))
			}
			report(b, ds)
		})
	}
}
