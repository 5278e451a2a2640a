package model_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/m1-project/m1/model"
)

var update = flag.Bool("update", false, "rewrite docs/models.md's table from model.Quirks")

const (
	docPath    = "../docs/models.md"
	tableStart = "<!-- quirks table: written by `go test ./model -run TestModelsDoc -update` from model.Quirks; edit the table there -->"
	tableEnd   = "<!-- end of quirks table -->"
)

// quirksTable renders model.Quirks as docs/models.md shows it.
func quirksTable() string {
	var b strings.Builder
	b.WriteString("| server or model | behaviour | what m1 does | test | quirk mode | issue | evidence |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	for _, q := range model.Quirks {
		fmt.Fprintf(&b, "| %s | %s | %s | [%s](../cmd/m1/testdata/script/%s.txtar) | `%s` | %s | %s |\n",
			cell(q.Server), cell(q.Behaviour), cell(q.Handling), q.Test, q.Test, q.Name, q.Issue, cell(q.Evidence))
	}
	return b.String()
}

// TestModelsDoc checks that docs/models.md's table is model.Quirks, that
// every row's script exists, and that every numbered item of the two
// real-model issues has a row (13.11, doctor --probe, has a section).
func TestModelsDoc(t *testing.T) {
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	i, j := strings.Index(s, tableStart), strings.Index(s, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the table markers", docPath)
	}
	want := s[:i+len(tableStart)] + "\n" + quirksTable() + s[j:]
	if *update {
		if err := os.WriteFile(docPath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if s != want {
		t.Errorf("%s's table is not model.Quirks: run go test ./model -run TestModelsDoc -update", docPath)
	}
	for _, q := range model.Quirks {
		if _, err := os.Stat(filepath.Join("..", "cmd", "m1", "testdata", "script", q.Test+".txtar")); err != nil {
			t.Errorf("row %s names the script %s, which does not exist", q.Name, q.Test)
		}
	}
	items := map[string]bool{}
	llama := map[string]bool{} // items with a row about llama.cpp
	for _, q := range model.Quirks {
		for _, it := range strings.Split(q.Issue, ",") {
			items[strings.TrimSpace(it)] = true
			if strings.Contains(q.Server, "llama.cpp") {
				llama[strings.TrimSpace(it)] = true
			}
		}
	}
	for n := 1; n <= 14; n++ {
		// Item 17 is what a real llama.cpp server showed: each of its
		// points has a llama.cpp row.
		if it := fmt.Sprintf("17.%d", n); !llama[it] {
			t.Errorf("no llama.cpp row answers item %s", it)
		}
	}
	for n := 1; n <= 10; n++ {
		if !items[fmt.Sprintf("13.%d", n)] {
			t.Errorf("no row answers item 13.%d", n)
		}
	}
	if !strings.Contains(s, "doctor_probe.txtar") {
		t.Error("the doc does not show m1 doctor --probe's test (item 13.11)")
	}
}
