package terminal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/m1-project/m1/agent"
)

// These tests drive the real Docker engine. .ci/docker.sh starts one and
// builds the image they use (M1_IMAGE, default m1-sandbox:latest).

// requireDocker returns a client for the local daemon and the test image. It
// skips the test or benchmark when either is missing, except under CI, where
// it fails.
func requireDocker(t testing.TB) (*client.Client, string) {
	t.Helper()
	img := os.Getenv("M1_IMAGE")
	if img == "" {
		img = SandboxImage
	}
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but "+format, args...)
		}
		t.Skipf(format+" (run .ci/docker.sh to start Docker and build the image)", args...)
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		missing("docker client: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		missing("docker is unreachable: %v", err)
	}
	if _, err := cli.ImageInspect(ctx, img); err != nil {
		missing("image %s is missing: %v", img, err)
	}
	return cli, img
}

// newDocker returns a Docker executor on a fresh work dir that the test
// closes at its end.
func newDocker(t *testing.T, img string, opts ...DockerOption) *Docker {
	t.Helper()
	opts = append([]DockerOption{WithImage(img), WithWorkDir(t.TempDir())}, opts...)
	d, err := NewDocker(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return d
}

// sessionContainers lists the containers, running or not, labelled with
// session.
func sessionContainers(t *testing.T, cli *client.Client, session string) []container.Summary {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	list, err := cli.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", LabelSession+"="+session)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func run(t *testing.T, d *Docker, lang, code string, lim Limits) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b := ExtractBlocks("```" + lang + "\n" + code + "```")[0]
	res, err := d.Run(ctx, b, lim)
	if err != nil {
		t.Fatalf("Run(%s): %v", lang, err)
	}
	return res
}

func TestDockerPythonAndShell(t *testing.T) {
	t.Parallel()
	_, img := requireDocker(t)
	d := newDocker(t, img)
	term := New(d)
	msg, events, err := step(t, context.Background(), term,
		"```python\nimport os, sys\nprint('py', 6*7, os.getcwd())\nprint('to stderr', file=sys.stderr)\n```\n"+
			"```sh\necho \"sh $((2+3)) $(pwd)\"\n```\n```bash\nx=(a b c); echo \"bash ${#x[@]}\"\n```")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Block 1 (python) exited with code 0. Output:\npy 42 /workspace\nto stderr",
		"Block 2 (sh) exited with code 0. Output:\nsh 5 /workspace",
		"Block 3 (bash) exited with code 0. Output:\nbash 3",
	} {
		if !strings.Contains(msg.Content, want) {
			t.Errorf("reply lacks %q:\n%s", want, msg.Content)
		}
	}
	if len(events) != 3 || events[0].Code == nil || events[0].Code.Executor != d.Describe() {
		t.Errorf("events = %+v", events)
	}
	if !strings.HasPrefix(d.Describe(), "docker container m1-") || !strings.HasSuffix(d.Describe(), "("+img+")") {
		t.Errorf("Describe = %q", d.Describe())
	}
	// The temporary scripts are gone from the work dir.
	if entries, _ := os.ReadDir(d.WorkDir()); len(entries) != 0 {
		t.Errorf("work dir not clean: %v", entries)
	}
}

