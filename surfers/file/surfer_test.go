package file

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/model"
	"github.com/m1-project/m1/model/scripted"
	"github.com/m1-project/m1/surfers/file/convert"
	"github.com/m1-project/m1/surfers/file/internal/fixtures"
)

// fixtureWorkDir writes the fixtures and a long paged text file into a
// fresh work dir.
func fixtureWorkDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := fixtures.Write(dir); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&b, "Section %d says hello. Filler words follow so the page fills up nicely.\n", i)
		if i == 25 {
			b.WriteString("NEEDLE-ALPHA marks the spot.\n")
		}
		if i == 35 {
			b.WriteString("NEEDLE-BETA marks another spot.\n")
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "long.txt"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// call is one scripted tool call.
type call struct{ name, args string }

// scriptedSurfer returns a FileSurfer whose model answers each Step with
// the next reply of replies, served over HTTP by the scripted server.
func scriptedSurfer(t *testing.T, dir string, vision bool, replies []scripted.Reply, opts ...Option) (*Surfer, *scripted.Server) {
	t.Helper()
	srv := scripted.New(t, &scripted.Scenario{Name: "filesurfer", Rules: []scripted.Rule{{Name: "steps", Replies: replies}}})
	client, err := model.New(model.Endpoint{Model: "test-model", BaseURL: srv.URL(), APIKey: "test", Info: model.Info{Vision: vision, FunctionCalling: true}}, model.WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	return New(client, append([]Option{WithWorkDir(dir)}, opts...)...), srv
}

func calls(cs ...call) scripted.Reply {
	var r scripted.Reply
	for _, c := range cs {
		r.ToolCalls = append(r.ToolCalls, scripted.ToolCall{Name: c.name, Arguments: c.args})
	}
	return r
}

func step(t *testing.T, s *Surfer, instruction string) agent.Message {
	t.Helper()
	msg, err := s.Step(context.Background(), agent.Turn{Thread: []agent.Message{agent.NewMessage(agent.OrchestratorName, instruction)}})
	if err != nil {
		t.Fatalf("Step: %v", err)
	}
	return msg
}

func mustContain(t *testing.T, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("reply lacks %q; got:\n%s", w, got)
		}
	}
}

func TestOpenAndPage(t *testing.T) {
	t.Parallel()
	dir := fixtureWorkDir(t)
	s, srv := scriptedSurfer(t, dir, false, []scripted.Reply{
		calls(call{"open_path", `{"path":"long.txt"}`}),
		calls(call{"page_down", `{}`}),
		calls(call{"page_down", `{}`}, call{"page_up", `{}`}),
		calls(call{"page_up", `{}`}, call{"page_up", `{}`}),
	}, WithViewportSize(1000))

	msg := step(t, s, "Open long.txt")
	mustContain(t, msg.Content, "Path: long.txt\nTitle: long.txt\nViewport position: Showing page 1 of ", "\n=======================\nSection 1 says hello.")
	pages := len(s.viewer.pages)
	if pages < 3 {
		t.Fatalf("pages = %d, want several", pages)
	}
	msg = step(t, s, "Scroll down")
	mustContain(t, msg.Content, fmt.Sprintf("Showing page 2 of %d.", pages))
	msg = step(t, s, "Down then up")
	mustContain(t, msg.Content, fmt.Sprintf("Showing page 2 of %d.", pages))
	msg = step(t, s, "Up twice")
	mustContain(t, msg.Content, "Already at the first page.", fmt.Sprintf("Showing page 1 of %d.", pages))

	// Every page ends at whitespace: no word is cut.
	for i := 0; i < pages-1; i++ {
		text := s.viewer.text(i)
		if last := text[len(text)-1]; last != ' ' && last != '\n' {
			t.Errorf("page %d ends mid-word: %q", i+1, text[len(text)-20:])
		}
	}
	reqs := srv.Requests()
	if len(reqs) != 4 {
		t.Fatalf("requests = %d, want 4", len(reqs))
	}
	var names []string
	for _, tl := range reqs[0].Request.Tools {
		names = append(names, tl.Function.Name)
	}
	if got := strings.Join(names, ","); got != "open_path,page_up,page_down,find_on_page_ctrl_f,find_next" {
		t.Errorf("tools offered = %s", got)
	}
	last := reqs[3].Request.Messages
	if !strings.Contains(last[len(last)-1].Content, "Viewport position: Showing page 2") {
		t.Errorf("the prompt should carry the viewer state; got %q", last[len(last)-1].Content)
	}
	if !strings.Contains(last[1].Content, "(Orchestrator) Up twice") {
		t.Errorf("the prompt should carry the instruction; got %q", last[1].Content)
	}
}

