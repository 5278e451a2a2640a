package file

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"github.com/m1-project/m1/surfers/file/convert"
)

// open converts path (or lists it, for a folder) and shows its first page.
// It returns a note for the model, such as a conversion problem. The file
// is opened once, through the access policy's os.Root, and everything
// after reads that open file, never the path again.
func (s *Surfer) open(ctx context.Context, path string) (string, error) {
	f, abs, err := s.access.open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	shown := s.access.display(abs)
	st, err := f.Stat()
	if err != nil {
		return "", fixf("cannot open %s: %v", shown, err)
	}
	var doc *convert.Document
	note := ""
	if st.IsDir() {
		doc, err = listDir(f, abs, shown, s.access.linkNote)
		if err != nil {
			return "", fixf("cannot list %s: %v", shown, err)
		}
	} else {
		doc, err = s.cache.convert(ctx, f, abs, st)
		var (
			ferr *convert.FormatError
			nerr *convert.NotRegularError
		)
		switch {
		case ctx.Err() != nil:
			return "", ctx.Err()
		case errors.As(err, &ferr):
			note = fmt.Sprintf("%s could not be fully converted: %v", shown, ferr.Err)
		case errors.As(err, &nerr):
			return "", notRegular(shown, nerr)
		case errors.Is(err, fs.ErrPermission):
			return "", fixf("cannot open %s: permission denied (its mode does not let m1 read it)", shown)
		case err != nil:
			return "", fixf("cannot open %s: %v", shown, err)
		case !convert.Supported(doc.Format):
			// The page only says the content cannot be shown; a later
			// open in the same step would hide that page, so say it here.
			note = strings.TrimSpace(doc.Markdown)
		}
	}
	s.viewer = newViewer(shown, doc, s.opts.viewportSize)
	return note, nil
}

// Read converts the open file f as the FileSurfer sees it: a folder is
// listed (host is its path on the host, shown the name to give it, and
// linkNote says where a link among its entries leads), a file converted
// through f only. A file that cannot be converted still gets its
// explanatory page, returned with the *convert.FormatError.
func Read(ctx context.Context, f *os.File, host, shown string, linkNote func(path string) string, opts ...convert.Option) (*convert.Document, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return convert.ConvertFile(ctx, f, opts...)
	}
	doc, err := listDir(f, host, shown, linkNote)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", shown, err)
	}
	return doc, nil
}

// Render writes what the FileSurfer sees of path, the whole converted
// markdown, to w: `m1 read FILE`. A folder is listed. Unlike the agent it
// applies no access policy: the user named the file. A file that cannot be
// converted still gets its explanatory page written, and the
// *convert.FormatError is returned so the command can exit non-zero.
func Render(ctx context.Context, path string, w io.Writer, opts ...convert.Option) error {
	// Opening a named pipe blocks until a writer comes, and opening a
	// device may act on it: look first, and open without blocking in case
	// the path changes in between.
	if st, err := os.Stat(path); err == nil && !st.IsDir() && !st.Mode().IsRegular() {
		return &convert.NotRegularError{Path: path, Mode: st.Mode()}
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	doc, convErr := Read(ctx, f, path, path, func(p string) string {
		if _, err := os.Stat(p); err != nil {
			return " (broken link)"
		}
		return " (link)"
	}, opts...)
	if doc == nil {
		return convErr
	}
	if _, err := io.WriteString(w, doc.Markdown); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return convErr
}
