package web

import (
	"fmt"

	openai "github.com/sashabaranov/go-openai"

	"github.com/m1-project/m1/model"
)

// budget is how many bytes of the decision prompt each part may take,
// sized from the model's context window so a small local model gets a
// prompt it can hold (and a large one no more than is useful).
type budget struct {
	text      int // the viewport text
	inView    int // the lines of the targets in view
	offScreen int // the lines of the nearest off-screen targets
	history   int // the team's thread
}

// Byte sizes the budget works with; about four bytes make a token.
const (
	bytesPerToken = 4
	// fixedPromptBytes is what the system prompt, the tool definitions and
	// the state text's frame take.
	fixedPromptBytes = 9000
	// maxInViewBytes caps the in-view target list even in a large window:
	// a page of 5,000 links lists the most prominent.
	maxInViewBytes = 16000
	// maxOffScreenBytes caps the off-screen list.
	maxOffScreenBytes = 4000
	// minPart is the least any part gets, however small the window.
	minPart = 600
)

// budgetFor shares a context window of window tokens: three quarters for
// the prompt (the rest for the reply), half of what is left after the fixed
// parts for the page, half for the thread.
func budgetFor(window int) budget {
	if window <= 0 {
		window = model.DefaultContextWindow
	}
	avail := max(window*bytesPerToken*3/4-fixedPromptBytes, 4*minPart)
	page := avail / 2
	return budget{
		text:      max(minPart, min(maxViewportText, page*50/100)),
		inView:    max(minPart, min(maxInViewBytes, page*35/100)),
		offScreen: max(minPart, min(maxOffScreenBytes, page*15/100)),
		history:   max(minPart, avail-page),
	}
}

// fitHistory keeps the team's thread within max bytes: the newest messages
// whole while they fit, each older one cut to a share, and the first (the
// task and plan) kept in part; what is left out is said.
func fitHistory(msgs []openai.ChatCompletionMessage, max int) []openai.ChatCompletionMessage {
	size := func(m openai.ChatCompletionMessage) int {
		n := len(m.Content)
		for _, p := range m.MultiContent {
			n += len(p.Text)
		}
		return n
	}
	total := 0
	for _, m := range msgs {
		total += size(m)
	}
	if total <= max || len(msgs) == 0 {
		return msgs
	}
	out := make([]openai.ChatCompletionMessage, len(msgs))
	copy(out, msgs)
	// The first message (the task, facts and plan) keeps a quarter.
	first := cutMessage(out[0], max/4)
	left := max - size(first)
	keep := len(out)
	for i := len(out) - 1; i >= 1; i-- {
		m := out[i]
		if size(m) > left/2 && i < len(out)-1 {
			m = cutMessage(m, left/2)
		} else if size(m) > left {
			m = cutMessage(m, left)
		}
		if size(m) > left || left <= 0 {
			break
		}
		left -= size(m)
		out[i] = m
		keep = i
	}
	res := []openai.ChatCompletionMessage{first}
	if keep > 1 {
		res = append(res, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser,
			Content: fmt.Sprintf("(%d earlier messages of the team are left out to fit the model's context.)", keep-1)})
	}
	return append(res, out[keep:]...)
}

// cutMessage shortens a message's text to about n bytes, saying so.
func cutMessage(m openai.ChatCompletionMessage, n int) openai.ChatCompletionMessage {
	const mark = "\n…(cut to fit the model's context)"
	if len(m.Content) > n {
		m.Content = cutUTF8(m.Content, max(0, n-len(mark))) + mark
	}
	if len(m.MultiContent) > 0 {
		parts := make([]openai.ChatMessagePart, 0, len(m.MultiContent))
		for _, p := range m.MultiContent {
			if p.Type == openai.ChatMessagePartTypeText && len(p.Text) > n {
				p.Text = cutUTF8(p.Text, max(0, n-len(mark))) + mark
			}
			parts = append(parts, p)
		}
		m.MultiContent = parts
	}
	return m
}
