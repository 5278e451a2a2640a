// Package session keeps each run on disk: the transcript as JSON lines,
// written event by event so a crash loses nothing already said, a
// checkpoint of the orchestrator and agents after every turn, and a small
// summary for listing. A session lives in
// $XDG_STATE_HOME/m1/sessions/<id>/ (default ~/.local/state/m1/sessions).
package session

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/m1-project/m1/agent"
)

// File names inside a session directory.
const (
	TranscriptFile = "transcript.jsonl"
	CheckpointFile = "checkpoint.json"
	MetaFile       = "session.json"
)

// Root returns the directory that holds all sessions, from getenv
// (XDG_STATE_HOME, then HOME).
func Root(getenv func(string) string) (string, error) {
	if d := getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "m1", "sessions"), nil
	}
	home := getenv("HOME")
	if home == "" {
		var err error
		if home, err = os.UserHomeDir(); err != nil {
			return "", fmt.Errorf("find the state directory: set XDG_STATE_HOME or HOME: %w", err)
		}
	}
	return filepath.Join(home, ".local", "state", "m1", "sessions"), nil
}

// Meta is the summary of a session shown by `m1 sessions`.
type Meta struct {
	ID      string      `json:"id"`
	Task    string      `json:"task"`
	Status  string      `json:"status"`
	Turns   int         `json:"turns"`
	Usage   agent.Usage `json:"usage"`
	Created time.Time   `json:"created"`
	Updated time.Time   `json:"updated"`
	// Duration is the run time over all runs of the session.
	Duration time.Duration `json:"duration"`
}

// Session is one run's directory, open for writing.
type Session struct {
	ID  string
	Dir string

	mu         sync.Mutex
	transcript *os.File
	meta       Meta
	saver      *saver
}

// Create makes a new session directory under root for task.
func Create(root, task string) (*Session, error) {
	id := time.Now().UTC().Format("20060102-150405") + "-" + agent.NewID()[:6]
	dir := filepath.Join(root, id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create session directory: %w", err)
	}
	now := time.Now().UTC()
	s := &Session{ID: id, Dir: dir, meta: Meta{ID: id, Task: task, Status: "running", Created: now, Updated: now}}
	if err := writeJSON(filepath.Join(dir, MetaFile), s.meta); err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	return s, s.open()
}

// Open reopens an existing session for appending, as resume does.
func Open(root, id string) (*Session, error) {
	dir, err := find(root, id)
	if err != nil {
		return nil, err
	}
	s := &Session{ID: filepath.Base(dir), Dir: dir}
	if err := readJSON(filepath.Join(dir, MetaFile), &s.meta); err != nil {
		return nil, fmt.Errorf("session %s: %w", id, err)
	}
	return s, s.open()
}

