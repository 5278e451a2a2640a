package convert_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/m1-project/m1/surfers/file/convert"
	"github.com/m1-project/m1/surfers/file/internal/fixtures"
)

// fixtureDir holds the generated fixtures; tests only read it.
var fixtureDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "m1-fixtures-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if _, err := fixtures.Write(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fixtureDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func convertFixture(t *testing.T, name string) *convert.Document {
	t.Helper()
	doc, err := convert.Convert(context.Background(), filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatalf("Convert(%s): %v", name, err)
	}
	return doc
}

// TestFormats checks each format's markers in their structure: heading
// levels, table rows, link syntax, notes.
func TestFormats(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file   string
		format string
		title  string
		want   []string
		absent []string
	}{
		{file: "memo.docx", format: "docx", title: "Quarterly Memo", want: []string{
			"# DOCX-HEADING-ZEBRA\n", "## DOCX-SUBHEADING\n", "**Q3**",
			"- DOCX-BULLET-ONE\n", "1. DOCX-NUMBER-ONE\n",
			"| Region | Revenue |\n| --- | --- |\n| North | DOCX-CELL-4711 |",
			"[DOCX marker link](https://example.com/docx-link)",
			"[^1]: DOCX-FOOTNOTE-TEXT", "Comment by Reviewer: DOCX-COMMENT-TEXT",
			"![DOCX-IMAGE-ALT](image1.png)",
		}, absent: []string{"base64", "iVBOR"}},
		{file: "misnamed.txt", format: "docx", want: []string{"# DOCX-HEADING-ZEBRA\n"}},
		{file: "report.xlsx", format: "xlsx", want: []string{
			"## Revenue\n", "| Quarter | Revenue | Comment |", "| Q3 | 4711 | XLSX-PEAK-QUARTER |",
			"| Total | 10511 |", "## Notes\n", "| XLSX-NOTES-SHEET-MARKER |",
		}},
		{file: "legacy.xls", format: "xls", want: []string{
			"## Prices\n", "| Item | Price |", "| XLS-CELL-MARKER | 19.5 |", "| Widget | 42 |",
			"| Übersicht ✓ | XLS-FORMULA-RESULT |", "## Second\n",
		}},
		{file: "slides.pptx", format: "pptx", want: []string{
			"## Slide 1: PPTX-TITLE-ALPHA\n", "PPTX-BODY-TEXT", "  - PPTX-SUB-BULLET",
			"## Slide 2: Results\n", "| Score | PPTX-CELL-42 |", "### Chart: PPTX-CHART-TITLE",
			"| Category | Sales |", "| Q2 | 987 |", "![PPTX-ALT-TEXT](image1.png)", "### Notes\n\nPPTX-NOTES-SECRET",
		}},
		{file: "paper.pdf", format: "pdf", title: "PDF Fixture Title", want: []string{
			"## Page 1\n", "PDF-HEADING-ONE\n", "The quick brown fox jumps over the lazy dog.",
			"North PDF-CELL-777", "## Page 2\n\nPDF-PAGE-TWO-MARKER",
			"keep the\nwords of every line intact",
		}},
		{file: "page.html", format: "html", title: "HTML Fixture Title", want: []string{
			"# HTML-MAIN-HEADING\n", "## Details", "- HTML-BULLET-TWO",
			"[HTML marker link](https://example.com/html-link)", "| HTML-CELL-CITY", "HTML-NOTE-SMALLPRINT",
		}, absent: []string{"NAV-SHOULD-VANISH", "SCRIPT-SHOULD-VANISH", "STYLE-SHOULD-VANISH", "ASIDE-SHOULD-VANISH", "FOOTER-SHOULD-VANISH", "HEADER-SHOULD-VANISH"}},
		{file: "book.epub", format: "epub", title: "EPUB Fixture Book", want: []string{
			"# EPUB Fixture Book", "# EPUB-CHAPTER-ONE", "# EPUB-CHAPTER-TWO", "[EPUB link](https://example.com/epub)",
		}},
		{file: "bundle.zip", format: "zip", want: []string{
			"| Name | Size | Modified |", "| inner/readme.txt |", "## inner/readme.txt\n\nZIP-MEMBER-TEXT",
			"| ZIP-CSV-KEY | 99 |", "## memo.docx\n\n# DOCX-HEADING-ZEBRA",
		}},
		{file: "table.csv", format: "csv", want: []string{"| Name | Amount | Note |\n| --- | --- | --- |\n| CSV-ROW-ALPHA | 10 | quoted, with comma |"}},
		{file: "table.tsv", format: "tsv", want: []string{"| TSV-KEY | TSV-VALUE |"}},
		{file: "sjis.csv", format: "csv", want: []string{"| 商品 | 価格 | 備考 |", "| りんご | 120 | 青森県産の新鮮なりんごです |"}},
		{file: "latin1.csv", format: "csv", want: []string{"| Stadt | Straße | Größe |", "| Zürich | Bahnhofstraße | groß |"}},
		{file: "utf16.txt", format: "text", want: []string{"UTF16-MARKER: naïve café"}},
		{file: "plain.txt", format: "text", want: []string{"PLAIN-TEXT-MARKER\nsecond line"}},
		{file: "notes.md", format: "markdown", title: "MD-HEADING-MARKER", want: []string{"# MD-HEADING-MARKER\n", "[MD link](https://example.com/md)", "| MD-CELL | 1 |"}},
		{file: "data.json", format: "json", want: []string{"```json\n{\n  \"name\": \"JSON-MARKER\","}},
		{file: "data.xml", format: "xml", want: []string{`<item sku="XML-SKU-123">Widget</item>`}},
		{file: "analysis.ipynb", format: "ipynb", title: "NB-HEADING", want: []string{
			"# NB-HEADING\n", "```python\nprint('NB-CODE-MARKER')\n```", "Output:\n```\nNB-OUTPUT-MARKER\n```", "```\n42\n```",
		}},
		{file: "feed.rss", format: "feed", title: "RSS Fixture Channel", want: []string{
			"## [RSS-ITEM-ONE](https://example.com/rss/1)", "RSS-DESCRIPTION with **bold**", "## [RSS-ITEM-TWO](https://example.com/rss/2)",
		}},
		{file: "atom.xml", format: "feed", want: []string{"## [ATOM-ENTRY-ONE](https://example.com/atom/1)", "ATOM-SUMMARY"}},
		{file: "photo.jpg", format: "image", want: []string{"JPEG, 32 × 24 pixels", "| Make | M1Camera |", "| ImageDescription | EXIF-DESCRIPTION-MARKER |"}},
		{file: "chart.png", format: "image", want: []string{"PNG, 64 × 48 pixels"}},
		{file: "tone.wav", format: "audio", want: []string{"m1 cannot listen to or watch it", "| Duration | 2s |"}},
		{file: "song.mp3", format: "audio", want: []string{"| Title | MP3-TITLE-MARKER |", "| Artist | M1 Fixtures |"}},
		{file: "empty.txt", format: "empty", want: []string{"is empty (0 bytes)"}},
		{file: "garbage.bin", format: "binary", want: []string{"Unsupported format: garbage.bin is binary data"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			doc := convertFixture(t, tt.file)
			if doc.Format != tt.format {
				t.Errorf("format = %q, want %q", doc.Format, tt.format)
			}
			if tt.title != "" && doc.Title != tt.title {
				t.Errorf("title = %q, want %q", doc.Title, tt.title)
			}
			for _, w := range tt.want {
				if !strings.Contains(doc.Markdown, w) {
					t.Errorf("markdown lacks %q; got:\n%s", w, doc.Markdown)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(doc.Markdown, a) {
					t.Errorf("markdown holds %q, which should be gone", a)
				}
			}
		})
	}
}

