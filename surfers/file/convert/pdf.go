package convert

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/ledongthuc/pdf"
)

// convertPDF extracts the text of each page in reading order: glyphs are
// joined into runs as drawn, runs into lines by their baseline, and lines
// sorted top to bottom.
func convertPDF(ctx context.Context, s *source) (*Document, error) {
	if s.size > s.lim.MaxInputBytes {
		return nil, fmt.Errorf("the file is %s, more than the %s this reader loads", humanBytes(s.size), humanBytes(s.lim.MaxInputBytes))
	}
	r, err := pdf.NewReader(s.r, s.size)
	if err != nil {
		return nil, fmt.Errorf("invalid PDF: %w", err)
	}
	doc := &Document{}
	info := r.Trailer().Key("Info")
	for _, k := range []string{"Title", "Author", "Subject", "Creator", "Producer"} {
		if v := strings.TrimSpace(info.Key(k).Text()); v != "" {
			doc.Metadata = append(doc.Metadata, Field{k, v})
			if k == "Title" {
				doc.Title = v
			}
		}
	}
	n := r.NumPage()
	doc.Pages = n
	var b strings.Builder
	empty := 0
	for i := 1; i <= n; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if b.Len() > s.lim.MaxOutputBytes {
			doc.Notes = append(doc.Notes, fmt.Sprintf("only pages 1 to %d of %d were read", i-1, n))
			break
		}
		text := pageText(r.Page(i))
		if strings.TrimSpace(text) == "" {
			empty++
		}
		fmt.Fprintf(&b, "## Page %d\n\n%s\n\n", i, text)
	}
	if n > 0 && empty == n {
		doc.Notes = append(doc.Notes, "no page has extractable text; the PDF is probably scanned images (no OCR is done)")
	}
	doc.Markdown = b.String()
	return doc, nil
}

// run is text drawn in one go on one baseline.
type run struct {
	x, y, end, size float64
	text            strings.Builder
}

// pageText lays out one page's glyphs as lines of text.
func pageText(p pdf.Page) (text string) {
	if p.V.IsNull() {
		return ""
	}
	defer func() {
		// A malformed content stream of one page should not cost the rest.
		if r := recover(); r != nil {
			text = fmt.Sprintf("(this page could not be read: %v)", r)
		}
	}()
	glyphs := p.Content().Text
	var runs []*run
	var cur *run
	for _, g := range glyphs {
		if g.S == "" {
			continue
		}
		size := math.Max(g.FontSize, 1)
		if cur != nil && math.Abs(g.Y-cur.y) < size*0.3 && g.X >= cur.end-size*0.5 && g.X-cur.end < size*3 {
			// Same run: a gap wider than a fifth of the font size is a word
			// space the PDF did not draw as a glyph.
			if cur.end > 0 && g.X-cur.end > size*0.2 && !strings.HasSuffix(cur.text.String(), " ") && g.S != " " {
				cur.text.WriteByte(' ')
			}
			cur.text.WriteString(g.S)
			cur.end = math.Max(cur.end, g.X+g.W)
			continue
		}
		cur = &run{x: g.X, y: g.Y, end: g.X + g.W, size: size}
		cur.text.WriteString(g.S)
		runs = append(runs, cur)
	}
	// Group runs into lines by baseline, top to bottom, left to right.
	sort.SliceStable(runs, func(i, j int) bool {
		a, b := runs[i], runs[j]
		if math.Abs(a.y-b.y) >= math.Min(a.size, b.size)*0.5 {
			return a.y > b.y
		}
		return a.x < b.x
	})
	var out bytes.Buffer
	var lastY, lastSize float64
	for i, r := range runs {
		t := r.text.String()
		if i > 0 {
			if math.Abs(r.y-lastY) < math.Min(r.size, lastSize)*0.5 {
				if !strings.HasSuffix(out.String(), " ") && !strings.HasPrefix(t, " ") {
					out.WriteByte(' ')
				}
			} else {
				out.WriteByte('\n')
				if lastY-r.y > lastSize*2 {
					out.WriteByte('\n')
				}
			}
		}
		out.WriteString(t)
		lastY, lastSize = r.y, r.size
	}
	return strings.TrimSpace(out.String())
}
