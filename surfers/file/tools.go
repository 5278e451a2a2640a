package file

import (
	"context"

	openai "github.com/sashabaranov/go-openai"

	"github.com/m1-project/m1/model"
)

// tool is one action the model can take on the viewer.
type tool struct {
	name, description string
	params            any
	run               func(s *Surfer, ctx context.Context, args string) (string, error)
}

// toolset lists the tools in the order the model sees them. The names are
// Magentic-One's, so prompts written for it carry over.
func toolset() []tool {
	return []tool{openPathTool, pageUpTool, pageDownTool, findTool, findNextTool}
}

func tools() []openai.Tool {
	var out []openai.Tool
	for _, t := range toolset() {
		out = append(out, model.Tool(t.name, t.description, t.params))
	}
	return out
}

// runTool runs the named tool. Unknown tools and bad arguments are
// fixable errors the model sees as the result.
func (s *Surfer) runTool(ctx context.Context, name, args string) (string, error) {
	for _, t := range toolset() {
		if t.name == name {
			return t.run(s, ctx, args)
		}
	}
	return "", fixf("unknown tool %q: use one of open_path, page_up, page_down, find_on_page_ctrl_f, find_next", name)
}

// decode parses arguments into v as a fixable error.
func decode(args string, v any) error {
	if err := model.DecodeArgs(args, v); err != nil {
		return fixf("%v", err)
	}
	return nil
}

// needOpen is the error for paging or searching with nothing open.
func (s *Surfer) needOpen(tool string) error {
	if s.viewer == nil {
		return fixf("%s needs an open file: call open_path first", tool)
	}
	return nil
}
