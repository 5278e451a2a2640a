package convert

import (
	"context"
	"encoding/xml"
	"fmt"
	"strings"

	"golang.org/x/net/html/charset"
)

type feedItem struct {
	Title       string `xml:"title"`
	Description string `xml:"description"`
	PubDate     string `xml:"pubDate"`
	Date        string `xml:"date"`
	// Atom
	Links []struct {
		Href string `xml:"href,attr"`
		Rel  string `xml:"rel,attr"`
		Text string `xml:",chardata"`
	} `xml:"link"`
	Updated   string `xml:"updated"`
	Published string `xml:"published"`
	Summary   string `xml:"summary"`
	Content   string `xml:"content"`
}

type feedDoc struct {
	XMLName xml.Name
	Channel struct {
		Title       string     `xml:"title"`
		Description string     `xml:"description"`
		Items       []feedItem `xml:"item"`
	} `xml:"channel"`
	Items    []feedItem `xml:"item"`
	Title    string     `xml:"title"`
	Subtitle string     `xml:"subtitle"`
	Entries  []feedItem `xml:"entry"`
}

// convertFeed shows an RSS, RDF or Atom feed as its items: title with link,
// date, and the description as markdown.
func convertFeed(ctx context.Context, s *source) (*Document, error) {
	text, _, notes, err := readText(s)
	if err != nil {
		return nil, err
	}
	dec := xml.NewDecoder(strings.NewReader(text))
	dec.Strict = false
	dec.CharsetReader = nil
	dec.CharsetReader = charset.NewReaderLabel
	var f feedDoc
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("invalid feed XML: %w", err)
	}
	title, desc := f.Channel.Title, f.Channel.Description
	items := append(f.Channel.Items, f.Items...)
	if strings.EqualFold(f.XMLName.Local, "feed") {
		title, desc, items = f.Title, f.Subtitle, f.Entries
	}
	var b strings.Builder
	title = strings.TrimSpace(title)
	if title != "" {
		b.WriteString("# " + title + "\n\n")
	}
	if d := richText(ctx, desc); d != "" {
		b.WriteString(d + "\n\n")
	}
	for _, it := range items {
		link := ""
		for _, l := range it.Links {
			if t := strings.TrimSpace(l.Text); t != "" && link == "" {
				link = t
			}
			if l.Href != "" && (l.Rel == "" || l.Rel == "alternate") {
				link = l.Href
				break
			}
		}
		t := strings.TrimSpace(it.Title)
		if t == "" {
			t = "(untitled)"
		}
		if link != "" {
			fmt.Fprintf(&b, "## [%s](%s)\n\n", t, link)
		} else {
			fmt.Fprintf(&b, "## %s\n\n", t)
		}
		for _, d := range []string{it.PubDate, it.Published, it.Updated, it.Date} {
			if strings.TrimSpace(d) != "" {
				fmt.Fprintf(&b, "*%s*\n\n", strings.TrimSpace(d))
				break
			}
		}
		body := it.Description
		if body == "" {
			body = it.Content
		}
		if body == "" {
			body = it.Summary
		}
		if d := richText(ctx, body); d != "" {
			b.WriteString(d + "\n\n")
		}
	}
	return &Document{Title: title, Markdown: b.String(), Notes: notes, Pages: len(items)}, nil
}

// richText converts a fragment that may be HTML into markdown.
func richText(ctx context.Context, s string) string {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "<") {
		return s
	}
	_, md, err := htmlToMarkdown(ctx, s)
	if err != nil {
		return s
	}
	return strings.TrimSpace(md)
}
