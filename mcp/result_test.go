package mcp

import (
	"encoding/json"
	"strings"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

func TestConvert(t *testing.T) {
	t.Parallel()
	size := int64(2048)
	tests := []struct {
		name   string
		res    *sdk.CallToolResult
		text   string
		images int
		isErr  bool
	}{
		{"text", &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: "a"}, &sdk.TextContent{Text: "b"}}}, "a\nb", 0, false},
		{"image", &sdk.CallToolResult{Content: []sdk.Content{&sdk.ImageContent{MIMEType: "image/jpeg", Data: make([]byte, 1500)}}},
			"[image 1: image/jpeg, 1.5 kB]", 1, false},
		{"text resource", &sdk.CallToolResult{Content: []sdk.Content{&sdk.EmbeddedResource{Resource: &sdk.ResourceContents{URI: "file:///notes.md", MIMEType: "text/markdown", Text: "# Notes"}}}},
			"[resource file:///notes.md (text/markdown)]\n# Notes", 0, false},
		{"image resource", &sdk.CallToolResult{Content: []sdk.Content{&sdk.EmbeddedResource{Resource: &sdk.ResourceContents{URI: "demo://logo", MIMEType: "image/png", Blob: pngPixel}}}},
			"[image 1 from demo://logo: image/png, 70 bytes]", 1, false},
		{"binary resource", &sdk.CallToolResult{Content: []sdk.Content{&sdk.EmbeddedResource{Resource: &sdk.ResourceContents{URI: "demo://z", MIMEType: "application/gzip", Blob: []byte{1, 2, 3}}}}},
			"[resource demo://z: 3 bytes of binary data (application/gzip); not shown]", 0, false},
		{"link", &sdk.CallToolResult{Content: []sdk.Content{&sdk.ResourceLink{URI: "demo://r/1", Name: "r1", Title: "Resource 1", MIMEType: "text/plain", Size: &size, Description: "a plain resource"}}},
			"[resource link: Resource 1 <demo://r/1> (text/plain), 2.0 kB] a plain resource", 0, false},
		{"audio", &sdk.CallToolResult{Content: []sdk.Content{&sdk.AudioContent{MIMEType: "audio/wav", Data: make([]byte, 10)}}},
			"[audio: audio/wav, 10 bytes; not shown]", 0, false},
		{"error", &sdk.CallToolResult{IsError: true, Content: []sdk.Content{&sdk.TextContent{Text: "no such file"}}},
			"The tool reported an error:\nno such file", 0, true},
		{"structured only", &sdk.CallToolResult{StructuredContent: map[string]any{"temperature": 21}}, `{"temperature":21}`, 0, false},
		{"nothing", &sdk.CallToolResult{}, "(the tool returned no content)", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := convert(tt.res)
			if r.text != tt.text || len(r.images) != tt.images || r.isError != tt.isErr {
				t.Errorf("convert = %q, %d images, error %v; want %q, %d, %v", r.text, len(r.images), r.isError, tt.text, tt.images, tt.isErr)
			}
		})
	}
}

func TestConvertShortensHugeResults(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("é", maxResultChars) // two bytes each
	r := convert(&sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: "START" + big + "END"}}})
	if len(r.text) > maxResultChars+100 || !strings.HasPrefix(r.text, "START") || !strings.HasSuffix(r.text, "END") ||
		!strings.Contains(r.text, "characters cut") || !json.Valid([]byte(`"`+strings.ReplaceAll(r.text, "\n", `\n`)+`"`)) {
		t.Errorf("shortened to %d bytes: %q…", len(r.text), r.text[:40])
	}
}

func TestOfferedNames(t *testing.T) {
	t.Parallel()
	tools := []*sdk.Tool{
		{Name: "get-sum", InputSchema: map[string]any{"type": "object", "properties": map[string]any{"a": map[string]any{"type": "number"}}}},
		{Name: "files.read"}, {Name: "files/read"}, {Name: strings.Repeat("x", 80)},
		{Name: "noprops", InputSchema: map[string]any{"type": "object"}},
	}
	ts := newToolset(tools, false)
	got := strings.Join(ts.names(), " ")
	want := "get-sum files_read files_read_2 " + strings.Repeat("x", 64) + " noprops"
	if got != want {
		t.Errorf("names %q, want %q", got, want)
	}
	if ts.byName["files_read_2"].Name != "files/read" {
		t.Error("a renamed tool does not map back")
	}
	if p := string(ts.defs[0].Function.Parameters.(json.RawMessage)); p != `{"properties":{"a":{"type":"number"}},"type":"object"}` {
		t.Errorf("schema changed: %s", p)
	}
	for i, want := range map[int]string{1: `{"properties":{},"type":"object"}`, 4: `{"properties":{},"type":"object"}`} {
		if p := string(ts.defs[i].Function.Parameters.(json.RawMessage)); p != want {
			t.Errorf("tool %d schema %s, want %s", i, p, want)
		}
	}
}

func TestDescribeStaysShort(t *testing.T) {
	t.Parallel()
	var tools []*sdk.Tool
	for i := range 60 {
		tools = append(tools, &sdk.Tool{Name: "tool" + strings.Repeat("x", i%7) + string(rune('a'+i%26)), Description: strings.Repeat("Does a thing. ", 20)})
	}
	d := describe("big", &sdk.Implementation{Name: "big-server", Version: "9"}, strings.Repeat("Use me well. ", 200), tools)
	if len(d) > maxDescription+400 || !strings.Contains(d, `MCP server "big" (big-server 9)`) || !strings.Contains(d, "(Does a thing)") ||
		!strings.Contains(d, "more") && !strings.Contains(d, "; also ") {
		t.Errorf("%d bytes: %s", len(d), d)
	}
	if d := describe("none", nil, "", nil); !strings.HasSuffix(d, "It offers no tools.") {
		t.Error(d)
	}
}
