package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
)

// The status of a figure.
const (
	statusPass    = "pass"    // met its target
	statusFail    = "fail"    // missed its target
	statusInfo    = "info"    // measured; the issue sets no target for it
	statusSkipped = "skipped" // not measured: Chrome or Docker is missing
	statusError   = "error"   // the measurement broke
)

// results is what bench/results.json holds.
type results struct {
	Date    string  `json:"date"`
	Commit  string  `json:"commit"`
	Dirty   bool    `json:"dirty"`
	M1      string  `json:"m1_version"`
	Machine machine `json:"machine"`
	Seconds float64 `json:"seconds"`
	// Updates say which figures were measured again since, by -only.
	Updates []string `json:"updates,omitempty"`
	Figures []Figure `json:"figures"`
}

// Figure is one measured figure. Where a figure is a distribution, Value is
// its median and P95 its 95th percentile.
type Figure struct {
	// ID is stable across runs, for tools comparing results files.
	ID     string   `json:"id"`
	Group  string   `json:"group"`
	Label  string   `json:"label"`
	Value  *float64 `json:"value,omitempty"`
	P95    *float64 `json:"p95,omitempty"`
	Unit   string   `json:"unit"`
	Target *Target  `json:"target,omitempty"`
	Status string   `json:"status"`
	Note   string   `json:"note,omitempty"`
}

// Target is an upper bound on a figure's Value.
type Target struct {
	Max float64 `json:"max"`
	// Inclusive allows Value to equal Max ("no more than"); otherwise it
	// must stay below ("under").
	Inclusive bool `json:"inclusive"`
}

func (t *Target) met(v float64) bool {
	if t.Inclusive {
		return v <= t.Max
	}
	return v < t.Max
}

func (t *Target) text(unit string) string {
	op := "<"
	if t.Inclusive {
		op = "≤"
	}
	return fmt.Sprintf("%s %g %s", op, t.Max, unit)
}

// under and atMost build targets.
func under(v float64) *Target  { return &Target{Max: v} }
func atMost(v float64) *Target { return &Target{Max: v, Inclusive: true} }

// measured returns a figure with a value, judged against target (nil for
// none).
func measured(id, group, label, unit string, value float64, p95 *float64, target *Target) Figure {
	f := Figure{ID: id, Group: group, Label: label, Unit: unit, Value: &value, P95: p95, Target: target, Status: statusInfo}
	if target != nil {
		f.Status = statusFail
		if target.met(value) {
			f.Status = statusPass
		}
	}
	return f
}

// notMeasured returns a skipped or broken figure with the reason in note.
func notMeasured(id, group, label, unit string, target *Target, status, note string) Figure {
	return Figure{ID: id, Group: group, Label: label, Unit: unit, Target: target, Status: status, Note: note}
}

func (r *results) add(fs ...Figure) { r.Figures = append(r.Figures, fs...) }

// groups orders the figures as the issue lists them.
var groups = []string{"start-up", "orchestration", "telemetry", "WebSurfer", "WebSurfer turn", "ComputerTerminal", "FileSurfer", "memory", "context", "batch"}

// sort puts the figures in the order of groups, keeping the order within
// a group.
func (r *results) sort() {
	slices.SortStableFunc(r.Figures, func(a, b Figure) int {
		return cmp.Compare(slices.Index(groups, a.Group), slices.Index(groups, b.Group))
	})
}

func (r *results) write(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// table prints the figures, then every missed target and every figure not
// measured, with why. With markdown the figures are a Markdown table, as
// docs/performance.md shows them.
func (r *results) table(w io.Writer, markdown bool) {
	m := r.Machine
	dirty := ""
	if r.Dirty {
		dirty = " (uncommitted changes)"
	}
	fmt.Fprintf(w, "m1 %s, commit %s%s, %s\n", r.M1, short(r.Commit), dirty, r.Date)
	fmt.Fprintf(w, "%s, %d cores, %.1f GiB RAM, %s, Linux %s, %s\n", m.CPU, m.Cores, m.RAMGiB, m.OS, m.Kernel, m.Go)
	fmt.Fprintf(w, "Chromium: %s; Docker: %s, image %s; load average at start: %s\n\n", orNone(m.Chromium), orNone(m.Docker), m.Image, orNone(m.Load))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(cells ...string) {
		if markdown {
			fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
			return
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	row("group", "figure", "value", "p95", "target", "result")
	if markdown {
		row("---", "---", "--:", "--:", "---", "---")
	}
	group := ""
	for _, f := range r.Figures {
		g := f.Group
		if g == group {
			g = ""
		}
		group = f.Group
		value, p95, target := "-", "", ""
		if f.Value != nil {
			value = formatValue(*f.Value, f.Unit) + " " + f.Unit
		}
		if f.P95 != nil {
			p95 = formatValue(*f.P95, f.Unit) + " " + f.Unit
		}
		if f.Target != nil {
			target = f.Target.text(f.Unit)
		}
		result := f.Status
		if f.Status == statusFail || f.Status == statusError {
			result = strings.ToUpper(f.Status)
		}
		if f.Status == statusInfo {
			result = ""
		}
		row(g, f.Label, value, p95, target, result)
	}
	tw.Flush()

	var missed, notes []string
	for _, f := range r.Figures {
		switch f.Status {
		case statusFail:
			missed = append(missed, fmt.Sprintf("%s %s: %s, target %s", f.Group, f.Label,
				formatValue(*f.Value, f.Unit)+" "+f.Unit, f.Target.text(f.Unit)))
		case statusSkipped, statusError:
			notes = append(notes, fmt.Sprintf("%s %s: %s: %s", f.Group, f.Label, f.Status, f.Note))
		}
	}
	if len(missed) > 0 {
		fmt.Fprintf(w, "\nMISSED TARGETS (%d):\n", len(missed))
		for _, l := range missed {
			fmt.Fprintln(w, "  "+l)
		}
	} else {
		fmt.Fprintln(w, "\nevery measured figure met its target")
	}
	if len(notes) > 0 {
		fmt.Fprintln(w, "\nnot measured:")
		for _, l := range notes {
			fmt.Fprintln(w, "  "+l)
		}
	}
}

// formatValue prints v with as many decimals as its size and unit deserve.
func formatValue(v float64, unit string) string {
	switch {
	case unit == "tokens":
		return fmt.Sprintf("%.0f", v)
	case unit == "×":
		return fmt.Sprintf("%.2f", v)
	case math.Abs(v) < 0.995:
		return fmt.Sprintf("%.2f", v)
	case math.Abs(v) < 99.95:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
