// Package convert turns local files into the markdown the FileSurfer reads:
// office documents (DOCX, XLSX, XLS, PPTX), PDF, HTML, text in any common
// charset, CSV/TSV, JSON, Jupyter notebooks, EPUB, ZIP archives, RSS/Atom
// feeds, XML, images and audio/video metadata. Formats are detected by
// content first and by extension second; every converter is bounded in what
// it reads and writes, honours its context and never panics on bad input.
package convert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Document is a converted file.
type Document struct {
	// Title is the document's own title when it has one, else the file name.
	Title string
	// Format names the detected format ("pdf", "docx", "csv", ...).
	Format string
	// Markdown is the full converted text, notes included.
	Markdown string
	// Pages counts pages, slides, sheets or chapters where the format has
	// them; zero otherwise.
	Pages int
	// Metadata holds facts about the file in the order found (author,
	// dimensions, charset, ...).
	Metadata []Field
	// Notes say what was cut or skipped; they also open Markdown.
	Notes []string
	// Images holds pictures a vision model may look at (an opened image).
	Images []Image
}

// Field is one metadata entry.
type Field struct {
	Key, Value string
}

// Image is a picture attached to a document for vision models.
type Image struct {
	Name string
	MIME string
	Data []byte
}

// Limits bound the work of one conversion.
type Limits struct {
	// MaxInputBytes is the largest file read whole (PDF, office, images).
	MaxInputBytes int64
	// MaxTextBytes is how much of a text-like file (text, CSV, HTML, JSON)
	// is read; the rest is cut with a note.
	MaxTextBytes int64
	// MaxOutputBytes caps the markdown produced.
	MaxOutputBytes int
	// MaxRows caps the rows of one table (sheet, CSV).
	MaxRows int
	// MaxZipMembers caps the archive members listed and converted.
	MaxZipMembers int
	// MaxZipTotalBytes caps the uncompressed bytes read from one archive.
	MaxZipTotalBytes int64
	// MaxZipRatio is the largest compression ratio a member may claim
	// before it is treated as a zip bomb and skipped.
	MaxZipRatio float64
	// MaxDepth caps archives nested in archives.
	MaxDepth int
}

// DefaultLimits are the limits Convert uses unless told otherwise.
var DefaultLimits = Limits{
	MaxInputBytes:    50 << 20,
	MaxTextBytes:     8 << 20,
	MaxOutputBytes:   4 << 20,
	MaxRows:          5000,
	MaxZipMembers:    200,
	MaxZipTotalBytes: 100 << 20,
	MaxZipRatio:      200,
	MaxDepth:         2,
}

// Option changes how Convert works.
type Option func(*Limits)

// WithLimits replaces the limits of a conversion.
func WithLimits(l Limits) Option {
	return func(o *Limits) { *o = l }
}

// FormatError reports a file whose content could not be converted. Convert
// returns it together with a Document that explains the failure, so the
// agent and `m1 read` can still show something useful.
type FormatError struct {
	Path   string
	Format string
	Err    error
}

// Error says which file failed as which format, and why.
func (e *FormatError) Error() string {
	return fmt.Sprintf("convert %s as %s: %v", e.Path, e.Format, e.Err)
}

// Unwrap returns the underlying cause.
func (e *FormatError) Unwrap() error { return e.Err }

// NotRegularError reports a path that is neither a regular file nor a
// folder: a named pipe, a socket or a device. Convert refuses these, since
// reading one may wait for a writer for ever or never come to an end.
type NotRegularError struct {
	Path string
	Mode fs.FileMode
}

// Error names the path and what it is.
func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s is %s, not a regular file", e.Path, e.Kind())
}

