package file

import (
	"context"
	"fmt"
)

type findParams struct {
	SearchString string `json:"search_string" description:"The text to find, case-insensitive; * matches any characters."`
}

var findTool = tool{
	name:        "find_on_page_ctrl_f",
	description: "Find text in the open document, like Ctrl+F, and scroll to the first page (from the current one on) that contains it.",
	params:      findParams{},
	run: func(s *Surfer, _ context.Context, args string) (string, error) {
		var p findParams
		if err := decode(args, &p); err != nil {
			return "", err
		}
		if err := s.needOpen("find_on_page_ctrl_f"); err != nil {
			return "", err
		}
		re, err := compileQuery(p.SearchString)
		if err != nil {
			return "", err
		}
		v := s.viewer
		v.query, v.pattern = p.SearchString, re
		if !v.find(v.page) {
			return fmt.Sprintf("The search string '%s' was not found in %s; the viewport did not move.", p.SearchString, v.path), nil
		}
		return "", nil
	},
}

var findNextTool = tool{
	name:        "find_next",
	description: "Scroll to the next page that contains the last search string.",
	params:      pageParams{},
	run: func(s *Surfer, _ context.Context, args string) (string, error) {
		if err := s.needOpen("find_next"); err != nil {
			return "", err
		}
		v := s.viewer
		if v.pattern == nil {
			return "", fixf("find_next needs a search: call find_on_page_ctrl_f first")
		}
		from := v.page
		if !v.find(from + 1) {
			return fmt.Sprintf("The search string '%s' was not found in %s; the viewport did not move.", v.query, v.path), nil
		}
		if v.page == from {
			return fmt.Sprintf("No further match for '%s': this page holds the only one.", v.query), nil
		}
		if v.page < from {
			return fmt.Sprintf("The search for '%s' reached the end and continued from the start.", v.query), nil
		}
		return "", nil
	},
}
