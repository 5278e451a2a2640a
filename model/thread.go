package model

import (
	"encoding/base64"
	"fmt"
	"strings"

	openai "github.com/sashabaranov/go-openai"

	"github.com/m1-project/m1/agent"
)

// ImagePlaceholder replaces every image but the latest in a prompt, so the
// context does not grow by a picture per step.
const ImagePlaceholder = "[image omitted: only the latest one is shown]"

// EmptyReplyPlaceholder stands in for an agent's own earlier message that
// was empty, so the assistant turn sent back has content.
const EmptyReplyPlaceholder = "(empty reply)"

// ThreadMessages turns the team's thread into chat messages as seen by the
// agent named self: its own messages become assistant turns (an empty one
// as EmptyReplyPlaceholder), everyone else's user turns headed by the
// speaker's name. With vision, the images of the latest message that has
// any are attached; older images become a placeholder line.
func ThreadMessages(thread []agent.Message, self string, vision bool) []openai.ChatCompletionMessage {
	last := -1
	if vision {
		for i := len(thread) - 1; i >= 0; i-- {
			if hasImageData(thread[i]) {
				last = i
				break
			}
		}
	}
	out := make([]openai.ChatCompletionMessage, 0, len(thread))
	for i, m := range thread {
		if m.Source == self {
			content := m.Content
			if strings.TrimSpace(content) == "" {
				// The OpenAI API refuses an assistant message with neither
				// content nor tool calls ("Invalid value for 'content':
				// expected a string, got null"), and go-openai leaves an
				// empty content out.
				content = EmptyReplyPlaceholder
			}
			out = append(out, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: content})
			continue
		}
		text := fmt.Sprintf("%s:\n%s", m.Source, m.Content)
		if i != last {
			if len(m.Images) > 0 {
				text += "\n" + ImagePlaceholder
			}
			out = append(out, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: text})
			continue
		}
		out = append(out, UserMessage(text, m.Images))
	}
	return out
}

// UserMessage builds a user message carrying text and, when images have
// data, the images as base64 data URLs.
func UserMessage(text string, images []agent.Image) openai.ChatCompletionMessage {
	parts := []openai.ChatMessagePart{{Type: openai.ChatMessagePartTypeText, Text: text}}
	for _, img := range images {
		if len(img.Data) == 0 {
			continue
		}
		mime := img.MIME
		if mime == "" {
			mime = "image/png"
		}
		parts = append(parts, openai.ChatMessagePart{
			Type: openai.ChatMessagePartTypeImageURL,
			ImageURL: &openai.ChatMessageImageURL{
				URL:    "data:" + mime + ";base64," + base64.StdEncoding.EncodeToString(img.Data),
				Detail: openai.ImageURLDetailAuto,
			},
		})
	}
	if len(parts) == 1 {
		return openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: text}
	}
	return openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, MultiContent: parts}
}

func hasImageData(m agent.Message) bool {
	for _, img := range m.Images {
		if len(img.Data) > 0 {
			return true
		}
	}
	return false
}

// EstimateTokens is a cheap token estimate (about four characters a token)
// for budgeting prompts before a call; usage reported by the API is what is
// accounted.
func EstimateTokens(s string) int { return (len(s) + 3) / 4 }
