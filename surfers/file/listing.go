package file

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/m1-project/m1/surfers/file/convert"
)

// maxListing caps the entries of one directory listing.
const maxListing = 5000

// listDir renders the open folder dir as a markdown table of its entries,
// folders first, with sizes and modification dates. host is the folder's
// path on the host, which linkNote gets joined with a link's name to say
// where the link leads.
func listDir(dir *os.File, host, shown string, linkNote func(path string) string) (*convert.Document, error) {
	entries, err := dir.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(entries, func(i, j int) bool {
		if entries[i].IsDir() != entries[j].IsDir() {
			return entries[i].IsDir()
		}
		return entries[i].Name() < entries[j].Name()
	})
	var b strings.Builder
	fmt.Fprintf(&b, "# Index of %s\n\n", shown)
	var notes []string
	if len(entries) == 0 {
		b.WriteString("The folder is empty.\n")
	} else {
		b.WriteString("| Name | Size | Modified |\n| --- | --- | --- |\n")
	}
	for i, e := range entries {
		if i == maxListing {
			notes = append(notes, fmt.Sprintf("only the first %d of %d entries are listed", maxListing, len(entries)))
			break
		}
		name := strings.ReplaceAll(e.Name(), "|", "\\|")
		size, mod := "", ""
		if info, err := e.Info(); err == nil {
			mod = info.ModTime().UTC().Format(time.DateTime)
			if !e.IsDir() {
				size = humanSize(info.Size())
			}
		}
		switch t := e.Type(); {
		case e.IsDir():
			name += "/"
		case t&os.ModeSymlink != 0:
			name += linkNote(filepath.Join(host, e.Name()))
		case t&os.ModeNamedPipe != 0:
			name += " (named pipe)"
		case t&os.ModeSocket != 0:
			name += " (socket)"
		case t&os.ModeDevice != 0:
			name += " (device)"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", name, size, mod)
	}
	md := b.String()
	for _, n := range notes {
		md = "> Note: " + n + ".\n\n" + md
	}
	return &convert.Document{Title: "Index of " + shown, Format: "directory", Markdown: md, Notes: notes}, nil
}

func humanSize(n int64) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KB", float64(n)/1024)
	case n < 1<<30:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
}
