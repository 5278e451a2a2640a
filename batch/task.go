package batch

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Task is one line of a task file.
type Task struct {
	// ID names the task in results; it is unique within the file.
	ID string `json:"id"`
	// Task is the request as the file gives it.
	Task string `json:"task"`
	// Files are absolute paths of the files (or folders) copied into the
	// task's work dir before it starts.
	Files []string `json:"files,omitempty"`
	// Answer is the expected answer, when the file gives one. It is used
	// for scoring only and never shown to the agents.
	Answer string `json:"answer,omitempty"`
	// HasAnswer says whether the file gave an answer (an empty expected
	// answer is still one).
	HasAnswer bool `json:"-"`
	// Line is the task's line in the file, for messages.
	Line int `json:"-"`
}

// Format names of a task line.
const (
	FormatM1   = "m1"   // {"id", "task", "files", "answer"}
	FormatGAIA = "gaia" // GAIA's metadata.jsonl: task_id, Question, file_name, Final answer
)

// gaiaHidden is the "Final answer" of GAIA's test split, whose answers are
// kept secret: such a task has no expected answer.
const gaiaHidden = "?"

// maxLine bounds one line of a task file.
const maxLine = 16 << 20

// LoadFile reads a task file: JSON lines in m1's form or GAIA's
// metadata.jsonl as it is. File names are relative to the task file's
// folder.
func LoadFile(path string) ([]Task, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read the task file: %w", err)
	}
	defer f.Close()
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("read the task file: %w", err)
	}
	tasks, err := Parse(f, filepath.Dir(abs))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return tasks, nil
}

// Parse reads task lines from r; relative file names are taken from dir.
// Each line may be in m1's form or GAIA's; blank lines are skipped. Every
// file a task names must exist.
func Parse(r io.Reader, dir string) ([]Task, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), maxLine)
	var tasks []Task
	seen := map[string]int{}
	dirs := map[string]string{}
	n := 0
	for sc.Scan() {
		n++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		t, err := parseLine(b, n, dir)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if prev, dup := seen[t.ID]; dup {
			return nil, fmt.Errorf("line %d: task id %q is already used on line %d: ids must be unique", n, t.ID, prev)
		}
		seen[t.ID] = n
		d := DirName(t.ID)
		if other, clash := dirs[d]; clash {
			return nil, fmt.Errorf("line %d: task ids %q and %q differ only in characters a folder name cannot hold: rename one", n, other, t.ID)
		}
		dirs[d] = t.ID
		tasks = append(tasks, t)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("line %d is longer than %d MiB", n+1, maxLine>>20)
		}
		return nil, err
	}
	if len(tasks) == 0 {
		return nil, errors.New(`no tasks: write one JSON object a line, e.g. {"id": "t1", "task": "What is 2**10?", "answer": "1024"}`)
	}
	return tasks, nil
}

func parseLine(b []byte, line int, dir string) (Task, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return Task{}, fmt.Errorf("not a JSON object: %w", err)
	}
	t := Task{Line: line}
	var err error
	var names []string
	if _, gaia := raw["Question"]; gaia {
		if t.ID, err = scalar(raw, "task_id"); err != nil {
			return t, err
		}
		if t.Task, err = scalar(raw, "Question"); err != nil {
			return t, err
		}
		var name string
		if name, err = scalar(raw, "file_name"); err != nil {
			return t, err
		}
		if name != "" {
			names = []string{name}
		}
		if _, ok := raw["Final answer"]; ok {
			if t.Answer, err = scalar(raw, "Final answer"); err != nil {
				return t, err
			}
			t.HasAnswer = t.Answer != gaiaHidden
			if !t.HasAnswer {
				t.Answer = ""
			}
		}
	} else {
		if _, ok := raw["task"]; !ok {
			return t, errors.New(`no "task" (m1's form: {"id", "task", "files", "answer"}) and no "Question" (GAIA's metadata.jsonl)`)
		}
		if t.ID, err = scalar(raw, "id"); err != nil {
			return t, err
		}
		if t.Task, err = scalar(raw, "task"); err != nil {
			return t, err
		}
		if f, ok := raw["files"]; ok && string(f) != "null" {
			if err := json.Unmarshal(f, &names); err != nil {
				return t, errors.New(`"files" must be a list of file names`)
			}
		}
		if _, ok := raw["answer"]; ok && string(raw["answer"]) != "null" {
			if t.Answer, err = scalar(raw, "answer"); err != nil {
				return t, err
			}
			t.HasAnswer = true
		}
	}
	if t.ID == "" {
		t.ID = fmt.Sprintf("line-%d", line)
	}
	if strings.TrimSpace(t.Task) == "" {
		return t, fmt.Errorf("task %q is empty", t.ID)
	}
	for _, name := range names {
		if strings.TrimSpace(name) == "" {
			return t, fmt.Errorf("task %q names an empty file", t.ID)
		}
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if _, err := os.Stat(p); err != nil {
			return t, fmt.Errorf("task %q: file %s: %w (file names are relative to the task file's folder)", t.ID, name, errors.Unwrap(err))
		}
		t.Files = append(t.Files, p)
	}
	return t, nil
}

// scalar reads key as text: a JSON string, or a number or boolean as
// written. A missing key or null is "".
func scalar(raw map[string]json.RawMessage, key string) (string, error) {
	v, ok := raw[key]
	if !ok || string(v) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s, nil
	}
	var x any
	if json.Unmarshal(v, &x) == nil {
		switch x.(type) {
		case float64, bool:
			return string(v), nil
		}
	}
	return "", fmt.Errorf("%q must be a string", key)
}

// DirName is the folder name of task id under the batch's tasks folder:
// the id itself when it is a plain name, else its plain characters and a
// hash of the whole id, so two ids never share a folder.
func DirName(id string) string {
	var b strings.Builder
	plain := len(id) <= 64 && id != "." && id != ".."
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			if b.Len() < 48 {
				b.WriteRune(r)
			}
		default:
			plain = false
			if b.Len() < 48 {
				b.WriteByte('_')
			}
		}
	}
	if plain && b.Len() > 0 {
		return b.String()
	}
	sum := sha256.Sum256([]byte(id))
	return strings.TrimLeft(b.String(), ".") + "-" + hex.EncodeToString(sum[:4])
}

// Prompt is the request the agents get for t: the task, what the files
// are, and, when the task is scored, how to state the answer so that it
// can be scored. The expected answer itself is never part of it.
func Prompt(t Task) string {
	var b strings.Builder
	b.WriteString(strings.TrimSpace(t.Task))
	if len(t.Files) > 0 {
		names := make([]string, len(t.Files))
		for i, f := range t.Files {
			names[i] = filepath.Base(f)
		}
		fmt.Fprintf(&b, "\n\nThe task comes with these files in the working directory: %s.", strings.Join(names, ", "))
	}
	if t.HasAnswer {
		b.WriteString("\n\n" + AnswerFormat)
	}
	return b.String()
}

// AnswerFormat is added to every scored task, so the final answer ends
// in a form the scorer reads (see Extract).
const AnswerFormat = "End your final answer with a line of the form FINAL ANSWER: <answer>, where <answer> is only the answer: a number (digits, no thousands separators or units unless asked), as few words as possible, or a comma-separated list of numbers and/or words."
