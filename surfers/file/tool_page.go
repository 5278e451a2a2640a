package file

import "context"

type pageParams struct{}

var pageUpTool = tool{
	name:        "page_up",
	description: "Scroll the viewport up one page towards the start of the open document.",
	params:      pageParams{},
	run: func(s *Surfer, _ context.Context, args string) (string, error) {
		if err := s.needOpen("page_up"); err != nil {
			return "", err
		}
		if s.viewer.page == 0 {
			return "Already at the first page.", nil
		}
		s.viewer.setPage(s.viewer.page - 1)
		return "", nil
	},
}

var pageDownTool = tool{
	name:        "page_down",
	description: "Scroll the viewport down one page towards the end of the open document.",
	params:      pageParams{},
	run: func(s *Surfer, _ context.Context, args string) (string, error) {
		if err := s.needOpen("page_down"); err != nil {
			return "", err
		}
		if s.viewer.page == len(s.viewer.pages)-1 {
			return "Already at the last page.", nil
		}
		s.viewer.setPage(s.viewer.page + 1)
		return "", nil
	},
}
