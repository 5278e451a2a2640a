package batch

import "testing"

func TestScore(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		answer, expected string
		want             bool
	}{
		// Numbers compare as numbers once $, % and commas are gone.
		{"42", "42", true},
		{"42.0", "42", true},
		{" 42 ", "42", true},
		{"$3,000", "3000", true},
		{"25%", "25", true},
		{"1e3", "1000", true},
		{"41", "42", false},
		{"17 km", "17", false},
		{"forty-two", "42", false},
		{"", "0", false},
		{"0x2a", "42", false},
		// Lists: split on , and ; element by element, numbers as numbers.
		{"red; yellow ;Blue", "red, yellow, blue", true},
		{"red, blue", "red, yellow, blue", false},
		{"blue, yellow, red", "red, yellow, blue", false},
		{"1, $2, 3%", "1, 2, 3", true},
		{"1,2", "1, 3", false},
		{"a,,b", "a,,b", true},
		// In a list, punctuation inside an element counts.
		{"St. Louis, Paris", "St Louis, Paris", false},
		// Text: no case, no spaces, no ASCII punctuation.
		{"Hello!", "hello", true},
		{"  New   York ", "new york", true},
		{"Time-Parking 2: Parallel Universe", "Time-Parking 2: Parallel Universe", true},
		{"the answer", "answer", false},
		{"café", "cafe", false},
	} {
		if got := Score(c.answer, c.expected); got != c.want {
			t.Errorf("Score(%q, %q) = %v, want %v", c.answer, c.expected, got, c.want)
		}
	}
}

func TestExtract(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ final, want string }{
		{"42", "42"},
		{"  The answer is 42.  ", "The answer is 42."},
		{"Reasoning...\nFINAL ANSWER: 42", "42"},
		{"final answer:  Paris \n(source: the atlas)", "Paris"},
		{"FINAL ANSWER: 1\nthen\nFINAL ANSWER: 2", "2"},
		{"FINAL ANSWER:", ""},
	} {
		if got := Extract(c.final); got != c.want {
			t.Errorf("Extract(%q) = %q, want %q", c.final, got, c.want)
		}
	}
}

// FuzzScore: any answer scores without a panic, and every answer matches
// itself.
func FuzzScore(f *testing.F) {
	for _, s := range []string{"42", "$3,000", "a, b; c", "Hello!", "1e400", "", "FINAL ANSWER: x"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, answer, expected string) {
		Score(answer, expected)
		Extract(answer)
		if !Score(expected, expected) {
			t.Errorf("Score(%q, itself) is false", expected)
		}
	})
}
