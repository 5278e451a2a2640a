package console

import (
	"strings"

	"github.com/charmbracelet/glamour"
	gansi "github.com/charmbracelet/glamour/ansi"
	gstyles "github.com/charmbracelet/glamour/styles"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"
)

// markdown renders what models write (markdown, mostly) for a terminal
// with glamour, wrapped to the terminal's width. Pipes get the text as it
// was written, so nothing is lost for a program reading it.
type markdown struct {
	color bool
	cache map[int]*glamour.TermRenderer // by wrap width
}

// style is glamour's dark style (or its plain ASCII one without colour),
// with no margin and no blank lines around the document: the renderer
// spaces its blocks itself. The document colour is dropped so text keeps
// the terminal's own colour, dark or light background alike; the style is
// fixed because asking the terminal for its background (glamour's auto
// style) would write a query and read its answer from stdin, where the
// person's answers come from.
func (m *markdown) style() gansi.StyleConfig {
	st := gstyles.DarkStyleConfig
	if !m.color {
		st = gstyles.ASCIIStyleConfig
	}
	zero := uint(0)
	st.Document.Margin = &zero
	st.Document.BlockPrefix, st.Document.BlockSuffix = "", ""
	st.Document.Color = nil
	return st
}

func (m *markdown) renderer(width int) (*glamour.TermRenderer, error) {
	if r, ok := m.cache[width]; ok {
		return r, nil
	}
	profile := termenv.ANSI256
	if !m.color {
		profile = termenv.Ascii
	}
	r, err := glamour.NewTermRenderer(glamour.WithStyles(m.style()), glamour.WithWordWrap(width),
		glamour.WithPreservedNewLines(), glamour.WithColorProfile(profile))
	if err != nil {
		return nil, err
	}
	if m.cache == nil {
		m.cache = map[int]*glamour.TermRenderer{}
	}
	m.cache[width] = r
	return r, nil
}

// render returns text (already sanitized) rendered for a terminal width
// columns wide; plain wrapped text if glamour fails.
func (m *markdown) render(text string, width int) string {
	r, err := m.renderer(width)
	if err == nil {
		var out string
		if out, err = r.Render(text); err == nil {
			return trimLines(out)
		}
	}
	return wrap(text, width)
}

// wrap wraps text at width columns, at spaces where it can and inside
// words longer than a line ("printed" is never cut as "prin/ted" unless it
// alone is wider than the line). Width 0 leaves it as it is.
func wrap(text string, width int) string {
	if width <= 0 {
		return text
	}
	return ansi.Wrap(text, width, "")
}

// trimLines drops the blank lines glamour puts around a document and the
// spaces it pads each line with (keeping the style codes among them, so
// no style leaks into the next line).
func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = trimRightSpaces(l)
	}
	for len(lines) > 0 && ansi.Strip(lines[0]) == "" {
		lines = lines[1:]
	}
	for len(lines) > 0 && ansi.Strip(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	return strings.Join(lines, "\n")
}

// trimRightSpaces removes trailing spaces from a line that may hold SGR
// codes among them.
func trimRightSpaces(l string) string {
	var codes []string
	end := len(l)
	for end > 0 {
		switch {
		case l[end-1] == ' ':
			end--
		case l[end-1] == 'm':
			start := strings.LastIndex(l[:end], "\x1b[")
			if start < 0 || strings.Trim(l[start+2:end-1], "0123456789;") != "" {
				return l[:end] + strings.Join(codes, "")
			}
			codes = append([]string{l[start:end]}, codes...)
			end = start
		default:
			return l[:end] + strings.Join(codes, "")
		}
	}
	return strings.Join(codes, "")
}
