package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/m1-project/m1/console"
	"github.com/m1-project/m1/model/scripted"
	"github.com/m1-project/m1/session"
	"github.com/m1-project/m1/terminal"
)

// TestMain lets testscript run the real m1 main as the "m1" command in a
// subprocess, so exit codes, signals and stdout are the binary's own.
func TestMain(m *testing.M) {
	if os.Getenv("M1_TEST_RUN_MAIN") == "1" {
		// A test runs this binary as m1 itself (see interrupt_test.go).
		os.Exit(Main(os.Args[1:], console.System(), os.Getenv))
	}
	testscript.Main(m, map[string]func(){
		"m1": func() { os.Exit(Main(os.Args[1:], console.System(), os.Getenv)) },
	})
}

// TestScripts runs the end-to-end scripts in testdata/script. Each starts a
// scripted OpenAI-compatible server from a scenario file with the command
// `scripted FILE`, then runs m1 against it.
func TestScripts(t *testing.T) {
	t.Parallel()
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			scenarios, err := filepath.Abs("../../testdata/scenarios")
			if err != nil {
				return err
			}
			env.Setenv("SCENARIOS", scenarios)
			files, err := filepath.Abs("../../testdata/files")
			if err != nil {
				return err
			}
			env.Setenv("FILES", files)
			env.Setenv("XDG_STATE_HOME", filepath.Join(env.WorkDir, "state"))
			env.Setenv("HOME", filepath.Join(env.WorkDir, "home"))
			env.Setenv("OPENAI_API_KEY", "")
			env.Setenv("OPENAI_BASE_URL", "")
			env.Setenv("M1_MODEL", "")
			env.Setenv("NO_COLOR", "")
			for _, k := range []string{"DOCKER_HOST", "CI"} {
				env.Setenv(k, os.Getenv(k))
			}
			env.Setenv("M1_IMAGE", testImage())
			// The sandbox's default CPU limit as a CFS quota per 100 ms
			// period, for scripts that check it.
			env.Setenv("DEFAULT_CPU_QUOTA", strconv.Itoa(int(terminal.DefaultCPUs()*100000)))
			// The third-party MCP servers .ci/run installs with npm.
			env.Setenv("MCPBIN", filepath.Join(os.Getenv(mcpDirEnv), "node_modules", ".bin"))
			return nil
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "docker":
				return dockerCondition()
			case "browser":
				return browserCondition()
			case "mcp":
				return mcpCondition()
			case "root":
				// Root reads files whatever their mode says.
				return os.Geteuid() == 0, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"scripted":     cmdScripted,
			"requests":     cmdRequests,
			"jsonlines":    cmdJSONLines,
			"nosecret":     cmdNoSecret,
			"session-id":   cmdSessionID,
			"nocontainers": cmdNoContainers,
			"site":         cmdSite,
			"noprocs":      cmdNoProcs,
			"swaplink":     cmdSwapLink,
			"toolresults":  cmdToolResults,
			"waitfor":      cmdWaitFor,
			"nosetuid":     cmdNoSetuid,
			"chownr":       cmdChownR,
			"maxbody":      cmdMaxBody,
			"norepeat":     cmdNoRepeat,
			"refused":      cmdRefused,
			"promptmax":    cmdPromptMax,
			"truncated":    cmdTruncated,
			"showrequests": cmdShowRequests,
		},
	})
}

// servers maps each running script to its scripted model server.
var servers = struct {
	sync.Mutex
	m map[*testscript.TestScript]*scripted.Server
}{m: map[*testscript.TestScript]*scripted.Server{}}

func setServer(ts *testscript.TestScript, srv *scripted.Server) {
	servers.Lock()
	defer servers.Unlock()
	servers.m[ts] = srv
	ts.Defer(func() {
		servers.Lock()
		defer servers.Unlock()
		delete(servers.m, ts)
	})
}

