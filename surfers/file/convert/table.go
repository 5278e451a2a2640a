package convert

import "strings"

// writeTable writes rows as a markdown table whose first row is the header.
// Short rows are padded so every row has the same number of cells.
func writeTable(b *strings.Builder, rows [][]string) {
	if len(rows) == 0 {
		return
	}
	width := 0
	for _, r := range rows {
		width = max(width, len(r))
	}
	if width == 0 {
		return
	}
	for i, r := range rows {
		b.WriteString("|")
		for j := 0; j < width; j++ {
			c := ""
			if j < len(r) {
				c = tableCell(r[j])
			}
			b.WriteString(" " + c + " |")
		}
		b.WriteString("\n")
		if i == 0 {
			b.WriteString("|")
			for j := 0; j < width; j++ {
				b.WriteString(" --- |")
			}
			b.WriteString("\n")
		}
	}
	b.WriteString("\n")
}

// tableCell makes s safe inside a markdown table cell.
func tableCell(s string) string {
	s = strings.TrimSpace(s)
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "|", "\\|")
	return strings.ReplaceAll(s, "\n", "<br>")
}

// trimEmptyColumns drops trailing columns that are empty in every row, as
// spreadsheets often carry formatted but empty cells.
func trimEmptyColumns(rows [][]string) [][]string {
	width := 0
	for _, r := range rows {
		for j := len(r) - 1; j >= 0; j-- {
			if strings.TrimSpace(r[j]) != "" {
				width = max(width, j+1)
				break
			}
		}
	}
	for i, r := range rows {
		if len(r) > width {
			rows[i] = r[:width]
		}
	}
	// Drop trailing empty rows too.
	for len(rows) > 0 && strings.TrimSpace(strings.Join(rows[len(rows)-1], "")) == "" {
		rows = rows[:len(rows)-1]
	}
	return rows
}
