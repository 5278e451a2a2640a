package orchestrator

import (
	"strings"
	"testing"
)

var team = []string{"Coder", "ComputerTerminal", "WebSurfer"}

const validLedger = `{
 "is_request_satisfied": {"reason": "not yet", "answer": false},
 "is_in_loop": {"reason": "no", "answer": false},
 "is_progress_being_made": {"reason": "yes", "answer": true},
 "next_speaker": {"reason": "code needed", "answer": "Coder"},
 "instruction_or_question": {"reason": "next step", "answer": "Write the script."}
}`

func TestParseLedgerAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, reply, speaker string
		progress             bool
	}{
		{"plain", validLedger, "Coder", true},
		{"json fence", "```json\n" + validLedger + "\n```", "Coder", true},
		{"bare fence", "```\n" + validLedger + "\n```", "Coder", true},
		{"prose around", "Here is the ledger:\n" + validLedger + "\nHope this helps.", "Coder", true},
		{"string bools", strings.NewReplacer(`"answer": false`, `"answer": "false"`, `"answer": true`, `"answer": "True"`).Replace(validLedger), "Coder", true},
		{"yes no", strings.NewReplacer(`"answer": false`, `"answer": "no"`, `"answer": true`, `"answer": "yes"`).Replace(validLedger), "Coder", true},
		{"speaker case", strings.Replace(validLedger, `"Coder"`, `"coder"`, 1), "Coder", true},
		{"speaker spaced", strings.Replace(validLedger, `"Coder"`, `"Computer Terminal"`, 1), "ComputerTerminal", true},
		{"speaker padded", strings.Replace(validLedger, `"Coder"`, `" WebSurfer. "`, 1), "WebSurfer", true},
		{"key case", strings.Replace(validLedger, `"is_in_loop"`, `"Is_In_Loop"`, 1), "Coder", true},
		{"bare answers", `{"is_request_satisfied": false, "is_in_loop": false, "is_progress_being_made": false, "next_speaker": "Coder", "instruction_or_question": "Go on."}`, "Coder", false},
		{"braces in strings", strings.Replace(validLedger, "Write the script.", "Print {x} and \\\"}\\\".", 1), "Coder", true},
		{"in an array", "[" + validLedger + "]", "Coder", true},
		{"extra keys", strings.Replace(validLedger, "{\n", "{\n \"note\": 1,\n", 1), "Coder", true},
		{"trailing garbage", validLedger + "\n}} ``` and more", "Coder", true},
		{"braces in prose first", "Ledger for {the task}: see {below}.\n" + validLedger, "Coder", true},
		{"wrapped", `{"ledger": ` + validLedger + `}`, "Coder", true},
		{"wrapped twice", `{"response": {"progress_ledger": ` + validLedger + `}, "note": "x"}`, "Coder", true},
		{"wrapper broken", `{"ledger": ` + validLedger + `,}`, "Coder", true},
		{"raw newline in string", strings.Replace(validLedger, "Write the script.", "Write the script.\n\tThen run it.", 1), "Coder", true},
		{"answer with full stop", strings.Replace(validLedger, `"answer": true`, `"answer": "True."`, 1), "Coder", true},
		{"number instruction", strings.Replace(validLedger, `"Write the script."`, `42`, 1), "Coder", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, err := ParseLedger(tt.reply, team)
			if err != nil {
				t.Fatalf("ParseLedger: %v", err)
			}
			if l.NextSpeaker.Answer != tt.speaker {
				t.Errorf("next_speaker = %q, want %q", l.NextSpeaker.Answer, tt.speaker)
			}
			if l.IsProgressBeingMade.Answer != tt.progress {
				t.Errorf("is_progress_being_made = %v, want %v", l.IsProgressBeingMade.Answer, tt.progress)
			}
			if l.IsRequestSatisfied.Answer {
				t.Error("is_request_satisfied = true, want false")
			}
		})
	}
}

func TestParseLedgerSatisfiedNeedsNoSpeaker(t *testing.T) {
	t.Parallel()
	reply := strings.NewReplacer(`"reason": "not yet", "answer": false`, `"reason": "done", "answer": true`, `"Coder"`, `""`).Replace(validLedger)
	l, err := ParseLedger(reply, team)
	if err != nil {
		t.Fatalf("ParseLedger: %v", err)
	}
	if !l.IsRequestSatisfied.Answer {
		t.Fatal("is_request_satisfied = false, want true")
	}
}

// TestParseLedgerSatisfiedNullSpeaker: once the request is satisfied the
// speaker and instruction are not used, so null ones do not cost a retry.
func TestParseLedgerSatisfiedNullSpeaker(t *testing.T) {
	t.Parallel()
	reply := strings.NewReplacer(`"reason": "not yet", "answer": false`, `"reason": "done", "answer": true`,
		`"Coder"`, `null`, `"Write the script."`, `null`).Replace(validLedger)
	l, err := ParseLedger(reply, team)
	if err != nil {
		t.Fatalf("ParseLedger: %v", err)
	}
	if !l.IsRequestSatisfied.Answer || l.NextSpeaker.Answer != "" {
		t.Errorf("ledger %+v", l)
	}
}