func server(ts *testscript.TestScript) *scripted.Server {
	servers.Lock()
	defer servers.Unlock()
	srv := servers.m[ts]
	if srv == nil {
		ts.Fatalf("no scripted server: run `scripted FILE` first")
	}
	return srv
}

// scripted [-quirk MODE]... [-context TOKENS] FILE starts a scripted model
// server for FILE, in the quirk modes given, and points OPENAI_BASE_URL at
// it ($SCRIPTED_ROOT is the same without /v1, for Azure's endpoint).
func cmdScripted(ts *testscript.TestScript, neg bool, args []string) {
	var quirks []string
	window := 0
	for len(args) > 2 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-quirk":
			quirks = append(quirks, args[1])
		case "-context":
			n, err := strconv.Atoi(args[1])
			ts.Check(err)
			window = n
		default:
			ts.Fatalf("scripted: unknown flag %s", args[0])
		}
		args = args[2:]
	}
	if neg || len(args) != 1 {
		ts.Fatalf("usage: scripted [-quirk MODE]... [-context TOKENS] SCENARIO.yaml")
	}
	// $VARS in the scenario expand from the script's environment ($SITE).
	sc, err := scripted.ParseScenario([]byte(os.Expand(ts.ReadFile(args[0]), ts.Getenv)))
	ts.Check(err)
	sc.Quirks = append(sc.Quirks, quirks...)
	if window > 0 {
		sc.Context = window
	}
	srv, err := scripted.Listen("127.0.0.1:0", sc)
	ts.Check(err)
	ts.Defer(srv.Close)
	ts.Setenv("OPENAI_BASE_URL", srv.URL())
	ts.Setenv("SCRIPTED_ROOT", strings.TrimSuffix(srv.URL(), "/v1"))
	ts.Setenv("M1_MODEL", "scripted")
	setServer(ts, srv)
}

// requests [-rule NAME] [-with REGEXP] COUNT [REGEXP]: the server got COUNT
// chat requests whose last message matches REGEXP, that rule NAME served,
// and whose body matches every -with REGEXP.
func cmdRequests(ts *testscript.TestScript, neg bool, args []string) {
	srv := server(ts)
	rule := ""
	var with []*regexp.Regexp
	for len(args) > 1 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-rule":
			rule = args[1]
		case "-with":
			with = append(with, regexp.MustCompile(args[1]))
		default:
			ts.Fatalf("requests: unknown flag %s", args[0])
		}
		args = args[2:]
	}
	if len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: requests [-rule NAME] [-with REGEXP] COUNT [REGEXP]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	var re *regexp.Regexp
	if len(args) == 2 {
		re = regexp.MustCompile(args[1])
	}
	got := 0
	for _, r := range srv.Requests() {
		if rule != "" && r.Rule != rule {
			continue
		}
		if !matchAll(with, r.Body) {
			continue
		}
		if re != nil {
			msgs := r.Request.Messages
			if len(msgs) == 0 || !re.MatchString(msgs[len(msgs)-1].Content) {
				continue
			}
		}
		got++
	}
	if (got == want) == neg {
		ts.Fatalf("got %d matching requests, want %s%d", got, map[bool]string{true: "not ", false: ""}[neg], want)
	}
}

func matchAll(res []*regexp.Regexp, b []byte) bool {
	for _, re := range res {
		if !re.Match(b) {
			return false
		}
	}
	return true
}

// maxbody BYTES: the server got at least one request, and none of its
// bodies was larger than BYTES.
func cmdMaxBody(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: maxbody BYTES")
	}
	limit, err := strconv.Atoi(args[0])
	ts.Check(err)
	reqs := server(ts).Requests()
	if len(reqs) == 0 {
		ts.Fatalf("no requests")
	}
	largest := 0
	for _, r := range reqs {
		largest = max(largest, len(r.Body))
	}
	ts.Logf("largest of %d request bodies: %d bytes", len(reqs), largest)
	if largest > limit {
		ts.Fatalf("a request body of %d bytes, want at most %d", largest, limit)
	}
}

