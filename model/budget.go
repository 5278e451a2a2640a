package model

import (
	"fmt"

	openai "github.com/sashabaranov/go-openai"
)

// Helpers for keeping a prompt within a model's context window, for every
// agent: budget by Client.Info().ContextWindow, estimate what a prompt
// costs, and cut what does not fit. The estimates are about four
// characters a token, an image ImageTokens; real tokenizers differ, so
// budgets leave room (PromptBudget) and the client refuses locally, with
// ErrContextLength, a prompt its window cannot hold.

// PromptBudget is how many tokens a prompt may take in a window of window
// tokens: three quarters, leaving the rest for the reply and for the
// estimate's error. A window of 0 means DefaultContextWindow.
func PromptBudget(window int) int {
	if window <= 0 {
		window = DefaultContextWindow
	}
	return window * 3 / 4
}

// EstimateMessages estimates the tokens of a list of chat messages: their
// text, tool calls and images.
func EstimateMessages(msgs []openai.ChatCompletionMessage) int {
	n, images := 0, 0
	for _, m := range msgs {
		n += len(m.Content)
		for _, p := range m.MultiContent {
			if p.Type == openai.ChatMessagePartTypeImageURL {
				images++
				continue
			}
			n += len(p.Text)
		}
		for _, tc := range m.ToolCalls {
			n += len(tc.Function.Name) + len(tc.Function.Arguments)
		}
	}
	return (n+3)/4 + images*ImageTokens
}

// FitText returns s cut to about tokens tokens: its head and its tail,
// with a line between them saying how much was left out. s is returned as
// it is when it fits or when tokens is not positive.
func FitText(s string, tokens int) string {
	if tokens <= 0 || EstimateTokens(s) <= tokens {
		return s
	}
	keep := tokens * 4
	marker := fmt.Sprintf("\n[... %d characters cut here to fit the model's context; the full text is in the transcript ...]\n", len(s)-keep)
	keep = max(0, keep-len(marker))
	head := cutAt(s, keep*2/3)
	tail := tailAt(s, keep-len(head))
	return head + marker + tail
}

// FitMessages returns msgs within budget tokens. The first message when it
// is the system message, and the last message, stay; older messages are
// dropped oldest first, and if that is not enough every message left is
// cut (FitText) to an equal share. Images beyond the last message's are
// dropped first. msgs itself is not changed.
func FitMessages(msgs []openai.ChatCompletionMessage, budget int) []openai.ChatCompletionMessage {
	if budget <= 0 || EstimateMessages(msgs) <= budget || len(msgs) == 0 {
		return msgs
	}
	out := append([]openai.ChatCompletionMessage(nil), msgs...)
	// Older images go first: only the latest picture matters.
	for i := 0; i < len(out)-1 && EstimateMessages(out) > budget; i++ {
		if len(out[i].MultiContent) > 0 {
			out[i] = textOnlyMessage(out[i])
		}
	}
	lead := 0
	if out[0].Role == openai.ChatMessageRoleSystem {
		lead = 1
	}
	// Drop whole older turns, but never a tool result without its call
	// or a call without its results.
	for EstimateMessages(out) > budget && len(out) > lead+1 {
		i := lead
		j := i + 1
		for j < len(out)-1 && out[j].Role == openai.ChatMessageRoleTool {
			j++
		}
		if j >= len(out) {
			break
		}
		out = append(out[:i], out[j:]...)
	}
	if EstimateMessages(out) <= budget {
		return out
	}
	share := max(64, budget/len(out))
	for i := range out {
		if len(out[i].MultiContent) > 0 && i < len(out)-1 {
			out[i] = textOnlyMessage(out[i])
		}
		out[i].Content = FitText(out[i].Content, share)
		for k, p := range out[i].MultiContent {
			if p.Type == openai.ChatMessagePartTypeText {
				out[i].MultiContent = append([]openai.ChatMessagePart(nil), out[i].MultiContent...)
				out[i].MultiContent[k].Text = FitText(p.Text, share)
			}
		}
	}
	return out
}

// textOnlyMessage turns a message with parts into one of text, images
// replaced by a line.
func textOnlyMessage(m openai.ChatCompletionMessage) openai.ChatCompletionMessage {
	text := ""
	for _, p := range m.MultiContent {
		if p.Type == openai.ChatMessagePartTypeImageURL {
			text += "\n" + ImagePlaceholder
			continue
		}
		text += p.Text
	}
	m.MultiContent, m.Content = nil, text
	return m
}

// cutAt is the longest prefix of s of at most n bytes ending on a rune
// boundary.
func cutAt(s string, n int) string {
	if n >= len(s) {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// tailAt is the longest suffix of s of at most n bytes starting on a rune
// boundary.
func tailAt(s string, n int) string {
	if n >= len(s) {
		return s
	}
	i := len(s) - n
	for i < len(s) && !utf8RuneStart(s[i]) {
		i++
	}
	return s[i:]
}
