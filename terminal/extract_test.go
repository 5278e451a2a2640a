package terminal

import (
	"reflect"
	"strings"
	"testing"

	"github.com/m1-project/m1/agent"
)

func TestExtractBlocks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
		want []CodeBlock
	}{
		{
			name: "none",
			text: "Just prose, with `inline` code.",
			want: nil,
		},
		{
			name: "python",
			text: "Here:\n```python\nprint(1)\n```\nDone.",
			want: []CodeBlock{{Tag: "python", Language: LangPython, Code: "print(1)\n", Closed: true}},
		},
		{
			name: "aliases",
			text: "```py\na\n```\n```Python3\nb\n```\n```shell\nc\n```\n```bash\nd\n```\n```sh\ne\n```",
			want: []CodeBlock{
				{Tag: "py", Language: LangPython, Code: "a\n", Closed: true},
				{Tag: "python3", Language: LangPython, Code: "b\n", Closed: true},
				{Tag: "shell", Language: LangSh, Code: "c\n", Closed: true},
				{Tag: "bash", Language: LangBash, Code: "d\n", Closed: true},
				{Tag: "sh", Language: LangSh, Code: "e\n", Closed: true},
			},
		},
		{
			name: "untagged",
			text: "```\nprint(1)\n```",
			want: []CodeBlock{{Code: "print(1)\n", Closed: true}},
		},
		{
			name: "other language",
			text: "```javascript\nconsole.log(1)\n```",
			want: []CodeBlock{{Tag: "javascript", Code: "console.log(1)\n", Closed: true}},
		},
		{
			name: "info string after the tag",
			text: "```python title=\"x\"\npass\n```",
			want: []CodeBlock{{Tag: "python", Language: LangPython, Code: "pass\n", Closed: true}},
		},
		{
			name: "filename",
			text: "```python\n# filename: tools/hash.py\nprint(2)\n```",
			want: []CodeBlock{{Tag: "python", Language: LangPython, Code: "# filename: tools/hash.py\nprint(2)\n", Filename: "tools/hash.py", Closed: true}},
		},
		{
			name: "filename only on the first line",
			text: "```python\nprint(2)\n# filename: late.py\n```",
			want: []CodeBlock{{Tag: "python", Language: LangPython, Code: "print(2)\n# filename: late.py\n", Closed: true}},
		},
		{
			name: "longer fence holds a shorter one",
			text: "````sh\ncat <<'EOF'\n```\nEOF\n````",
			want: []CodeBlock{{Tag: "sh", Language: LangSh, Code: "cat <<'EOF'\n```\nEOF\n", Closed: true}},
		},
		{
			name: "tilde fence and CRLF",
			text: "~~~python\r\nprint(3)\r\n~~~\r\n",
			want: []CodeBlock{{Tag: "python", Language: LangPython, Code: "print(3)\n", Closed: true}},
		},
		{
			name: "unclosed",
			text: "```python\nprint(4)\n",
			want: []CodeBlock{{Tag: "python", Language: LangPython, Code: "print(4)\n\n", Closed: false}},
		},
		{
			name: "inline triple backticks are not a fence",
			text: "Use ```python``` blocks.",
			want: nil,
		},
		{
			name: "empty block",
			text: "```sh\n```",
			want: []CodeBlock{{Tag: "sh", Language: LangSh, Code: "", Closed: true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := ExtractBlocks(tt.text)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ExtractBlocks(%q)\n got %#v\nwant %#v", tt.text, got, tt.want)
			}
		})
	}
}

func TestCodeBlockRunnable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		b    CodeBlock
		want bool
	}{
		{CodeBlock{Language: LangPython, Closed: true}, true},
		{CodeBlock{Language: LangSh, Closed: true}, true},
		{CodeBlock{Language: LangPython, Closed: false}, false},
		{CodeBlock{Tag: "go", Closed: true}, false},
		{CodeBlock{Closed: true}, false},
	}
	for _, tt := range tests {
		if got := tt.b.Runnable(); got != tt.want {
			t.Errorf("%+v.Runnable() = %v, want %v", tt.b, got, tt.want)
		}
	}
}

func TestLatestBlocks(t *testing.T) {
	t.Parallel()
	msg := func(src, content string) agent.Message { return agent.NewMessage(src, content) }
	tests := []struct {
		name   string
		thread []agent.Message
		want   []string // codes
	}{
		{
			name:   "empty thread",
			thread: nil,
			want:   nil,
		},
		{
			name: "most recent message with code wins",
			thread: []agent.Message{
				msg(agent.CoderName, "```python\nold()\n```"),
				msg(agent.CoderName, "```python\nnew()\n```"),
				msg(agent.OrchestratorName, "Please run the code."),
			},
			want: []string{"new()\n"},
		},
		{
			name: "orchestrator code is skipped",
			thread: []agent.Message{
				msg(agent.CoderName, "```python\ncoder()\n```"),
				msg(agent.OrchestratorName, "Plan:\n```python\nledger()\n```"),
			},
			want: []string{"coder()\n"},
		},
		{
			name: "orchestrator source matched case-insensitively",
			thread: []agent.Message{
				msg("orchestrator", "```sh\nledger\n```"),
			},
			want: nil,
		},
		{
			name: "own output is skipped",
			thread: []agent.Message{
				msg(agent.CoderName, "```sh\necho hi\n```"),
				msg(agent.ComputerTerminalName, "Block 1 (sh) exited with code 0. Output:\n```python\nprinted()\n```"),
			},
			want: []string{"echo hi\n"},
		},
		{
			name: "an untagged block still marks the latest message",
			thread: []agent.Message{
				msg(agent.CoderName, "```python\nold()\n```"),
				msg(agent.CoderName, "```\nuntagged()\n```"),
			},
			want: []string{"untagged()\n"},
		},
		{
			name: "multiple blocks in order",
			thread: []agent.Message{
				msg(agent.CoderName, "First\n```sh\none\n```\nthen\n```python\ntwo\n```"),
			},
			want: []string{"one\n", "two\n"},
		},
		{
			name: "user code counts",
			thread: []agent.Message{
				msg(agent.UserName, "```sh\nls\n```"),
			},
			want: []string{"ls\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, b := range latestBlocks(tt.thread) {
				got = append(got, b.Code)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("codes = %q, want %q", got, tt.want)
			}
		})
	}
}

func FuzzExtractBlocks(f *testing.F) {
	for _, s := range []string{
		"```python\nprint(1)\n```",
		"````sh\n```\n````",
		"~~~\nx\n~~~",
		"```python\n# filename: a.py\n",
		"  ```py x\n\r\n```",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, b := range ExtractBlocks(s) {
			code := strings.TrimSuffix(b.Code, "\n")
			norm := strings.ReplaceAll(s, "\r", "")
			if code != "" && !strings.Contains(norm, strings.ReplaceAll(code, "\r", "")) {
				t.Fatalf("block code %q is not part of the input %q", code, s)
			}
			if b.Language != "" && languages[b.Tag] != b.Language {
				t.Fatalf("tag %q got language %q", b.Tag, b.Language)
			}
			if b.Filename != "" && !strings.Contains(s, b.Filename) {
				t.Fatalf("filename %q not in input", b.Filename)
			}
		}
	})
}
