package file

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/m1-project/m1/surfers/file/convert"
)

// open converts path (or lists it, for a folder) and shows its first page.
// It returns a note for the model, such as a conversion problem.
func (s *Surfer) open(ctx context.Context, path string) (string, error) {
	abs, err := s.access.resolve(path)
	if err != nil {
		return "", err
	}
	shown := s.access.display(abs)
	st, err := os.Stat(abs)
	if err != nil {
		return "", fixf("cannot open %s: %v", shown, err)
	}
	var doc *convert.Document
	note := ""
	if st.IsDir() {
		doc, err = listDir(abs, shown)
		if err != nil {
			return "", fixf("cannot list %s: %v", shown, err)
		}
	} else {
		doc, err = s.cache.convert(ctx, abs, st)
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
			return "", fixf("cannot open %s: it is %s, not a regular file; only regular files and folders can be opened", shown, nerr.Kind())
		case errors.Is(err, fs.ErrNotExist):
			// Gone since the listing (or the stat above).
			return "", fixf("no such file or folder: %s (it was there a moment ago; list its folder again)", shown)
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

// Render writes what the FileSurfer sees of path, the whole converted
// markdown, to w: `m1 read FILE`. A folder is listed. Unlike the agent it
// applies no access policy: the user named the file. A file that cannot be
// converted still gets its explanatory page written, and the
// *convert.FormatError is returned so the command can exit non-zero.
func Render(ctx context.Context, path string, w io.Writer, opts ...convert.Option) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	var doc *convert.Document
	var convErr error
	if st.IsDir() {
		doc, err = listDir(path, path)
		if err != nil {
			return fmt.Errorf("list %s: %w", path, err)
		}
	} else {
		doc, convErr = convert.Convert(ctx, path, opts...)
		if doc == nil {
			return convErr
		}
	}
	if _, err := io.WriteString(w, doc.Markdown); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return convErr
}
