package console

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/m1-project/m1/agent"
)

func TestSanitize(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in, want string
		changed  bool
	}{
		{"plain text\n\tindented", "plain text\n\tindented", false},
		{"héllo wörld, 日本語, emoji 🙂", "héllo wörld, 日本語, emoji 🙂", false},
		{"windows\r\nline ends\r\n", "windows\nline ends\n", false},
		{`import os; os.system("id > f") # ` + "\x1b[2K\x1b[1G" + `print("hello")`,
			`import os; os.system("id > f") # \x1b[2K\x1b[1Gprint("hello")`, true},
		{"\x1b]52;c;ZWNobyBoaQ==\x07", `\x1b]52;c;ZWNobyBoaQ==\x07`, true},
		{"\x1b]0;title\x1b\\", `\x1b]0;title\x1b\`, true},
		{"over\rwrite", `over\x0dwrite`, true},
		{"bell\a nul\x00 del\x7f bs\b", `bell\x07 nul\x00 del\x7f bs\x08`, true},
		{"c1 csi \u009b2J nel \u0085", `c1 csi \u009b2J nel \u0085`, true},
		{"raw 8-bit csi \x9b2J", `raw 8-bit csi \x9b2J`, true},
		{"bad utf-8 \xff\xfe \xc3\x28", `bad utf-8 \xff\xfe \xc3(`, true},
		{"evil\u202etxt.exe", `evil\u202etxt.exe`, true},
		{"\u2066isolate\u2069 \u200emark\u200f \u061c", `\u2066isolate\u2069 \u200emark\u200f \u061c`, true},
		{"", "", false},
	} {
		got, changed := Sanitize(c.in)
		if got != c.want || changed != c.changed {
			t.Errorf("Sanitize(%q) = %q, %v; want %q, %v", c.in, got, changed, c.want, c.changed)
		}
	}
}

// unsafeIn names what in s a terminal would act on, if anything.
func unsafeIn(s string) string {
	if !utf8.ValidString(s) {
		return "invalid UTF-8"
	}
	for _, r := range s {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || hidden(r) {
			return fmt.Sprintf("%U", r)
		}
	}
	return ""
}

// Sanitize's output is safe whatever its input, and stable.
func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"a\x1b[2Kb", "\xe2\x80", "\r\n\r", "\u202e", "日本\xff"} {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, s string, cut int) {
		out, changed := Sanitize(s)
		if u := unsafeIn(out); u != "" {
			t.Fatalf("Sanitize(%q) = %q holds %q", s, out, u)
		}
		if !changed && out != strings.ReplaceAll(s, "\r\n", "\n") {
			t.Fatalf("Sanitize(%q) changed it to %q without saying so", s, out)
		}
		// Streamed in two pieces cut anywhere, the text comes out the same.
		if cut < 0 {
			cut = -cut
		}
		if len(s) > 0 {
			cut %= len(s) + 1
		} else {
			cut = 0
		}
		var st StreamSanitizer
		got := st.Write(s[:cut]) + st.Write(s[cut:]) + st.Flush()
		if got != out || st.Changed() != changed {
			t.Fatalf("streamed %q|%q = %q (%v), whole = %q (%v)", s[:cut], s[cut:], got, st.Changed(), out, changed)
		}
	})
}

// Every cut of a text full of traps streams to the same result, byte by
// byte included.
func TestStreamSanitizerSplits(t *testing.T) {
	t.Parallel()
	text := "a\x1b]52;c;eA==\x07 日本 \u202e\r\nb\r\n\xff🙂\r"
	want, _ := Sanitize(text)
	for cut := 0; cut <= len(text); cut++ {
		var s StreamSanitizer
		got := s.Write(text[:cut]) + s.Write(text[cut:]) + s.Flush()
		if got != want {
			t.Errorf("cut at %d: %q, want %q", cut, got, want)
		}
	}
	var s StreamSanitizer
	var b strings.Builder
	for i := range len(text) {
		b.WriteString(s.Write(text[i : i+1]))
	}
	b.WriteString(s.Flush())
	if b.String() != want {
		t.Errorf("byte by byte: %q, want %q", b.String(), want)
	}
}

func TestSafeWriter(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w := SafeWriter(&buf)
	if _, err := w.Write([]byte("m1: server said \x1b]0;pwned\x07\n")); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != "m1: server said \\x1b]0;pwned\\x07\n" {
		t.Errorf("SafeWriter wrote %q", got)
	}
}

// fillStrings sets every string in v (and in the structs, pointers, slices
// and maps it holds) to s, so a test can see that no field is missed.
func fillStrings(v reflect.Value, s string) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		fillStrings(v.Elem(), s)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fillStrings(v.Field(i), s)
			}
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fillStrings(v.Index(0), s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k := reflect.New(v.Type().Key()).Elem()
		fillStrings(k, s)
		e := reflect.New(v.Type().Elem()).Elem()
		fillStrings(e, s)
		m.SetMapIndex(k, e)
		v.Set(m)
	}
}

// collectStrings lists every string in v.
func collectStrings(v reflect.Value, out *[]string) {
	switch v.Kind() {
	case reflect.String:
		*out = append(*out, v.String())
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			collectStrings(v.Elem(), out)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				collectStrings(v.Field(i), out)
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			collectStrings(v.Index(i), out)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			collectStrings(k, out)
			collectStrings(v.MapIndex(k), out)
		}
	}
}

// cleanEvent sanitizes every text field of an event, including fields
// added after it was written, and leaves the original exact.
func TestCleanEventCoversEveryField(t *testing.T) {
	t.Parallel()
	var e agent.Event
	fillStrings(reflect.ValueOf(&e).Elem(), "x\x1b[2Ky")
	c := cleanEvent(e)
	var got []string
	collectStrings(reflect.ValueOf(c), &got)
	if len(got) < 20 {
		t.Fatalf("only %d strings found in the event; the walk is broken", len(got))
	}
	for _, s := range got {
		if s != `x\x1b[2Ky` {
			t.Errorf("a field of the cleaned event holds %q", s)
		}
	}
	var orig []string
	collectStrings(reflect.ValueOf(e), &orig)
	for _, s := range orig {
		if s != "x\x1b[2Ky" {
			t.Fatalf("cleanEvent changed the original event: %q", s)
		}
	}
}