func TestDockerFilenameAndWorkspace(t *testing.T) {
	t.Parallel()
	_, img := requireDocker(t)
	d := newDocker(t, img)
	mustWrite(t, filepath.Join(d.WorkDir(), "data.bin"), "hello\n")
	res := run(t, d, "python", "# filename: tools/hash.py\nimport hashlib\n"+
		"h = hashlib.sha256(open('data.bin', 'rb').read()).hexdigest()\n"+
		"open('hash.txt', 'w').write(h)\nprint(h)\n", Limits{})
	const want = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
	if res.ExitCode != 0 || strings.TrimSpace(res.Output) != want {
		t.Fatalf("Run = %+v, want the hash", res)
	}
	if b, err := os.ReadFile(filepath.Join(d.WorkDir(), "hash.txt")); err != nil || string(b) != want {
		t.Errorf("hash.txt on the host = %q, %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(d.WorkDir(), "tools", "hash.py")); err != nil || !strings.HasPrefix(string(b), "# filename: tools/hash.py\n") {
		t.Errorf("tools/hash.py on the host = %q, %v", b, err)
	}
	// A later block can run the saved file.
	res = run(t, d, "sh", "python3 tools/hash.py >/dev/null && echo rerun ok\n", Limits{})
	if res.Output != "rerun ok\n" {
		t.Errorf("rerun = %+v", res)
	}
}

func TestDockerRunsAsWorkDirOwner(t *testing.T) {
	t.Parallel()
	_, img := requireDocker(t)
	dir := t.TempDir()
	if os.Getuid() == 0 {
		// Root owns t.TempDir; hand it to an ordinary user as a user's
		// checkout would be.
		if err := os.Chown(dir, 1000, 1000); err != nil {
			t.Fatal(err)
		}
	}
	fi, _ := os.Stat(dir)
	st := fi.Sys().(*syscall.Stat_t)
	d := newDocker(t, img, WithWorkDir(dir))
	res := run(t, d, "python", "import os\nopen('mine.txt', 'w').write('x')\nprint(os.getuid(), os.getgid())\n", Limits{})
	if res.ExitCode != 0 {
		t.Fatalf("Run = %+v", res)
	}
	if got, want := strings.TrimSpace(res.Output), fmt.Sprintf("%d %d", st.Uid, st.Gid); got != want {
		t.Errorf("code ran as %q, want the work dir's owner %q", got, want)
	}
	fi, err := os.Stat(filepath.Join(dir, "mine.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if owner := fi.Sys().(*syscall.Stat_t).Uid; owner != st.Uid {
		t.Errorf("mine.txt belongs to uid %d, want %d", owner, st.Uid)
	}
	// No capabilities, whoever the user is.
	res = run(t, d, "sh", "grep CapEff /proc/self/status\n", Limits{})
	if !strings.Contains(res.Output, "0000000000000000") {
		t.Errorf("capabilities = %q, want none", res.Output)
	}
}

func TestDockerFailureStopsLaterBlocks(t *testing.T) {
	t.Parallel()
	_, img := requireDocker(t)
	d := newDocker(t, img)
	msg, events, err := step(t, context.Background(), New(d),
		"```python\nimport sys\nprint('about to fail')\nsys.exit(3)\n```\n```sh\ntouch later.txt\n```")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg.Content, "Block 1 (python) exited with code 3. Output:\nabout to fail") ||
		!strings.Contains(msg.Content, "1 block after it was not run") {
		t.Errorf("reply = %q", msg.Content)
	}
	if _, err := os.Stat(filepath.Join(d.WorkDir(), "later.txt")); err == nil {
		t.Error("later.txt exists: a block after the failure ran")
	}
	if len(events) != 1 || events[0].Code.ExitCode != 3 {
		t.Errorf("events = %+v", events)
	}
}

// listProcs is a python script printing every process in the container
// except PID 1, itself and its parent as "PROC pid state cmdline".
const listProcs = `import os
me = os.getpid()
for p in sorted(os.listdir('/proc')):
    # The shell that runs the script is its parent.
    if not p.isdigit() or int(p) in (1, me, os.getppid()):
        continue
    try:
        cmd = open('/proc/%s/cmdline' % p, 'rb').read().replace(b'\0', b' ').decode().strip()
        state = open('/proc/%s/stat' % p).read().rsplit(')', 1)[1].split()[0]
    except OSError:
        continue
    print('PROC', p, state, cmd)
`

func TestDockerTimeoutLeavesNoProcess(t *testing.T) {
	t.Parallel()
	_, img := requireDocker(t)
	d := newDocker(t, img)
	term := New(d, WithTimeout(2*time.Second))
	start := time.Now()
	msg, events, err := step(t, context.Background(), term,
		"```sh\nsleep 600 &\n(sleep 600 &)\npython3 -c 'import time; time.sleep(600)' &\necho started\nsleep 600\n```")
	if err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed > 30*time.Second {
		t.Errorf("timed-out run took %v", elapsed)
	}
	if !strings.Contains(msg.Content, "Timed out after 2s; the process was killed. Output before that:\nstarted") {
		t.Errorf("reply = %q", msg.Content)
	}
	if len(events) != 1 || !events[0].Code.TimedOut || events[0].Code.ExitCode != 124 {
		t.Errorf("events = %+v", events)
	}

	// The container is still usable, and only its keep-alive process is
	// left: no sleep, no python, no zombie.
	res := run(t, d, "python", listProcs, Limits{})
	if res.ExitCode != 0 {
		t.Fatalf("process listing failed: %+v", res)
	}
	lines := strings.Split(strings.TrimSpace(res.Output), "\n")
	if len(lines) != 1 || !strings.HasSuffix(lines[0], "sleep infinity") {
		t.Errorf("processes after the timeout:\n%s\nwant only the keep-alive", res.Output)
	}
}

func TestDockerOutputCap(t *testing.T) {
	t.Parallel()
	_, img := requireDocker(t)
	d := newDocker(t, img)
	msg, _, err := step(t, context.Background(), New(d, WithOutputCap(4096)),
		"```python\nimport sys\nprint('HEAD')\nfor i in range(20000):\n    print('line', i)\nprint('TAIL', file=sys.stderr)\n```")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg.Content, "Output:\nHEAD\nline 0\n") || !strings.HasSuffix(msg.Content, "line 19999\nTAIL") {
		t.Errorf("head or tail lost: %.80q ... %q", msg.Content, msg.Content[len(msg.Content)-40:])
	}
	if !strings.Contains(msg.Content, " bytes cut ...]") {
		t.Error("no cut marker")
	}
	if len(msg.Content) > 4096+200 {
		t.Errorf("reply is %d bytes, want about 4 KiB", len(msg.Content))
	}
}