// Kind says what the path is, e.g. "a named pipe (FIFO)".
func (e *NotRegularError) Kind() string {
	switch m := e.Mode; {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "a special file"
}

// headSize is how much of a file detection looks at.
const headSize = 8 << 10

// Convert reads the file at path and returns it as markdown. The error is
// non-nil when the file cannot be read (the Document is then nil), when ctx
// ends, or when the content cannot be converted: then it is a *FormatError
// and the Document explains what went wrong. It follows symlinks: callers
// that confine reads to some folders open the file themselves (through an
// os.Root) and call ConvertFile.
func Convert(ctx context.Context, path string, opts ...Option) (*Document, error) {
	// Opening a named pipe blocks until a writer comes, and no context
	// can end that wait; opening a device may act on it. Look first, and
	// open without blocking in case the path changes in between.
	if st, err := os.Stat(path); err == nil && !st.IsDir() && !st.Mode().IsRegular() {
		return nil, &NotRegularError{Path: path, Mode: st.Mode()}
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	return ConvertFile(ctx, f, opts...)
}

// ConvertFile converts the open file f, reading it only through f (never
// by its name again), so what is converted is exactly what was opened.
// Only regular files are read: a named pipe, socket or device yields a
// *NotRegularError (open such a path with O_NONBLOCK, or the open itself
// may block). Errors are as for Convert.
func ConvertFile(ctx context.Context, f *os.File, opts ...Option) (*Document, error) {
	l := DefaultLimits
	for _, o := range opts {
		o(&l)
	}
	path := f.Name()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("convert %s: is a directory", path)
	}
	if !st.Mode().IsRegular() {
		return nil, &NotRegularError{Path: path, Mode: st.Mode()}
	}
	src := &source{name: filepath.Base(path), path: path, r: f, size: st.Size(), lim: &l}
	return convertSource(ctx, src)
}

// ConvertBytes converts data as if it were a file called name; the name's
// extension is only a hint.
func ConvertBytes(ctx context.Context, name string, data []byte, opts ...Option) (*Document, error) {
	l := DefaultLimits
	for _, o := range opts {
		o(&l)
	}
	src := &source{name: filepath.Base(name), path: name, r: bytes.NewReader(data), size: int64(len(data)), lim: &l}
	return convertSource(ctx, src)
}

// source is the input of one converter.
type source struct {
	name  string // base name, for titles and extension hints
	path  string // as given, for messages
	r     io.ReaderAt
	size  int64
	lim   *Limits
	depth int // archive nesting
	head  []byte
}

// ext returns the lower-case extension of the source's name without dot.
func (s *source) ext() string {
	return strings.TrimPrefix(strings.ToLower(filepath.Ext(s.name)), ".")
}

// readAll reads up to limit bytes and reports whether the file was longer.
func (s *source) readAll(limit int64) ([]byte, bool, error) {
	n := s.size
	cut := false
	if n > limit {
		n, cut = limit, true
	}
	buf := make([]byte, n)
	m, err := s.r.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, false, fmt.Errorf("read %s: %w", s.name, err)
	}
	return buf[:m], cut, nil
}

// readWhole reads a file that only makes sense whole (a PDF, an image) and
// refuses one over the input limit.
func (s *source) readWhole() ([]byte, error) {
	if s.size > s.lim.MaxInputBytes {
		return nil, fmt.Errorf("the file is %s, more than the %s this reader loads; split or shrink it first", humanBytes(s.size), humanBytes(s.lim.MaxInputBytes))
	}
	b, _, err := s.readAll(s.lim.MaxInputBytes)
	return b, err
}

// convFunc turns a source of one format into a document.
type convFunc func(ctx context.Context, s *source) (*Document, error)

func convertSource(ctx context.Context, s *source) (*Document, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	head := make([]byte, min(s.size, headSize))
	n, err := s.r.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read %s: %w", s.path, err)
	}
	s.head = head[:n]
	kind := detect(s)
	conv := converterFor(kind.format)
	if conv == nil {
		conv = unsupported(kind)
	}
	doc, err := safely(ctx, conv, s)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		ferr := &FormatError{Path: s.path, Format: kind.format, Err: err}
		doc = &Document{
			Title:    s.name,
			Format:   kind.format,
			Markdown: fmt.Sprintf("# %s\n\nThis file looks like %s but could not be read: %v.\n", s.name, kind.describe(), err),
		}
		return doc, ferr
	}
	if doc.Format == "" {
		doc.Format = kind.format
	}
	if strings.TrimSpace(doc.Title) == "" {
		doc.Title = s.name
	}
	finish(doc, s.lim.MaxOutputBytes)
	return doc, nil
}

// safely runs conv and turns a panic into an error: converters parse
// untrusted bytes with libraries that may panic on malformed input, and a
// bad file must never bring the agent down.
func safely(ctx context.Context, conv convFunc, s *source) (doc *Document, err error) {
	defer func() {
		if r := recover(); r != nil {
			doc, err = nil, fmt.Errorf("the file is malformed (reader failed: %v)", r)
		}
	}()
	doc, err = conv(ctx, s)
	if err == nil && doc == nil {
		err = errors.New("the reader returned nothing")
	}
	return doc, err
}

// finish caps the markdown and puts the notes on top, where the reader
// sees them before anything else.
func finish(doc *Document, maxOut int) {
	md := doc.Markdown
	if maxOut > 0 && len(md) > maxOut {
		cut := maxOut
		for cut > 0 && !utf8Start(md[cut]) {
			cut--
		}
		if i := strings.LastIndexByte(md[:cut], '\n'); i > cut/2 {
			cut = i + 1
		}
		doc.Notes = append(doc.Notes, fmt.Sprintf("the converted text was cut at %s of %s", humanBytes(int64(cut)), humanBytes(int64(len(md)))))
		md = md[:cut]
	}
	if len(doc.Notes) > 0 {
		var b strings.Builder
		for _, n := range doc.Notes {
			b.WriteString("> Note: ")
			b.WriteString(n)
			b.WriteString(".\n")
		}
		b.WriteString("\n")
		md = b.String() + md
	}
	if !strings.HasSuffix(md, "\n") {
		md += "\n"
	}
	doc.Markdown = md
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// humanBytes formats n as "12.3 MB".
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "KMGTPE"[exp])
}