// Import makes session id under root continue from cp, a checkpoint saved
// elsewhere (by a worker on another machine that stopped or died), so Open
// and resume go on from it here. The session keeps its id wherever it runs.
// A session this machine already has keeps its transcript and gets cp as
// its checkpoint; a new one starts with an empty transcript, since the
// earlier events stayed on the machine that recorded them.
func Import(root, id string, meta Meta, cp Checkpoint) error {
	if id == "" || strings.ContainsAny(id, `/\`) || id == "." || id == ".." {
		return fmt.Errorf("import session: invalid session id %q", id)
	}
	dir := filepath.Join(root, id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("import session %s: %w", id, err)
	}
	var old Meta
	if readJSON(filepath.Join(dir, MetaFile), &old) == nil && !old.Created.IsZero() {
		meta.Created = old.Created
	}
	meta.ID = id
	now := time.Now().UTC()
	if meta.Created.IsZero() {
		meta.Created = now
	}
	meta.Updated = now
	cp.Version = 1
	if err := writeJSON(filepath.Join(dir, CheckpointFile), cp); err != nil {
		return fmt.Errorf("import session %s: %w", id, err)
	}
	if err := writeJSON(filepath.Join(dir, MetaFile), meta); err != nil {
		return fmt.Errorf("import session %s: %w", id, err)
	}
	return nil
}

func (s *Session) open() error {
	f, err := os.OpenFile(filepath.Join(s.Dir, TranscriptFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open transcript: %w", err)
	}
	s.transcript = f
	s.saver = newSaver()
	return nil
}

// Append writes one event to the transcript. Stream deltas are left out:
// the whole message follows them.
func (s *Session) Append(e agent.Event) error {
	if e.Type == agent.EventDelta {
		return nil
	}
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.transcript == nil {
		return errors.New("session closed")
	}
	// One write per line, straight to the file: nothing waits in a buffer
	// for a crash to lose.
	if _, err := s.transcript.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write transcript: %w", err)
	}
	return nil
}

// Checkpoint is what resume needs: the orchestrator's state and each
// stateful agent's own.
type Checkpoint struct {
	Version      int                        `json:"version"`
	Orchestrator json.RawMessage            `json:"orchestrator"`
	Agents       map[string]json.RawMessage `json:"agents,omitempty"`
	// Settings records the run's options that resume should keep.
	Settings json.RawMessage `json:"settings,omitempty"`
}

// SaveCheckpoint replaces the checkpoint atomically and refreshes the
// summary. The files are written in the background, so the turn does not
// wait for the disk; Close (and LoadCheckpoint) wait for them. An error is
// that of an earlier write.
func (s *Session) SaveCheckpoint(cp Checkpoint, status string, turns int, usage agent.Usage, elapsed time.Duration) error {
	cp.Version = 1
	b, err := json.MarshalIndent(cp, "", "  ")
	if err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	s.mu.Lock()
	s.meta.Status, s.meta.Turns, s.meta.Usage, s.meta.Duration = status, turns, usage, elapsed
	s.meta.Updated = time.Now().UTC()
	m, err := json.MarshalIndent(s.meta, "", "  ")
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("save session summary: %w", err)
	}
	err = errors.Join(s.saver.save(filepath.Join(s.Dir, CheckpointFile), b), s.saver.save(filepath.Join(s.Dir, MetaFile), m))
	if err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	return nil
}

// LoadCheckpoint reads the session's last checkpoint.
func (s *Session) LoadCheckpoint() (Checkpoint, error) {
	var cp Checkpoint
	if s.saver != nil {
		s.saver.flush()
	}
	if err := readJSON(filepath.Join(s.Dir, CheckpointFile), &cp); err != nil {
		return cp, fmt.Errorf("session %s has no usable checkpoint: %w", s.ID, err)
	}
	return cp, nil
}

// Meta returns the session's summary.
func (s *Session) Meta() Meta {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.meta
}

// Close writes the pending checkpoint and closes the transcript.
func (s *Session) Close() error {
	var err error
	if s.saver != nil {
		if err = s.saver.close(); err != nil {
			err = fmt.Errorf("save checkpoint: %w", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.transcript == nil {
		return err
	}
	err = errors.Join(err, s.transcript.Close())
	s.transcript = nil
	return err
}

// List returns the sessions under root, newest first. Directories that are
// not sessions are skipped.
func List(root string) ([]Meta, error) {
	entries, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	var out []Meta
	for _, e := range entries {
		var m Meta
		if e.IsDir() && readJSON(filepath.Join(root, e.Name(), MetaFile), &m) == nil {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

// Last returns the id of the newest session under root.
func Last(root string) (string, error) {
	all, err := List(root)
	if err != nil {
		return "", err
	}
	if len(all) == 0 {
		return "", fmt.Errorf("no sessions in %s yet: run m1 \"task\" first", root)
	}
	return all[0].ID, nil
}

// TranscriptPath returns the transcript file of session id under root.
func TranscriptPath(root, id string) (string, error) {
	dir, err := find(root, id)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, TranscriptFile), nil
}

// find resolves id, or a unique prefix of it, to a session directory.
func find(root, id string) (string, error) {
	if id == "" || strings.ContainsAny(id, `/\`) || id == "." || id == ".." {
		return "", fmt.Errorf("invalid session id %q: see m1 sessions", id)
	}
	dir := filepath.Join(root, id)
	if _, err := os.Stat(filepath.Join(dir, MetaFile)); err == nil {
		return dir, nil
	}
	all, _ := List(root)
	var match []string
	for _, m := range all {
		if strings.HasPrefix(m.ID, id) || strings.HasSuffix(m.ID, id) {
			match = append(match, m.ID)
		}
	}
	switch len(match) {
	case 1:
		return filepath.Join(root, match[0]), nil
	case 0:
		return "", fmt.Errorf("no session %q in %s: see m1 sessions", id, root)
	}
	return "", fmt.Errorf("session id %q is ambiguous (%s): give more of it", id, strings.Join(match, ", "))
}

// ReadEvents calls fn for each event of a transcript. A torn last line, as
// a crash can leave, is skipped; other bad lines are an error.
func ReadEvents(r io.Reader, fn func(agent.Event) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 64*1024*1024)
	var pending error
	line := 0
	for sc.Scan() {
		line++
		if pending != nil {
			return pending
		}
		b := sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		var e agent.Event
		if err := json.Unmarshal(b, &e); err != nil {
			pending = fmt.Errorf("transcript line %d is not a JSON event: %w", line, err)
			continue
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return sc.Err()
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
