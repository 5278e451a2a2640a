package convert

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/xuri/excelize/v2"
)

// convertXLSX renders each sheet as "## SheetName" and a markdown table of
// its cells' displayed values; formulas show their cached results.
func convertXLSX(ctx context.Context, s *source) (*Document, error) {
	if s.size > s.lim.MaxInputBytes {
		return nil, fmt.Errorf("the file is %s, more than the %s this reader loads", humanBytes(s.size), humanBytes(s.lim.MaxInputBytes))
	}
	f, err := excelize.OpenReader(io.NewSectionReader(s.r, 0, s.size), excelize.Options{
		UnzipSizeLimit:    s.lim.MaxZipTotalBytes,
		UnzipXMLSizeLimit: min(s.lim.MaxZipTotalBytes, 16<<20),
	})
	if err != nil {
		return nil, fmt.Errorf("invalid workbook: %w", err)
	}
	defer f.Close()
	doc := &Document{}
	var b strings.Builder
	sheets := f.GetSheetList()
	doc.Pages = len(sheets)
	for _, name := range sheets {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rows, cut, err := sheetRows(f, name, s.lim.MaxRows)
		if err != nil {
			fmt.Fprintf(&b, "## %s\n\n(this sheet could not be read: %v)\n\n", name, err)
			continue
		}
		if cut {
			doc.Notes = append(doc.Notes, fmt.Sprintf("sheet %s: only the first %d rows are shown", name, s.lim.MaxRows))
		}
		fmt.Fprintf(&b, "## %s\n\n", name)
		rows = trimEmptyColumns(rows)
		if len(rows) == 0 {
			b.WriteString("(empty sheet)\n\n")
			continue
		}
		writeTable(&b, rows)
	}
	if v, err := f.GetDocProps(); err == nil && v != nil {
		doc.Title = v.Title
		if v.Creator != "" {
			doc.Metadata = append(doc.Metadata, Field{"Author", v.Creator})
		}
	}
	doc.Markdown = b.String()
	return doc, nil
}

func sheetRows(f *excelize.File, sheet string, maxRows int) ([][]string, bool, error) {
	it, err := f.Rows(sheet)
	if err != nil {
		return nil, false, err
	}
	defer it.Close()
	var rows [][]string
	for it.Next() {
		if len(rows) >= maxRows {
			return rows, true, nil
		}
		cols, err := it.Columns()
		if err != nil {
			return nil, false, err
		}
		rows = append(rows, cols)
	}
	return rows, false, it.Error()
}
