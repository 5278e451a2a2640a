package web

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/chromedp/chromedp"
)

// marksJS installs window.__m1, the set-of-marks labeller, in the page. It
// is sent with every call and does nothing when already installed, so a new
// document gets it without a separate injection step.
//
//go:embed marks.js
var marksJS string

// markTarget is one labelled interactive element.
type markTarget struct {
	ID     int          `json:"id"`
	Name   string       `json:"name"`
	Role   string       `json:"role"`
	Tools  []string     `json:"tools"`
	InView bool         `json:"vp"`
	Rects  [][4]float64 `json:"rects"` // x, y, width, height in CSS pixels of the viewport
	Value  string       `json:"value,omitempty"`
}

// pageMetrics locate the viewport within the page.
type pageMetrics struct {
	URL        string  `json:"url"`
	Title      string  `json:"title"`
	ScrollX    float64 `json:"scrollX"`
	ScrollY    float64 `json:"scrollY"`
	VW         float64 `json:"vw"`
	VH         float64 `json:"vh"`
	PageHeight float64 `json:"pageHeight"`
	PageWidth  float64 `json:"pageWidth"`
	Ready      string  `json:"ready"`
}

// pageData is what one observation call returns from the page.
type pageData struct {
	pageMetrics
	Targets []markTarget `json:"targets"`
	Text    string       `json:"text"`
	Focused int          `json:"focused"`
}

// prepared describes a target about to be acted on, brought into view.
type prepared struct {
	OK       bool     `json:"ok"`
	Reason   string   `json:"reason"`
	X        float64  `json:"x"`
	Y        float64  `json:"y"`
	Tag      string   `json:"tag"`
	Type     string   `json:"type"`
	Name     string   `json:"name"`
	Role     string   `json:"role"`
	Submits  bool     `json:"submits"`
	Href     string   `json:"href"`
	Download bool     `json:"download"`
	Text     bool     `json:"text"`
	Select   bool     `json:"select"`
	NewTab   bool     `json:"newTab"`
	Chosen   string   `json:"chosen"`
	Options  []string `json:"options"`
}

// evalString evaluates a JavaScript expression that yields a string in tb.
func evalString(ctx context.Context, tb *tab, expr string) (string, error) {
	tctx, cancel := tb.with(ctx)
	defer cancel()
	return chromedp.Run(tctx, chromedp.Evaluate[string](expr))
}

// callMarks runs window.__m1.<call>, which returns JSON, and decodes it.
func callMarks[T any](ctx context.Context, tb *tab, call string) (T, error) {
	var v T
	s, err := evalString(ctx, tb, marksJS+"\n;window.__m1."+call)
	if err != nil {
		return v, err
	}
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return v, fmt.Errorf("decode page data: %w", err)
	}
	return v, nil
}

// prepareTarget brings target id into view and describes it.
func prepareTarget(ctx context.Context, tb *tab, id int) (prepared, error) {
	return callMarks[prepared](ctx, tb, "prepare("+strconv.Itoa(id)+")")
}

// vanished turns a failed prepare into text for the model.
func vanished(p prepared, id int) string {
	switch p.Reason {
	case "gone":
		return fmt.Sprintf("element %d is no longer on the page (it was removed or the page changed)", id)
	case "hidden":
		return fmt.Sprintf("element %d is on the page but not visible now", id)
	default:
		return fmt.Sprintf("there is no element with id %d on this page; use an id from the current list", id)
	}
}
