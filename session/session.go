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
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

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

// Statuses of a session besides the result statuses of agent
// (success, incomplete, error, cancelled).
const (
	// StatusRunning is recorded while a run goes on.
	StatusRunning = "running"
	// StatusStale is never recorded: List and Stat report it for a
	// session recorded as running whose m1 is gone (killed, or the
	// machine went down), so nothing will ever finish it but a resume.
	StatusStale = "stale"
)

// Meta is the summary of a session shown by `m1 sessions`.
type Meta struct {
	ID string `json:"id"`
	// Task is the task, or its first MaxMetaTask bytes and "…" when it is
	// longer: the list reads every summary, and the transcript keeps the
	// task whole.
	Task    string      `json:"task"`
	Status  string      `json:"status"`
	Turns   int         `json:"turns"`
	Usage   agent.Usage `json:"usage"`
	Created time.Time   `json:"created"`
	Updated time.Time   `json:"updated"`
	// Duration is the run time over all runs of the session.
	Duration time.Duration `json:"duration"`
	// Reason says why the last run ended as it did: the error, the limit
	// reached, "interrupted". Empty for a success.
	Reason string `json:"reason,omitempty"`
	// PID is the process that ran the session last.
	PID int `json:"pid,omitempty"`
}

// Session is one run's directory, open for writing. While it is open, this
// process holds the directory's lock: a second m1 cannot open it.
type Session struct {
	ID  string
	Dir string

	mu         sync.Mutex
	transcript *os.File
	size       int64 // bytes of whole lines in the transcript
	werr       error // the transcript write that failed; later appends fail too
	meta       Meta
	saver      *saver
	lock       *os.File
}

// MaxMetaTask is how much of the task a session's summary keeps.
const MaxMetaTask = 8 << 10

// head returns s cut to at most n bytes on a character boundary, with "…"
// when it was cut.
func head(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// InUseError is returned when a session is open in another m1 process.
type InUseError struct {
	ID string
	// PID is the process holding the session, 0 when unknown.
	PID int
}

func (e *InUseError) Error() string {
	who := "another m1 process"
	if e.PID > 0 {
		who = fmt.Sprintf("another m1 process (pid %d)", e.PID)
	}
	return fmt.Sprintf("session %s is in use by %s: wait for that run to end, or stop it, then try again", e.ID, who)
}

// Create makes a new session directory under root for task.
func Create(root, task string) (*Session, error) {
	id := time.Now().UTC().Format("20060102-150405") + "-" + agent.NewID()[:6]
	dir := filepath.Join(root, id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create session directory: %w", err)
	}
	lk, err := lock(dir, id)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	s := &Session{ID: id, Dir: dir, lock: lk,
		meta: Meta{ID: id, Task: head(task, MaxMetaTask), Status: StatusRunning, Created: now, Updated: now, PID: os.Getpid()}}
	if err := writeJSON(filepath.Join(dir, MetaFile), s.meta); err != nil {
		s.unlock()
		return nil, fmt.Errorf("create session: %w", err)
	}
	if err := s.open(); err != nil {
		s.unlock()
		return nil, err
	}
	return s, nil
}

// Open reopens an existing session for appending, as resume does. A
// session another m1 has open is an *InUseError. A transcript whose last
// line was torn (by a crash or a full disk) has that line ended, so what
// is appended now starts on a line of its own.
func Open(root, id string) (*Session, error) {
	dir, err := find(root, id)
	if err != nil {
		return nil, err
	}
	s := &Session{ID: filepath.Base(dir), Dir: dir}
	if s.lock, err = lock(dir, s.ID); err != nil {
		return nil, err
	}
	if err := readJSON(filepath.Join(dir, MetaFile), &s.meta); err != nil {
		s.unlock()
		return nil, fmt.Errorf("session %s: %w", id, err)
	}
	s.meta.PID = os.Getpid()
	if err := s.open(); err != nil {
		s.unlock()
		return nil, err
	}
	return s, nil
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
	f, err := os.OpenFile(filepath.Join(s.Dir, TranscriptFile), os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open transcript: %w", err)
	}
	if s.size, err = repairTail(f); err != nil {
		f.Close()
		return fmt.Errorf("open transcript of session %s: %w", s.ID, err)
	}
	s.transcript = f
	s.saver = newSaver()
	return nil
}

// repairTail ends a torn last line with a newline and returns the size of
// the file. The torn bytes are kept, not cut: they are what was written,
// and a reader reports the line as damaged rather than failing on it.
func repairTail(f *os.File) (int64, error) {
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 {
		return 0, err
	}
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, fi.Size()-1); err != nil {
		return 0, fmt.Errorf("read its last line: %w", err)
	}
	if last[0] == '\n' {
		return fi.Size(), nil
	}
	if _, err := f.Write([]byte{'\n'}); err != nil {
		return 0, fmt.Errorf("end its torn last line: %w", err)
	}
	return fi.Size() + 1, nil
}

