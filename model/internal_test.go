package model

import (
	"slices"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{"1.5", 1500 * time.Millisecond},
		{"-3", 0},
		{now.Add(90 * time.Second).Format(http1123), 90 * time.Second},
		{now.Add(-time.Hour).Format(http1123), 0},
		{"soon", 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

const http1123 = "Mon, 02 Jan 2006 15:04:05 GMT"

func TestMergeToolCalls(t *testing.T) {
	t.Parallel()
	idx := func(i int) *int { return &i }
	tests := []struct {
		name   string
		deltas [][]openai.ToolCall
		want   []string
	}{
		{"by index, interleaved", [][]openai.ToolCall{
			{{Index: idx(0), ID: "a", Function: openai.FunctionCall{Name: "f", Arguments: `{"x":`}}},
			{{Index: idx(1), ID: "b", Function: openai.FunctionCall{Name: "g", Arguments: `{`}}},
			{{Index: idx(0), Function: openai.FunctionCall{Arguments: `1}`}}},
			{{Index: idx(1), Function: openai.FunctionCall{Arguments: `}`}}},
		}, []string{`a f {"x":1}`, `b g {}`}},
		{"no index", [][]openai.ToolCall{
			{{ID: "a", Function: openai.FunctionCall{Name: "f", Arguments: `{"x"`}}},
			{{Function: openai.FunctionCall{Arguments: `:2}`}}},
			{{ID: "b", Function: openai.FunctionCall{Name: "g", Arguments: `{}`}}},
		}, []string{`a f {"x":2}`, `b g {}`}},
	}
	for _, tt := range tests {
		var calls []openai.ToolCall
		for _, d := range tt.deltas {
			calls = mergeToolCalls(calls, d)
		}
		if len(calls) != len(tt.want) {
			t.Fatalf("%s: %d calls, want %d", tt.name, len(calls), len(tt.want))
		}
		for i, c := range calls {
			if got := c.ID + " " + c.Function.Name + " " + c.Function.Arguments; got != tt.want[i] {
				t.Errorf("%s: call %d = %q, want %q", tt.name, i, got, tt.want[i])
			}
		}
	}
}

func TestDeltaSink(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		attempts [][]string
		want     []string
	}{
		{"one attempt", [][]string{{"a ", "b ", "c"}}, []string{"a ", "b ", "c"}},
		{"retry repeats the same text", [][]string{{"hello ", "wor"}, {"hel", "lo w", "orld", "!"}}, []string{"hello ", "wor", "ld", "!"}},
		{"retry differs", [][]string{{"hello ", "wor"}, {"hel", "p me"}}, []string{"hello ", "wor", "help me"}},
		{"retry shorter", [][]string{{"hello world"}, {"hi"}}, []string{"hello world", "hi"}},
	}
	for _, tt := range tests {
		var got []string
		s := &deltaSink{f: func(d string) { got = append(got, d) }}
		for _, a := range tt.attempts {
			s.start()
			for _, d := range a {
				s.write(d)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: deltas %q, want %q", tt.name, got, tt.want)
		}
	}
}
