package convert

import (
	"archive/zip"
	"bytes"
	"net/http"
	"strings"

	"github.com/richardlehane/mscfb"
)

// kind is a detected format and, for formats m1 cannot read, what the file
// appears to be.
type kind struct {
	format string
	what   string
}

// describe names the kind for a human: "a PDF document".
func (k kind) describe() string {
	if k.what != "" {
		return k.what
	}
	if d, ok := formatNames[k.format]; ok {
		return d
	}
	return "a " + k.format + " file"
}

var formatNames = map[string]string{
	"pdf":      "a PDF document",
	"docx":     "a Word document (DOCX)",
	"xlsx":     "an Excel workbook (XLSX)",
	"xls":      "a legacy Excel workbook (XLS)",
	"pptx":     "a PowerPoint presentation (PPTX)",
	"epub":     "an EPUB book",
	"zip":      "a ZIP archive",
	"html":     "an HTML page",
	"csv":      "a CSV table",
	"tsv":      "a TSV table",
	"json":     "a JSON document",
	"ipynb":    "a Jupyter notebook",
	"feed":     "an RSS or Atom feed",
	"xml":      "an XML document",
	"markdown": "a Markdown document",
	"text":     "a text file",
	"image":    "an image",
	"audio":    "an audio file",
	"video":    "a video file",
	"empty":    "an empty file",
}

// magic lists signatures of formats read as binary containers or media.
var magic = []struct {
	prefix string
	offset int
	format string
	what   string
}{
	{"%PDF-", 0, "pdf", ""},
	{"\x89PNG\r\n\x1a\n", 0, "image", "a PNG image"},
	{"\xff\xd8\xff", 0, "image", "a JPEG image"},
	{"GIF87a", 0, "image", "a GIF image"},
	{"GIF89a", 0, "image", "a GIF image"},
	{"WEBP", 8, "image", "a WebP image"},
	{"BM", 0, "image", "a BMP image"},
	{"II*\x00", 0, "image", "a TIFF image"},
	{"MM\x00*", 0, "image", "a TIFF image"},
	{"ID3", 0, "audio", "an MP3 audio file"},
	{"fLaC", 0, "audio", "a FLAC audio file"},
	{"OggS", 0, "audio", "an Ogg audio file"},
	{"WAVE", 8, "audio", "a WAV audio file"},
	{"AVI ", 8, "video", "an AVI video"},
	{"\x1a\x45\xdf\xa3", 0, "video", "a Matroska/WebM video"},
	{"MThd", 0, "audio", "a MIDI file"},
	{"ftyp", 4, "video", "an MP4/QuickTime file"},
	{"\x1f\x8b", 0, "unsupported", "a gzip-compressed file"},
	{"BZh", 0, "unsupported", "a bzip2-compressed file"},
	{"\xfd7zXZ\x00", 0, "unsupported", "an xz-compressed file"},
	{"\x28\xb5\x2f\xfd", 0, "unsupported", "a zstd-compressed file"},
	{"7z\xbc\xaf\x27\x1c", 0, "unsupported", "a 7-Zip archive"},
	{"Rar!\x1a\x07", 0, "unsupported", "a RAR archive"},
	{"\x7fELF", 0, "unsupported", "an ELF executable"},
	{"MZ", 0, "unsupported", "a Windows executable"},
	{"\xca\xfe\xba\xbe", 0, "unsupported", "a Java class file or Mach-O binary"},
	{"\xcf\xfa\xed\xfe", 0, "unsupported", "a Mach-O binary"},
	{"\x00asm", 0, "unsupported", "a WebAssembly module"},
	{"SQLite format 3\x00", 0, "unsupported", "an SQLite database"},
	{"{\\rtf", 0, "unsupported", "an RTF document (save it as DOCX or text to read it)"},
	{"wOFF", 0, "unsupported", "a WOFF font"},
	{"wOF2", 0, "unsupported", "a WOFF2 font"},
	{"\x00\x01\x00\x00\x00", 0, "unsupported", "a TrueType font"},
	{"OTTO", 0, "unsupported", "an OpenType font"},
}

