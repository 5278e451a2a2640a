package mcp

import (
	"encoding/json"
	"fmt"
	"strings"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/m1-project/m1/agent"
)

// maxResultChars caps the text of one tool result, head and tail kept, so
// one huge answer (a whole file, a long listing) cannot fill the context.
const maxResultChars = 20000

// result is what one tool call gave, as the model and the team read it.
type result struct {
	// text is every part of the result in order; pictures appear as a
	// line that says what they are.
	text string
	// images are the pictures the result holds (image parts and image
	// resources), for vision models.
	images []agent.Image
	// isError is the server's isError: the tool ran and failed.
	isError bool
}

// convert turns a tool's result into text and pictures: text as it is,
// embedded text resources with their URI, images and image resources as
// pictures, links and other binary parts as a line that says what they
// are. A result without content gives its structured content as JSON.
func convert(res *sdk.CallToolResult) result {
	var r result
	var parts []string
	for _, c := range res.Content {
		parts = append(parts, r.part(c))
	}
	if len(parts) == 0 && res.StructuredContent != nil {
		if b, err := json.Marshal(res.StructuredContent); err == nil {
			parts = append(parts, string(b))
		}
	}
	text := strings.Join(parts, "\n")
	if strings.TrimSpace(text) == "" {
		text = "(the tool returned no content)"
	}
	r.isError = res.IsError
	if r.isError {
		text = "The tool reported an error:\n" + text
	}
	r.text = shorten(text, maxResultChars)
	return r
}

// part renders one content part, collecting pictures.
func (r *result) part(c sdk.Content) string {
	switch c := c.(type) {
	case *sdk.TextContent:
		return c.Text
	case *sdk.ImageContent:
		return r.image(c.MIMEType, c.Data, "")
	case *sdk.AudioContent:
		return fmt.Sprintf("[audio: %s, %s; not shown]", orUnknown(c.MIMEType), size(len(c.Data)))
	case *sdk.ResourceLink:
		return resourceLink(c)
	case *sdk.EmbeddedResource:
		rc := c.Resource
		if rc == nil {
			return "[empty resource]"
		}
		switch {
		case rc.Blob == nil:
			return fmt.Sprintf("[resource %s%s]\n%s", rc.URI, mimeNote(rc.MIMEType), rc.Text)
		case strings.HasPrefix(rc.MIMEType, "image/"):
			return r.image(rc.MIMEType, rc.Blob, rc.URI)
		default:
			return fmt.Sprintf("[resource %s: %s of binary data%s; not shown]", rc.URI, size(len(rc.Blob)), mimeNote(rc.MIMEType))
		}
	}
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Sprintf("[content of type %T]", c)
	}
	return string(b)
}

// image keeps a picture and returns the line that stands for it.
func (r *result) image(mime string, data []byte, uri string) string {
	if mime == "" {
		mime = "image/png"
	}
	r.images = append(r.images, agent.Image{MIME: mime, Data: data})
	from := ""
	if uri != "" {
		from = " from " + uri
	}
	return fmt.Sprintf("[image %d%s: %s, %s]", len(r.images), from, mime, size(len(data)))
}

func resourceLink(l *sdk.ResourceLink) string {
	name := l.Title
	if name == "" {
		name = l.Name
	}
	s := fmt.Sprintf("[resource link: %s <%s>%s", name, l.URI, mimeNote(l.MIMEType))
	if l.Size != nil {
		s += ", " + size(int(*l.Size))
	}
	s += "]"
	if l.Description != "" {
		s += " " + l.Description
	}
	return s
}

func mimeNote(mime string) string {
	if mime == "" {
		return ""
	}
	return " (" + mime + ")"
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown type"
	}
	return s
}

// size writes a byte count for people: "812 bytes", "4.2 kB".
func size(n int) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d bytes", n)
	case n < 1000*1000:
		return fmt.Sprintf("%.1f kB", float64(n)/1000)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}

// shorten keeps the head and tail of s within max bytes, cut on rune
// boundaries, and says how much was left out.
func shorten(s string, max int) string {
	if len(s) <= max {
		return s
	}
	head, tail := max*3/4, max/4
	for head > 0 && !isRuneStart(s[head]) {
		head--
	}
	start := len(s) - tail
	for start < len(s) && !isRuneStart(s[start]) {
		start++
	}
	return fmt.Sprintf("%s\n[... %d characters cut ...]\n%s", s[:head], start-head, s[start:])
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
