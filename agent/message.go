package agent

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// Message is one entry of the team's thread.
type Message struct {
	ID      string  `json:"id"`
	Source  string  `json:"source"`
	Content string  `json:"content"`
	Images  []Image `json:"images,omitempty"`
	// Reasoning is the model's thinking behind the message (a reasoning
	// model's think block or reasoning_content), kept for the transcript;
	// the team acts on Content only.
	Reasoning string    `json:"reasoning,omitempty"`
	Usage     *Usage    `json:"models_usage,omitempty"`
	Time      time.Time `json:"time"`
}

// Image is a picture attached to a message: a screenshot or an opened image.
// Data is sent to vision models but never written to the transcript; Path
// points at the copy saved on disk.
type Image struct {
	Path string `json:"path,omitempty"`
	MIME string `json:"mime,omitempty"`
	Data []byte `json:"-"`
}

// Usage counts the tokens of one or more model calls.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	// CachedPromptTokens are the prompt tokens the server read from its
	// prompt cache, which OpenAI and Azure bill at a lower rate.
	CachedPromptTokens int `json:"cached_prompt_tokens,omitempty"`
	// Estimated is set when some of the counts were estimated (about four
	// characters a token) because the server reported none.
	Estimated bool `json:"estimated,omitempty"`
}

// Add returns the sum of u and o.
func (u Usage) Add(o Usage) Usage {
	return Usage{u.PromptTokens + o.PromptTokens, u.CompletionTokens + o.CompletionTokens,
		u.CachedPromptTokens + o.CachedPromptTokens, u.Estimated || o.Estimated}
}

// Total is prompt plus completion tokens.
func (u Usage) Total() int { return u.PromptTokens + u.CompletionTokens }

// NewMessage returns a message from source stamped with a fresh id and the
// current time.
func NewMessage(source, content string) Message {
	return Message{ID: NewID(), Source: source, Content: content, Time: time.Now().UTC()}
}

// NewID returns a random 16-hex-digit identifier.
func NewID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