// jsonlines [-first TYPE] [-types T,T,...] FILE: every line of FILE is an
// event valid against docs/events.schema.json, all carry one session id
// (a run that failed before it had a session has none), the last one is a
// result, the first is of type TYPE, and each listed type occurs.
func cmdJSONLines(ts *testscript.TestScript, neg bool, args []string) {
	first, types := "", ""
	for len(args) > 1 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-first":
			first = args[1]
		case "-types":
			types = args[1]
		default:
			ts.Fatalf("jsonlines: unknown flag %s", args[0])
		}
		args = args[2:]
	}
	if neg || len(args) != 1 {
		ts.Fatalf("usage: jsonlines [-first TYPE] [-types T,T] stdout|FILE")
	}
	schema := eventSchema(ts)
	text := ts.ReadFile(args[0])
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 16<<20)
	var last map[string]any
	seen := map[string]bool{}
	session := ""
	n := 0
	for sc.Scan() {
		n++
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			ts.Fatalf("line %d is not JSON: %v: %s", n, err, sc.Text())
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(sc.Bytes()))
		ts.Check(err)
		if err := schema.Validate(inst); err != nil {
			ts.Fatalf("line %d does not follow docs/events.schema.json: %v\n%s", n, err, sc.Text())
		}
		typ, _ := ev["type"].(string)
		if n == 1 && first != "" && typ != first {
			ts.Fatalf("the first event is %q, want %q: %s", typ, first, sc.Text())
		}
		id, _ := ev["session_id"].(string)
		if n == 1 {
			session = id
		} else if id != session {
			ts.Fatalf("line %d has session_id %q, the first line %q", n, id, session)
		}
		seen[typ] = true
		last = ev
	}
	if n == 0 || last["type"] != "result" {
		ts.Fatalf("the stream does not end with a result event (%d lines)", n)
	}
	if types != "" {
		for _, t := range strings.Split(types, ",") {
			if !seen[t] {
				ts.Fatalf("no %q event among the %d lines", t, n)
			}
		}
	}
}

// eventSchema compiles docs/events.schema.json once.
var eventSchema = func() func(ts *testscript.TestScript) *jsonschema.Schema {
	var once sync.Once
	var sch *jsonschema.Schema
	var err error
	return func(ts *testscript.TestScript) *jsonschema.Schema {
		once.Do(func() {
			c := jsonschema.NewCompiler()
			c.AssertFormat()
			sch, err = c.Compile("../../docs/events.schema.json")
		})
		ts.Check(err)
		return sch
	}
}()

// nosecret STRING DIR...: STRING is in no file under the DIRs.
func cmdNoSecret(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: nosecret STRING DIR...")
	}
	files := 0
	for _, dir := range args[1:] {
		err := filepath.Walk(ts.MkAbs(dir), func(path string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() {
				return err
			}
			files++
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if strings.Contains(string(b), args[0]) {
				return fmt.Errorf("%s holds the secret", path)
			}
			return nil
		})
		ts.Check(err)
	}
	if files == 0 {
		ts.Fatalf("no files to check under %v", args[1:])
	}
}

// session-id: sets $SESSION to the newest session's id.
func cmdSessionID(ts *testscript.TestScript, neg bool, args []string) {
	root, err := session.Root(ts.Getenv)
	ts.Check(err)
	all, err := session.List(root)
	ts.Check(err)
	if len(all) == 0 {
		ts.Fatalf("no sessions in %s", root)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Created.After(all[j].Created) })
	ts.Setenv("SESSION", all[0].ID)
}

// dockerCondition answers the script condition [docker]: whether a Docker
// engine answers and has the image the tests run code in (testImage: CI
// builds it with make sandbox-image). On a machine without them, tests that
// need them skip; `make test` says why before it starts. In CI, where both
// are part of the job, their absence is an error rather than a reason to
// skip. The answer is worked out once per test binary.
var dockerCondition = sync.OnceValues(func() (bool, error) {
	missing := func(err error) (bool, error) {
		if os.Getenv("CI") != "" {
			return false, err
		}
		return false, nil
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return missing(fmt.Errorf("docker client in CI: %w", err))
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		return missing(fmt.Errorf("docker is unreachable in CI: %w", err))
	}
	if _, err := cli.ImageInspect(ctx, testImage()); err != nil {
		return missing(fmt.Errorf("image %s is missing in CI (make sandbox-image builds it): %w", testImage(), err))
	}
	return true, nil
})

