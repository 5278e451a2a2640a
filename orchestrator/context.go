package orchestrator

import (
	"fmt"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/model"
)

// keepFull is how many of the latest messages always stay whole.
const keepFull = 6

// shortenedLen is how many characters of an older message survive
// compaction; the whole text stays in the transcript.
const shortenedLen = 600

// compact keeps a thread within budget tokens: the first message (the task
// ledger) and the latest keepFull messages stay whole, older ones are cut
// to their head, oldest first, until the estimate fits. Images of older
// messages are dropped; only the latest picture matters to the model.
func compact(thread []agent.Message, budget int) []agent.Message {
	total := 0
	for _, m := range thread {
		total += model.EstimateTokens(m.Content)
	}
	if total <= budget || len(thread) <= keepFull+1 {
		return thread
	}
	out := make([]agent.Message, len(thread))
	copy(out, thread)
	for i := 1; i < len(out)-keepFull && total > budget; i++ {
		m := out[i]
		if len(m.Content) <= shortenedLen {
			continue
		}
		before := model.EstimateTokens(m.Content)
		m.Content = fmt.Sprintf("%s\n[... shortened from %d characters; the full text is in the transcript]", cutRunes(m.Content, shortenedLen), len(m.Content))
		m.Images = nil
		total += model.EstimateTokens(m.Content) - before
		out[i] = m
	}
	return out
}

// cutRunes returns the longest prefix of s of at most n bytes that ends on a
// rune boundary.
func cutRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n]
}