// Append writes one event to the transcript. Stream deltas are left out:
// the whole message follows them. Once a write failed (a full disk), the
// part of the line it wrote is cut off again and every later Append fails
// with the same error: a transcript with a hole in it would read as if
// nothing had been lost.
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
	if s.werr != nil {
		return s.werr
	}
	// One write per line, straight to the file: nothing waits in a buffer
	// for a crash to lose.
	n, err := s.transcript.Write(append(b, '\n'))
	if err != nil {
		if n > 0 {
			s.transcript.Truncate(s.size)
		}
		s.werr = &WriteError{ID: s.ID, Path: s.transcript.Name(), Err: err}
		return s.werr
	}
	s.size += int64(n)
	return nil
}

// WriteError is a transcript that could not be written, as on a full
// disk. The run cannot go on without losing what it says next.
type WriteError struct {
	ID   string
	Path string
	Err  error
}

func (e *WriteError) Error() string {
	return fmt.Sprintf("could not write the transcript %s: %v: free some space (or fix the state dir), then continue with m1 resume %s",
		e.Path, e.Err, e.ID)
}

func (e *WriteError) Unwrap() error { return e.Err }

// Finish records how the run ended: the result's status, and why (the
// error, the limit reached). It is written with the next checkpoint, or by
// Close.
func (s *Session) Finish(status, reason string) error {
	s.mu.Lock()
	s.meta.Status, s.meta.Reason = status, reason
	s.meta.Updated = time.Now().UTC()
	m, err := json.MarshalIndent(s.meta, "", "  ")
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("save session summary: %w", err)
	}
	if err := s.saver.save(filepath.Join(s.Dir, MetaFile), m); err != nil {
		return fmt.Errorf("save session summary: %w", err)
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
	if status == StatusRunning {
		s.meta.Reason = ""
	}
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
	err := readJSON(filepath.Join(s.Dir, CheckpointFile), &cp)
	if errors.Is(err, os.ErrNotExist) {
		return cp, &NoCheckpointError{Meta: s.Meta()}
	}
	if err != nil {
		return cp, fmt.Errorf("session %s has no usable checkpoint: %w", s.ID, err)
	}
	return cp, nil
}

// NoCheckpointError is a session that cannot be resumed because its run
// ended before the first turn was saved.
type NoCheckpointError struct{ Meta Meta }

func (e *NoCheckpointError) Error() string {
	m := e.Meta
	how := "stopped"
	switch m.Status {
	case agent.StatusError:
		how = "failed"
	case agent.StatusCancelled:
		how = "was interrupted"
	}
	msg := fmt.Sprintf("session %s cannot be resumed: it %s before its first turn ended, so there is no checkpoint to go on from", m.ID, how)
	if m.Reason != "" {
		msg += " (" + m.Reason + ")"
	}
	return msg + `; start the task again with m1 "task"`
}

// Meta returns the session's summary.
func (s *Session) Meta() Meta {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.meta
}