func TestImageAttachedForVision(t *testing.T) {
	t.Parallel()
	doc := convertFixture(t, "chart.png")
	if len(doc.Images) != 1 || doc.Images[0].MIME != "image/png" || len(doc.Images[0].Data) == 0 {
		t.Fatalf("images = %+v, want the PNG attached", doc.Images)
	}
	if doc := convertFixture(t, "song.mp3"); len(doc.Images) != 0 {
		t.Errorf("audio should attach nothing")
	}
}

func TestCharsetsReported(t *testing.T) {
	t.Parallel()
	for file, want := range map[string]string{"sjis.csv": "Shift_JIS", "latin1.csv": "ISO-8859-1", "utf16.txt": "UTF-16LE", "table.csv": "UTF-8"} {
		doc := convertFixture(t, file)
		got := ""
		for _, f := range doc.Metadata {
			if f.Key == "Charset" {
				got = f.Value
			}
		}
		if got != want {
			t.Errorf("%s: charset %q, want %q", file, got, want)
		}
	}
}

// TestCorrupt truncates and damages every fixture: conversion must return
// (an explanatory page or a partial result), never panic or hang.
func TestCorrupt(t *testing.T) {
	t.Parallel()
	files, err := fixtures.Files()
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			variants := map[string][]byte{
				"half":    data[:len(data)/2],
				"head":    data[:min(len(data), 40)],
				"flipped": flip(data),
			}
			for v, b := range variants {
				doc, err := convert.ConvertBytes(context.Background(), name, b)
				var ferr *convert.FormatError
				switch {
				case err == nil && doc == nil:
					t.Errorf("%s: nil document and nil error", v)
				case err != nil && !errors.As(err, &ferr):
					t.Errorf("%s: unexpected error type %T: %v", v, err, err)
				case err != nil && (doc == nil || !strings.Contains(doc.Markdown, "could not be read")):
					t.Errorf("%s: format error without an explanatory page: %v", v, err)
				}
			}
		})
	}
}