// detect decides the format from the content, using the name's extension
// only to choose among text formats.
func detect(s *source) kind {
	h := s.head
	if len(h) == 0 {
		return kind{format: "empty"}
	}
	if bytes.HasPrefix(h, []byte("\xff\xfe")) || bytes.HasPrefix(h, []byte("\xfe\xff")) || bytes.HasPrefix(h, []byte("\xef\xbb\xbf")) {
		// A byte-order mark means text, whatever bytes follow it.
		text, _ := decodeText(h)
		return textKind(s, text)
	}
	if bytes.HasPrefix(h, []byte("PK\x03\x04")) || bytes.HasPrefix(h, []byte("PK\x05\x06")) {
		return detectZip(s)
	}
	if bytes.HasPrefix(h, []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")) {
		return detectOLE(s)
	}
	for _, m := range magic {
		if len(h) >= m.offset+len(m.prefix) && string(h[m.offset:m.offset+len(m.prefix)]) == m.prefix {
			if m.format == "video" && m.prefix == "ftyp" {
				return detectFtyp(h)
			}
			if m.prefix == "MZ" && len(h) < 64 {
				continue
			}
			return kind{format: m.format, what: m.what}
		}
	}
	if len(h) > 2 && h[0] == 0xff && h[1]&0xe0 == 0xe0 && h[1]&0x06 != 0 {
		return kind{format: "audio", what: "an MPEG audio file"}
	}
	if looksBinary(h) {
		return kind{format: "binary", what: "binary data (" + http.DetectContentType(h) + ")"}
	}
	text, _ := decodeText(h)
	return textKind(s, text)
}

// detectFtyp tells MP4 audio, video and HEIF images apart by their brand.
func detectFtyp(h []byte) kind {
	brand := ""
	if len(h) >= 12 {
		brand = string(h[8:12])
	}
	switch brand {
	case "M4A ", "M4B ", "M4P ":
		return kind{format: "audio", what: "an MPEG-4 audio file"}
	case "heic", "heix", "mif1", "msf1", "avif":
		return kind{format: "image", what: "a HEIF/AVIF image"}
	case "qt  ":
		return kind{format: "video", what: "a QuickTime video"}
	}
	return kind{format: "video", what: "an MPEG-4 video"}
}

// detectZip looks inside a ZIP container for the layout of an office
// document or an EPUB.
func detectZip(s *source) kind {
	zr, err := zip.NewReader(s.r, s.size)
	if err != nil {
		switch s.ext() {
		case "docx", "xlsx", "pptx", "epub":
			return kind{format: s.ext()}
		}
		return kind{format: "zip"}
	}
	names := make(map[string]bool, len(zr.File))
	for _, f := range zr.File {
		names[f.Name] = true
	}
	switch {
	case names["word/document.xml"]:
		return kind{format: "docx"}
	case names["xl/workbook.xml"]:
		return kind{format: "xlsx"}
	case names["ppt/presentation.xml"]:
		return kind{format: "pptx"}
	case names["META-INF/container.xml"] && names["mimetype"]:
		return kind{format: "epub"}
	case names["content.xml"] && names["mimetype"]:
		return kind{format: "unsupported", what: "an OpenDocument file (save it as DOCX, XLSX or PPTX to read it)"}
	}
	return kind{format: "zip"}
}

// detectOLE tells the formats stored in a Compound File apart by their
// stream names.
func detectOLE(s *source) kind {
	r, err := mscfb.New(s.r)
	if err != nil {
		return kind{format: "xls"}
	}
	for i := 0; i < 10000; i++ {
		f, err := r.Next()
		if err != nil {
			break
		}
		switch {
		case f.Name == "Workbook" || f.Name == "Book":
			return kind{format: "xls"}
		case f.Name == "WordDocument":
			return kind{format: "unsupported", what: "a legacy Word document (.doc; save it as DOCX to read it)"}
		case f.Name == "PowerPoint Document":
			return kind{format: "unsupported", what: "a legacy PowerPoint presentation (.ppt; save it as PPTX to read it)"}
		case strings.HasPrefix(f.Name, "__substg1.0_"):
			return kind{format: "unsupported", what: "an Outlook message (.msg)"}
		}
	}
	return kind{format: "unsupported", what: "an OLE compound file of unknown kind"}
}