// Close writes the pending checkpoint and summary, closes the transcript
// and releases the session's lock.
func (s *Session) Close() error {
	var err error
	if s.saver != nil {
		if err = s.saver.close(); err != nil {
			err = fmt.Errorf("save checkpoint: %w", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.transcript != nil {
		err = errors.Join(err, s.transcript.Close())
		s.transcript = nil
	}
	s.unlock()
	return err
}

func (s *Session) unlock() {
	if s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
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
		if !e.IsDir() {
			continue
		}
		if m, err := readMeta(filepath.Join(root, e.Name())); err == nil {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

// readMeta reads the summary of the session in dir, with a run recorded as
// running but no longer alive reported as stale.
func readMeta(dir string) (Meta, error) {
	var m Meta
	if err := readJSON(filepath.Join(dir, MetaFile), &m); err != nil {
		return m, err
	}
	if m.Status == StatusRunning {
		if alive, pid := held(dir); !alive {
			m.Status = StatusStale
		} else if pid > 0 {
			m.PID = pid
		}
	}
	return m, nil
}

// Stat returns the summary of session id (or a unique prefix of it) under
// root, as List shows it.
func Stat(root, id string) (Meta, error) {
	dir, err := find(root, id)
	if err != nil {
		return Meta{}, err
	}
	m, err := readMeta(dir)
	if err != nil {
		return m, fmt.Errorf("session %s: %w", id, err)
	}
	return m, nil
}

// Remove deletes session id (or a unique prefix of it) under root and
// returns its summary. A session in use by a running m1 is an
// *InUseError and stays.
func Remove(root, id string) (Meta, error) {
	dir, err := find(root, id)
	if err != nil {
		return Meta{}, err
	}
	return removeDir(dir)
}

func removeDir(dir string) (Meta, error) {
	m, err := readMeta(dir)
	if err != nil {
		return m, fmt.Errorf("session %s: %w", filepath.Base(dir), err)
	}
	// Holding the lock while removing keeps a resume from starting on a
	// half-removed session.
	lk, err := lock(dir, m.ID)
	if err != nil {
		return m, err
	}
	defer lk.Close()
	if err := os.RemoveAll(dir); err != nil {
		return m, fmt.Errorf("remove session %s: %w", m.ID, err)
	}
	return m, nil
}

// PruneOptions choose the sessions Prune removes.
type PruneOptions struct {
	// Before: only sessions last updated before this time go.
	Before time.Time
	// Statuses, when set, keeps the prune to sessions with one of these
	// statuses (StatusStale included).
	Statuses []string
	// DryRun lists what would go and removes nothing.
	DryRun bool
}

// Prune removes the sessions under root that opts choose, never one in
// use, and returns the summaries of those removed (or, with DryRun, of
// those that would be), oldest first.
func Prune(root string, opts PruneOptions) ([]Meta, error) {
	all, err := List(root)
	if err != nil {
		return nil, err
	}
	var gone []Meta
	var errs []error
	for i := len(all) - 1; i >= 0; i-- {
		m := all[i]
		if !m.Updated.Before(opts.Before) || (len(opts.Statuses) > 0 && !slices.Contains(opts.Statuses, m.Status)) {
			continue
		}
		if m.Status == StatusRunning {
			continue // alive: its lock is held
		}
		if !opts.DryRun {
			if _, err := removeDir(filepath.Join(root, m.ID)); err != nil {
				var inUse *InUseError
				if !errors.As(err, &inUse) {
					errs = append(errs, err)
				}
				continue
			}
		}
		gone = append(gone, m)
	}
	return gone, errors.Join(errs...)
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

// MaxLine is the longest transcript line read; a longer one is skipped
// and reported as damaged.
const MaxLine = 64 << 20

// BadLine is a transcript line that is not a JSON event: torn by a crash
// or a full disk, or damaged since.
type BadLine struct {
	// Line is the line's number, from 1.
	Line int
	// Torn is set when it is the last line and has no end: a run was cut
	// off while writing it (or is writing it now).
	Torn bool
	Err  error
}

func (b BadLine) String() string {
	if b.Torn {
		return fmt.Sprintf("transcript line %d is incomplete (the run was cut off while writing it) and was skipped", b.Line)
	}
	return fmt.Sprintf("transcript line %d is not a JSON event and was skipped: %v", b.Line, b.Err)
}

// ReadTranscript calls fn for each event of a transcript. A line that is
// not a JSON event is skipped, not fatal, so one damaged line never hides
// the rest of a session; the skipped lines are returned for the reader to
// report. The error is fn's, or the reader's.
func ReadTranscript(r io.Reader, fn func(agent.Event) error) ([]BadLine, error) {
	return readTranscript(r, fn, MaxLine)
}

func readTranscript(r io.Reader, fn func(agent.Event) error, maxLine int) ([]BadLine, error) {
	br := bufio.NewReaderSize(r, 64*1024)
	var bad []BadLine
	var buf []byte
	for line := 1; ; line++ {
		buf = buf[:0]
		tooLong := false
		var err error
		for {
			var chunk []byte
			chunk, err = br.ReadSlice('\n')
			if len(buf)+len(chunk) > maxLine {
				tooLong, buf = true, buf[:0]
			} else if !tooLong {
				buf = append(buf, chunk...)
			}
			if err != bufio.ErrBufferFull {
				break
			}
		}
		if err != nil && err != io.EOF {
			return bad, fmt.Errorf("read transcript: %w", err)
		}
		ended := len(buf) > 0 && buf[len(buf)-1] == '\n'
		switch {
		case tooLong:
			bad = append(bad, BadLine{Line: line, Err: fmt.Errorf("longer than %d bytes", maxLine)})
		case len(strings.TrimSpace(string(buf))) == 0:
		default:
			var e agent.Event
			if jerr := json.Unmarshal(buf, &e); jerr != nil {
				bad = append(bad, BadLine{Line: line, Torn: !ended && err == io.EOF, Err: jerr})
			} else if ferr := fn(e); ferr != nil {
				return bad, ferr
			}
		}
		if err == io.EOF {
			return bad, nil
		}
	}
}

// ReadEvents calls fn for each event of a transcript, skipping lines that
// are not JSON events (ReadTranscript reports them).
func ReadEvents(r io.Reader, fn func(agent.Event) error) error {
	_, err := ReadTranscript(r, fn)
	return err
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
