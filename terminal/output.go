package terminal

import (
	"fmt"
	"sync"
	"unicode/utf8"
)

// capBuffer keeps the first and last bytes written to it and counts the rest,
// so a runaway print costs a bounded amount of memory. It is safe for
// concurrent use.
type capBuffer struct {
	mu    sync.Mutex
	limit int
	head  []byte
	tail  []byte // ring of up to limit-len(head) bytes
	start int    // index of the oldest byte in tail once it is full
	total int64
}

func newCapBuffer(limit int) *capBuffer {
	if limit < 2 {
		limit = 2
	}
	return &capBuffer{limit: limit}
}

// Write implements io.Writer; it never fails.
func (c *capBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(p)
	c.total += int64(n)
	headMax := c.limit / 2
	if room := headMax - len(c.head); room > 0 {
		k := min(room, len(p))
		c.head = append(c.head, p[:k]...)
		p = p[k:]
	}
	tailMax := c.limit - headMax
	if len(p) >= tailMax {
		c.tail = append(c.tail[:0], p[len(p)-tailMax:]...)
		c.start = 0
		return n, nil
	}
	for len(p) > 0 {
		if len(c.tail) < tailMax {
			k := min(tailMax-len(c.tail), len(p))
			c.tail = append(c.tail, p[:k]...)
			p = p[k:]
			continue
		}
		k := copy(c.tail[c.start:], p)
		p = p[k:]
		c.start = (c.start + k) % tailMax
	}
	return n, nil
}

// String returns everything written when it fit, or the head, a marker with
// the number of bytes cut, and the tail. Cuts fall on UTF-8 boundaries.
func (c *capBuffer) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	tail := append(append([]byte(nil), c.tail[c.start:]...), c.tail[:c.start]...)
	kept := int64(len(c.head) + len(tail))
	if kept == c.total {
		return string(c.head) + string(tail)
	}
	head := c.head
	// Drop a rune split by the head's end and one split by the tail's start.
	for i := 0; i < utf8.UTFMax && len(head) > 0; i++ {
		r, size := utf8.DecodeLastRune(head)
		if r != utf8.RuneError || size > 1 {
			break
		}
		head = head[:len(head)-1]
	}
	for i := 0; i < utf8.UTFMax && len(tail) > 0 && !utf8.RuneStart(tail[0]); i++ {
		tail = tail[1:]
	}
	cut := c.total - int64(len(head)+len(tail))
	return fmt.Sprintf("%s\n[... %d bytes cut ...]\n%s", head, cut, tail)
}

// Len returns the number of bytes written so far.
func (c *capBuffer) Len() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}
