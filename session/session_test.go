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