func TestFind(t *testing.T) {
	t.Parallel()
	dir := fixtureWorkDir(t)
	s, _ := scriptedSurfer(t, dir, false, []scripted.Reply{
		calls(call{"open_path", `{"path":"long.txt"}`}, call{"find_on_page_ctrl_f", `{"search_string":"needle-*  marks"}`}),
		calls(call{"find_next", `{}`}),
		calls(call{"find_next", `{}`}),
		calls(call{"find_on_page_ctrl_f", `{"search_string":"no such words"}`}),
		calls(call{"find_on_page_ctrl_f", `{"search_string":"NEEDLE-BETA"}`}, call{"find_next", `{}`}),
	}, WithViewportSize(1000))

	msg := step(t, s, "Find the needles")
	alpha := s.viewer.page
	mustContain(t, msg.Content, "NEEDLE-ALPHA marks")
	msg = step(t, s, "next")
	mustContain(t, msg.Content, "NEEDLE-BETA marks")
	if s.viewer.page <= alpha {
		t.Errorf("find_next went from page %d to %d", alpha+1, s.viewer.page+1)
	}
	msg = step(t, s, "next again")
	mustContain(t, msg.Content, "continued from the start", "NEEDLE-ALPHA")
	before := s.viewer.page
	msg = step(t, s, "find missing")
	mustContain(t, msg.Content, "The search string 'no such words' was not found in long.txt; the viewport did not move.")
	if s.viewer.page != before {
		t.Errorf("a failed search moved the viewport")
	}
	msg = step(t, s, "find the only beta")
	mustContain(t, msg.Content, "No further match for 'NEEDLE-BETA'", "NEEDLE-BETA marks")
}

func TestDirectoryListing(t *testing.T) {
	t.Parallel()
	dir := fixtureWorkDir(t)
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	s, _ := scriptedSurfer(t, dir, false, []scripted.Reply{calls(call{"open_path", `{"path":"."}`})}, WithViewportSize(100000))
	msg := step(t, s, "What files are there?")
	mustContain(t, msg.Content, "Path: .\nTitle: Index of .", "| Name | Size | Modified |", "| sub/ |  |", "| report.xlsx | ", "| memo.docx | 4.4 KB |")
	if strings.Index(msg.Content, "sub/") > strings.Index(msg.Content, "analysis.ipynb") {
		t.Errorf("folders should come first")
	}
}