// flip damages data in the middle, keeping the magic number intact.
func flip(data []byte) []byte {
	b := append([]byte(nil), data...)
	for i := len(b) / 3; i < len(b) && i < len(b)/3+64; i++ {
		b[i] ^= 0x5a
	}
	return b
}

func TestCorruptSaysWhat(t *testing.T) {
	t.Parallel()
	doc, err := convert.ConvertBytes(context.Background(), "broken.pdf", []byte("%PDF-1.4\n1 0 obj garbage"))
	var ferr *convert.FormatError
	if !errors.As(err, &ferr) || ferr.Format != "pdf" {
		t.Fatalf("err = %v, want a pdf FormatError", err)
	}
	if !strings.Contains(doc.Markdown, "looks like a PDF document but could not be read") {
		t.Errorf("page = %q", doc.Markdown)
	}
}

func TestWrongExtensions(t *testing.T) {
	t.Parallel()
	files, err := fixtures.Files()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ src, as, format string }{
		{"paper.pdf", "paper.docx", "pdf"},
		{"report.xlsx", "report.csv", "xlsx"},
		{"slides.pptx", "slides.zip", "pptx"},
		{"table.csv", "table.pdf", "csv"},
		{"page.html", "page.txt", "html"},
		{"photo.jpg", "photo.txt", "image"},
		{"legacy.xls", "legacy.xlsx", "xls"},
		{"data.json", "data", "json"},
	}
	for _, tt := range tests {
		doc, err := convert.ConvertBytes(context.Background(), tt.as, files[tt.src])
		if err != nil {
			t.Errorf("%s as %s: %v", tt.src, tt.as, err)
			continue
		}
		if doc.Format != tt.format {
			t.Errorf("%s as %s: format %q, want %q", tt.src, tt.as, doc.Format, tt.format)
		}
	}
}

func TestUnsupportedNamesType(t *testing.T) {
	t.Parallel()
	tests := map[string][]byte{
		"a gzip-compressed file": {0x1f, 0x8b, 8, 0, 0, 0, 0, 0},
		"an ELF executable":      []byte("\x7fELF\x02\x01\x01\x00\x00\x00"),
		"an SQLite database":     []byte("SQLite format 3\x00rest"),
		"a legacy Word document": fixtures.CompoundFile("WordDocument", []byte("x")),
	}
	for what, data := range tests {
		doc, err := convert.ConvertBytes(context.Background(), "thing.dat", data)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if !strings.HasPrefix(doc.Markdown, "Unsupported format") || !strings.Contains(doc.Markdown, what) {
			t.Errorf("%s: page = %q", what, doc.Markdown)
		}
	}
}

