package serve

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/m1-project/m1/surfers/file"
	"github.com/m1-project/m1/surfers/file/convert"
)

// readFileParams are read_file's arguments.
type readFileParams struct {
	Path string `json:"path" jsonschema:"the file or folder, relative to m1's work dir or an absolute path inside a folder m1 may read"`
}

const readFileDesc = "Read a local file as markdown, as m1's FileSurfer reads it (what `m1 read` prints): PDF, Word, Excel, PowerPoint, EPUB, HTML, CSV, notebooks, JSON, archives, images and media metadata, and text in any common charset. A folder is listed. Only m1's work dir and the folders it was allowed may be read."

var readFileTool = &sdk.Tool{Name: "read_file", Description: readFileDesc,
	Annotations: &sdk.ToolAnnotations{Title: "Read a file as markdown", ReadOnlyHint: true, OpenWorldHint: ptr(false)}}

func (h *handlers) readFile(ctx context.Context, _ *sdk.CallToolRequest, p readFileParams) (*sdk.CallToolResult, any, error) {
	root, rel, shown, err := h.resolve(p.Path)
	if err != nil {
		return nil, nil, err
	}
	defer root.Close()
	// One confined operation: os.Root refuses .. and symlinks that lead
	// out of the folder. O_NONBLOCK keeps a named pipe from blocking the
	// open.
	f, err := root.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", shown, plainErr(err))
	}
	defer f.Close()
	// A link in a listing is only named as one: where it leads may be
	// outside the folders calls may read.
	doc, err := file.Read(ctx, f, shown, shown, func(string) string { return " (link)" })
	var fe *convert.FormatError
	isErr := false
	switch {
	case doc == nil:
		return nil, nil, fmt.Errorf("read %s: %w", shown, plainErr(err))
	case errors.As(err, &fe):
		// The page says what could not be converted.
		isErr = true
	}
	return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: doc.Markdown}}, IsError: isErr}, nil, nil
}

// roots are the folders calls may use: the work dir first, then the
// allowed paths.
func (h *handlers) roots() []string {
	return append([]string{h.opts.Run.WorkDir}, h.opts.Run.Team.AllowPaths...)
}

// resolve finds the folder p is in (relative paths are in the work dir)
// and opens it as an os.Root; rel is p inside it, shown is p for
// messages.
func (h *handlers) resolve(p string) (*os.Root, string, string, error) {
	p = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(p), "file://"))
	if p == "" {
		return nil, "", "", errors.New("path is empty: name a file or folder")
	}
	roots := h.roots()
	if !filepath.IsAbs(p) {
		p = filepath.Join(roots[0], p)
	}
	p = filepath.Clean(p)
	for _, dir := range roots {
		abs, err := filepath.Abs(dir)
		if err != nil {
			continue
		}
		rel, err := filepath.Rel(abs, p)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			continue
		}
		r, err := os.OpenRoot(abs)
		if err != nil {
			return nil, "", "", fmt.Errorf("open %s: %w", abs, plainErr(err))
		}
		return r, rel, p, nil
	}
	return nil, "", "", fmt.Errorf("%s is outside the folders m1 may use (%s); start m1 mcp with --work-dir or --allow-path to allow more", p, strings.Join(roots, ", "))
}

// workDir checks that p names a folder inside the folders m1 may use, and
// returns it as an absolute path.
func (h *handlers) workDir(p string) (string, error) {
	r, rel, shown, err := h.resolve(p)
	if err != nil {
		return "", fmt.Errorf("work_dir: %w", err)
	}
	defer r.Close()
	sub, err := r.OpenRoot(rel)
	if err != nil {
		return "", fmt.Errorf("work_dir %s: %w", shown, plainErr(err))
	}
	sub.Close()
	return shown, nil
}

// plainErr drops the path an *fs.PathError repeats.
func plainErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
