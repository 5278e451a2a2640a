package convert

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dhowden/tag"
)

// convertMedia describes an audio or video file by its metadata; m1 cannot
// listen to or watch it, and says so.
func convertMedia(_ context.Context, s *source) (*Document, error) {
	k := detect(s)
	doc := &Document{Title: s.name}
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\nThis is %s (%s). m1 cannot listen to or watch it; only its metadata is shown.\n\n", s.name, k.describe(), humanBytes(s.size))
	rows := [][]string{{"Field", "Value"}}
	add := func(k, v string) {
		if strings.TrimSpace(v) != "" && v != "0" {
			rows = append(rows, []string{k, v})
			doc.Metadata = append(doc.Metadata, Field{k, v})
		}
	}
	if d := mediaDuration(s); d > 0 {
		add("Duration", d.Round(time.Millisecond).String())
	}
	if m, err := readTags(s); err == nil {
		add("Format", string(m.Format()))
		add("File type", string(m.FileType()))
		add("Title", m.Title())
		add("Artist", m.Artist())
		add("Album", m.Album())
		add("Year", fmt.Sprint(m.Year()))
		add("Genre", m.Genre())
		if n, _ := m.Track(); n > 0 {
			add("Track", fmt.Sprint(n))
		}
		add("Comment", m.Comment())
		if t := strings.TrimSpace(m.Title()); t != "" {
			doc.Title = t
		}
	}
	if len(rows) > 1 {
		writeTable(&b, rows)
	} else {
		b.WriteString("No metadata could be read.\n")
	}
	doc.Markdown = b.String()
	return doc, nil
}

func readTags(s *source) (m tag.Metadata, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("tag reader failed: %v", r)
		}
	}()
	return tag.ReadFrom(io.NewSectionReader(s.r, 0, s.size))
}

// mediaDuration reads the duration where it is cheap: a WAV header or an
// MP4 movie header. Zero means unknown.
func mediaDuration(s *source) time.Duration {
	h := s.head
	switch {
	case len(h) >= 12 && string(h[:4]) == "RIFF" && string(h[8:12]) == "WAVE":
		return wavDuration(h, s.size)
	case len(h) >= 8 && string(h[4:8]) == "ftyp":
		return mp4Duration(s)
	}
	return 0
}

func wavDuration(h []byte, size int64) time.Duration {
	var byteRate uint32
	for off := 12; off+8 <= len(h); {
		id := string(h[off : off+4])
		n := int(binary.LittleEndian.Uint32(h[off+4 : off+8]))
		switch id {
		case "fmt ":
			if off+20 <= len(h) {
				byteRate = binary.LittleEndian.Uint32(h[off+16 : off+20])
			}
		case "data":
			if byteRate == 0 {
				return 0
			}
			data := min(int64(n), size-int64(off+8))
			return time.Duration(float64(data) / float64(byteRate) * float64(time.Second))
		}
		if n < 0 || off+8+n+n%2 <= off {
			return 0
		}
		off += 8 + n + n%2
	}
	return 0
}

// mp4Duration walks the top-level boxes to moov/mvhd.
func mp4Duration(s *source) time.Duration {
	box := func(off int64, end int64, want string) (int64, int64, bool) {
		var hdr [16]byte
		for i := 0; off+8 <= end && i < 1000; i++ {
			if _, err := s.r.ReadAt(hdr[:8], off); err != nil {
				return 0, 0, false
			}
			size := int64(binary.BigEndian.Uint32(hdr[:4]))
			typ := string(hdr[4:8])
			hl := int64(8)
			if size == 1 {
				if _, err := s.r.ReadAt(hdr[8:16], off+8); err != nil {
					return 0, 0, false
				}
				size, hl = int64(binary.BigEndian.Uint64(hdr[8:16])), 16
			} else if size == 0 {
				size = end - off
			}
			if size < hl {
				return 0, 0, false
			}
			if typ == want {
				return off + hl, off + size, true
			}
			off += size
		}
		return 0, 0, false
	}
	start, end, ok := box(0, s.size, "moov")
	if !ok {
		return 0
	}
	start, _, ok = box(start, end, "mvhd")
	if !ok {
		return 0
	}
	var v [32]byte
	if _, err := s.r.ReadAt(v[:], start); err != nil {
		return 0
	}
	var scale, dur uint64
	if v[0] == 1 {
		scale, dur = uint64(binary.BigEndian.Uint32(v[20:24])), binary.BigEndian.Uint64(v[24:32])
	} else {
		scale, dur = uint64(binary.BigEndian.Uint32(v[12:16])), uint64(binary.BigEndian.Uint32(v[16:20]))
	}
	if scale == 0 {
		return 0
	}
	return time.Duration(float64(dur) / float64(scale) * float64(time.Second))
}
