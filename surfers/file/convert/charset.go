package convert

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"github.com/saintfish/chardet"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/unicode"
)

// decodeText turns b into UTF-8 and names the charset it was in: a BOM
// decides first, then valid UTF-8, then a statistical guess among the
// legacy charsets people still meet (Shift-JIS, EUC, GB18030, Big5,
// Windows-125x, Latin-1), falling back to Windows-1252, which maps every
// byte.
func decodeText(b []byte) (string, string) {
	switch {
	case bytes.HasPrefix(b, []byte("\xef\xbb\xbf")):
		return string(validUTF8(b[3:])), "UTF-8"
	case bytes.HasPrefix(b, []byte("\xff\xfe")):
		return decodeWith(unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM), b), "UTF-16LE"
	case bytes.HasPrefix(b, []byte("\xfe\xff")):
		return decodeWith(unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM), b), "UTF-16BE"
	}
	if order, ok := utf16Order(b); ok {
		if order == unicode.LittleEndian {
			return decodeWith(unicode.UTF16(order, unicode.IgnoreBOM), b), "UTF-16LE"
		}
		return decodeWith(unicode.UTF16(order, unicode.IgnoreBOM), b), "UTF-16BE"
	}
	if utf8.Valid(trimPartialRune(b)) {
		return string(validUTF8(b)), "UTF-8"
	}
	name, enc := guessCharset(b)
	return decodeWith(enc, b), name
}

// guessCharset asks chardet for the most likely legacy charset.
func guessCharset(b []byte) (string, encoding.Encoding) {
	sample := b[:min(len(b), 64<<10)]
	results, err := chardet.NewTextDetector().DetectAll(sample)
	if err == nil {
		for _, r := range results {
			name := r.Charset
			switch strings.ToUpper(name) {
			case "UTF-8", "UTF-16BE", "UTF-16LE", "UTF-32BE", "UTF-32LE", "ISO-2022-JP", "ISO-2022-KR", "ISO-2022-CN":
				continue
			case "ISO-8859-1":
				// Text labelled Latin-1 is Windows-1252 in practice (curly
				// quotes, euro sign), as the HTML standard also assumes.
				return "ISO-8859-1", charmap.Windows1252
			}
			if enc, err := htmlindex.Get(name); err == nil {
				if name == "Shift_JIS" {
					// cp932 is the superset Windows writes.
					return "Shift_JIS", enc
				}
				return name, enc
			}
		}
	}
	return "windows-1252", charmap.Windows1252
}

func decodeWith(enc encoding.Encoding, b []byte) string {
	out, err := enc.NewDecoder().Bytes(b)
	if err != nil {
		return string(validUTF8(b))
	}
	return string(out)
}

// utf16Order recognises UTF-16 without a BOM by the zero bytes ASCII text
// leaves in every other position.
func utf16Order(b []byte) (unicode.Endianness, bool) {
	if bytes.HasPrefix(b, []byte("\xff\xfe")) {
		return unicode.LittleEndian, true
	}
	if bytes.HasPrefix(b, []byte("\xfe\xff")) {
		return unicode.BigEndian, true
	}
	n := min(len(b), 4096) &^ 1
	if n < 8 {
		return unicode.BigEndian, false
	}
	var even, odd int
	for i := 0; i < n; i += 2 {
		if b[i] == 0 {
			even++
		}
		if b[i+1] == 0 {
			odd++
		}
	}
	pairs := n / 2
	switch {
	case odd*10 > pairs*7 && even*10 < pairs:
		return unicode.LittleEndian, true
	case even*10 > pairs*7 && odd*10 < pairs:
		return unicode.BigEndian, true
	}
	return unicode.BigEndian, false
}

// trimPartialRune drops an incomplete UTF-8 sequence at the end of b, where
// a read limit may have cut a character in two.
func trimPartialRune(b []byte) []byte {
	for i := 1; i <= 3 && i <= len(b); i++ {
		c := b[len(b)-i]
		if c < 0x80 {
			return b
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return b[:len(b)-i]
			}
			return b
		}
	}
	return b
}

func validUTF8(b []byte) []byte {
	if utf8.Valid(b) {
		return b
	}
	return bytes.ToValidUTF8(trimPartialRune(b), []byte("\uFFFD"))
}