func TestDockerRefusesEscapingFilenames(t *testing.T) {
	t.Parallel()
	_, img := requireDocker(t)
	f := newEscapeFixture(t)
	d, err := NewDocker(WithImage(img), WithWorkDir(f.work))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	testRefusesEscapingFilenames(t, d, f)
}

func TestDockerNoNetwork(t *testing.T) {
	t.Parallel()
	_, img := requireDocker(t)
	d := newDocker(t, img, WithNetwork(false))
	res := run(t, d, "python", `import os, socket
print('interfaces', sorted(os.listdir('/sys/class/net')))
s = socket.socket()
s.settimeout(3)
try:
    s.connect(('1.1.1.1', 53))
    print('connect ok')
except OSError as e:
    print('connect failed:', e)
`, Limits{})
	if !strings.Contains(res.Output, "interfaces ['lo']") {
		t.Errorf("output = %q, want only the loopback interface", res.Output)
	}
	if !strings.Contains(res.Output, "connect failed") {
		t.Errorf("output = %q, want the connection to fail", res.Output)
	}
}

func TestDockerContainerRemoved(t *testing.T) {
	t.Parallel()
	cli, img := requireDocker(t)
	tests := []struct {
		name   string
		code   string
		cancel bool
	}{
		{"after success", "```sh\necho ok\n```", false},
		{"after failure", "```sh\nexit 1\n```", false},
		{"after cancel mid-run", "```sh\ntouch started\nsleep 600\n```", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			session := "test-" + agent.NewID()
			work := t.TempDir()
			d, err := NewDocker(WithImage(img), WithWorkDir(work), WithSessionID(session))
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close() // in case the test fails early
			if n := len(sessionContainers(t, cli, session)); n != 0 {
				t.Fatalf("%d containers before the first run, want lazy start", n)
			}
			term := New(d)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel {
				go func() {
					// Cancel once the container runs the code.
					for {
						if _, err := os.Stat(filepath.Join(work, "started")); err == nil {
							break
						}
						time.Sleep(50 * time.Millisecond)
					}
					time.Sleep(200 * time.Millisecond)
					cancel()
				}()
			}
			_, _, err = step(t, ctx, term, tt.code)
			if tt.cancel {
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("Step = %v, want context.Canceled", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			list := sessionContainers(t, cli, session)
			if len(list) != 1 {
				t.Fatalf("%d containers during the run, want 1", len(list))
			}
			c := list[0]
			if c.Labels[LabelManaged] != "true" || c.Labels[LabelPID] == "" {
				t.Errorf("labels = %v", c.Labels)
			}
			if err := term.Close(); err != nil {
				t.Fatal(err)
			}
			if n := len(sessionContainers(t, cli, session)); n != 0 {
				t.Errorf("%d containers left after Close", n)
			}
			if err := term.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			if _, _, err := step(t, context.Background(), term, "```sh\necho again\n```"); err == nil {
				t.Error("Step after Close succeeded")
			}
		})
	}
}

func TestDockerContainerHardening(t *testing.T) {
	t.Parallel()
	cli, img := requireDocker(t)
	d := newDocker(t, img, WithMemory(256<<20), WithCPUs(0.5), WithPidsLimit(64))
	run(t, d, "sh", "true\n", Limits{})
	list := sessionContainers(t, cli, d.SessionID())
	if len(list) != 1 {
		t.Fatalf("%d containers", len(list))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := cli.ContainerInspect(ctx, list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	hc := info.HostConfig
	if hc.Privileged || len(hc.CapDrop) != 1 || hc.CapDrop[0] != "ALL" {
		t.Errorf("privileged %v, cap drop %v", hc.Privileged, hc.CapDrop)
	}
	if len(hc.SecurityOpt) != 1 || hc.SecurityOpt[0] != "no-new-privileges" {
		t.Errorf("security opts %v", hc.SecurityOpt)
	}
	if hc.Memory != 256<<20 || hc.NanoCPUs != 5e8 || hc.PidsLimit == nil || *hc.PidsLimit != 64 {
		t.Errorf("limits: memory %d, nano cpus %d, pids %v", hc.Memory, hc.NanoCPUs, hc.PidsLimit)
	}
	if len(info.Mounts) != 1 || info.Mounts[0].Destination != Workspace || info.Mounts[0].Source != d.WorkDir() {
		t.Errorf("mounts = %+v, want only the work dir at %s", info.Mounts, Workspace)
	}
	if !hc.ReadonlyRootfs || !strings.Contains(hc.Tmpfs["/tmp"], "size=") {
		t.Errorf("read-only root %v, tmpfs %v", hc.ReadonlyRootfs, hc.Tmpfs)
	}
	if len(hc.Ulimits) != 1 || hc.Ulimits[0].Name != "fsize" || hc.Ulimits[0].Hard != DefaultMaxFileSize {
		t.Errorf("ulimits %+v, want fsize %d", hc.Ulimits, DefaultMaxFileSize)
	}
}

// TestDockerRootOwnedWorkDir: when m1 runs as root in a folder root owns,
// code runs as SandboxUID, which may write the folder while the executor
// lives; afterwards the folder's mode and ACL are as before.
func TestDockerRootOwnedWorkDir(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("the case of m1 running as root")
	}
	_, img := requireDocker(t)
	dir := t.TempDir()
	before, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDocker(WithImage(img), WithWorkDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	res := run(t, d, "sh", "id -u; echo x > made.txt && echo wrote\n", Limits{})
	if res.ExitCode != 0 || res.Output != fmt.Sprintf("%d\nwrote\n", SandboxUID) {
		t.Fatalf("Run = %+v, want uid %d and a written file", res, SandboxUID)
	}
	fi, err := os.Stat(filepath.Join(dir, "made.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if uid := fi.Sys().(*syscall.Stat_t).Uid; uid != SandboxUID {
		t.Errorf("made.txt belongs to uid %d, want %d", uid, SandboxUID)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if after.Mode() != before.Mode() {
		t.Errorf("work dir mode %v after the run, was %v", after.Mode(), before.Mode())
	}
	if n, err := syscall.Getxattr(dir, "system.posix_acl_access", nil); err == nil && n > 0 {
		t.Errorf("an ACL of %d bytes is left on the work dir", n)
	}
}

// TestDockerRefusesRootUser: code never runs as uid 0, even when asked.
func TestDockerRefusesRootUser(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"0", "0:0", "root", "1000:x"} {
		d, err := NewDocker(WithWorkDir(t.TempDir()), WithUser(u), withAPI(&fakeDocker{}))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Run(context.Background(), CodeBlock{Language: LangSh, Code: "id\n", Closed: true}, Limits{}); err == nil {
			t.Errorf("WithUser(%q): Run ran", u)
		}
		d.Close()
	}
}

func TestDockerPreflight(t *testing.T) {
	t.Parallel()
	_, img := requireDocker(t)
	d := newDocker(t, img)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := d.Preflight(ctx); err != nil {
		t.Errorf("Preflight with a present image: %v", err)
	}
}

func TestDockerPreflightMissingImage(t *testing.T) {
	t.Parallel()
	requireDocker(t)
	missing := "m1-test-missing-" + agent.NewID() + ":latest"
	d := newDocker(t, missing)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := d.Preflight(ctx)
	if !errors.Is(err, ErrImageUnavailable) {
		t.Fatalf("Preflight = %v, want ErrImageUnavailable", err)
	}
	for _, want := range []string{missing, "make sandbox-image", "--image m1-sandbox:latest", "M1_IMAGE=m1-sandbox:latest"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

func TestDockerUnreachable(t *testing.T) {
	t.Parallel()
	d, err := NewDocker(WithHost("unix:///nonexistent/docker.sock"), WithWorkDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = d.Preflight(ctx)
	checkUnavailable(t, err)

	// Run reports the same and leaves nothing behind.
	_, err = d.Run(ctx, CodeBlock{Language: LangSh, Code: "touch x\n", Closed: true}, Limits{})
	checkUnavailable(t, err)
	if entries, _ := os.ReadDir(d.WorkDir()); len(entries) != 0 {
		t.Errorf("work dir not clean: %v", entries)
	}
}

// TestDockerHostFromEnv checks that DOCKER_HOST is honoured. It cannot run in
// parallel because it sets the environment.
func TestDockerHostFromEnv(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent")
	d, err := NewDocker(WithWorkDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = d.Preflight(ctx)
	checkUnavailable(t, err)
	if !strings.Contains(err.Error(), "unix:///nonexistent") {
		t.Errorf("error does not name the daemon address: %v", err)
	}
}

func checkUnavailable(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrDockerUnavailable) {
		t.Fatalf("error = %v, want ErrDockerUnavailable", err)
	}
	for _, want := range []string{"start the Docker daemon", "--executor local", "/nonexistent"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}
