package web

import (
	"context"
	"encoding/base64"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/chromedp/chromedp"

	"github.com/m1-project/m1/surfers/file/convert"
)

// A PDF opened in the browser shows no text to read (Chrome draws it in a
// plugin). The surfer reads it the way Magentic-One's surfer does with
// markitdown: it fetches the document from the page itself (with the
// page's cookies) and converts it with the FileSurfer's converter, then
// shows it page by page; scroll_down and scroll_up turn the pages, and
// answer_question and summarize_page read all of it.

// maxPDFBytes bounds the PDF fetched from a page.
const maxPDFBytes = 50 << 20

// pdfView is a PDF a tab shows, as text.
type pdfView struct {
	url   string
	navs  int // the tab's navigation count when it was loaded
	title string
	pages []string // the text of each page
	page  int      // 1-based page shown
	note  string   // what the converter said was cut or missing
	err   error
}

// pageHeading splits the converter's markdown into pages.
var pageHeading = regexp.MustCompile(`(?m)^## Page (\d+)\s*$`)

// fetchPDFJS fetches the document the page shows, as base64.
const fetchPDFJS = `fetch(location.href, {credentials: "include"}).then(async (r) => {
  if (!r.ok) throw new Error("HTTP " + r.status);
  const b = new Uint8Array(await r.arrayBuffer());
  if (b.length > %d) throw new Error("the PDF is larger than %d bytes");
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode.apply(null, b.subarray(i, i + 0x8000));
  return btoa(s);
})`

// loadPDF reads the PDF tb shows.
func loadPDF(ctx context.Context, tb *tab, url string) *pdfView {
	v := &pdfView{url: url, page: 1}
	tctx, cancel := tb.with(ctx)
	defer cancel()
	b64, err := chromedp.Run(tctx, chromedp.Evaluate[string](fmt.Sprintf(fetchPDFJS, maxPDFBytes, maxPDFBytes), chromedp.EvalAwaitPromise))
	if err != nil {
		v.err = fmt.Errorf("fetch the PDF: %w", err)
		return v
	}
	data, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		v.err = fmt.Errorf("fetch the PDF: %w", err)
		return v
	}
	name := path.Base(url)
	if i := strings.IndexAny(name, "?#"); i >= 0 {
		name = name[:i]
	}
	doc, err := convert.ConvertBytes(ctx, name, data)
	if doc == nil {
		v.err = fmt.Errorf("read the PDF: %w", err)
		return v
	}
	v.title = doc.Title
	if len(doc.Notes) > 0 {
		v.note = strings.Join(doc.Notes, "; ")
	}
	v.pages = splitPages(doc.Markdown)
	if err != nil && len(v.pages) == 0 {
		v.err = fmt.Errorf("read the PDF: %w", err)
	}
	return v
}

// splitPages cuts the converter's markdown at its "## Page N" headings.
func splitPages(md string) []string {
	idx := pageHeading.FindAllStringIndex(md, -1)
	if len(idx) == 0 {
		if t := strings.TrimSpace(md); t != "" {
			return []string{t}
		}
		return nil
	}
	var pages []string
	for i, loc := range idx {
		end := len(md)
		if i+1 < len(idx) {
			end = idx[i+1][0]
		}
		pages = append(pages, strings.TrimSpace(md[loc[1]:end]))
	}
	return pages
}

// showPDF makes the observation of a tab that shows a PDF show its text,
// page by page, loading it on first sight.
func (c *chrome) showPDF(ctx context.Context, tb *tab, o *observation) []string {
	tb.mu.Lock()
	v := tb.pdf
	tb.mu.Unlock()
	if v == nil || v.url != o.URL || v.navs != tb.track.navigations() {
		v = loadPDF(ctx, tb, o.URL)
		v.navs = tb.track.navigations()
		tb.mu.Lock()
		tb.pdf = v
		tb.mu.Unlock()
	}
	if v.err != nil {
		return []string{fmt.Sprintf("The page is a PDF document, which could not be read: %v.", v.err)}
	}
	if v.title != "" && (o.Title == "" || o.Title == o.URL || strings.HasSuffix(o.URL, o.Title)) {
		o.Title = v.title
	}
	o.Targets = nil
	o.pdfPages = max(1, len(v.pages))
	o.pdfPage = min(max(v.page, 1), o.pdfPages)
	o.Text = ""
	if len(v.pages) > 0 {
		o.Text = v.pages[o.pdfPage-1]
	}
	note := fmt.Sprintf("The page is a PDF document of %d page(s), read as text; page %d is shown. scroll_down and scroll_up turn the pages; answer_question and summarize_page read all of it.", o.pdfPages, o.pdfPage)
	if v.note != "" {
		note += " The reader notes: " + v.note + "."
	}
	return []string{note}
}

// turnPDF moves the PDF tb shows by dir pages; ok is false when tb shows
// no PDF.
func (tb *tab) turnPDF(dir int) (page, pages int, ok bool) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	v := tb.pdf
	if v == nil || v.err != nil || v.url != tb.track.currentURL() {
		return 0, 0, false
	}
	v.page = min(max(v.page+dir, 1), max(1, len(v.pages)))
	return v.page, len(v.pages), true
}

// pdfText is the whole text of the PDF tb shows, or "".
func (tb *tab) pdfText() (title, url, text string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	v := tb.pdf
	if v == nil || v.err != nil || v.url != tb.track.currentURL() {
		return "", "", ""
	}
	var b strings.Builder
	for i, p := range v.pages {
		fmt.Fprintf(&b, "## Page %d\n\n%s\n\n", i+1, p)
	}
	return v.title, v.url, b.String()
}
