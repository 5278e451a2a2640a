package orchestrator

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	openai "github.com/sashabaranov/go-openai"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/model"
)

// ledgerKeys are the five keys of the progress ledger, in prompt order.
var ledgerKeys = []string{"is_request_satisfied", "is_in_loop", "is_progress_being_made", "next_speaker", "instruction_or_question"}

// responseFormat asks for the ledger's JSON schema. How it is sent — as
// json_schema, llama.cpp's json_object plus schema, json_object, or not at
// all — is the model client's business: it knows what the endpoint takes
// and steps down when the server refuses one. The prompt asks for the JSON
// in words too, so the ledger comes back whichever way it was sent.
func responseFormat(names []string) *openai.ChatCompletionResponseFormat {
	return &openai.ChatCompletionResponseFormat{
		Type: openai.ChatCompletionResponseFormatTypeJSONSchema,
		JSONSchema: &openai.ChatCompletionResponseFormatJSONSchema{
			Name:   "progress_ledger",
			Schema: ledgerSchemaFor(names),
			Strict: true,
		},
	}
}

type rawSchema map[string]any

func (s rawSchema) MarshalJSON() ([]byte, error) { return json.Marshal(map[string]any(s)) }

func ledgerSchemaFor(names []string) json.Marshaler {
	item := func(answer map[string]any) map[string]any {
		return map[string]any{
			"type":                 "object",
			"properties":           map[string]any{"reason": map[string]any{"type": "string"}, "answer": answer},
			"required":             []string{"reason", "answer"},
			"additionalProperties": false,
		}
	}
	boolean := map[string]any{"type": "boolean"}
	props := map[string]any{
		"is_request_satisfied":    item(boolean),
		"is_in_loop":              item(boolean),
		"is_progress_being_made":  item(boolean),
		"next_speaker":            item(map[string]any{"type": "string", "enum": names}),
		"instruction_or_question": item(map[string]any{"type": "string"}),
	}
	return rawSchema{"type": "object", "properties": props, "required": ledgerKeys, "additionalProperties": false}
}

// ParseLedger reads a progress ledger from a model reply. It is lenient
// where models commonly slip — code fences, prose around the object (braces
// in it included), a wrapper object such as {"ledger": {...}}, raw line
// breaks inside strings, "true" as a string, a bare answer without its
// reason, the speaker's name in another case, a null speaker once the
// request is satisfied — and strict where a guess would be wrong: every key
// must be present and the speaker must be on the team. The error says what
// to fix, so it can be fed back to the model.
func ParseLedger(reply string, team []string) (agent.Ledger, error) {
	var l agent.Ledger
	fields, err := extractObject(reply)
	if err != nil {
		return l, err
	}
	norm := normalizeKeys(fields)
	var missing []string
	for _, k := range ledgerKeys {
		if _, ok := norm[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return l, fmt.Errorf("the JSON object lacks the key(s) %s", strings.Join(missing, ", "))
	}
	var errs []error
	boolField := func(key string, dst *agent.LedgerBool) {
		reason, ans, err := splitItem(norm[key])
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
			return
		}
		b, err := asBool(ans)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
			return
		}
		*dst = agent.LedgerBool{Reason: reason, Answer: b}
	}
	// Once the request is satisfied nobody speaks next, so a null or
	// malformed speaker or instruction does not matter.
	stringField := func(key string, dst *agent.LedgerString, needed bool) {
		reason, ans, err := splitItem(norm[key])
		if err == nil {
			var s string
			if s, err = asString(ans); err == nil {
				*dst = agent.LedgerString{Reason: reason, Answer: s}
				return
			}
		}
		if needed {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
	}
	boolField("is_request_satisfied", &l.IsRequestSatisfied)
	boolField("is_in_loop", &l.IsInLoop)
	boolField("is_progress_being_made", &l.IsProgressBeingMade)
	open := !l.IsRequestSatisfied.Answer
	stringField("next_speaker", &l.NextSpeaker, open)
	stringField("instruction_or_question", &l.InstructionOrQuestion, open)
	if len(errs) > 0 {
		return l, errors.Join(errs...)
	}
	if open {
		name, ok := matchSpeaker(l.NextSpeaker.Answer, team)
		if !ok {
			return l, fmt.Errorf("next_speaker %q is not on the team; answer with one of: %s", l.NextSpeaker.Answer, strings.Join(team, ", "))
		}
		l.NextSpeaker.Answer = name
		if strings.TrimSpace(l.InstructionOrQuestion.Answer) == "" {
			return l, errors.New("instruction_or_question is empty; say what the next speaker should do")
		}
	}
	return l, nil
}

// normalizeKeys matches keys case-insensitively, as models sometimes
// capitalise. When a key comes in several spellings the exact one wins,
// then the first in sorted order, so the outcome never depends on map
// order.
func normalizeKeys(fields map[string]json.RawMessage) map[string]json.RawMessage {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	norm := make(map[string]json.RawMessage, len(fields))
	exact := map[string]bool{}
	for _, k := range keys {
		n := strings.ToLower(strings.TrimSpace(k))
		if _, taken := norm[n]; taken && (exact[n] || k != n) {
			continue
		}
		norm[n], exact[n] = fields[k], k == n
	}
	return norm
}

