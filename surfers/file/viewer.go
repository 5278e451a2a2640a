package file

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/m1-project/m1/surfers/file/convert"
)

// viewer is an open document cut into pages of about the viewport size.
type viewer struct {
	path    string // as shown to the model
	doc     *convert.Document
	pages   [][2]int // byte ranges of doc.Markdown
	page    int      // zero-based
	query   string   // last search
	pattern *regexp.Regexp
}

func newViewer(path string, doc *convert.Document, size int) *viewer {
	return &viewer{path: path, doc: doc, pages: splitPages(doc.Markdown, size)}
}

// splitPages cuts text into pages of about size bytes, breaking at
// whitespace so no word is cut in two.
func splitPages(text string, size int) [][2]int {
	if text == "" {
		return [][2]int{{0, 0}}
	}
	var pages [][2]int
	for start := 0; start < len(text); {
		end := start + size
		if end >= len(text) {
			pages = append(pages, [2]int{start, len(text)})
			break
		}
		cut := -1
		// Prefer the last whitespace in the second half of the page.
		if i := strings.LastIndexFunc(text[start+size/2:end], unicode.IsSpace); i >= 0 {
			cut = start + size/2 + i
		} else if i := strings.IndexFunc(text[end:min(len(text), end+size/2)], unicode.IsSpace); i >= 0 {
			cut = end + i
		}
		if cut < 0 {
			cut = end
			for cut > start && !utf8.RuneStart(text[cut]) {
				cut--
			}
		} else {
			_, w := utf8.DecodeRuneInString(text[cut:])
			cut += w // the whitespace ends this page
		}
		if cut <= start {
			cut = end
		}
		pages = append(pages, [2]int{start, cut})
		start = cut
	}
	return pages
}

func (v *viewer) setPage(p int) {
	v.page = min(max(p, 0), len(v.pages)-1)
}

func (v *viewer) text(p int) string {
	r := v.pages[p]
	return v.doc.Markdown[r[0]:r[1]]
}

// header is the viewer state without the page text.
func (v *viewer) header() string {
	return fmt.Sprintf("Path: %s\nTitle: %s\nViewport position: Showing page %d of %d.", v.path, v.doc.Title, v.page+1, len(v.pages))
}

// render is the reply after every action: header, separator, page.
func (v *viewer) render() string {
	return v.header() + "\n=======================\n" + v.text(v.page)
}

// compileQuery turns a search string into a case-insensitive pattern where
// * matches anything on the page and any run of whitespace matches any
// other.
func compileQuery(q string) (*regexp.Regexp, error) {
	words := strings.Fields(q)
	if len(words) == 0 {
		return nil, fixf("find_on_page_ctrl_f needs a non-empty search_string")
	}
	for i, w := range words {
		parts := strings.Split(w, "*")
		for j, p := range parts {
			parts[j] = regexp.QuoteMeta(p)
		}
		words[i] = strings.Join(parts, `.*?`)
	}
	return regexp.Compile(`(?is)` + strings.Join(words, `\s+`))
}

// find moves to the first page at or after from (wrapping around) that
// matches the current pattern and reports whether one did.
func (v *viewer) find(from int) bool {
	n := len(v.pages)
	for i := 0; i < n; i++ {
		p := (from + i) % n
		if v.pattern.MatchString(v.text(p)) {
			v.page = p
			return true
		}
	}
	return false
}
