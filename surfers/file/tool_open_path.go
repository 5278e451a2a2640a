package file

import "context"

type openPathParams struct {
	Path string `json:"path" description:"The file or folder to open, relative to the work dir or absolute."`
}

const openPathDescription = "Open a local file or folder and show its first page as markdown. Folders are listed with names, sizes and dates."

var openPathTool = tool{
	name:        "open_path",
	description: openPathDescription,
	params:      openPathParams{},
	run: func(s *Surfer, ctx context.Context, args string) (string, error) {
		var p openPathParams
		if err := decode(args, &p); err != nil {
			return "", err
		}
		return s.open(ctx, p.Path)
	},
}
