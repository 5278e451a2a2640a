package convert

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// convertZip lists an archive and converts each member, within the
// archive limits: member count, total uncompressed bytes, compression
// ratio and nesting depth. What was skipped is said.
func convertZip(ctx context.Context, s *source) (*Document, error) {
	zr, err := zip.NewReader(s.r, s.size)
	if err != nil {
		return nil, fmt.Errorf("invalid ZIP archive: %w", err)
	}
	doc := &Document{}
	var b strings.Builder
	var files []*zip.File
	for _, f := range zr.File {
		if !f.FileInfo().IsDir() {
			files = append(files, f)
		}
	}
	fmt.Fprintf(&b, "# %s\n\nZIP archive with %d files.\n\n", s.name, len(files))
	listing := [][]string{{"Name", "Size", "Modified"}}
	for i, f := range files {
		if i >= s.lim.MaxZipMembers {
			doc.Notes = append(doc.Notes, fmt.Sprintf("only the first %d of %d members are listed", s.lim.MaxZipMembers, len(files)))
			break
		}
		listing = append(listing, []string{f.Name, humanBytes(int64(f.UncompressedSize64)), f.Modified.UTC().Format(time.DateTime)})
	}
	writeTable(&b, listing)
	if s.depth >= s.lim.MaxDepth {
		doc.Notes = append(doc.Notes, "archives nested this deep are listed, not opened")
		doc.Markdown = b.String()
		return doc, nil
	}
	var total int64
	for i, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if i >= s.lim.MaxZipMembers {
			break
		}
		fmt.Fprintf(&b, "## %s\n\n", f.Name)
		size := int64(f.UncompressedSize64)
		ratio := float64(size) / float64(max(f.CompressedSize64, 1))
		switch {
		case ratio > s.lim.MaxZipRatio && size > 1<<20:
			msg := fmt.Sprintf("%s was skipped: it expands %.0f times (%s), which looks like a zip bomb", f.Name, ratio, humanBytes(size))
			doc.Notes = append(doc.Notes, msg)
			b.WriteString("(" + msg + ")\n\n")
			continue
		case total+size > s.lim.MaxZipTotalBytes:
			msg := fmt.Sprintf("%s was skipped: the archive's read limit of %s is used up", f.Name, humanBytes(s.lim.MaxZipTotalBytes))
			doc.Notes = append(doc.Notes, msg)
			b.WriteString("(" + msg + ")\n\n")
			continue
		}
		data, err := readMember(f, min(s.lim.MaxZipTotalBytes-total, s.lim.MaxInputBytes))
		total += int64(len(data))
		if err != nil {
			fmt.Fprintf(&b, "(could not be read: %v)\n\n", err)
			continue
		}
		sub := &source{name: baseName(f.Name), path: s.path + "/" + f.Name, r: strings.NewReader(string(data)), size: int64(len(data)), lim: s.lim, depth: s.depth + 1}
		md, err := convertSource(ctx, sub)
		if err != nil && md == nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			fmt.Fprintf(&b, "(could not be converted: %v)\n\n", err)
			continue
		}
		b.WriteString(strings.TrimSpace(md.Markdown) + "\n\n")
		if b.Len() > s.lim.MaxOutputBytes {
			doc.Notes = append(doc.Notes, "the members after "+f.Name+" were not converted: the output limit was reached")
			break
		}
	}
	doc.Markdown = b.String()
	doc.Pages = len(files)
	return doc, nil
}

// readMember reads at most limit bytes of f and fails if it holds more, so
// a header that lies about the size cannot blow past the budget.
func readMember(f *zip.File, limit int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return data[:limit], fmt.Errorf("larger than the %s left to read", humanBytes(limit))
	}
	return data, nil
}

func baseName(name string) string {
	if i := strings.LastIndexAny(name, "/\\"); i >= 0 {
		return name[i+1:]
	}
	return name
}