// looksBinary reports whether head is binary data rather than text in some
// charset: NUL bytes (outside UTF-16) or many control characters.
func looksBinary(h []byte) bool {
	if _, ok := utf16Order(h); ok {
		return false
	}
	ctl := 0
	for _, c := range h {
		switch {
		case c == 0:
			return true
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v' && c != 0x1b:
			ctl++
		}
	}
	return ctl*20 > len(h)
}

// textKind picks among the text formats: strong content signs first (a
// notebook, an HTML page, a feed), then the extension, then weaker signs.
func textKind(s *source, text string) kind {
	t := strings.TrimLeft(text, " \t\r\n\ufeff")
	low := strings.ToLower(t[:min(len(t), 1024)])
	ext := s.ext()
	switch {
	case strings.HasPrefix(t, "{") && strings.Contains(t, `"nbformat"`) && strings.Contains(t, `"cells"`):
		return kind{format: "ipynb"}
	case strings.HasPrefix(low, "<!doctype html") || strings.HasPrefix(low, "<html") ||
		(strings.HasPrefix(low, "<") && (strings.Contains(low, "<html") || strings.Contains(low, "<body") || strings.Contains(low, "<head>"))):
		return kind{format: "html"}
	case strings.HasPrefix(low, "<") && (strings.Contains(low, "<rss") || strings.Contains(low, "<rdf:rdf") ||
		strings.Contains(low, `<feed xmlns="http://www.w3.org/2005/atom"`) || (strings.Contains(low, "<feed") && strings.Contains(low, "atom"))):
		return kind{format: "feed"}
	}
	switch ext {
	case "csv":
		return kind{format: "csv"}
	case "tsv", "tab":
		return kind{format: "tsv"}
	case "json", "geojson", "har", "webmanifest":
		return kind{format: "json"}
	case "ipynb":
		return kind{format: "ipynb"}
	case "md", "markdown", "mdown", "mkd":
		return kind{format: "markdown"}
	case "html", "htm", "xhtml":
		return kind{format: "html"}
	case "rss", "atom":
		return kind{format: "feed"}
	case "xml", "svg", "xsd", "xsl", "xslt", "plist", "kml", "gpx", "opml":
		return kind{format: "xml"}
	}
	switch {
	case (strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[")) && !knownTextExt[ext]:
		return kind{format: "json"}
	case strings.HasPrefix(low, "<?xml") && !knownTextExt[ext]:
		return kind{format: "xml"}
	}
	if binaryExt[ext] {
		// A table misnamed as a binary format is still worth a table.
		if d, ok := sniffDelimiter(t); ok {
			if d == '\t' {
				return kind{format: "tsv"}
			}
			return kind{format: "csv"}
		}
	}
	return kind{format: "text"}
}

// knownTextExt holds extensions of plain text whose content is shown as is
// even when it looks like JSON or XML.
var knownTextExt = map[string]bool{
	"txt": true, "log": true, "text": true, "go": true, "py": true, "js": true, "ts": true,
	"c": true, "h": true, "cpp": true, "java": true, "rs": true, "rb": true, "sh": true,
	"yaml": true, "yml": true, "toml": true, "ini": true, "cfg": true, "conf": true,
	"jsonl": true, "ndjson": true, "sql": true, "css": true, "tex": true, "rst": true,
}

// binaryExt holds extensions of binary formats: text content under such a
// name was misnamed, so the content decides.
var binaryExt = map[string]bool{
	"pdf": true, "docx": true, "xlsx": true, "xls": true, "pptx": true, "zip": true,
	"epub": true, "png": true, "jpg": true, "jpeg": true, "gif": true, "doc": true, "bin": true,
}
