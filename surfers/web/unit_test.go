package web

import (
	"image"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
		{"view-source:file:///etc/hostname", "view-source:file:///etc/hostname", false},
		{"filesystem:http://x.example/t/a", "filesystem:http://x.example/t/a", false},
		{"javascript:alert(1)", "javascript:alert(1)", false},
		{"example.com:8443/x", "https://example.com:8443/x", false},
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
	p := newDomainPolicy([]string{"example.com", "docs.test", "10.0.0.0/8", "192.168.1.7"}, []string{"ads.example.com,https://evil.test/", "10.9.0.0/16"})
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://example.com/", true},
		{"https://www.example.com/a", true},
		{"https://WWW.EXAMPLE.COM./a", true},
		{"https://ads.example.com/x", false},
		{"https://ads.example.com./x", false},
		{"https://ADS.Example.Com/x", false},
		{"https://notexample.com/", false},
		{"https://docs.test:8443/", true},
		{"https://evil.test/", false},
		{"http://10.1.2.3/", true},
		{"http://10.9.2.3/", false},
		{"http://0xa.9.0.1/", false},
		{"http://192.168.1.7/", true},
		{"http://3232235783/", true}, // 192.168.1.7
		{"http://[::ffff:192.168.1.7]/", true},
		{"http://192.168.1.8/", false},
		{"about:blank", true},
		{"data:text/html,hi", true},
		{"blob:https://example.com/1234", true},
		{"blob:https://evil.test/1234", false},
		{"file:///etc/passwd", false},
		{"about:version", false},
		{"chrome://version", false},
	}
	for _, tt := range tests {
		if err := p.check(tt.url); (err == nil) != tt.ok {
			t.Errorf("check(%q) = %v, want ok=%v", tt.url, err, tt.ok)
		}
	}
	if err := newDomainPolicy(nil, []string{"bad.test"}).check("https://fine.test/"); err != nil {
		t.Errorf("block list refuses an unlisted domain: %v", err)
	}
}

// TestLocalSchemesAlwaysRefused: with no domain flags at all, addresses
// that reach into this machine or the browser itself are refused, and a
// file: refusal names the FileSurfer.
func TestLocalSchemesAlwaysRefused(t *testing.T) {
	t.Parallel()
	p := newDomainPolicy(nil, nil)
	for _, u := range []string{
		"file:///etc/passwd", "FILE:///root/", "file://localhost/etc/shadow",
		"view-source:file:///etc/hostname", "view-source:https://example.com/",
		"chrome://version", "chrome://settings", "chrome-extension://abc/x.html",
		"devtools://devtools/bundled/inspector.html", "chrome-untrusted://x/",
		"filesystem:http://example.com/temporary/x", "about:version", "about:config",
		"javascript:alert(1)", "mailto:a@b.example", "intent://x",
	} {
		err := p.check(u)
		if err == nil {
			t.Errorf("check(%q) allowed a local or internal scheme", u)
			continue
		}
		if strings.Contains(strings.ToLower(u), "file:") && !strings.Contains(err.Error(), "FileSurfer") {
			t.Errorf("check(%q) = %v: does not point to the FileSurfer", u, err)
		}
	}
	for _, u := range []string{"https://example.com/", "http://localhost:8080/", "about:blank", "data:text/html,x", "ws://example.com/s"} {
		if err := p.check(u); err != nil {
			t.Errorf("check(%q) = %v", u, err)
		}
	}
}