// nocontainers: no container labelled as m1's mounts a folder of this
// script's work dir. Other m1 containers belong to scripts and tests
// running in parallel.
func cmdNoContainers(ts *testscript.TestScript, neg bool, args []string) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	ts.Check(err)
	defer cli.Close()
	list, err := cli.ContainerList(context.Background(), container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", terminal.LabelManaged+"=true"))})
	ts.Check(err)
	work := ts.Getenv("WORK")
	prefixes := []string{work + string(filepath.Separator)}
	if real, err := filepath.EvalSymlinks(work); err == nil && real != work {
		prefixes = append(prefixes, real+string(filepath.Separator))
	}
	var left []string
	for _, c := range list {
		for _, m := range c.Mounts {
			if slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(m.Source+string(filepath.Separator), p) }) {
				left = append(left, strings.Join(c.Names, ","))
				break
			}
		}
	}
	if len(left) > 0 {
		ts.Fatalf("%d m1 containers remain, e.g. %s", len(left), left[0])
	}
}

// site [DIR] serves testdata/sites, or the script's own folder DIR (for
// pages made for one script), over loopback and sets $SITE to its URL and
// $SITEPORT to its port. Every request is logged to $WORK/site.log as
// "HOST METHOD PATH", so a script can check which hosts the browser
// contacted. /redirect?to=URL answers 302 to URL, and
// /attachment?name=NAME a download named NAME.
func cmdSite(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) > 1 {
		ts.Fatalf("usage: site [DIR]")
	}
	dir, err := filepath.Abs("../../testdata/sites")
	if len(args) == 1 {
		dir = ts.MkAbs(args[0])
	}
	ts.Check(err)
	logf, err := os.Create(ts.MkAbs("site.log"))
	ts.Check(err)
	var mu sync.Mutex
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		fmt.Fprintf(logf, "%s %s %s\n", r.Host, r.Method, r.URL.Path)
		mu.Unlock()
		switch r.URL.Path {
		case "/redirect":
			http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
		case "/attachment":
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", r.URL.Query().Get("name")))
			_, _ = io.WriteString(w, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPLANTEDKEY attacker@example\n")
		default:
			files.ServeHTTP(w, r)
		}
	}))
	ts.Defer(func() {
		srv.Close()
		logf.Close()
	})
	ts.Setenv("SITE", srv.URL)
	ts.Setenv("SITEPORT", srv.URL[strings.LastIndex(srv.URL, ":")+1:])
}

// browserCondition answers [browser]: whether Chrome or Chromium is in
// PATH. In CI its absence is an error rather than a reason to skip.
func browserCondition() (bool, error) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if _, err := exec.LookPath(name); err == nil {
			return true, nil
		}
	}
	if os.Getenv("CI") != "" {
		return false, errors.New("no Chrome or Chromium in PATH in CI")
	}
	return false, nil
}

// testImage is the sandbox image the tests run code in: $M1_IMAGE, else the
// one `make sandbox-image` builds (no registry is needed for it).
func testImage() string {
	if img := os.Getenv("M1_IMAGE"); img != "" {
		return img
	}
	return terminal.SandboxImage
}

// noprocs: no process has the script's work dir in its command line, such
// as a Chrome whose profile is under $WORK/.tmp. Processes get a while to
// exit, since a killed browser's helpers go a moment after it.
func cmdNoProcs(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: noprocs")
	}
	work := ts.Getenv("WORK")
	var left []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		left = procsMentioning(ts, work+string(filepath.Separator))
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(left) > 0 {
		ts.Fatalf("%d processes outlive the run, e.g. %s", len(left), left[0])
	}
}

