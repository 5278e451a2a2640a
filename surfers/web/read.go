package web

import (
	"context"
	"errors"
	"fmt"
	"strings"

	openai "github.com/sashabaranov/go-openai"

	"github.com/m1-project/m1/model"
)

const answerQuestionDesc = "Answer a question about the current page by reading all of it, not only the viewport."

type answerQuestionParams struct {
	Reasoning string `json:"reasoning" description:"Why this action, in one or two sentences."`
	Question  string `json:"question" description:"The question to answer from the page's content."`
}

func (p answerQuestionParams) validate() error {
	if strings.TrimSpace(p.Question) == "" {
		return errors.New("question is required")
	}
	return nil
}

func answerQuestionTool() *tool {
	return defineTool("answer_question", answerQuestionDesc, nil, nil, func(ctx context.Context, s *Surfer, p answerQuestionParams) (outcome, error) {
		ans, err := s.readPage(ctx, p.Question)
		if err != nil {
			return outcome{}, err
		}
		return outcome{text: fmt.Sprintf("I read the whole page to answer %q:\n\n%s", p.Question, ans), final: true}, nil
	})
}

const summarizePageDesc = "Summarize the whole current page, not only the viewport."

type summarizePageParams struct {
	Reasoning string `json:"reasoning" description:"Why this action, in one or two sentences."`
}

func summarizePageTool() *tool {
	return defineTool("summarize_page", summarizePageDesc, nil, nil, func(ctx context.Context, s *Surfer, p summarizePageParams) (outcome, error) {
		ans, err := s.readPage(ctx, "")
		if err != nil {
			return outcome{}, err
		}
		return outcome{text: "I read the whole page. Summary:\n\n" + ans, final: true}, nil
	})
}

// readSystem frames the reading calls.
const readSystem = "You read web pages for a team of AI agents. Be accurate and concise; say so when the page does not contain what is asked. Quote numbers, names and dates exactly as the page gives them."

// readPage answers question (or summarizes, when it is empty) from the
// whole page text. A page too long for the model's context is read in
// chunks: each yields notes, and one last call combines them.
func (s *Surfer) readPage(ctx context.Context, question string) (string, error) {
	tb := s.chrome.activeTab()
	full, err := s.chrome.fullText(ctx, tb)
	if err != nil {
		out, ferr := s.failed(ctx, "read the page", err)
		if ferr != nil {
			return "", ferr
		}
		return out.text, nil
	}
	head := fmt.Sprintf("The page [%s](%s)", mdEscape(full.Title), full.URL)
	task := "Summarize the page: what it is, its main content and any key facts, figures and links."
	if question != "" {
		task = "Answer this question from the page: " + question
	}
	chunks := chunkText(full.Text, chunkChars(s.client.Info().ContextWindow))
	if len(chunks) == 1 {
		return s.ask(ctx, fmt.Sprintf("%s has this content (as markdown):\n\n%s\n\n%s", head, chunks[0], task))
	}
	notes := make([]string, 0, len(chunks))
	for i, ch := range chunks {
		n, err := s.ask(ctx, fmt.Sprintf("%s is too long to read at once; this is part %d of %d (as markdown):\n\n%s\n\nThe overall task: %s\nWrite down everything in this part that helps with the task, with exact figures and names. Write \"nothing relevant\" if there is nothing.", head, i+1, len(chunks), ch, task))
		if err != nil {
			return "", err
		}
		notes = append(notes, fmt.Sprintf("Notes on part %d of %d:\n%s", i+1, len(chunks), n))
	}
	return s.ask(ctx, fmt.Sprintf("%s was read in %d parts. These are the notes taken on each part:\n\n%s\n\n%s", head, len(chunks), strings.Join(notes, "\n\n"), task))
}

// fullText is the whole text of the page tb shows, frames (as of the last
// observation) and a PDF's pages included.
func (c *chrome) fullText(ctx context.Context, tb *tab) (pageData, error) {
	if title, url, text := tb.pdfText(); url != "" {
		return pageData{pageMetrics: pageMetrics{Title: title, URL: url}, Text: text}, nil
	}
	full, err := callIn[pageData](ctx, tb.mainWorld(), "fullText()")
	if err != nil {
		return full, err
	}
	tb.mu.Lock()
	frames := tb.frames
	tb.mu.Unlock()
	for _, f := range frames {
		fctx, cancel := context.WithTimeout(ctx, frameTimeout)
		fd, err := callIn[pageData](fctx, f.w, "fullText()")
		cancel()
		if err != nil || c.policy.check(fd.URL) != nil {
			continue
		}
		title := fd.Title
		if title == "" {
			title = fd.URL
		}
		block := fmt.Sprintf("\n\n[Frame: %s](%s)\n\n%s\n\n", mdEscape(title), fd.URL, strings.TrimSpace(fd.Text))
		full.Text = strings.Replace(full.Text, "\x00F"+f.key+"\x00", block, 1)
	}
	full.Text = framePlaceholder.ReplaceAllString(full.Text, "")
	return full, nil
}

// ask makes one plain model call and counts its usage into the step.
func (s *Surfer) ask(ctx context.Context, prompt string) (string, error) {
	resp, err := s.client.Complete(ctx, model.Request{Messages: []openai.ChatCompletionMessage{
		{Role: openai.ChatMessageRoleSystem, Content: readSystem},
		{Role: openai.ChatMessageRoleUser, Content: prompt},
	}})
	if err != nil {
		return "", fmt.Errorf("websurfer read page: %w", err)
	}
	s.usage = s.usage.Add(resp.Usage)
	return strings.TrimSpace(resp.Content), nil
}

// chunkChars is how much page text goes into one reading call: about half
// the context window (at four characters a token), leaving room for the
// prompt and the answer.
func chunkChars(contextWindow int) int {
	if contextWindow <= 0 {
		contextWindow = 128000
	}
	return max(2000, contextWindow*2)
}

// chunkText splits text into pieces of at most size bytes, at paragraph,
// then line, then word boundaries where it can.
func chunkText(text string, size int) []string {
	text = strings.TrimSpace(text)
	if len(text) <= size {
		return []string{text}
	}
	var out []string
	for len(text) > size {
		cut := -1
		for _, sep := range []string{"\n\n", "\n", " "} {
			if i := strings.LastIndex(text[:size], sep); i > size/2 {
				cut = i
				break
			}
		}
		if cut < 0 {
			cut = size
			for cut > 0 && !isRuneStart(text[cut]) {
				cut--
			}
		}
		out = append(out, strings.TrimSpace(text[:cut]))
		text = strings.TrimSpace(text[cut:])
	}
	if text != "" {
		out = append(out, text)
	}
	return out
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
