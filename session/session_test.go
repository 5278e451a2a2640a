package session

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

func TestReadEventsRejectsGarbageMidway(t *testing.T) {
	t.Parallel()
	in := strings.NewReader("{\"type\":\"task\"}\nnot json\n{\"type\":\"result\"}\n")
	err := ReadEvents(in, func(agent.Event) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("ReadEvents = %v, want an error naming line 2", err)
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
