package convert

import (
	"context"
	"fmt"
	"path"
	"strconv"
	"strings"
)

// convertPPTX renders one section per slide: title, text, tables, chart
// titles and values, image alt text and speaker notes.
func convertPPTX(ctx context.Context, s *source) (*Document, error) {
	p, err := openPkg(s)
	if err != nil {
		return nil, err
	}
	pres, err := p.xml("ppt/presentation.xml")
	if err != nil {
		return nil, err
	}
	rels := p.rels("ppt/presentation.xml")
	title, meta := p.coreProps()
	var b strings.Builder
	n := 0
	for _, id := range pres.all("sldId") {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r, ok := rels[id.rel("id")]
		if !ok {
			continue
		}
		n++
		if err := slide(&b, p, r.Target, n); err != nil {
			fmt.Fprintf(&b, "## Slide %d\n\n(this slide could not be read: %v)\n\n", n, err)
		}
	}
	return &Document{Title: title, Markdown: b.String(), Pages: n, Metadata: meta}, nil
}

func slide(b *strings.Builder, p *pkg, part string, n int) error {
	root, err := p.xml(part)
	if err != nil {
		return err
	}
	rels := p.rels(part)
	sv := &slideWriter{p: p, rels: rels}
	sv.shapes(root.path("sld", "cSld", "spTree"))
	if sv.title != "" {
		fmt.Fprintf(b, "## Slide %d: %s\n\n", n, sv.title)
	} else {
		fmt.Fprintf(b, "## Slide %d\n\n", n)
	}
	b.WriteString(sv.body.String())
	for _, r := range rels {
		if strings.HasSuffix(r.Type, "/notesSlide") {
			if notes, err := p.xml(r.Target); err == nil {
				if t := placeholderText(notes, "body"); t != "" {
					fmt.Fprintf(b, "### Notes\n\n%s\n\n", t)
				}
			}
		}
	}
	return nil
}

type slideWriter struct {
	p     *pkg
	rels  map[string]relation
	title string
	body  strings.Builder
}

func (w *slideWriter) shapes(tree *xnode) {
	if tree == nil {
		return
	}
	for _, k := range tree.kids {
		switch k.name {
		case "sp":
			ph := k.path("nvSpPr", "nvPr", "ph")
			text := paragraphs(k.child("txBody"))
			if text == "" {
				continue
			}
			if t := ph.a("type"); ph != nil && (t == "title" || t == "ctrTitle") && w.title == "" {
				w.title = strings.Join(strings.Fields(text), " ")
				continue
			}
			w.body.WriteString(text + "\n\n")
		case "graphicFrame":
			if tbl := k.all("tbl"); len(tbl) > 0 {
				var rows [][]string
				for _, tr := range tbl[0].all("tr") {
					var row []string
					for _, tc := range tr.all("tc") {
						row = append(row, strings.ReplaceAll(paragraphs(tc.child("txBody")), "\n\n", "\n"))
					}
					rows = append(rows, row)
				}
				writeTable(&w.body, rows)
			}
			for _, c := range k.all("chart") {
				if r, ok := w.rels[c.rel("id")]; ok {
					w.chart(r.Target)
				}
			}
		case "pic":
			pr := k.path("nvPicPr", "cNvPr")
			alt := pr.a("descr")
			if alt == "" {
				alt = pr.a("title")
			}
			name := pr.a("name")
			if bl := k.all("blip"); len(bl) > 0 {
				if r, ok := w.rels[bl[0].rel("embed")]; ok {
					name = path.Base(r.Target)
				}
			}
			fmt.Fprintf(&w.body, "![%s](%s)\n\n", alt, name)
		case "grpSp":
			w.shapes(k)
		}
	}
}

// chart writes a chart's title and, per series, its categories and values
// as stored in the chart part's cache.
func (w *slideWriter) chart(part string) {
	root, err := w.p.xml(part)
	if err != nil {
		return
	}
	c := root.path("chartSpace", "chart")
	title := strings.TrimSpace(c.child("title").textOf("t"))
	if title == "" {
		title = "Chart"
	}
	fmt.Fprintf(&w.body, "### Chart: %s\n\n", title)
	var rows [][]string
	var cats []string
	header := []string{"Category"}
	var series [][]string
	for _, ser := range c.all("ser") {
		name := strings.TrimSpace(ser.child("tx").textOf("v"))
		if name == "" {
			name = "Series " + strconv.Itoa(len(series)+1)
		}
		header = append(header, name)
		if cats == nil {
			for _, pt := range ser.child("cat").all("pt") {
				cats = append(cats, pt.child("v").textOf(""))
			}
		}
		var vals []string
		for _, pt := range ser.child("val").all("pt") {
			vals = append(vals, pt.child("v").textOf(""))
		}
		series = append(series, vals)
	}
	if len(series) == 0 {
		return
	}
	rows = append(rows, header)
	n := len(cats)
	for _, v := range series {
		n = max(n, len(v))
	}
	for i := 0; i < n; i++ {
		row := []string{""}
		if i < len(cats) {
			row[0] = cats[i]
		}
		for _, v := range series {
			if i < len(v) {
				row = append(row, v[i])
			} else {
				row = append(row, "")
			}
		}
		rows = append(rows, row)
	}
	writeTable(&w.body, rows)
}

// paragraphs renders a DrawingML text body, indenting bullets by level.
func paragraphs(body *xnode) string {
	if body == nil {
		return ""
	}
	var lines []string
	for _, p := range body.all("p") {
		var b strings.Builder
		for _, k := range p.kids {
			switch k.name {
			case "r", "fld":
				b.WriteString(k.textOf("t"))
			case "br":
				b.WriteString("\n")
			}
		}
		t := strings.TrimSpace(b.String())
		if t == "" {
			continue
		}
		if lvl, err := strconv.Atoi(p.child("pPr").a("lvl")); err == nil && lvl > 0 {
			t = strings.Repeat("  ", min(lvl, 8)) + "- " + t
		}
		lines = append(lines, t)
	}
	return strings.Join(lines, "\n")
}

// placeholderText returns the text of the placeholder shapes of type typ.
func placeholderText(root *xnode, typ string) string {
	var parts []string
	for _, sp := range root.all("sp") {
		if sp.path("nvSpPr", "nvPr", "ph").a("type") == typ {
			if t := paragraphs(sp.child("txBody")); t != "" {
				parts = append(parts, t)
			}
		}
	}
	return strings.Join(parts, "\n\n")
}
