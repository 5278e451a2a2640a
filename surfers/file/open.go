package file

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

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
		var ferr *convert.FormatError
		switch {
		case ctx.Err() != nil:
			return "", ctx.Err()
		case errors.As(err, &ferr):
			note = fmt.Sprintf("%s could not be fully converted: %v", shown, ferr.Err)
		case err != nil:
			return "", fixf("cannot open %s: %v", shown, err)
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