// TestCanonHost: every spelling of a host a browser accepts comes out as
// the one the browser connects to, so block lists cannot be sidestepped.
func TestCanonHost(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"localhost.":          "localhost",
		"LOCALHOST":           "localhost",
		"localhost..":         "localhost",
		"[::ffff:127.0.0.1]":  "127.0.0.1",
		"::ffff:7f00:1":       "127.0.0.1",
		"[::1]":               "::1",
		"[fe80::1%25eth0]":    "fe80::1",
		"2130706433":          "127.0.0.1",
		"0x7f.0.0.1":          "127.0.0.1",
		"017700000001":        "127.0.0.1",
		"0177.0.0.1":          "127.0.0.1",
		"127.1":               "127.0.0.1",
		"127.0.0.1.":          "127.0.0.1",
		"0x7f000001":          "127.0.0.1",
		"Example.COM":         "example.com",
		"bücher.example":      "xn--bcher-kva.example",
		"example．com":         "example.com",
		"1.2.3.256":           "1.2.3.256", // not an address: a (bad) name
		"999999999999999999x": "999999999999999999x",
	}
	for in, want := range tests {
		if got := canonHost(in); got != want {
			t.Errorf("canonHost(%q) = %q, want %q", in, got, want)
		}
	}
	p := newDomainPolicy(nil, []string{"localhost", "127.0.0.1"})
	for _, u := range []string{
		"http://localhost./", "http://[::ffff:127.0.0.1]:8080/", "http://LocalHost:1/", "http://127.1/",
		"http://2130706433/", "http://0x7f.0.0.1/", "http://017700000001/", "http://127.0.0.1./",
		"http://sub.localhost/", "http://127.0.0.1@localhost/", "ws://localhost./socket",
	} {
		if p.check(u) == nil {
			t.Errorf("--block-domains localhost,127.0.0.1 let %s through", u)
		}
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

// TestBrowserEnv: Chrome keeps what it needs from m1's environment and
// none of its secrets.
func TestBrowserEnv(t *testing.T) {
	t.Parallel()
	in := []string{
		"PATH=/usr/bin", "HOME=/home/me", "LANG=C.UTF-8", "LC_ALL=C", "DISPLAY=:0",
		"XDG_RUNTIME_DIR=/run/user/1000", "XAUTHORITY=/home/me/.Xauthority", "TZ=UTC",
		"OPENAI_API_KEY=sk-secret", "OPENAI_BASE_URL=http://x", "GITHUB_TOKEN=t", "AWS_SECRET_ACCESS_KEY=s",
		"M1_MODEL=gpt", "XDG_SECRET_TOKEN=x", "LC_API_KEY=x", "DOCKER_HOST=unix:///x", "SSH_AUTH_SOCK=/tmp/a",
	}
	got := strings.Join(browserEnv(in), "\n")
	for _, want := range []string{"PATH=/usr/bin", "HOME=/home/me", "LANG=C.UTF-8", "LC_ALL=C", "DISPLAY=:0", "XDG_RUNTIME_DIR=", "XAUTHORITY=", "TZ=UTC"} {
		if !strings.Contains(got, want) {
			t.Errorf("browser env lacks %q:\n%s", want, got)
		}
	}
	for _, bad := range []string{"OPENAI", "GITHUB", "AWS", "M1_MODEL", "XDG_SECRET", "LC_API_KEY", "DOCKER_HOST", "SSH_AUTH_SOCK"} {
		if strings.Contains(got, bad) {
			t.Errorf("browser env keeps %q:\n%s", bad, got)
		}
	}
	// A TMPDIR too long for Chrome's singleton socket is left out; a
	// short one is kept.
	long := "TMPDIR=/tmp/" + strings.Repeat("d", maxSocketDir)
	if got := browserEnv([]string{long}); len(got) != 0 {
		t.Errorf("browser env keeps a TMPDIR Chrome cannot start under: %q", got)
	}
	if got := browserEnv([]string{"TMPDIR=/var/tmp"}); len(got) != 1 {
		t.Errorf("browser env drops a short TMPDIR: %q", got)
	}
}

// TestSweepProfiles: profiles no process uses are removed (a fresh one
// only once it has a lock, since a starting browser has none yet); those a
// live process names in --user-data-dir, and other folders, stay.
func TestSweepProfiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mk := func(name string, lock bool, age time.Duration) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Join(p, "Default"), 0o755); err != nil {
			t.Fatal(err)
		}
		if lock {
			if err := os.Symlink("host-99999999", filepath.Join(p, "SingletonLock")); err != nil {
				t.Fatal(err)
			}
		}
		if age > 0 {
			old := time.Now().Add(-age)
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
		return p
	}
	dead := mk("chromedp-runner111", true, 0)
	deadOld := mk("chromedp-runner222", false, time.Hour)
	starting := mk("chromedp-runner333", false, 0)
	live := mk("chromedp-runner444", true, 0)
	other := mk("not-a-profile", true, time.Hour)
	cmd := exec.Command("sh", "-c", "sleep 60; true", "fake-chrome", "--user-data-dir="+live)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	removed := sweepProfiles(dir)
	for _, p := range []string{dead, deadOld} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s of a dead browser was kept", p)
		}
	}
	for _, p := range []string{starting, live, other} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed: %v", p, err)
		}
	}
	if len(removed) != 2 {
		t.Errorf("removed %v", removed)
	}
}

func TestSandboxNote(t *testing.T) {
	t.Parallel()
	n := SandboxNote()
	if os.Geteuid() == 0 && !strings.Contains(n, "root") {
		t.Errorf("as root, SandboxNote() = %q", n)
	}
	if os.Geteuid() != 0 && n != "" && !strings.Contains(n, "cannot start") {
		t.Errorf("SandboxNote() = %q", n)
	}
}
