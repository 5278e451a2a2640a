package convert

import (
	"context"
	"fmt"
)

// converterFor returns the converter of a detected format, or nil for
// formats that get the "unsupported format" page. (A function rather than a
// map: the ZIP converter recurses through convertSource.)
func converterFor(format string) convFunc {
	switch format {
	case "empty":
		return convertEmpty
	case "text", "markdown", "xml":
		return convertText
	case "html":
		return convertHTML
	case "csv", "tsv":
		return convertCSV
	case "json":
		return convertJSON
	case "ipynb":
		return convertNotebook
	case "feed":
		return convertFeed
	case "pdf":
		return convertPDF
	case "docx":
		return convertDOCX
	case "xlsx":
		return convertXLSX
	case "xls":
		return convertXLS
	case "pptx":
		return convertPPTX
	case "epub":
		return convertEPUB
	case "zip":
		return convertZip
	case "image":
		return convertImage
	case "audio", "video":
		return convertMedia
	}
	return nil
}

// Supported reports whether Convert reads the content of format, a
// Document's Format; other formats get a page that only says what the file
// seems to be.
func Supported(format string) bool { return converterFor(format) != nil }

func convertEmpty(_ context.Context, s *source) (*Document, error) {
	return &Document{Markdown: fmt.Sprintf("The file %s is empty (0 bytes).\n", s.name)}, nil
}

// unsupported returns a converter that explains what the file seems to be
// instead of dumping its bytes.
func unsupported(k kind) convFunc {
	return func(_ context.Context, s *source) (*Document, error) {
		format := k.format
		if format == "" {
			format = "unsupported"
		}
		return &Document{
			Format: format,
			Markdown: fmt.Sprintf("Unsupported format: %s is %s (%s). Its content is not shown; "+
				"convert it to a supported format (text, PDF, DOCX, XLSX, PPTX, HTML, CSV, JSON) to read it.\n",
				s.name, k.describe(), humanBytes(s.size)),
		}, nil
	}
}
