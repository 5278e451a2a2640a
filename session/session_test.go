package session

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/m1-project/m1/agent"
)

func TestSessionRoundTrip(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s, err := Create(root, "What is 6*7?")
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{agent.EventTask, agent.EventDelta, agent.EventMessage} {
		if err := s.Append(agent.NewEvent(typ, agent.CoderName)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SaveCheckpoint(Checkpoint{Orchestrator: []byte(`{"turns":2}`)}, "running", 2, agent.Usage{PromptTokens: 5}, time.Second); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// A crash can tear the last line; reading skips it.
	path := filepath.Join(s.Dir, TranscriptFile)
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"type":"mess`)
	f.Close()
	file, _ := os.Open(path)
	defer file.Close()
	var types []string
	if err := ReadEvents(file, func(e agent.Event) error { types = append(types, e.Type); return nil }); err != nil {
		t.Fatalf("ReadEvents: %v", err)
	}
	if strings.Join(types, ",") != "task,message" {
		t.Errorf("events = %v: deltas are not kept, the torn line is skipped", types)
	}

	again, err := Open(root, s.ID[len(s.ID)-6:]) // an id's suffix finds it
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	cp, err := again.LoadCheckpoint()
	var compacted bytes.Buffer
	if err == nil {
		err = json.Compact(&compacted, cp.Orchestrator)
	}
	if err != nil || compacted.String() != `{"turns":2}` || cp.Version != 1 {
		t.Errorf("checkpoint = %+v, %v", cp, err)
	}
	list, _ := List(root)
	if len(list) != 1 || list[0].Status != "running" || list[0].Turns != 2 || list[0].Task != "What is 6*7?" {
		t.Errorf("List = %+v", list)
	}
	if _, err := Open(root, "../etc"); err == nil {
		t.Error("Open accepted a path as a session id")
	}
}

func TestReadTranscriptSkipsAndReportsBadLines(t *testing.T) {
	t.Parallel()
	in := strings.NewReader("{\"type\":\"task\"}\nnot json\n\n{\"type\":\"result\"}\n{\"type\":\"mess")
	var types []string
	bad, err := ReadTranscript(in, func(e agent.Event) error { types = append(types, e.Type); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(types, ",") != "task,result" {
		t.Errorf("events = %v, want the good lines on both sides of the bad one", types)
	}
	if len(bad) != 2 || bad[0].Line != 2 || bad[0].Torn || bad[1].Line != 5 || !bad[1].Torn {
		t.Errorf("bad lines = %+v, want line 2 (damaged) and line 5 (torn)", bad)
	}
	if !strings.Contains(bad[0].String(), "line 2") || !strings.Contains(bad[1].String(), "incomplete") {
		t.Errorf("reports = %q, %q", bad[0], bad[1])
	}
}

func TestReadTranscriptSkipsAnOverlongLine(t *testing.T) {
	t.Parallel()
	// Lines longer than the buffer are read in pieces; one longer than
	// the limit is skipped whole.
	long := `{"type":"message","content":"` + strings.Repeat("x", 300<<10) + "\"}\n"
	in := strings.NewReader("{\"type\":\"task\"}\n" + long + "{\"type\":\"result\"}\n")
	var types []string
	bad, err := readTranscript(in, func(e agent.Event) error { types = append(types, e.Type); return nil }, 200<<10)
	if err != nil || strings.Join(types, ",") != "task,result" || len(bad) != 1 || bad[0].Line != 2 {
		t.Errorf("events %v, bad %+v, err %v", types, bad, err)
	}
	types = nil
	in = strings.NewReader("{\"type\":\"task\"}\n" + long)
	if bad, err := readTranscript(in, func(e agent.Event) error { types = append(types, e.Type); return nil }, 400<<10); err != nil || len(bad) != 0 || len(types) != 2 {
		t.Errorf("a long line within the limit: events %v, bad %+v, err %v", types, bad, err)
	}
}

// A torn last line, as a full disk or a crash leaves, is ended when the
// session is opened again: what a resume appends then starts on a line of
// its own and stays readable.
func TestOpenEndsATornLastLine(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s, err := Create(root, "task")
	if err != nil {
		t.Fatal(err)
	}
	s.Append(agent.NewEvent(agent.EventTask, agent.UserName))
	s.Close()
	path := filepath.Join(s.Dir, TranscriptFile)
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"type":"message","content":"half`)
	f.Close()

	again, err := Open(root, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := again.Append(agent.NewEvent(agent.EventResult, agent.OrchestratorName)); err != nil {
		t.Fatal(err)
	}
	again.Close()
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), `"half`+"\n"+`{"type":"result"`) {
		t.Errorf("the torn line was not ended before the append:\n%s", b)
	}
	var types []string
	bad, err := ReadTranscript(bytes.NewReader(b), func(e agent.Event) error { types = append(types, e.Type); return nil })
	if err != nil || strings.Join(types, ",") != "task,result" || len(bad) != 1 || bad[0].Line != 2 || bad[0].Torn {
		t.Errorf("events %v, bad %+v, err %v", types, bad, err)
	}
}

// A transcript write that fails (here /dev/full, which answers every write
// with ENOSPC as a full disk does) is an error, and so is every later
// append: the transcript never gets a hole in the middle.
func TestAppendFailsForGoodAfterAFailedWrite(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full on this system")
	}
	root := t.TempDir()
	s, err := Create(root, "task")
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	path := filepath.Join(s.Dir, TranscriptFile)
	os.Remove(path)
	if err := os.Symlink("/dev/full", path); err != nil {
		t.Fatal(err)
	}
	again, err := Open(root, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	err = again.Append(agent.NewEvent(agent.EventTask, agent.UserName))
	var we *WriteError
	if !errors.As(err, &we) || !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "m1 resume "+s.ID) {
		t.Fatalf("Append = %v, want a *WriteError for ENOSPC that says how to go on", err)
	}
	if err2 := again.Append(agent.NewEvent(agent.EventMessage, agent.CoderName)); err2 != err {
		t.Errorf("second Append = %v, want the first error again", err2)
	}
}

// While a session is open, a second Open (another resume) is refused with
// the holder's pid; once closed it opens again.
func TestOpenSessionIsLocked(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s, err := Create(root, "task")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(root, s.ID)
	var inUse *InUseError
	if !errors.As(err, &inUse) || inUse.PID != os.Getpid() || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("second Open = %v, want an *InUseError naming pid %d", err, os.Getpid())
	}
	if _, err := Remove(root, s.ID); !errors.As(err, &inUse) {
		t.Errorf("Remove of an open session = %v, want an *InUseError", err)
	}
	if m, _ := Stat(root, s.ID); m.Status != StatusRunning {
		t.Errorf("status while open = %q, want running", m.Status)
	}
	s.Close()
	again, err := Open(root, s.ID)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	again.Close()
}

// A run that ends without recording its end (killed) is stale; one that
// records it keeps its status and reason, and resume says in words why a
// session without a checkpoint cannot go on.
func TestStatusStaleFinishAndNoCheckpoint(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	killed, _ := Create(root, "killed")
	killed.Close() // as if the process died: nothing recorded its end
	failed, _ := Create(root, "failed")
	if err := failed.Finish(agent.StatusError, "docker is not running"); err != nil {
		t.Fatal(err)
	}
	failed.Close()

	if m, _ := Stat(root, killed.ID); m.Status != StatusStale {
		t.Errorf("killed run: status %q, want stale", m.Status)
	}
	m, _ := Stat(root, failed.ID)
	if m.Status != agent.StatusError || m.Reason != "docker is not running" || m.PID != os.Getpid() {
		t.Errorf("failed run: %+v", m)
	}
	s, err := Open(root, failed.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.LoadCheckpoint()
	var nc *NoCheckpointError
	if !errors.As(err, &nc) || !strings.Contains(err.Error(), "failed before its first turn") || !strings.Contains(err.Error(), "docker is not running") {
		t.Errorf("LoadCheckpoint = %v", err)
	}
}

// A task of megabytes is kept whole in the transcript; the summary that
// every listing reads keeps its head.
func TestSummaryKeepsTheHeadOfALongTask(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	task := strings.Repeat("é", 1<<20)
	s, err := Create(root, task)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	m, _ := Stat(root, s.ID)
	if len(m.Task) > MaxMetaTask+len("…") || !strings.HasPrefix(task, strings.TrimSuffix(m.Task, "…")) || !strings.HasSuffix(m.Task, "…") || !utf8.ValidString(m.Task) {
		t.Errorf("summary task: %d bytes, valid %v", len(m.Task), utf8.ValidString(m.Task))
	}
}

func TestRemoveAndPrune(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	old := time.Now().Add(-60 * 24 * time.Hour)
	var ids []string
	for i, status := range []string{agent.StatusSuccess, agent.StatusError, agent.StatusIncomplete} {
		s, err := Create(root, fmt.Sprint("task ", i))
		if err != nil {
			t.Fatal(err)
		}
		s.Finish(status, "")
		s.Close()
		ids = append(ids, s.ID)
		if i < 2 {
			setUpdated(t, s.Dir, old)
		}
	}
	busy, _ := Create(root, "busy")
	setUpdated(t, busy.Dir, old)
	defer busy.Close()

	cutoff := time.Now().Add(-30 * 24 * time.Hour)
	dry, err := Prune(root, PruneOptions{Before: cutoff, DryRun: true})
	if err != nil || len(dry) != 2 {
		t.Fatalf("dry run = %v, %v; want the two old finished sessions", dry, err)
	}
	if all, _ := List(root); len(all) != 4 {
		t.Errorf("a dry run removed sessions: %d left", len(all))
	}
	gone, err := Prune(root, PruneOptions{Before: cutoff, Statuses: []string{agent.StatusError}})
	if err != nil || len(gone) != 1 || gone[0].ID != ids[1] {
		t.Errorf("prune of old errors = %v, %v", gone, err)
	}
	if m, err := Remove(root, ids[0][len(ids[0])-6:]); err != nil || m.ID != ids[0] {
		t.Errorf("Remove by suffix = %v, %v", m, err)
	}
	all, _ := List(root)
	if len(all) != 2 {
		t.Errorf("left %v, want the recent session and the busy one", all)
	}
}

func setUpdated(t *testing.T, dir string, when time.Time) {
	t.Helper()
	var m Meta
	if err := readJSON(filepath.Join(dir, MetaFile), &m); err != nil {
		t.Fatal(err)
	}
	m.Updated = when
	if err := writeJSON(filepath.Join(dir, MetaFile), m); err != nil {
		t.Fatal(err)
	}
}

func TestImport(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	cp := Checkpoint{Orchestrator: []byte(`{"task":"t","turns":3}`), Settings: []byte(`{"max_turns":9}`)}
	if err := Import(root, "20260101-000000-abcdef", Meta{Task: "t", Status: "running", Turns: 3}, cp); err != nil {
		t.Fatal(err)
	}
	s, err := Open(root, "20260101-000000-abcdef")
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.LoadCheckpoint()
	if err != nil {
		t.Fatal(err)
	}
	if compact(got.Orchestrator) != string(cp.Orchestrator) || compact(got.Settings) != string(cp.Settings) {
		t.Errorf("checkpoint = %s %s", got.Orchestrator, got.Settings)
	}
	if m := s.Meta(); m.ID != "20260101-000000-abcdef" || m.Turns != 3 || m.Task != "t" {
		t.Errorf("meta = %+v", m)
	}
	if err := s.Append(agent.NewEvent(agent.EventTask, agent.UserName)); err != nil {
		t.Fatal(err)
	}
	created := s.Meta().Created
	s.Close()

	// A second import (the task moved again) replaces the checkpoint and
	// keeps the transcript and the creation time.
	cp.Orchestrator = []byte(`{"task":"t","turns":5}`)
	if err := Import(root, "20260101-000000-abcdef", Meta{Task: "t", Turns: 5}, cp); err != nil {
		t.Fatal(err)
	}
	s, err = Open(root, "20260101-000000-abcdef")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, _ := s.LoadCheckpoint(); compact(got.Orchestrator) != `{"task":"t","turns":5}` {
		t.Errorf("checkpoint after the second import = %s", got.Orchestrator)
	}
	if !s.Meta().Created.Equal(created) {
		t.Errorf("created changed: %v, was %v", s.Meta().Created, created)
	}
	if b, _ := os.ReadFile(filepath.Join(s.Dir, TranscriptFile)); !bytes.Contains(b, []byte(`"type":"task"`)) {
		t.Errorf("transcript lost: %q", b)
	}
	for _, bad := range []string{"", "..", "a/b"} {
		if err := Import(root, bad, Meta{}, cp); err == nil {
			t.Errorf("Import(%q) succeeded", bad)
		}
	}
}

func compact(b []byte) string {
	var out bytes.Buffer
	_ = json.Compact(&out, b)
	return out.String()
}
