package main

import (
	"errors"
	"os"

	"github.com/spf13/cobra"

	"github.com/m1-project/m1/surfers/file"
	"github.com/m1-project/m1/surfers/file/convert"
)

func newReadCmd(f *factory) *cobra.Command {
	return &cobra.Command{
		Use:   "read FILE|FOLDER",
		Short: "Print a file or folder as the markdown the FileSurfer reads",
		Long: `Print a file or folder as the markdown the FileSurfer reads: documents (PDF,
DOCX, PPTX, XLSX, XLS, EPUB), web pages, tables (CSV, TSV), notebooks, feeds,
archives, images and media metadata, and text in any common charset. The
whole of it is printed; the FileSurfer pages through it (--viewport
characters at a time).`,
		Example: `  m1 read report.xlsx
  m1 read slides.pptx | less`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := os.Stat(args[0]); err != nil {
				return usagef("read %s: %v", args[0], errors.Unwrap(err))
			}
			err := file.Render(cmd.Context(), args[0], f.io.Out)
			var fe *convert.FormatError
			if errors.As(err, &fe) {
				// The page explaining the problem is already printed.
				return statusError{status: "error"}
			}
			return err
		},
	}
}
