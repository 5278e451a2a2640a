package convert

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// readText reads a text-like file up to the text limit, decodes its charset
// and notes a cut.
func readText(s *source) (text, charset string, notes []string, err error) {
	b, cut, err := s.readAll(s.lim.MaxTextBytes)
	if err != nil {
		return "", "", nil, err
	}
	text, charset = decodeText(b)
	if cut {
		notes = append(notes, fmt.Sprintf("only the first %s of this %s file were read", humanBytes(int64(len(b))), humanBytes(s.size)))
	}
	return text, charset, notes, nil
}

// convertText shows text, code, Markdown and XML as they are, in UTF-8.
func convertText(_ context.Context, s *source) (*Document, error) {
	text, cs, notes, err := readText(s)
	if err != nil {
		return nil, err
	}
	doc := &Document{Markdown: text, Notes: notes, Metadata: []Field{{"Charset", cs}}}
	if k := s.ext(); k == "md" || k == "markdown" {
		doc.Title = firstHeading(text)
	}
	return doc, nil
}

// firstHeading returns the text of the first ATX heading in md.
func firstHeading(md string) string {
	for line := range strings.Lines(md[:min(len(md), 64<<10)]) {
		l := strings.TrimSpace(line)
		if strings.HasPrefix(l, "#") {
			return strings.TrimSpace(strings.TrimLeft(l, "#"))
		}
	}
	return ""
}

// convertJSON pretty-prints JSON; text that is not valid JSON is shown as
// is with a note.
func convertJSON(_ context.Context, s *source) (*Document, error) {
	text, cs, notes, err := readText(s)
	if err != nil {
		return nil, err
	}
	doc := &Document{Notes: notes, Metadata: []Field{{"Charset", cs}}}
	var out bytes.Buffer
	if len(notes) == 0 {
		if err := json.Indent(&out, []byte(strings.TrimPrefix(text, "\ufeff")), "", "  "); err == nil {
			doc.Markdown = "```json\n" + out.String() + "\n```\n"
			return doc, nil
		} else {
			doc.Notes = append(doc.Notes, fmt.Sprintf("this is not valid JSON (%v), so it is shown as is", err))
		}
	}
	doc.Markdown = text
	return doc, nil
}

// jsonText is a notebook string field: a string or a list of lines.
type jsonText string

func (t *jsonText) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*t = jsonText(s)
		return nil
	}
	var lines []string
	if err := json.Unmarshal(b, &lines); err != nil {
		return err
	}
	*t = jsonText(strings.Join(lines, ""))
	return nil
}

type notebook struct {
	Cells []struct {
		CellType string   `json:"cell_type"`
		Source   jsonText `json:"source"`
		Outputs  []struct {
			OutputType string                     `json:"output_type"`
			Text       jsonText                   `json:"text"`
			Data       map[string]json.RawMessage `json:"data"`
			Ename      string                     `json:"ename"`
			Evalue     string                     `json:"evalue"`
		} `json:"outputs"`
	} `json:"cells"`
	Metadata struct {
		Title        string `json:"title"`
		LanguageInfo struct {
			Name string `json:"name"`
		} `json:"language_info"`
		KernelSpec struct {
			Language string `json:"language"`
		} `json:"kernelspec"`
	} `json:"metadata"`
}

// convertNotebook shows a Jupyter notebook's markdown cells as markdown and
// its code cells as fenced code followed by their outputs.
func convertNotebook(_ context.Context, s *source) (*Document, error) {
	text, _, notes, err := readText(s)
	if err != nil {
		return nil, err
	}
	if len(notes) > 0 {
		return nil, fmt.Errorf("the notebook is larger than %s", humanBytes(s.lim.MaxTextBytes))
	}
	var nb notebook
	if err := json.Unmarshal([]byte(text), &nb); err != nil {
		return nil, fmt.Errorf("invalid notebook JSON: %w", err)
	}
	lang := nb.Metadata.LanguageInfo.Name
	if lang == "" {
		lang = nb.Metadata.KernelSpec.Language
	}
	var b strings.Builder
	title := nb.Metadata.Title
	for _, c := range nb.Cells {
		src := strings.TrimRight(string(c.Source), "\n")
		switch c.CellType {
		case "markdown":
			if title == "" {
				title = firstHeading(src)
			}
			b.WriteString(src + "\n\n")
		case "code":
			fmt.Fprintf(&b, "```%s\n%s\n```\n\n", lang, src)
			for _, o := range c.Outputs {
				writeNotebookOutput(&b, o.OutputType, string(o.Text), o.Data, o.Ename, o.Evalue)
			}
		default:
			b.WriteString(src + "\n\n")
		}
	}
	return &Document{Title: title, Markdown: b.String(), Pages: len(nb.Cells)}, nil
}

func writeNotebookOutput(b *strings.Builder, typ, text string, data map[string]json.RawMessage, ename, evalue string) {
	switch typ {
	case "stream":
		fmt.Fprintf(b, "Output:\n```\n%s\n```\n\n", strings.TrimRight(text, "\n"))
	case "error":
		fmt.Fprintf(b, "Error: %s: %s\n\n", ename, evalue)
	case "execute_result", "display_data":
		if raw, ok := data["text/markdown"]; ok {
			var t jsonText
			if json.Unmarshal(raw, &t) == nil {
				b.WriteString(string(t) + "\n\n")
				return
			}
		}
		if raw, ok := data["text/plain"]; ok {
			var t jsonText
			if json.Unmarshal(raw, &t) == nil {
				fmt.Fprintf(b, "Output:\n```\n%s\n```\n\n", strings.TrimRight(string(t), "\n"))
			}
		}
		for _, mime := range []string{"image/png", "image/jpeg", "image/svg+xml"} {
			if _, ok := data[mime]; ok {
				fmt.Fprintf(b, "![output image (%s)](output)\n\n", mime)
			}
		}
	}
}