// procsMentioning lists the processes other than this one whose command
// line holds s, as "pid: command line".
func procsMentioning(ts *testscript.TestScript, s string) []string {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		ts.Fatalf("noprocs needs /proc: %v", err)
	}
	var found []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(b), s) {
			continue
		}
		found = append(found, fmt.Sprintf("%d: %s", pid, strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))))
	}
	return found
}

// toolresults [-empty] TRANSCRIPT TOOL COUNT: the transcript holds COUNT
// tool_result events of TOOL (with -empty, COUNT of them without a result
// text, which for a search means it found what it looked for).
func cmdToolResults(ts *testscript.TestScript, neg bool, args []string) {
	empty := len(args) > 0 && args[0] == "-empty"
	if empty {
		args = args[1:]
	}
	if neg || len(args) != 3 {
		ts.Fatalf("usage: toolresults [-empty] TRANSCRIPT TOOL COUNT")
	}
	want, err := strconv.Atoi(args[2])
	ts.Check(err)
	got := 0
	for i, line := range strings.Split(strings.TrimSpace(ts.ReadFile(args[0])), "\n") {
		var ev struct {
			Type string `json:"type"`
			Tool *struct {
				Name   string `json:"name"`
				Result string `json:"result"`
			} `json:"tool"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			ts.Fatalf("line %d of %s: %v", i+1, args[0], err)
		}
		if ev.Type == "tool_result" && ev.Tool != nil && ev.Tool.Name == args[1] && (!empty || ev.Tool.Result == "") {
			got++
		}
	}
	if got != want {
		ts.Fatalf("%d matching %s results, want %d", got, args[1], want)
	}
}

// nosetuid FILE: FILE, left by the sandbox, gives no one more rights than
// they have: it is neither setuid nor setgid, root does not own it, and
// (when the test runs as root, so it can switch user) run as nobody with
// the shell's -p flag it runs as nobody. FILE is expected to be a copy of a
// POSIX shell.
func cmdNoSetuid(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: nosetuid FILE")
	}
	path := ts.MkAbs(args[0])
	fi, err := os.Lstat(path)
	ts.Check(err)
	st := fi.Sys().(*syscall.Stat_t)
	if fi.Mode()&(os.ModeSetuid|os.ModeSetgid) != 0 {
		ts.Fatalf("%s is %v, owned by uid %d: setuid or setgid", args[0], fi.Mode(), st.Uid)
	}
	if st.Uid == 0 {
		ts.Fatalf("%s belongs to root", args[0])
	}
	if os.Geteuid() != 0 {
		return
	}
	// Let nobody reach the file through the script's folders.
	for dir := filepath.Dir(path); dir != filepath.Dir(filepath.Dir(ts.Getenv("WORK"))); dir = filepath.Dir(dir) {
		if fi, err := os.Stat(dir); err == nil {
			ts.Check(os.Chmod(dir, fi.Mode().Perm()|0o011))
		}
	}
	const nobody = 65534
	cmd := exec.Command(path, "-p", "-c", "grep '^Uid:' /proc/self/status")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		ts.Fatalf("run %s as nobody: %v: %s", args[0], err, out)
	}
	// Uid: real effective saved filesystem
	f := strings.Fields(string(out))
	if len(f) < 3 || f[2] != strconv.Itoa(nobody) {
		ts.Fatalf("%s run by nobody runs with %q, want effective uid %d", args[0], strings.TrimSpace(string(out)), nobody)
	}
	ts.Logf("%s run by nobody: %s", args[0], strings.TrimSpace(string(out)))
}

// chownr UID DIR: gives DIR and everything in it to UID (and the group of
// the same number), as an ordinary user's checkout would be. Only root can.
func cmdChownR(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: chownr UID DIR")
	}
	id, err := strconv.Atoi(args[0])
	ts.Check(err)
	ts.Check(filepath.Walk(ts.MkAbs(args[1]), func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, id, id)
	}))
}
