package mcp

import (
	"encoding/json"
	"fmt"
	"strings"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	openai "github.com/sashabaranov/go-openai"
)

// toolset is the server's tools as the model is offered them.
type toolset struct {
	defs []openai.Tool
	// byName maps the name the model sees to the server's tool.
	byName map[string]*sdk.Tool
}

// readResource is the one tool m1 adds to a server's own, for a server
// that offers resources: it reads one, so the resource links a tool
// returns can be followed.
var readResource = &sdk.Tool{
	Name:        "read_resource",
	Description: "Read a resource of this MCP server by its URI (from the list of resources, a resource link or a tool's result); text comes back as it is, pictures as pictures.",
	InputSchema: map[string]any{"type": "object", "required": []string{"uri"},
		"properties": map[string]any{"uri": map[string]any{"type": "string", "description": "the resource's URI"}}},
	Annotations: &sdk.ToolAnnotations{ReadOnlyHint: true},
}

// resourceParams are read_resource's arguments.
type resourceParams struct {
	URI string `json:"uri"`
}

// newToolset offers every tool with its own name, description and input
// schema, and read_resource when the server has resources. Names the
// OpenAI API refuses (it takes ^[a-zA-Z0-9_-]{1,64}$; MCP names may hold
// dots and slashes and be longer) get the nearest name it takes, and the
// model's calls map back.
func newToolset(tools []*sdk.Tool, resources bool) toolset {
	if resources {
		tools = append(tools[:len(tools):len(tools)], readResource)
	}
	ts := toolset{byName: map[string]*sdk.Tool{}}
	for _, t := range tools {
		name := offeredName(t.Name, ts.byName)
		ts.byName[name] = t
		desc := t.Description
		if desc == "" && t.Annotations != nil {
			desc = t.Annotations.Title
		}
		ts.defs = append(ts.defs, openai.Tool{
			Type: openai.ToolTypeFunction,
			Function: &openai.FunctionDefinition{
				Name:        name,
				Description: desc,
				Parameters:  inputSchema(t.InputSchema),
			},
		})
	}
	return ts
}

// names lists the offered names, in the server's order.
func (ts toolset) names() []string {
	out := make([]string, len(ts.defs))
	for i, d := range ts.defs {
		out[i] = d.Function.Name
	}
	return out
}

// offeredName is name if the OpenAI API takes it as a function name,
// otherwise name with every other character replaced by _ and cut to 64,
// made unique among taken.
func offeredName(name string, taken map[string]*sdk.Tool) string {
	var b strings.Builder
	for _, r := range name {
		if r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	base := b.String()
	if base == "" {
		base = "tool"
	}
	if len(base) > 64 {
		base = base[:64]
	}
	out := base
	for i := 2; taken[out] != nil; i++ {
		suffix := fmt.Sprintf("_%d", i)
		out = base[:min(len(base), 64-len(suffix))] + suffix
	}
	return out
}

// inputSchema passes the tool's JSON schema on as it is, except that an
// object schema gets the "type" and "properties" keys the OpenAI API
// insists on (MCP servers may leave properties out when there are none).
func inputSchema(s any) json.RawMessage {
	raw, err := json.Marshal(s)
	if err != nil || string(raw) == "null" {
		return json.RawMessage(`{"properties":{},"type":"object"}`)
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return raw
	}
	changed := false
	if _, ok := m["type"]; !ok {
		m["type"], changed = "object", true
	}
	if _, ok := m["properties"]; !ok && m["type"] == "object" {
		m["properties"], changed = map[string]any{}, true
	}
	if !changed {
		return raw
	}
	out, err := json.Marshal(m)
	if err != nil {
		return raw
	}
	return out
}

// readOnly reports whether the server marks the tool as one that changes
// nothing (annotations.readOnlyHint).
func readOnly(t *sdk.Tool) bool { return t.Annotations != nil && t.Annotations.ReadOnlyHint }

// Limits of the description the Orchestrator reads every turn.
const (
	maxInstructions = 600
	maxToolDesc     = 100
	maxDescription  = 1500
)

// describe tells the Orchestrator what the agent can do, from the
// server's own words: its name, its instructions and its tools, each with
// the first sentence of its description. It stays within
// maxDescription, listing the tools left over by name only.
func describe(name string, impl *sdk.Implementation, instructions string, tools []*sdk.Tool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "An agent that acts through the tools of the MCP server %q", name)
	if impl != nil && impl.Name != "" {
		title := impl.Title
		if title == "" {
			title = impl.Name
		}
		fmt.Fprintf(&b, " (%s %s)", title, impl.Version)
	}
	b.WriteString(".")
	if s := oneLine(instructions); s != "" {
		b.WriteString(" The server says: " + clip(s, maxInstructions))
	}
	if len(tools) == 0 {
		b.WriteString(" It offers no tools.")
		return b.String()
	}
	b.WriteString(" Its tools: ")
	for i, t := range tools {
		item := t.Name
		if d := firstSentence(t.Description); d != "" {
			item += " (" + clip(d, maxToolDesc) + ")"
		}
		if i > 0 {
			item = "; " + item
		}
		if b.Len()+len(item) > maxDescription {
			rest := make([]string, 0, len(tools)-i)
			for _, r := range tools[i:] {
				rest = append(rest, r.Name)
			}
			more := "; also " + strings.Join(rest, ", ")
			if b.Len()+len(more) > maxDescription+300 {
				more = fmt.Sprintf("; and %d more", len(rest))
			}
			b.WriteString(more)
			break
		}
		b.WriteString(item)
	}
	b.WriteString(".")
	return b.String()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// firstSentence is the first sentence of s on one line.
func firstSentence(s string) string {
	s = oneLine(s)
	if i := strings.Index(s, ". "); i >= 0 {
		s = s[:i+1]
	}
	return strings.TrimSuffix(s, ".")
}

// clip cuts s to at most n bytes on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return strings.TrimSpace(s[:n]) + "…"
}