// TestHugeFile converts a sparse 500 MB file: it must be capped, fast and
// say what was cut.
func TestHugeFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tt := range []struct {
		name string
		head string
		want string
	}{
		{"huge.txt", strings.Repeat("HUGE-TEXT line of words\n", 1000), "only the first 8.0 MB of this 500.0 MB file were read"},
		{"huge.bin", "", "Unsupported format"},
		{"huge.pdf", "%PDF-1.4\n", "more than the 50.0 MB this reader loads"},
	} {
		p := filepath.Join(dir, tt.name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString(tt.head); err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(500 << 20); err != nil {
			t.Fatal(err)
		}
		f.Close()
		doc, _ := convert.Convert(context.Background(), p)
		if doc == nil || !strings.Contains(doc.Markdown, tt.want) {
			t.Errorf("%s: want %q in %.300q", tt.name, tt.want, doc.Markdown)
		}
		if len(doc.Markdown) > convert.DefaultLimits.MaxOutputBytes+4096 {
			t.Errorf("%s: %d bytes of markdown, past the output cap", tt.name, len(doc.Markdown))
		}
	}
}

func TestOutputCap(t *testing.T) {
	t.Parallel()
	l := convert.DefaultLimits
	l.MaxOutputBytes = 1000
	doc, err := convert.ConvertBytes(context.Background(), "long.txt", []byte(strings.Repeat("word ", 2000)+"\n"), convert.WithLimits(l))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.Markdown, "> Note: the converted text was cut at") || len(doc.Markdown) > 1200 {
		t.Errorf("markdown (%d bytes) starts %.120q", len(doc.Markdown), doc.Markdown)
	}
}

func TestZipBomb(t *testing.T) {
	t.Parallel()
	bomb, err := fixtures.ZipBomb(64 << 20)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := convert.ConvertBytes(context.Background(), "bomb.zip", bomb)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(doc.Markdown, "looks like a zip bomb") {
		t.Errorf("markdown = %.500q", doc.Markdown)
	}
	// Members within the ratio still count against the total budget.
	l := convert.DefaultLimits
	l.MaxZipRatio = 1e9
	l.MaxZipTotalBytes = 1 << 20
	doc, err = convert.ConvertBytes(context.Background(), "bomb.zip", bomb, convert.WithLimits(l))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(doc.Markdown, "read limit of 1.0 MB is used up") {
		t.Errorf("markdown = %.500q", doc.Markdown)
	}
}

func TestNestedZipDepth(t *testing.T) {
	t.Parallel()
	files, err := fixtures.Files()
	if err != nil {
		t.Fatal(err)
	}
	l := convert.DefaultLimits
	l.MaxDepth = 0
	doc, err := convert.ConvertBytes(context.Background(), "bundle.zip", files["bundle.zip"], convert.WithLimits(l))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(doc.Markdown, "ZIP-MEMBER-TEXT") || !strings.Contains(doc.Markdown, "listed, not opened") {
		t.Errorf("markdown = %q", doc.Markdown)
	}
}

func TestCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := convert.Convert(ctx, filepath.Join(fixtureDir, "memo.docx")); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestMissingFile(t *testing.T) {
	t.Parallel()
	_, err := convert.Convert(context.Background(), filepath.Join(t.TempDir(), "nope.txt"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want not-exist", err)
	}
}

func FuzzConvert(f *testing.F) {
	files, err := fixtures.Files()
	if err != nil {
		f.Fatal(err)
	}
	for name, data := range files {
		if len(data) < 64<<10 {
			f.Add(name, data)
		}
	}
	l := convert.DefaultLimits
	l.MaxZipTotalBytes = 4 << 20
	l.MaxInputBytes = 4 << 20
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		start := time.Now()
		doc, err := convert.ConvertBytes(context.Background(), name, data, convert.WithLimits(l))
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("conversion of %d bytes as %s took %v", len(data), name, d)
		}
		var ferr *convert.FormatError
		if err != nil && !errors.As(err, &ferr) {
			t.Fatalf("unexpected error type %T: %v", err, err)
		}
		if doc == nil {
			t.Fatal("nil document")
		}
	})
}

// TestCommittedFixturesUpToDate keeps testdata/files in step with the
// generator: run `go generate ./surfers/file` after changing it.
func TestCommittedFixturesUpToDate(t *testing.T) {
	t.Parallel()
	files, err := fixtures.Files()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "files", name))
		if err != nil {
			t.Errorf("%s: %v (run go generate ./surfers/file)", name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("testdata/files/%s is stale: run go generate ./surfers/file", name)
		}
	}
}
