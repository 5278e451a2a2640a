package web

import (
	"image"
	"image/color"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalizeURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		want   string
		search bool
	}{
		{"https://example.com/a", "https://example.com/a", false},
		{"example.com", "https://example.com", false},
		{"docs.python.org/3/library", "https://docs.python.org/3/library", false},
		{"localhost:8080/x", "http://localhost:8080/x", false},
		{"127.0.0.1:9000", "http://127.0.0.1:9000", false},
		{"about:blank", "about:blank", false},
		{"  HTTP://Example.com  ", "HTTP://Example.com", false},
		{"opening hours of the louvre", "", true},
		{"weather", "", true},
		{"file:///tmp/x.html", "file:///tmp/x.html", false},
	}
	for _, tt := range tests {
		got, search := normalizeURL(tt.in)
		if got != tt.want || search != tt.search {
			t.Errorf("normalizeURL(%q) = %q, %v; want %q, %v", tt.in, got, search, tt.want, tt.search)
		}
	}
}

func TestSearchURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ tmpl, q, want string }{
		{"https://www.bing.com/search?q={query}", "a b&c", "https://www.bing.com/search?q=a+b%26c"},
		{"https://duckduckgo.com/?q=%s&ia=web", "go 1.26", "https://duckduckgo.com/?q=go+1.26&ia=web"},
		{"https://search.example/?q=", "x", "https://search.example/?q=x"},
	}
	for _, tt := range tests {
		if got := searchURL(tt.tmpl, tt.q); got != tt.want {
			t.Errorf("searchURL(%q, %q) = %q, want %q", tt.tmpl, tt.q, got, tt.want)
		}
	}
}

func TestDomainPolicy(t *testing.T) {
	t.Parallel()
	p := newDomainPolicy([]string{"example.com", "docs.test"}, []string{"ads.example.com,https://evil.test/"})
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://example.com/", true},
		{"https://www.example.com/a", true},
		{"https://ads.example.com/x", false},
		{"https://notexample.com/", false},
		{"https://docs.test:8443/", true},
		{"https://evil.test/", false},
		{"about:blank", true},
		{"file:///etc/passwd", false},
	}
	for _, tt := range tests {
		if err := p.check(tt.url); (err == nil) != tt.ok {
			t.Errorf("check(%q) = %v, want ok=%v", tt.url, err, tt.ok)
		}
	}
	if err := newDomainPolicy(nil, nil).check("file:///x"); err != nil {
		t.Errorf("no policy refuses %v", err)
	}
	if err := newDomainPolicy(nil, []string{"bad.test"}).check("https://fine.test/"); err != nil {
		t.Errorf("block list refuses an unlisted domain: %v", err)
	}
}

func TestTargetLine(t *testing.T) {
	t.Parallel()
	got := targetLine(markTarget{ID: 12, Name: `Vault "A"`, Role: "link", Tools: []string{"click", "hover"}})
	want := `{"id": 12, "name": "Vault \"A\"", "role": "link", "tools": ["click", "hover"]}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	got = targetLine(markTarget{ID: 3, Name: "q", Role: "textbox", Tools: []string{"input_text"}, Value: "kiwi"})
	if !strings.HasSuffix(got, `"tools": ["input_text"], "value": "kiwi"}`) {
		t.Fatalf("value missing: %s", got)
	}
}

func TestStateTextPosition(t *testing.T) {
	t.Parallel()
	o := &observation{pageData: pageData{pageMetrics: pageMetrics{URL: "https://x.test/", Title: "X [beta]", VH: 900, PageHeight: 3600, ScrollY: 900}}}
	got := o.stateText()
	mustContain(t, got, "[X (beta)](https://x.test/)", "The viewport shows 25% of the webpage, and is positioned 25% down from the top of the page.", "The viewport shows no text.")
}

func TestChunkText(t *testing.T) {
	t.Parallel()
	text := strings.Repeat("word ", 1000) + "\n\n" + strings.Repeat("other ", 500)
	chunks := chunkText(text, 2000)
	if len(chunks) < 4 {
		t.Fatalf("%d chunks", len(chunks))
	}
	for _, c := range chunks {
		if len(c) > 2000 {
			t.Fatalf("chunk of %d bytes", len(c))
		}
	}
	if got := strings.Join(strings.Fields(strings.Join(chunks, " ")), " "); got != strings.Join(strings.Fields(text), " ") {
		t.Fatal("chunks lost text")
	}
	if c := chunkText("short", 2000); len(c) != 1 || c[0] != "short" {
		t.Fatalf("short text: %q", c)
	}
}

func FuzzChunkText(f *testing.F) {
	f.Add("hello world\n\nsecond paragraph", 8)
	f.Add(strings.Repeat("é", 50), 7)
	f.Fuzz(func(t *testing.T, text string, size int) {
		if size < 4 || size > 1<<16 || !utf8.ValidString(text) {
			t.Skip()
		}
		chunks := chunkText(text, size)
		for _, c := range chunks {
			if len(c) > size {
				t.Fatalf("chunk of %d > %d", len(c), size)
			}
			if !utf8.ValidString(c) {
				t.Fatalf("chunk splits a rune: %q", c)
			}
		}
		if strings.Join(strings.Fields(strings.Join(chunks, " ")), "") != strings.Join(strings.Fields(text), "") {
			t.Fatalf("chunks lost text")
		}
	})
}

func TestAnnotateDrawsBoxesAndScales(t *testing.T) {
	t.Parallel()
	src := image.NewRGBA(image.Rect(0, 0, 1440, 900))
	for i := range src.Pix {
		src.Pix[i] = 255
	}
	o := &observation{pageData: pageData{
		pageMetrics: pageMetrics{VW: 1440, VH: 900},
		Targets: []markTarget{
			{ID: 10, InView: true, Rects: [][4]float64{{100, 100, 200, 50}}},
			{ID: 11, InView: false, Rects: [][4]float64{{100, 2000, 200, 50}}},
		},
	}}
	img := annotate(src, o, 720, 450)
	if b := img.Bounds(); b.Dx() != 720 || b.Dy() != 450 {
		t.Fatalf("size %v", b)
	}
	// After halving, target 10's box spans (50,50)-(150,75); its edges have
	// the palette's colour, not the white of the page.
	want := palette[10%len(palette)]
	if got := img.RGBAAt(100, 74); got != want {
		t.Fatalf("box edge pixel %v, want %v", got, want)
	}
	if got := img.RGBAAt(51, 40); got != want {
		t.Fatalf("label background above the box %v, want %v", got, want)
	}
	if got := img.RGBAAt(100, 62); got != (color.RGBA{255, 255, 255, 255}) {
		t.Fatalf("inside of the box changed: %v", got)
	}
}

// TestToolNamesAvoidReservedNames: chat templates reserve some tool names
// for built-in tools and refuse any other definition of them (llama.cpp
// with Llama 3.1/3.3: "Parameters of tool web_search must only have these
// properties: query"), so no WebSurfer tool may take one.
func TestToolNamesAvoidReservedNames(t *testing.T) {
	t.Parallel()
	reserved := map[string]bool{
		"web_search": true, "brave_search": true, "wolfram_alpha": true,
		"python": true, "code_interpreter": true, "ipython": true,
	}
	names := toolNames(allTools())
	for n := range names {
		if reserved[n] {
			t.Errorf("tool %q has a name chat templates reserve", n)
		}
	}
	if !names["search_web"] {
		t.Errorf("no search_web tool among %v", names)
	}
}
