package console

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Text that reaches a person's terminal comes from web pages, files, model
// replies and containers, so any of it may hold bytes a terminal acts on
// instead of showing: ESC sequences that erase a line or move the cursor
// (hiding part of a code block behind a harmless one), OSC 52 that writes
// the clipboard, OSC 0 that renames the window, a carriage return that
// overwrites a line, or bidi controls that show text in another order than
// it runs (CVE-2021-42574, "Trojan Source"). Everything m1 prints for a
// person goes through Sanitize, which replaces each of them by a visible
// escape. Output for programs (--json) is JSON, which escapes them itself.

// Sanitize returns s with every character a terminal could act on, or that
// hides or reorders text, replaced by a visible escape, and whether it
// replaced anything. Newline and tab are kept; a carriage return right
// before a newline is dropped (a Windows line end hides nothing). C0
// controls, DEL and invalid UTF-8 bytes become \xHH; C1 controls and the
// bidi controls (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C)
// become \uHHHH.
func Sanitize(s string) (string, bool) {
	if clean(s) {
		return s, false
	}
	var b strings.Builder
	changed := sanitizeTo(&b, s)
	return b.String(), changed
}

// Clean is Sanitize without the report.
func Clean(s string) string {
	out, _ := Sanitize(s)
	return out
}

// clean reports whether s needs no change, fast, for the common case.
func clean(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 && c != '\n' && c != '\t' || c == 0x7f || c >= 0x80 {
			if c >= 0x80 {
				// Multi-byte text is checked rune by rune.
				return cleanRunes(s[i:])
			}
			return false
		}
	}
	return true
}

func cleanRunes(s string) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 || hidden(r) || r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
			return false
		}
		i += n
	}
	return true
}

// hidden reports whether r is a C1 control or a bidi control: characters
// that show as nothing, or change how what follows shows.
func hidden(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x200e, r == 0x200f, r == 0x061c:
		return true
	}
	return false
}

// sanitizeTo writes s to b with escapes and reports whether it escaped
// anything.
func sanitizeTo(b *strings.Builder, s string) bool {
	changed := false
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x80 {
			switch {
			case c == '\r' && i+1 < len(s) && s[i+1] == '\n':
				// CRLF: the newline alone.
			case c < 0x20 && c != '\n' && c != '\t', c == 0x7f:
				fmt.Fprintf(b, `\x%02x`, c)
				changed = true
			default:
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(b, `\x%02x`, c)
			changed = true
		case hidden(r):
			fmt.Fprintf(b, `\u%04x`, r)
			changed = true
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return changed
}

// StreamSanitizer sanitizes a text that arrives in pieces, such as a
// message streamed token by token. A piece may end inside a multi-byte
// character, or on the carriage return of a CRLF; that tail is kept until
// the next piece, so the result is the same as Sanitize of the whole text.
// (Escape sequences need no such care: each control character is escaped
// on its own, so a sequence cut in two is harmless in both halves.)
type StreamSanitizer struct {
	pending string
	changed bool
}

// Write returns the sanitized text of p that can be shown now.
func (s *StreamSanitizer) Write(p string) string {
	text := s.pending + p
	s.pending = ""
	cut := len(text)
	if cut > 0 && text[cut-1] == '\r' {
		cut--
	} else if tail := incompleteTail(text); tail > 0 {
		cut -= tail
	}
	s.pending = text[cut:]
	var b strings.Builder
	if sanitizeTo(&b, text[:cut]) {
		s.changed = true
	}
	return b.String()
}

// Flush returns what Write kept back, sanitized: call it when the text
// ends.
func (s *StreamSanitizer) Flush() string {
	text := s.pending
	s.pending = ""
	var b strings.Builder
	if sanitizeTo(&b, text) {
		s.changed = true
	}
	return b.String()
}

// Changed reports whether anything written so far was escaped.
func (s *StreamSanitizer) Changed() bool { return s.changed }

// incompleteTail returns how many bytes at the end of s start a UTF-8
// character that is not complete yet (0 when none).
func incompleteTail(s string) int {
	for back := 1; back <= utf8.UTFMax-1 && back <= len(s); back++ {
		c := s[len(s)-back]
		if c < 0x80 {
			return 0
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRuneInString(s[len(s)-back:]) {
				return back
			}
			return 0
		}
	}
	return 0
}

// SafeWriter returns a writer that sanitizes everything written through
// it before it reaches w, for text printed outside the renderer (errors,
// doctor's lines). Each write is sanitized on its own, so write whole
// lines (fmt.Fprintln does). It must not carry m1's own escape codes
// (colours), which it would show escaped too: style text after
// sanitizing it.
func SafeWriter(w io.Writer) io.Writer { return safeWriter{w} }

type safeWriter struct{ w io.Writer }

func (sw safeWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(sw.w, Clean(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
