package convert

import (
	"context"
	"fmt"
	"path"
	"strconv"
	"strings"
)

// docx holds what a Word document's body refers to.
type docx struct {
	rels      map[string]relation
	headings  map[string]int    // style id -> heading level
	styleList map[string]string // style id -> "bullet" or "number" for list styles
	numFmt    map[string]string // numId/ilvl -> numFmt
	footnotes map[string]string
	endnotes  map[string]string
	comments  map[string]comment
	noteOrder []string // footnote labels in order of reference
	inList    bool     // the last block was a list item
	usedCmts  []string
}

type comment struct{ author, text string }

// convertDOCX renders a Word document: headings by style, paragraphs,
// lists, tables, hyperlinks, footnotes, comments and image placeholders.
func convertDOCX(ctx context.Context, s *source) (*Document, error) {
	p, err := openPkg(s)
	if err != nil {
		return nil, err
	}
	body, err := p.xml("word/document.xml")
	if err != nil {
		return nil, err
	}
	d := &docx{
		rels:      p.rels("word/document.xml"),
		headings:  map[string]int{},
		styleList: map[string]string{},
		numFmt:    map[string]string{},
		footnotes: map[string]string{},
		endnotes:  map[string]string{},
		comments:  map[string]comment{},
	}
	d.readStyles(p)
	d.readNumbering(p)
	d.readNotes(ctx, p, "word/footnotes.xml", "footnote", d.footnotes)
	d.readNotes(ctx, p, "word/endnotes.xml", "endnote", d.endnotes)
	if p.has("word/comments.xml") {
		if root, err := p.xml("word/comments.xml"); err == nil {
			for _, c := range root.all("comment") {
				d.comments[c.a("id")] = comment{author: c.a("author"), text: strings.TrimSpace(d.blocksText(c))}
			}
		}
	}
	title, meta := p.coreProps()
	var b strings.Builder
	if err := d.blocks(ctx, &b, body.path("document", "body")); err != nil {
		return nil, err
	}
	d.writeNotes(&b)
	if title == "" {
		title = firstHeading(b.String())
	}
	return &Document{Title: title, Markdown: b.String(), Metadata: meta}, nil
}

func (d *docx) readStyles(p *pkg) {
	if !p.has("word/styles.xml") {
		return
	}
	root, err := p.xml("word/styles.xml")
	if err != nil {
		return
	}
	for _, st := range root.all("style") {
		id := st.a("styleId")
		name := strings.ToLower(st.child("name").a("val"))
		switch {
		case name == "title":
			d.headings[id] = 1
		case strings.HasPrefix(name, "heading "):
			if n, err := strconv.Atoi(strings.TrimPrefix(name, "heading ")); err == nil && n >= 1 && n <= 6 {
				d.headings[id] = n
			}
		case strings.HasPrefix(name, "list bullet"):
			d.styleList[id] = "bullet"
		case strings.HasPrefix(name, "list number"):
			d.styleList[id] = "decimal"
		}
		if lvl := st.path("pPr", "outlineLvl").a("val"); lvl != "" && d.headings[id] == 0 {
			if n, err := strconv.Atoi(lvl); err == nil && n >= 0 && n < 6 {
				d.headings[id] = n + 1
			}
		}
	}
}

func (d *docx) readNumbering(p *pkg) {
	if !p.has("word/numbering.xml") {
		return
	}
	root, err := p.xml("word/numbering.xml")
	if err != nil {
		return
	}
	abstract := map[string]map[string]string{}
	for _, an := range root.all("abstractNum") {
		lv := map[string]string{}
		for _, l := range an.all("lvl") {
			lv[l.a("ilvl")] = l.child("numFmt").a("val")
		}
		abstract[an.a("abstractNumId")] = lv
	}
	for _, n := range root.all("num") {
		for ilvl, f := range abstract[n.child("abstractNumId").a("val")] {
			d.numFmt[n.a("numId")+"/"+ilvl] = f
		}
	}
}

func (d *docx) readNotes(ctx context.Context, p *pkg, part, tag string, into map[string]string) {
	if !p.has(part) {
		return
	}
	root, err := p.xml(part)
	if err != nil {
		return
	}
	for _, n := range root.all(tag) {
		if t := n.a("type"); t == "separator" || t == "continuationSeparator" || t == "continuationNotice" {
			continue
		}
		into[n.a("id")] = strings.TrimSpace(d.blocksText(n))
	}
	_ = ctx
}