func TestAccessPolicy(t *testing.T) {
	t.Parallel()
	dir := fixtureWorkDir(t)
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.txt")
	if err := os.WriteFile(secret, []byte("SECRET"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(dir, "link.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "linkdir")); err != nil {
		t.Fatal(err)
	}
	allowed := t.TempDir()
	if err := os.WriteFile(filepath.Join(allowed, "ok.txt"), []byte("ALLOWED-CONTENT"), 0o644); err != nil {
		t.Fatal(err)
	}
	// os.Root refuses absolute links and links into another root; those
	// that land in an allowed folder are still followed.
	if err := os.Symlink(filepath.Join(dir, "plain.txt"), filepath.Join(dir, "abslink.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(allowed, "ok.txt"), filepath.Join(dir, "toallowed.txt")); err != nil {
		t.Fatal(err)
	}
	single := filepath.Join(t.TempDir(), "single.txt")
	if err := os.WriteFile(single, []byte("SINGLE-FILE"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(single), "sibling.txt"), []byte("SIBLING"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ path, want string }{
		{"abslink.txt", "PLAIN-TEXT-MARKER"},
		{"toallowed.txt", "ALLOWED-CONTENT"},
		{single, "SINGLE-FILE"},
		{filepath.Join(filepath.Dir(single), "sibling.txt"), "access denied"},
		{"../" + filepath.Base(outside) + "/secret.txt", "access denied"},
		{secret, "access denied"},
		{"/etc/passwd", "access denied"},
		{"link.txt", "is a symlink to"},
		{"linkdir/secret.txt", "is a symlink to"},
		{"sub/../../x", "access denied"},
		{"missing.txt", "no such file or folder: missing.txt"},
		{"", "open_path needs a path"},
		{filepath.Join(allowed, "ok.txt"), "ALLOWED-CONTENT"},
		{"plain.txt", "PLAIN-TEXT-MARKER"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			args, _ := json.Marshal(map[string]string{"path": tt.path})
			s, _ := scriptedSurfer(t, dir, false, []scripted.Reply{calls(call{"open_path", string(args)})}, WithAllowPaths(allowed, single))
			msg := step(t, s, "open it")
			mustContain(t, msg.Content, tt.want)
			if strings.Contains(msg.Content, "SECRET") && !strings.Contains(msg.Content, "secret.txt") {
				t.Errorf("leaked the secret: %s", msg.Content)
			}
		})
	}
}

func TestModelMistakes(t *testing.T) {
	t.Parallel()
	dir := fixtureWorkDir(t)
	var events []agent.Event
	s, _ := scriptedSurfer(t, dir, false, []scripted.Reply{
		calls(call{"open_path", `{"path": `}, call{"delete_file", `{}`}, call{"page_down", `{}`}, call{"find_next", `{}`}),
		scripted.Text("The memo says revenue peaked in Q3."),
	})
	msg, err := s.Step(context.Background(), agent.Turn{
		Thread: []agent.Message{agent.NewMessage(agent.OrchestratorName, "go")},
		Emit:   func(e agent.Event) { events = append(events, e) },
	})
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, msg.Content, "not valid JSON", `unknown tool "delete_file"`, "page_down needs an open file", "No file is open.")
	if len(events) != 8 || events[0].Type != agent.EventToolCall || events[1].Type != agent.EventToolResult || !events[1].Tool.Error {
		t.Errorf("events = %+v", events)
	}
	msg = step(t, s, "what does it say?")
	if msg.Content != "The memo says revenue peaked in Q3." || msg.Source != agent.FileSurferName {
		t.Errorf("text answer = %+v", msg)
	}
}

// TestEmptyReply checks that a reply with neither content nor tool calls
// becomes a step reply that says so and shows the viewer, rather than an
// empty message the model would get back as an assistant turn without
// content.
func TestEmptyReply(t *testing.T) {
	t.Parallel()
	s, srv := scriptedSurfer(t, fixtureWorkDir(t), false, []scripted.Reply{
		calls(call{"open_path", `{"path": "long.txt"}`}),
		{Empty: true},
		scripted.Text("done"),
	})
	step(t, s, "open long.txt")
	thread := []agent.Message{agent.NewMessage(agent.OrchestratorName, "what does it say?")}
	msg, err := s.Step(context.Background(), agent.Turn{Thread: thread})
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, msg.Content, "The FileSurfer's model returned an empty reply: no tool was called", "long.txt", "Section 1 says hello")
	thread = append(thread, msg, agent.NewMessage(agent.OrchestratorName, "again"))
	if _, err := s.Step(context.Background(), agent.Turn{Thread: thread}); err != nil {
		t.Fatal(err)
	}
	last := srv.Requests()[2].Request.Messages
	for _, m := range last {
		if m.Role == "assistant" && m.Content == "" {
			t.Errorf("an assistant message without content went to the model: %+v", last)
		}
	}
}

func TestModelFailureIsAnError(t *testing.T) {
	t.Parallel()
	s, _ := scriptedSurfer(t, t.TempDir(), false, []scripted.Reply{scripted.Fault(401, "bad key")})
	_, err := s.Step(context.Background(), agent.Turn{Thread: []agent.Message{agent.NewMessage(agent.OrchestratorName, "go")}})
	if err == nil || !strings.Contains(err.Error(), "filesurfer: model call") {
		t.Errorf("err = %v", err)
	}
}

func TestWorkDirMissing(t *testing.T) {
	t.Parallel()
	s, _ := scriptedSurfer(t, filepath.Join(t.TempDir(), "gone"), false, []scripted.Reply{scripted.Text("x")})
	_, err := s.Step(context.Background(), agent.Turn{})
	if err == nil || !strings.Contains(err.Error(), "--work-dir") {
		t.Errorf("err = %v", err)
	}
}

// TestReadsXLSXAndDOCX is the end-to-end path of the example: the
// FileSurfer opens a workbook and a memo, and the answer carries values
// found only inside them.
func TestReadsXLSXAndDOCX(t *testing.T) {
	t.Parallel()
	dir := fixtureWorkDir(t)
	s, srv := scriptedSurfer(t, dir, false, []scripted.Reply{
		calls(call{"open_path", `{"path":"report.xlsx"}`}, call{"find_on_page_ctrl_f", `{"search_string":"Q3"}`}),
		calls(call{"open_path", `{"path":"memo.docx"}`}),
	})
	xlsx := step(t, s, "Which quarter had the highest revenue in report.xlsx?")
	mustContain(t, xlsx.Content, "Path: report.xlsx", "| Q3 | 4711 | XLSX-PEAK-QUARTER |")
	docx, err := s.Step(context.Background(), agent.Turn{Thread: []agent.Message{
		agent.NewMessage(agent.OrchestratorName, "Which quarter had the highest revenue in report.xlsx?"),
		xlsx,
		agent.NewMessage(agent.OrchestratorName, "Does the memo in memo.docx agree?"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, docx.Content, "Path: memo.docx\nTitle: Quarterly Memo", "revenue peaked in **Q3** at 4,711 units", "| North | DOCX-CELL-4711 |")
	// The second request carried the first reply as the FileSurfer's own
	// turn, so the model saw the workbook's values.
	msgs := srv.Requests()[1].Request.Messages
	if len(msgs) != 5 || msgs[2].Role != "assistant" || !strings.Contains(msgs[2].Content, "XLSX-PEAK-QUARTER") {
		t.Errorf("second request messages = %+v", msgs)
	}
}

func TestVisionAttachesImage(t *testing.T) {
	t.Parallel()
	dir := fixtureWorkDir(t)
	for _, vision := range []bool{true, false} {
		s, _ := scriptedSurfer(t, dir, vision, []scripted.Reply{calls(call{"open_path", `{"path":"chart.png"}`})})
		msg := step(t, s, "look")
		mustContain(t, msg.Content, "PNG, 64 × 48 pixels")
		if got := len(msg.Images); (got == 1) != vision {
			t.Errorf("vision=%v: %d images attached", vision, got)
		}
		if vision && msg.Images[0].MIME != "image/png" {
			t.Errorf("mime = %q", msg.Images[0].MIME)
		}
	}
}

func TestCacheByMtimeAndSize(t *testing.T) {
	t.Parallel()
	dir := fixtureWorkDir(t)
	s, _ := scriptedSurfer(t, dir, false, []scripted.Reply{
		calls(call{"open_path", `{"path":"plain.txt"}`}, call{"open_path", `{"path":"plain.txt"}`}),
		calls(call{"open_path", `{"path":"plain.txt"}`}),
	})
	step(t, s, "open twice")
	if s.cache.conversions != 1 {
		t.Errorf("conversions = %d, want 1 (cached)", s.cache.conversions)
	}
	if err := os.WriteFile(filepath.Join(dir, "plain.txt"), []byte("CHANGED-CONTENT, longer than before\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	msg := step(t, s, "open again")
	mustContain(t, msg.Content, "CHANGED-CONTENT")
	if s.cache.conversions != 2 {
		t.Errorf("conversions = %d, want 2 after the change", s.cache.conversions)
	}
}

func TestStateRoundTrip(t *testing.T) {
	t.Parallel()
	dir := fixtureWorkDir(t)
	s, _ := scriptedSurfer(t, dir, false, []scripted.Reply{calls(call{"open_path", `{"path":"long.txt"}`}, call{"page_down", `{}`}, call{"page_down", `{}`})}, WithViewportSize(1000))
	step(t, s, "open and scroll")
	state, err := s.SaveState()
	if err != nil {
		t.Fatal(err)
	}
	r, _ := scriptedSurfer(t, dir, false, []scripted.Reply{scripted.Text("unused")}, WithViewportSize(1000))
	if err := r.LoadState(context.Background(), state); err != nil {
		t.Fatal(err)
	}
	if r.viewer == nil || r.viewer.path != "long.txt" || r.viewer.page != 2 {
		t.Fatalf("restored viewer = %+v", r.viewer)
	}
	if err := r.Reset(context.Background()); err != nil || r.viewer != nil {
		t.Errorf("Reset should close the file")
	}
	// A file gone since the checkpoint leaves the viewer closed.
	if err := r.LoadState(context.Background(), json.RawMessage(`{"path":"gone.txt","page":3}`)); err != nil || r.viewer != nil {
		t.Errorf("LoadState(gone) = %v, viewer %v", err, r.viewer)
	}
}

func TestCorruptFileExplained(t *testing.T) {
	t.Parallel()
	dir := fixtureWorkDir(t)
	if err := os.WriteFile(filepath.Join(dir, "broken.docx"), []byte("PK\x03\x04 this is not really a zip"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, _ := scriptedSurfer(t, dir, false, []scripted.Reply{calls(call{"open_path", `{"path":"broken.docx"}`})})
	msg := step(t, s, "open")
	mustContain(t, msg.Content, "broken.docx could not be fully converted", "Path: broken.docx", "could not be read")
}

func TestRender(t *testing.T) {
	t.Parallel()
	dir := fixtureWorkDir(t)
	var buf bytes.Buffer
	if err := Render(context.Background(), filepath.Join(dir, "report.xlsx"), &buf); err != nil {
		t.Fatal(err)
	}
	doc, _ := convert.Convert(context.Background(), filepath.Join(dir, "report.xlsx"))
	if buf.String() != doc.Markdown {
		t.Errorf("Render should print the whole markdown the agent pages through")
	}
	buf.Reset()
	if err := Render(context.Background(), dir, &buf); err != nil {
		t.Fatal(err)
	}
	mustContain(t, buf.String(), "| memo.docx |")
	bad := filepath.Join(dir, "bad.pdf")
	if err := os.WriteFile(bad, []byte("%PDF-1.7 nonsense"), 0o644); err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	err := Render(context.Background(), bad, &buf)
	var ferr *convert.FormatError
	if !errors.As(err, &ferr) || !strings.Contains(buf.String(), "could not be read") {
		t.Errorf("Render(bad) = %v, wrote %q", err, buf.String())
	}
	if err := Render(context.Background(), filepath.Join(dir, "nope"), &buf); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Render(missing) = %v", err)
	}
}

func TestSplitPages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text string
		size int
	}{
		{"", 10},
		{"short", 100},
		{strings.Repeat("a", 1000), 100}, // no whitespace: hard cuts
		{strings.Repeat("日本語の文章 ", 200), 100}, // multi-byte runes
		{strings.Repeat("word ", 500), 200},
	}
	for _, tt := range tests {
		pages := splitPages(tt.text, tt.size)
		var joined strings.Builder
		for i, p := range pages {
			part := tt.text[p[0]:p[1]]
			if !strings.HasPrefix(tt.text[p[0]:], part) || (i > 0 && p[0] != pages[i-1][1]) {
				t.Fatalf("pages not contiguous")
			}
			if len(part) > tt.size*2 {
				t.Errorf("page of %d bytes for size %d", len(part), tt.size)
			}
			joined.WriteString(part)
		}
		if joined.String() != tt.text {
			t.Errorf("pages do not add up to the text")
		}
		if strings.Contains(tt.text, "日本") {
			for _, p := range pages {
				if !strings.HasPrefix(tt.text[p[0]:], "日") && p[0] != 0 {
					t.Errorf("page starts mid-word: %q", tt.text[p[0]:p[0]+6])
				}
			}
		}
	}
}

func TestCompileQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		q, text string
		match   bool
	}{
		{"hello", "Say HELLO there", true},
		{"he*lo", "Say hello", true},
		{"rev* peak", "revenue   peak", true},
		{"a.b", "axb", false},
		{"(x", "(x", true},
		{"two words", "two\nwords", true},
		{"missing", "nothing here", false},
	}
	for _, tt := range tests {
		re, err := compileQuery(tt.q)
		if err != nil {
			t.Fatalf("%q: %v", tt.q, err)
		}
		if got := re.MatchString(tt.text); got != tt.match {
			t.Errorf("%q on %q = %v, want %v", tt.q, tt.text, got, tt.match)
		}
	}
	if _, err := compileQuery("   "); err == nil {
		t.Errorf("empty query should fail")
	}
}
