package batch

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// finalAnswerRe finds the line a scored task is asked to end with.
var finalAnswerRe = regexp.MustCompile(`(?i)final answer\s*:`)

// Extract returns the part of a final answer that is scored: the text
// after the last "FINAL ANSWER:" when there is one (the form scored tasks
// are asked for), else the whole answer, trimmed either way.
func Extract(final string) string {
	locs := finalAnswerRe.FindAllStringIndex(final, -1)
	if len(locs) == 0 {
		return strings.TrimSpace(final)
	}
	rest := final[locs[len(locs)-1][1]:]
	// The answer is the rest of that line; a model that adds notes below
	// it does not change it.
	if i := strings.IndexByte(strings.TrimLeft(rest, " \t"), '\n'); i >= 0 {
		rest = strings.TrimLeft(rest, " \t")[:i]
	}
	return strings.TrimSpace(rest)
}

// Score reports whether answer matches expected by GAIA's rules:
//
//   - an expected answer that is a number is compared as a number, after
//     "$", "%" and "," are removed from the answer;
//   - an expected answer holding "," or ";" is a list: both are split on
//     either, must have as many elements, and each pair is compared as a
//     number when the expected element is one, else as text with
//     whitespace removed and case ignored;
//   - any other answer is compared as text with whitespace and ASCII
//     punctuation removed and case ignored.
func Score(answer, expected string) bool {
	if want, ok := parseNumber(expected); ok {
		return numberEquals(answer, want)
	}
	if strings.ContainsAny(expected, ",;") {
		want, got := splitList(expected), splitList(answer)
		if len(want) != len(got) {
			return false
		}
		for i := range want {
			if n, ok := parseNumber(want[i]); ok {
				if !numberEquals(got[i], n) {
					return false
				}
			} else if normalize(got[i], false) != normalize(want[i], false) {
				return false
			}
		}
		return true
	}
	return normalize(answer, true) == normalize(expected, true)
}

// numberEquals compares answer, with "$", "%" and "," removed, to want.
func numberEquals(answer string, want float64) bool {
	got, ok := parseNumber(strings.NewReplacer("$", "", "%", "", ",", "").Replace(answer))
	return ok && got == want
}

// parseNumber reads s as a decimal number, surrounding whitespace allowed,
// as Python's float() does for the forms answers take (no hexadecimal).
// NaN never matches anything.
func parseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" || strings.ContainsAny(s, "xXpP_") {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// splitList splits s at every "," and ";", keeping empty elements.
func splitList(s string) []string {
	return strings.Split(strings.ReplaceAll(s, ";", ","), ",")
}

// normalize removes whitespace (and ASCII punctuation when punct is set)
// and lowers the case.
func normalize(s string, punct bool) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsSpace(r) || punct && r <= unicode.MaxASCII && (unicode.IsPunct(r) || unicode.IsSymbol(r)) {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}
