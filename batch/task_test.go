package batch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseForms(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sheet.xlsx"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	in := `{"id": "a", "task": "Add.", "files": ["sheet.xlsx"], "answer": 12}

{"task": "No id, no answer."}
{"task_id": "g1", "Question": "GAIA?", "Level": 1, "Final answer": "yes", "file_name": "sheet.xlsx", "Annotator Metadata": {"Steps": "1"}}
{"task_id": "g2", "Question": "Hidden?", "Final answer": "?", "file_name": ""}
{"id": 7, "task": "Numeric id.", "answer": ""}
`
	tasks, err := Parse(strings.NewReader(in), dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []Task{
		{ID: "a", Task: "Add.", Files: []string{filepath.Join(dir, "sheet.xlsx")}, Answer: "12", HasAnswer: true, Line: 1},
		{ID: "line-3", Task: "No id, no answer.", Line: 3},
		{ID: "g1", Task: "GAIA?", Files: []string{filepath.Join(dir, "sheet.xlsx")}, Answer: "yes", HasAnswer: true, Line: 4},
		{ID: "g2", Task: "Hidden?", Line: 5},
		{ID: "7", Task: "Numeric id.", HasAnswer: true, Line: 6},
	}
	if len(tasks) != len(want) {
		t.Fatalf("got %d tasks, want %d: %+v", len(tasks), len(want), tasks)
	}
	for i := range want {
		g, w := tasks[i], want[i]
		if g.ID != w.ID || g.Task != w.Task || g.Answer != w.Answer || g.HasAnswer != w.HasAnswer || g.Line != w.Line ||
			strings.Join(g.Files, ",") != strings.Join(w.Files, ",") {
			t.Errorf("task %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{``, "no tasks"},
		{`not json`, "line 1: not a JSON object"},
		{`{"id": "x"}`, `line 1: no "task"`},
		{`{"id": "x", "task": "  "}`, `task "x" is empty`},
		{`{"id": "x", "task": "t", "files": "a.txt"}`, `"files" must be a list`},
		{`{"id": "x", "task": "t", "files": ["gone.txt"]}`, `file gone.txt: no such file`},
		{"{\"id\": \"x\", \"task\": \"t\"}\n{\"id\": \"x\", \"task\": \"u\"}", `line 2: task id "x" is already used on line 1`},
		{"{\"id\": \"a/b\", \"task\": \"t\"}\n{\"id\": \"a?b\", \"task\": \"u\"}", ""},
		{`{"id": ["x"], "task": "t"}`, `"id" must be a string`},
	} {
		_, err := Parse(strings.NewReader(c.in), t.TempDir())
		switch {
		case c.want == "" && err != nil:
			t.Errorf("Parse(%q): %v", c.in, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("Parse(%q) = %v, want an error with %q", c.in, err, c.want)
		}
	}
}

func TestDirName(t *testing.T) {
	t.Parallel()
	seen := map[string]string{}
	for _, id := range []string{"plain-id_1.x", "c61d22de-5f6c-4958-a7f6-5e9707bd3466", "a/b", "a?b", "..", ".", "../../etc", strings.Repeat("x", 100), "ünï"} {
		d := DirName(id)
		if d == "" || d == "." || d == ".." || strings.ContainsAny(d, `/\`) || len(d) > 64 {
			t.Errorf("DirName(%q) = %q: not a safe folder name", id, d)
		}
		if other, ok := seen[d]; ok {
			t.Errorf("DirName(%q) = DirName(%q) = %q", id, other, d)
		}
		seen[d] = id
	}
	if d := DirName("plain-id_1.x"); d != "plain-id_1.x" {
		t.Errorf("a plain id changed: %q", d)
	}
}

func TestPrompt(t *testing.T) {
	t.Parallel()
	p := Prompt(Task{Task: " What is in it? ", Files: []string{"/data/a.csv", "/data/b.png"}, Answer: "secret-42", HasAnswer: true})
	if !strings.HasPrefix(p, "What is in it?\n\nThe task comes with these files in the working directory: a.csv, b.png.") ||
		!strings.Contains(p, "FINAL ANSWER: <answer>") || strings.Contains(p, "secret-42") {
		t.Errorf("prompt:\n%s", p)
	}
	if p := Prompt(Task{Task: "Say hi."}); p != "Say hi." {
		t.Errorf("an unscored task without files changed: %q", p)
	}
}
