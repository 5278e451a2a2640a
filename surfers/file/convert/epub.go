package convert

import (
	"context"
	"fmt"
	"path"
	"strings"
)

// convertEPUB renders a book's chapters in spine order.
func convertEPUB(ctx context.Context, s *source) (*Document, error) {
	p, err := openPkg(s)
	if err != nil {
		return nil, err
	}
	container, err := p.xml("META-INF/container.xml")
	if err != nil {
		return nil, err
	}
	var opfPath string
	if rf := container.all("rootfile"); len(rf) > 0 {
		opfPath = strings.TrimPrefix(rf[0].a("full-path"), "/")
	}
	opf, err := p.xml(opfPath)
	if err != nil {
		return nil, fmt.Errorf("package document: %w", err)
	}
	doc := &Document{}
	md := opf.all("metadata")
	if len(md) > 0 {
		for _, f := range []struct{ tag, key string }{{"title", "Title"}, {"creator", "Author"}, {"language", "Language"}, {"date", "Date"}} {
			if n := md[0].all(f.tag); len(n) > 0 {
				if v := strings.TrimSpace(n[0].textOf("")); v != "" {
					doc.Metadata = append(doc.Metadata, Field{f.key, v})
					if f.tag == "title" {
						doc.Title = v
					}
				}
			}
		}
	}
	manifest := map[string]string{}
	for _, it := range opf.all("item") {
		manifest[it.a("id")] = path.Clean(path.Join(path.Dir(opfPath), it.a("href")))
	}
	var b strings.Builder
	if doc.Title != "" {
		b.WriteString("# " + doc.Title + "\n\n")
	}
	for _, f := range doc.Metadata {
		if f.Key == "Author" {
			b.WriteString("By " + f.Value + "\n\n")
		}
	}
	for _, ref := range opf.all("itemref") {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		name, ok := manifest[ref.a("idref")]
		if !ok {
			continue
		}
		data, err := p.bytes(name)
		if err != nil {
			doc.Notes = append(doc.Notes, fmt.Sprintf("chapter %s was skipped: %v", name, err))
			continue
		}
		text, _ := decodeHTML(data)
		_, chapter, err := htmlToMarkdown(ctx, text)
		if err != nil {
			doc.Notes = append(doc.Notes, fmt.Sprintf("chapter %s could not be read: %v", name, err))
			continue
		}
		doc.Pages++
		b.WriteString(strings.TrimSpace(chapter) + "\n\n")
		if b.Len() > s.lim.MaxOutputBytes {
			break
		}
	}
	doc.Markdown = b.String()
	return doc, nil
}
