package batch

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/m1-project/m1/agent"
)

// ResultsFile and SummaryFile are the files a batch writes in its out dir.
const (
	ResultsFile = "results.jsonl"
	SummaryFile = "summary.json"
)

// Result is one line of results.jsonl: how a task ended.
type Result struct {
	ID string `json:"id"`
	// Status is success, incomplete (a limit stopped it; the answer is a
	// best effort) or error.
	Status      string `json:"status"`
	FinalAnswer string `json:"final_answer"`
	// Correct is set when the task file gave an expected answer: whether
	// the final answer matches it by the scoring rules (docs/batch.md).
	Correct *bool `json:"correct,omitempty"`
	// Expected is the task file's answer, when it gave one.
	Expected         string  `json:"expected,omitempty"`
	Turns            int     `json:"turns"`
	Tokens           int     `json:"tokens"`
	PromptTokens     int     `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	CostUSD          float64 `json:"cost_usd"`
	// DurationMS is the time the task ran, over all its runs.
	DurationMS int64  `json:"duration_ms"`
	SessionID  string `json:"session_id,omitempty"`
	StopReason string `json:"stop_reason,omitempty"`
	// Error says why a task ended in error.
	Error string `json:"error,omitempty"`
	// Worker and Attempts are set by a batch that ran on Temporal: the
	// worker that finished the task and how many attempts it took.
	Worker   string    `json:"worker,omitempty"`
	Attempts int       `json:"attempts,omitempty"`
	Ended    time.Time `json:"ended"`
}

// FromEvent fills r from a run's result event.
func (r *Result) FromEvent(ev agent.Event) {
	r.Status, r.FinalAnswer, r.StopReason = ev.Status, ev.FinalAnswer, ev.StopReason
	r.Turns, r.CostUSD, r.DurationMS, r.SessionID = ev.Turns, ev.CostUSD, ev.DurationMS, ev.SessionID
	r.PromptTokens, r.CompletionTokens = 0, 0
	for _, u := range ev.Usage {
		r.PromptTokens += u.PromptTokens
		r.CompletionTokens += u.CompletionTokens
	}
	r.Tokens = r.PromptTokens + r.CompletionTokens
	if ev.Status == agent.StatusError && r.Error == "" {
		r.Error = ev.StopReason
	}
}

// score sets Correct and Expected from t.
func (r *Result) score(t Task) {
	if !t.HasAnswer {
		r.Correct, r.Expected = nil, ""
		return
	}
	ok := r.Status != agent.StatusError && r.FinalAnswer != "" && Score(Extract(r.FinalAnswer), t.Answer)
	r.Correct, r.Expected = &ok, t.Answer
}

// Summary is the state of a batch at its end.
type Summary struct {
	// Tasks is the number of tasks in the file; Ended those with a
	// result, from this run or an earlier one.
	Tasks int `json:"tasks"`
	Ended int `json:"ended"`
	// ByStatus counts tasks by status: success, incomplete and error for
	// ended tasks, interrupted for those stopped part-way (a rerun resumes
	// them) and not_started.
	ByStatus map[string]int `json:"by_status"`
	// Scored is the number of ended tasks with an expected answer; Correct
	// how many of them were answered right; Accuracy is Correct/Scored.
	Scored   int     `json:"scored"`
	Correct  int     `json:"correct"`
	Accuracy float64 `json:"accuracy"`
	// Tokens and CostUSD add up every ended task.
	Tokens  int     `json:"tokens"`
	CostUSD float64 `json:"cost_usd"`
	// Ran is the number of tasks that ended in this run, WallMS how long
	// the run took and TasksPerHour Ran per hour of it.
	Ran          int     `json:"ran"`
	WallMS       int64   `json:"wall_ms"`
	TasksPerHour float64 `json:"tasks_per_hour"`
	// Interrupted is set when the run was stopped before every task ended.
	Interrupted bool `json:"interrupted,omitempty"`
}

// summarize adds up the results of tasks.
func summarize(tasks []Task, results map[string]Result, interrupted map[string]bool, ran int, wall time.Duration) Summary {
	s := Summary{Tasks: len(tasks), ByStatus: map[string]int{}, Ran: ran, WallMS: wall.Milliseconds()}
	for _, t := range tasks {
		r, ok := results[t.ID]
		switch {
		case ok:
			s.Ended++
			s.ByStatus[r.Status]++
			s.Tokens += r.Tokens
			s.CostUSD += r.CostUSD
			if r.Correct != nil {
				s.Scored++
				if *r.Correct {
					s.Correct++
				}
			}
		case interrupted[t.ID]:
			s.ByStatus["interrupted"]++
		default:
			s.ByStatus["not_started"]++
		}
	}
	if s.Scored > 0 {
		s.Accuracy = float64(s.Correct) / float64(s.Scored)
	}
	if wall > 0 {
		s.TasksPerHour = float64(ran) / wall.Hours()
	}
	s.Interrupted = s.Ended < s.Tasks
	return s
}

// resultsLog is results.jsonl, open for appending.
type resultsLog struct {
	mu sync.Mutex
	f  *os.File
}

// openResults reads the results already in path (the last line of a task
// wins) and opens it for appending. A torn last line, as a crash while
// writing leaves, is cut off: that task runs again.
func openResults(path string) (*resultsLog, map[string]Result, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("open the results: %w", err)
	}
	fail := func(err error) (*resultsLog, map[string]Result, error) {
		f.Close()
		return nil, nil, err
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return fail(fmt.Errorf("read %s: %w", path, err))
	}
	keep := len(data)
	if keep > 0 && data[keep-1] != '\n' {
		keep = bytes.LastIndexByte(data, '\n') + 1
	}
	results := map[string]Result{}
	sc := bufio.NewScanner(bytes.NewReader(data[:keep]))
	sc.Buffer(nil, maxLine)
	n := 0
	for sc.Scan() {
		n++
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var r Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.ID == "" {
			return fail(fmt.Errorf("%s line %d is not a result: fix or remove it, or use another --out", path, n))
		}
		results[r.ID] = r
	}
	if err := sc.Err(); err != nil {
		return fail(fmt.Errorf("read %s: %w", path, err))
	}
	if keep < len(data) {
		if err := f.Truncate(int64(keep)); err != nil {
			return fail(fmt.Errorf("cut the torn last line of %s: %w", path, err))
		}
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		return fail(err)
	}
	return &resultsLog{f: f}, results, nil
}

// add writes r as one line and syncs it, so a result once reported is on
// disk.
func (l *resultsLog) add(r Result) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return errors.New("results file closed")
	}
	if _, err := l.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write the results: %w", err)
	}
	return l.f.Sync()
}

func (l *resultsLog) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