// maxCandidates bounds how many opening braces extractObject tries, so a
// reply full of braces costs little.
const maxCandidates = 64

// extractObject finds the progress ledger's JSON object in s, skipping a
// think block, code fences and prose around it. Prose may hold braces of
// its own, so each balanced {...} is tried in turn; the last that decodes
// and holds a ledger key wins (a model that drafts first answers last),
// after unwrapping a wrapper object. When none does, the first problem
// found is reported.
func extractObject(s string) (map[string]json.RawMessage, error) {
	// The model client takes think blocks out of replies; a reply that
	// reached here some other way is read the same way.
	s, _ = model.SplitThink(s)
	if strings.IndexByte(s, '{') < 0 {
		if strings.TrimSpace(s) == "" {
			return nil, errors.New("the reply is empty; a JSON object was expected")
		}
		return nil, errors.New("the reply holds no JSON object")
	}
	var (
		first    map[string]json.RawMessage
		firstErr error
		found    map[string]json.RawMessage
	)
	tried := 0
	for i := 0; i < len(s) && tried < maxCandidates; i++ {
		if s[i] != '{' {
			continue
		}
		tried++
		obj, n, err := decodeObject(s[i:])
		if err == nil {
			obj = unwrap(obj)
			if hasLedgerKey(obj) {
				found = obj
				// Skip the object's inside: its items are not ledgers.
				i += n - 1
				continue
			}
		}
		if first == nil && firstErr == nil {
			first, firstErr = obj, err
		}
	}
	if found != nil {
		return found, nil
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return first, nil
}

// decodeObject decodes the balanced object s starts with and returns it
// with its length in s. Raw control characters inside strings, which
// models write for line breaks, are escaped first.
func decodeObject(s string) (map[string]json.RawMessage, int, error) {
	var b strings.Builder
	depth, inString, escaped := 0, false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString && c < 0x20:
			fmt.Fprintf(&b, `\u%04x`, c)
			continue
		case inString:
		case c == '{':
			depth++
		case c == '}':
			depth--
		}
		b.WriteByte(c)
		if depth == 0 {
			var obj map[string]json.RawMessage
			if err := json.Unmarshal([]byte(b.String()), &obj); err != nil {
				return nil, i + 1, fmt.Errorf("the JSON object does not parse (%v)", err)
			}
			return obj, i + 1, nil
		}
	}
	return nil, len(s), errors.New("the JSON object is cut off (unbalanced braces)")
}

// unwrap descends into a wrapper such as {"ledger": {...}}: an object
// without ledger keys one of whose values is an object that has some.
func unwrap(obj map[string]json.RawMessage) map[string]json.RawMessage {
	for range 3 {
		if hasLedgerKey(obj) {
			return obj
		}
		var inner map[string]json.RawMessage
		n := 0
		for _, v := range obj {
			var o map[string]json.RawMessage
			if json.Unmarshal(v, &o) == nil && hasLedgerKey(o) {
				inner, n = o, n+1
			}
		}
		if n != 1 {
			return obj
		}
		obj = inner
	}
	return obj
}

func hasLedgerKey(obj map[string]json.RawMessage) bool {
	for k := range obj {
		if slices.Contains(ledgerKeys, strings.ToLower(strings.TrimSpace(k))) {
			return true
		}
	}
	return false
}

// splitItem accepts {"reason": ..., "answer": ...} and, leniently, a bare
// answer with no reason.
func splitItem(raw json.RawMessage) (string, json.RawMessage, error) {
	var item map[string]json.RawMessage
	if err := json.Unmarshal(raw, &item); err != nil {
		// Not an object: take the value itself as the answer.
		return "", raw, nil
	}
	item = normalizeKeys(item)
	answer := item["answer"]
	var reason string
	_ = json.Unmarshal(item["reason"], &reason)
	if answer == nil {
		return "", nil, errors.New(`missing "answer"`)
	}
	return reason, answer, nil
}

func asBool(raw json.RawMessage) (bool, error) {
	if strings.TrimSpace(string(raw)) == "null" {
		return false, errors.New("answer is null, not true or false")
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err == nil {
		return b, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		// Models sometimes end a sentence-like answer with a full stop.
		switch strings.TrimRight(strings.ToLower(strings.TrimSpace(s)), ".!") {
		case "true", "yes", "y":
			return true, nil
		case "false", "no", "n":
			return false, nil
		}
		if v, err := strconv.ParseBool(strings.TrimSpace(s)); err == nil {
			return v, nil
		}
	}
	return false, fmt.Errorf("answer %s is not true or false", truncate(string(raw), 40))
}

func asString(raw json.RawMessage) (string, error) {
	if strings.TrimSpace(string(raw)) == "null" {
		return "", errors.New("answer is null; a string was expected")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	// A number or object: keep its JSON text rather than fail the turn.
	return string(raw), nil
}

// matchSpeaker finds name on the team, ignoring case, spaces, and quotes.
func matchSpeaker(name string, team []string) (string, bool) {
	n := strings.Trim(strings.TrimSpace(name), `"'.`)
	for _, t := range team {
		if strings.EqualFold(n, t) {
			return t, true
		}
	}
	squash := strings.ReplaceAll(n, " ", "")
	for _, t := range team {
		if strings.EqualFold(squash, t) {
			return t, true
		}
	}
	return "", false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
