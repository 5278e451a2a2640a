package convert

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// convertCSV shows a CSV or TSV file as a markdown table, detecting the
// charset and the delimiter.
func convertCSV(ctx context.Context, s *source) (*Document, error) {
	text, cs, notes, err := readText(s)
	if err != nil {
		return nil, err
	}
	text = strings.TrimPrefix(text, "\ufeff")
	delim, ok := sniffDelimiter(text)
	if !ok {
		delim = ','
	}
	if s.ext() == "tsv" || s.ext() == "tab" {
		delim = '\t'
	}
	r := csv.NewReader(strings.NewReader(text))
	r.Comma = delim
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	var rows [][]string
	for {
		if len(rows)%1000 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if len(notes) > 0 {
				break // the read limit cut the last record
			}
			notes = append(notes, fmt.Sprintf("the table stops at a malformed row: %v", err))
			break
		}
		if len(rows) > s.lim.MaxRows {
			notes = append(notes, fmt.Sprintf("only the first %d rows are shown", s.lim.MaxRows))
			break
		}
		rows = append(rows, rec)
	}
	var b strings.Builder
	writeTable(&b, rows)
	name := map[rune]string{',': "comma", ';': "semicolon", '\t': "tab", '|': "pipe"}[delim]
	return &Document{
		Markdown: b.String(),
		Notes:    notes,
		Metadata: []Field{{"Charset", cs}, {"Delimiter", name}, {"Rows", fmt.Sprint(len(rows))}},
	}, nil
}

// sniffDelimiter picks the delimiter that splits the first lines into the
// same number (above one) of fields most consistently.
func sniffDelimiter(text string) (rune, bool) {
	var lines []string
	for line := range strings.Lines(text[:min(len(text), 16<<10)]) {
		if strings.TrimSpace(line) != "" {
			lines = append(lines, line)
		}
		if len(lines) == 20 {
			break
		}
	}
	if len(lines) == 0 {
		return 0, false
	}
	best, bestScore := rune(0), 0
	for _, d := range []rune{',', ';', '\t', '|'} {
		first := strings.Count(lines[0], string(d))
		if first == 0 {
			continue
		}
		score := 0
		for _, l := range lines {
			if strings.Count(l, string(d)) == first {
				score += first
			}
		}
		if score > bestScore {
			best, bestScore = d, score
		}
	}
	return best, best != 0 && (len(lines) == 1 || bestScore > len(lines))
}
