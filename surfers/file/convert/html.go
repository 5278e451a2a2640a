package convert

import (
	"bytes"
	"context"
	"strings"

	"github.com/JohannesKaufmann/html-to-markdown/v2/converter"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/base"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/commonmark"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/strikethrough"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/table"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/net/html/charset"
)

// convertHTML shows a page's main content as markdown, without navigation,
// sidebars, headers, footers, scripts and styles.
func convertHTML(ctx context.Context, s *source) (*Document, error) {
	b, cut, err := s.readAll(s.lim.MaxTextBytes)
	if err != nil {
		return nil, err
	}
	text, cs := decodeHTML(b)
	title, md, err := htmlToMarkdown(ctx, text)
	if err != nil {
		return nil, err
	}
	doc := &Document{Title: title, Markdown: md, Metadata: []Field{{"Charset", cs}}}
	if cut {
		doc.Notes = append(doc.Notes, "only the first "+humanBytes(int64(len(b)))+" of this "+humanBytes(s.size)+" page were read")
	}
	return doc, nil
}

// decodeHTML honours a BOM or a <meta charset> before guessing.
func decodeHTML(b []byte) (string, string) {
	if enc, name, certain := charset.DetermineEncoding(b, ""); certain {
		if out, err := enc.NewDecoder().Bytes(b); err == nil {
			return string(out), name
		}
	}
	if i := bytes.Index(bytes.ToLower(b[:min(len(b), 2048)]), []byte("charset=")); i >= 0 {
		if enc, name, _ := charset.DetermineEncoding(b, "text/html; "+string(b[i:min(len(b), i+30)])); enc != nil && name != "windows-1252" {
			if out, err := enc.NewDecoder().Bytes(b); err == nil {
				return string(out), name
			}
		}
	}
	return decodeText(b)
}

// htmlToMarkdown converts an HTML document to markdown and returns its
// title.
func htmlToMarkdown(ctx context.Context, text string) (string, string, error) {
	doc, err := html.Parse(strings.NewReader(text))
	if err != nil {
		return "", "", err
	}
	title := ""
	if t := findFirst(doc, func(n *html.Node) bool { return n.DataAtom == atom.Title }); t != nil {
		title = strings.TrimSpace(nodeText(t))
	}
	root := mainContent(doc)
	stripChrome(root, false)
	if title == "" {
		if h := findFirst(root, func(n *html.Node) bool { return n.DataAtom == atom.H1 }); h != nil {
			title = strings.TrimSpace(nodeText(h))
		}
	}
	conv := converter.NewConverter(converter.WithPlugins(
		base.NewBasePlugin(),
		commonmark.NewCommonmarkPlugin(),
		table.NewTablePlugin(),
		strikethrough.NewStrikethroughPlugin(),
	))
	md, err := conv.ConvertNode(root, converter.WithContext(ctx))
	if err != nil {
		return "", "", err
	}
	return strings.Join(strings.Fields(title), " "), string(md) + "\n", nil
}

// mainContent picks <main> (or role=main), else a lone <article>, else
// <body>, else the whole document.
func mainContent(doc *html.Node) *html.Node {
	if m := findFirst(doc, func(n *html.Node) bool {
		return n.DataAtom == atom.Main || attr(n, "role") == "main"
	}); m != nil && len(strings.TrimSpace(nodeText(m))) > 0 {
		return m
	}
	var articles []*html.Node
	walk(doc, func(n *html.Node) bool {
		if n.DataAtom == atom.Article {
			articles = append(articles, n)
			return false
		}
		return true
	})
	if len(articles) == 1 {
		return articles[0]
	}
	if b := findFirst(doc, func(n *html.Node) bool { return n.DataAtom == atom.Body }); b != nil {
		return b
	}
	return doc
}

// chromeRoles are ARIA roles of page furniture rather than content.
var chromeRoles = map[string]bool{"navigation": true, "banner": true, "contentinfo": true, "complementary": true, "search": true}

// stripChrome removes navigation, sidebars, scripts, styles, forms and the
// page header and footer. A <header> inside an article is kept: it usually
// holds the article's own title.
func stripChrome(n *html.Node, inArticle bool) {
	for c := n.FirstChild; c != nil; {
		next := c.NextSibling
		if c.Type == html.ElementNode {
			remove := false
			switch c.DataAtom {
			case atom.Script, atom.Style, atom.Noscript, atom.Nav, atom.Aside, atom.Footer,
				atom.Template, atom.Iframe, atom.Svg, atom.Form, atom.Button, atom.Select, atom.Link, atom.Meta:
				remove = true
			case atom.Header:
				remove = !inArticle
			}
			if chromeRoles[attr(c, "role")] || attr(c, "aria-hidden") == "true" || hasAttr(c, "hidden") {
				remove = true
			}
			if remove {
				n.RemoveChild(c)
			} else {
				stripChrome(c, inArticle || c.DataAtom == atom.Article || c.DataAtom == atom.Main)
			}
		} else if c.Type == html.CommentNode {
			n.RemoveChild(c)
		}
		c = next
	}
}

func walk(n *html.Node, fn func(*html.Node) bool) {
	if !fn(n) {
		return
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, fn)
	}
}

func findFirst(n *html.Node, match func(*html.Node) bool) *html.Node {
	var found *html.Node
	walk(n, func(c *html.Node) bool {
		if found != nil {
			return false
		}
		if c.Type == html.ElementNode && match(c) {
			found = c
			return false
		}
		return true
	})
	return found
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return strings.ToLower(strings.TrimSpace(a.Val))
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

func nodeText(n *html.Node) string {
	var b strings.Builder
	walk(n, func(c *html.Node) bool {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
		return c.DataAtom != atom.Script && c.DataAtom != atom.Style
	})
	return b.String()
}