// TestParseLedgerDuplicateKeys checks that a key given in two spellings is
// read the same way every time: the exact spelling wins, whatever the
// order of Go's map iteration.
func TestParseLedgerDuplicateKeys(t *testing.T) {
	t.Parallel()
	reply := strings.Replace(validLedger, "{\n", "{\n \"Is_In_Loop\": {\"reason\": \"x\", \"answer\": \"maybe\"},\n \"IS_IN_LOOP\": true,\n", 1)
	for range 50 {
		l, err := ParseLedger(reply, team)
		if err != nil {
			t.Fatalf("ParseLedger: %v", err)
		}
		if l.IsInLoop.Answer {
			t.Fatal("a misspelt duplicate won over the exact key")
		}
	}
	item := strings.Replace(validLedger, `"reason": "no", "answer": false`, `"reason": "no", "Answer": true, "answer": false, "ANSWER": true`, 1)
	for range 50 {
		if l, err := ParseLedger(item, team); err != nil || l.IsInLoop.Answer {
			t.Fatalf("ParseLedger = %+v, %v; want is_in_loop false from the exact key", l.IsInLoop, err)
		}
	}
}

func TestParseLedgerRejects(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, reply, wantErr string }{
		{"empty", "", "empty"},
		{"whitespace", "  \n ", "empty"},
		{"prose only", "I think the Coder should go next.", "no JSON object"},
		{"cut off", validLedger[:len(validLedger)/2], "cut off"},
		{"trailing comma", strings.Replace(validLedger, `"Write the script."}`, `"Write the script."},`, 1), "does not parse"},
		{"single quotes", strings.ReplaceAll(validLedger, `"`, `'`), "does not parse"},
		{"python dict", strings.NewReplacer(`"`, `'`, "false", "False", "true", "True").Replace(validLedger), "does not parse"},
		{"yaml", "is_request_satisfied:\n  reason: no\n  answer: false\nnext_speaker:\n  answer: Coder\n", "no JSON object"},
		{"list of items", `[{"is_request_satisfied": {"reason": "no", "answer": false}}, {"is_in_loop": {"reason": "no", "answer": false}}]`, "lacks the key(s) is_request_satisfied"},
		{"bool answer object", strings.Replace(validLedger, `"answer": false`, `"answer": {"value": false}`, 1), "not true or false"},
		{"speaker object", strings.Replace(validLedger, `"Coder"`, `{"name": "Coder"}`, 1), "not on the team"},
		{"null speaker", strings.Replace(validLedger, `"Coder"`, `null`, 1), "next_speaker: answer is null"},
		{"cut off in prose braces", "Ledger for {the task: " + validLedger[:40], "cut off"},
		{"missing key", strings.Replace(validLedger, `"is_in_loop"`, `"in_loop"`, 1), "is_in_loop"},
		{"missing two", `{"is_request_satisfied": false, "is_in_loop": false, "is_progress_being_made": true}`, "next_speaker, instruction_or_question"},
		{"unknown speaker", strings.Replace(validLedger, `"Coder"`, `"Janitor"`, 1), "not on the team"},
		{"orchestrator speaker", strings.Replace(validLedger, `"Coder"`, `"Orchestrator"`, 1), "not on the team"},
		{"empty speaker", strings.Replace(validLedger, `"Coder"`, `""`, 1), "not on the team"},
		{"bool not bool", strings.Replace(validLedger, `"answer": false`, `"answer": "maybe"`, 1), "not true or false"},
		{"bool number", strings.Replace(validLedger, `"answer": false`, `"answer": 2`, 1), "not true or false"},
		{"null bool", strings.Replace(validLedger, `"answer": false`, `"answer": null`, 1), "not true or false"},
		{"no answer key", strings.Replace(validLedger, `{"reason": "no", "answer": false}`, `{"reason": "no"}`, 1), `missing "answer"`},
		{"null instruction", strings.Replace(validLedger, `"Write the script."`, `null`, 1), "null"},
		{"empty instruction", strings.Replace(validLedger, `"Write the script."`, `""`, 1), "instruction_or_question is empty"},
		{"unbalanced", `{"is_request_satisfied": {"answer": false}`, "cut off"},
		{"not an object inside", `{"is_request_satisfied" false}`, "does not parse"},
		{"only braces", "{}", "lacks"},
		{"python literal", strings.Replace(validLedger, `"answer": false`, `"answer": False`, 1), "does not parse"},
	}
	if len(tests) < 20 {
		t.Fatalf("only %d malformed cases", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseLedger(tt.reply, team)
			if err == nil {
				t.Fatal("ParseLedger accepted a malformed ledger")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not mention %q", err, tt.wantErr)
			}
		})
	}
}

func FuzzParseLedger(f *testing.F) {
	f.Add(validLedger)
	f.Add("```json\n" + validLedger + "\n```")
	f.Add(`{"is_request_satisfied": "true"}`)
	f.Add(`{{{{"`)
	f.Add(`{"a": "\"}`)
	f.Add("{x} {\"ledger\": {\"is_in_loop\": \"a\nb\"}}")
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLedger(s, team)
		if err != nil {
			return
		}
		if !l.IsRequestSatisfied.Answer {
			found := false
			for _, n := range team {
				found = found || n == l.NextSpeaker.Answer
			}
			if !found {
				t.Fatalf("accepted speaker %q not on the team", l.NextSpeaker.Answer)
			}
		}
	})
}