// blocksText renders the paragraphs inside n as one line of text.
func (d *docx) blocksText(n *xnode) string {
	var parts []string
	for _, p := range n.all("p") {
		if t := strings.TrimSpace(d.runs(p)); t != "" {
			parts = append(parts, t)
		}
	}
	return strings.Join(parts, " ")
}

// blocks renders the block-level content of a body, cell or content control.
func (d *docx) blocks(ctx context.Context, b *strings.Builder, n *xnode) error {
	if n == nil {
		return nil
	}
	for _, k := range n.kids {
		if err := ctx.Err(); err != nil {
			return err
		}
		switch k.name {
		case "p":
			d.paragraph(b, k)
		case "tbl":
			d.endList(b)
			d.table(b, k)
		case "sdt":
			if err := d.blocks(ctx, b, k.child("sdtContent")); err != nil {
				return err
			}
		case "customXml", "ins", "smartTag":
			if err := d.blocks(ctx, b, k); err != nil {
				return err
			}
		}
	}
	return nil
}

func (d *docx) paragraph(b *strings.Builder, p *xnode) {
	text := strings.TrimSpace(d.runs(p))
	if text == "" {
		return
	}
	ppr := p.child("pPr")
	style := ppr.child("pStyle").a("val")
	if num := ppr.child("numPr"); num == nil && d.styleList[style] == "" {
		d.endList(b)
	}
	if lvl := d.headings[style]; lvl > 0 {
		fmt.Fprintf(b, "%s %s\n\n", strings.Repeat("#", lvl), text)
		return
	}
	if lvl := ppr.child("outlineLvl").a("val"); lvl != "" {
		if n, err := strconv.Atoi(lvl); err == nil && n < 6 {
			fmt.Fprintf(b, "%s %s\n\n", strings.Repeat("#", n+1), text)
			return
		}
	}
	if num := ppr.child("numPr"); num != nil || d.styleList[style] != "" {
		ilvl := num.child("ilvl").a("val")
		if ilvl == "" {
			ilvl = "0"
		}
		format := d.numFmt[num.child("numId").a("val")+"/"+ilvl]
		if format == "" {
			format = d.styleList[style]
		}
		depth, _ := strconv.Atoi(ilvl)
		marker := "1."
		if format == "bullet" || format == "none" || format == "" {
			marker = "-"
		}
		fmt.Fprintf(b, "%s%s %s\n", strings.Repeat("  ", min(max(depth, 0), 8)), marker, text)
		d.inList = true
		return
	}
	b.WriteString(text + "\n\n")
}

// runs renders a paragraph's inline content: text with bold and italic,
// links, breaks, note references and image placeholders.
func (d *docx) runs(n *xnode) string {
	var b strings.Builder
	for _, k := range n.kids {
		switch k.name {
		case "r":
			b.WriteString(d.run(k))
		case "hyperlink":
			text := strings.TrimSpace(d.runs(k))
			target := ""
			if r, ok := d.rels[k.rel("id")]; ok {
				target = r.Target
			} else if a := k.a("anchor"); a != "" {
				target = "#" + a
			}
			if target != "" && text != "" {
				fmt.Fprintf(&b, "[%s](%s)", text, target)
			} else {
				b.WriteString(text)
			}
		case "fldSimple", "ins", "smartTag", "customXml", "sdt", "sdtContent", "bdo", "dir":
			b.WriteString(d.runs(k))
		case "commentRangeStart", "commentReference":
			if k.name == "commentReference" {
				b.WriteString(d.commentRef(k.a("id")))
			}
		}
	}
	return b.String()
}

