package terminal

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCapBuffer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		limit  int
		writes []string
		want   string
	}{
		{"fits", 10, []string{"abc", "def"}, "abcdef"},
		{"exactly the limit", 6, []string{"abc", "def"}, "abcdef"},
		{"one write over", 6, []string{"abcdefgh"}, "abc\n[... 2 bytes cut ...]\nfgh"},
		{"many small writes", 6, []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"}, "abc\n[... 3 bytes cut ...]\nghi"},
		{"tail wraps around", 4, []string{"ab", "cde", "fg", "h"}, "ab\n[... 4 bytes cut ...]\ngh"},
		{"large write after small", 4, []string{"a", "bcdefghij"}, "ab\n[... 6 bytes cut ...]\nij"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newCapBuffer(tt.limit)
			for _, w := range tt.writes {
				if n, err := c.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", w, n, err)
				}
			}
			if got := c.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCapBufferKeepsRunesWhole(t *testing.T) {
	t.Parallel()
	c := newCapBuffer(9)
	s := strings.Repeat("é€", 20) // 2- and 3-byte runes
	fmt.Fprint(c, s)
	got := c.String()
	if !utf8.ValidString(got) {
		t.Fatalf("String() = %q is not valid UTF-8", got)
	}
	head, tail, ok := strings.Cut(got, "\n[... ")
	if !ok {
		t.Fatalf("no cut marker in %q", got)
	}
	if !strings.HasPrefix(s, head) {
		t.Errorf("head %q is not a prefix of the input", head)
	}
	_, tail, _ = strings.Cut(tail, " ...]\n")
	if !strings.HasSuffix(s, tail) {
		t.Errorf("tail %q is not a suffix of the input", tail)
	}
	var cut int
	fmt.Sscanf(got[len(head):], "\n[... %d bytes cut", &cut)
	if cut != len(s)-len(head)-len(tail) {
		t.Errorf("marker says %d bytes cut, want %d", cut, len(s)-len(head)-len(tail))
	}
}
