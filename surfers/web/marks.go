package web

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"
	"strings"

	"github.com/chromedp/chromedp"
)

// marksJS installs window.__m1, the set-of-marks labeller, in the
// surfer's isolated world of a frame. It is sent with every call and does
// nothing when already installed, so a new document gets it without a
// separate injection step.
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
	// Type is the document's MIME type (application/pdf for a PDF).
	Type string `json:"type"`
	// Version changes with any change to the document, its scroll or
	// size; "doc:mutations".
	Version string `json:"version"`
}

// pageData is what one observation call returns from the page.
type pageData struct {
	pageMetrics
	Targets []markTarget `json:"targets"`
	// Offscreen counts the targets outside the viewport, of which the
	// nearest are in Targets.
	Offscreen int    `json:"offscreen"`
	Text      string `json:"text"`
	Focused   int    `json:"focused"`
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
	// Covered names what a click at the point would reach instead of
	// the target; AriaHidden says the page hides the target from
	// assistive technology (often: inactive).
	Covered    string `json:"covered"`
	AriaHidden bool   `json:"ariaHidden"`
}

// evalString evaluates a JavaScript expression that yields a string in
// tb's page, in the page's own world (for what the page itself would see:
// its address, its state).
func evalString(ctx context.Context, tb *tab, expr string) (string, error) {
	tctx, cancel := tb.with(ctx)
	defer cancel()
	return chromedp.Run(tctx, chromedp.Evaluate[string](expr))
}

// idKey names a target as marks.js knows it: its frame ("" for the main
// frame), that frame's document and its id there.
type idKey struct {
	frame string
	doc   string
	local int
}

// idMap gives the targets of a tab's page the ids the model sees, one
// numbering for all its frames. It starts again at 10 with each main
// document, like marks.js, so on a page without frames the ids are
// marks.js's own.
type idMap struct {
	doc  string
	next int
	fwd  map[idKey]int
	back map[int]idKey
}

// docOf is the document part of a marks.js version ("doc:mutations").
func docOf(version string) string {
	d, _, _ := strings.Cut(version, ":")
	return d
}

// ids returns the tab's id map for the main document doc, starting a new
// one when the document changed.
func (tb *tab) idsFor(doc string) *idMap {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if tb.ids == nil || tb.ids.doc != doc {
		tb.ids = &idMap{doc: doc, next: 10, fwd: map[idKey]int{}, back: map[int]idKey{}}
	}
	return tb.ids
}

func (m *idMap) global(k idKey) int {
	if id, ok := m.fwd[k]; ok {
		return id
	}
	id := m.next
	if k.frame == "" && k.local >= m.next {
		// Keep the main frame's own ids where nothing else took them.
		id = k.local
	}
	for {
		if _, taken := m.back[id]; !taken {
			break
		}
		id++
	}
	m.fwd[k], m.back[id] = id, k
	m.next = max(m.next, id+1)
	return id
}

// locate finds the world a target lives in and its id there; f is nil
// for the main frame.
func (tb *tab) locate(id int) (w *world, f *frameRef, local int, ok bool) {
	tb.mu.Lock()
	ids, frames := tb.ids, tb.frames
	tb.mu.Unlock()
	if ids == nil {
		return tb.mainWorld(), nil, id, true
	}
	k, found := ids.back[id]
	if !found {
		return nil, nil, 0, false
	}
	if k.frame == "" {
		return tb.mainWorld(), nil, k.local, true
	}
	for _, fr := range frames {
		if fr.key == k.frame {
			return fr.w, fr, k.local, true
		}
	}
	return nil, nil, 0, false
}

// callTarget runs window.__m1.<fn>(local id, args...) for target id in its
// frame's world and decodes the JSON it returns.
func callTarget[T any](ctx context.Context, tb *tab, id int, fn string, args ...string) (T, *frameRef, bool, error) {
	var zero T
	w, f, local, ok := tb.locate(id)
	if !ok {
		return zero, nil, false, nil
	}
	call := fn + "(" + strings.Join(append([]string{strconv.Itoa(local)}, args...), ", ") + ")"
	v, err := callIn[T](ctx, w, call)
	return v, f, true, err
}

// prepareTarget brings target id into view and describes it, with the
// point to click in the tab's viewport.
func prepareTarget(ctx context.Context, tb *tab, id int) (prepared, error) {
	pr, f, ok, err := callTarget[prepared](ctx, tb, id, "prepare")
	if !ok {
		return prepared{Reason: "unknown"}, nil
	}
	if err != nil || !pr.OK || f == nil {
		return pr, err
	}
	// In a frame: its element may have to come into view too, and the
	// point is moved by where the frame's content starts.
	ox, oy, clip, err := f.offset(ctx, true)
	if err != nil {
		pr.OK, pr.Reason = false, "hidden"
		return pr, nil
	}
	pr.X, pr.Y = pr.X+ox, pr.Y+oy
	if pr.X < clip[0] || pr.X > clip[2] || pr.Y < clip[1] || pr.Y > clip[3] {
		pr.Covered = "the edge of its frame"
	}
	return pr, nil
}

// vanished turns a failed prepare into text for the model.
func vanished(p prepared, id int) string {
	switch p.Reason {
	case "gone":
		return fmt.Sprintf("element %d is no longer on the page (it was removed or the page changed)", id)
	case "hidden":
		return fmt.Sprintf("element %d is on the page but not visible now", id)
	case "clipped":
		return fmt.Sprintf("element %d is hidden inside a box that clips it (a closed menu or a carousel slide not shown); open or move that first", id)
	default:
		return fmt.Sprintf("there is no element with id %d on this page; use an id from the current list", id)
	}
}