func (d *docx) run(r *xnode) string {
	var b strings.Builder
	for _, k := range r.kids {
		switch k.name {
		case "t":
			b.WriteString(k.textOf(""))
		case "tab":
			b.WriteString("\t")
		case "br", "cr":
			b.WriteString("  \n")
		case "footnoteReference":
			b.WriteString(d.noteRef("", k.a("id")))
		case "endnoteReference":
			b.WriteString(d.noteRef("e", k.a("id")))
		case "commentReference":
			b.WriteString(d.commentRef(k.a("id")))
		case "drawing", "pict", "object":
			b.WriteString(d.image(k))
		}
	}
	text := b.String()
	rpr := r.child("rPr")
	if strings.TrimSpace(text) == "" || rpr == nil || strings.Contains(text, "![") {
		return text
	}
	on := func(tag string) bool {
		x := rpr.child(tag)
		return x != nil && x.a("val") != "0" && x.a("val") != "false"
	}
	lead := text[:len(text)-len(strings.TrimLeft(text, " \t"))]
	trail := text[len(strings.TrimRight(text, " \t")):]
	core := strings.TrimSpace(text)
	if on("b") {
		core = "**" + core + "**"
	}
	if on("i") {
		core = "*" + core + "*"
	}
	if on("strike") {
		core = "~~" + core + "~~"
	}
	return lead + core + trail
}

// endList ends a list with the blank line markdown needs before the next
// block.
func (d *docx) endList(b *strings.Builder) {
	if d.inList {
		b.WriteString("\n")
		d.inList = false
	}
}

func (d *docx) noteRef(prefix, id string) string {
	label := prefix + id
	d.noteOrder = append(d.noteOrder, label)
	return "[^" + label + "]"
}

func (d *docx) commentRef(id string) string {
	for _, u := range d.usedCmts {
		if u == id {
			return ""
		}
	}
	d.usedCmts = append(d.usedCmts, id)
	return "[^c" + id + "]"
}

// image renders a drawing as a placeholder named after its alt text and
// the media file it embeds, never the bytes.
func (d *docx) image(n *xnode) string {
	alt, name := "", ""
	if pr := n.all("docPr"); len(pr) > 0 {
		alt = pr[0].a("descr")
		if alt == "" {
			alt = pr[0].a("title")
		}
		name = pr[0].a("name")
	}
	for _, tag := range []string{"blip", "imagedata"} {
		for _, bl := range n.all(tag) {
			id := bl.rel("embed")
			if id == "" {
				id = bl.rel("id")
			}
			if r, ok := d.rels[id]; ok {
				name = path.Base(r.Target)
			}
		}
	}
	if alt == "" && name == "" {
		return ""
	}
	if name == "" {
		name = "image"
	}
	return fmt.Sprintf("![%s](%s)", strings.ReplaceAll(alt, "]", ")"), name)
}

func (d *docx) table(b *strings.Builder, tbl *xnode) {
	var rows [][]string
	for _, tr := range tbl.kids {
		if tr.name != "tr" {
			continue
		}
		var row []string
		for _, tc := range tr.kids {
			if tc.name != "tc" {
				continue
			}
			var parts []string
			for _, k := range tc.kids {
				switch k.name {
				case "p":
					if t := strings.TrimSpace(d.runs(k)); t != "" {
						parts = append(parts, t)
					}
				case "tbl", "sdt":
					if t := strings.TrimSpace(d.blocksText(k)); t != "" {
						parts = append(parts, t)
					}
				}
			}
			row = append(row, strings.Join(parts, "\n"))
			// A cell spanning columns keeps the table rectangular.
			if span, err := strconv.Atoi(tc.path("tcPr", "gridSpan").a("val")); err == nil {
				for i := 1; i < min(span, 64); i++ {
					row = append(row, "")
				}
			}
		}
		rows = append(rows, row)
	}
	writeTable(b, rows)
}

func (d *docx) writeNotes(b *strings.Builder) {
	if len(d.noteOrder) == 0 && len(d.usedCmts) == 0 {
		return
	}
	b.WriteString("\n")
	seen := map[string]bool{}
	for _, label := range d.noteOrder {
		if seen[label] {
			continue
		}
		seen[label] = true
		text := d.footnotes[label]
		if strings.HasPrefix(label, "e") {
			text = d.endnotes[strings.TrimPrefix(label, "e")]
		}
		fmt.Fprintf(b, "[^%s]: %s\n", label, text)
	}
	for _, id := range d.usedCmts {
		c := d.comments[id]
		fmt.Fprintf(b, "[^c%s]: Comment by %s: %s\n", id, orUnknown(c.author), c.text)
	}
}

func orUnknown(s string) string {
	if strings.TrimSpace(s) == "" {
		return "unknown"
	}
	return s
}
