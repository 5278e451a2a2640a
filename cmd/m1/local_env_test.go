package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/m1-project/m1/model/scripted"
)

// readEnvirons is the code of the attack K8: with --executor local, read the
// API key out of m1's environment, through /proc/<parent>/environ and by
// scanning /proc for any process whose environment holds it.
const readEnvirons = "```python\n" + `import os
def environ(pid):
    try:
        return open('/proc/%d/environ' % pid, 'rb').read().decode(errors='replace').replace('\0', ' ')
    except OSError as e:
        return 'refused: ' + e.strerror
print('own environment holds the key:', 'OPENAI_API_KEY' in os.environ)
print('parent environ:', environ(os.getppid()))
for p in os.listdir('/proc'):
    if p.isdigit() and int(p) != os.getpid():
        text = environ(int(p))
        if 'OPENAI_API_KEY=' in text:
            print('key found in the environment of process', p)
print('scan done')
` + "```"

// TestLocalCodeCannotReadTheKey runs m1 with --executor local and code that
// hunts for the model's API key in m1's own environment (K8). m1 makes
// itself non-dumpable, so the code, running as the same user, is refused.
// Root reads any process's environment, so when the test runs as root it
// runs m1 as nobody, as an ordinary user would run it.
func TestLocalCodeCannotReadTheKey(t *testing.T) {
	t.Parallel()
	const key = "sk-k8-canary-5d1e77"
	srv := scripted.New(t, &scripted.Scenario{Rules: []scripted.Rule{
		{Name: "facts", Match: "GIVEN OR VERIFIED FACTS", Replies: []scripted.Reply{scripted.Text("1. GIVEN OR VERIFIED FACTS\n- none")}},
		{Name: "plan", Match: "short (bullet )?plan", Replies: []scripted.Reply{scripted.Text("- Coder: script\n- ComputerTerminal: run")}},
		{Name: "ledger", Match: "is_request_satisfied|could not be used", Replies: []scripted.Reply{
			ledgerTo("Coder", "Find the key."),
			ledgerTo("ComputerTerminal", "Run it."),
			ledgerSatisfied,
		}},
		{Name: "coder", System: "You are the Coder", Replies: []scripted.Reply{scripted.Text(readEnvirons)}},
		{Name: "final", Match: "final answer", Replies: []scripted.Reply{scripted.Text("Searched.")}},
	}})

	tmp := t.TempDir()
	work, state, home := filepath.Join(tmp, "work"), filepath.Join(tmp, "state"), filepath.Join(tmp, "home")
	for _, d := range []string{work, state, home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := os.Args[0]
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		const nobody = 65534
		cred = &syscall.Credential{Uid: nobody, Gid: nobody}
		// nobody needs its own copy of the test binary, and folders it may
		// enter and write.
		if err := os.Chmod(tmp, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Dir(tmp), 0o711); err != nil {
			t.Fatal(err)
		}
		bin = filepath.Join(tmp, "m1")
		copyFile(t, os.Args[0], bin)
		for _, d := range []string{work, state, home} {
			if err := os.Chown(d, nobody, nobody); err != nil {
				t.Fatal(err)
			}
		}
	}
	cmd := exec.Command(bin, "--agents", "coder,terminal", "--executor", "local", "--yes", "--work-dir", work, "Find the key")
	cmd.Env = []string{"M1_TEST_RUN_MAIN=1", "PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + home,
		"XDG_STATE_HOME=" + state, "OPENAI_BASE_URL=" + srv.URL(), "OPENAI_API_KEY=" + key, "M1_MODEL=scripted"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	out, errOut := &syncBuffer{}, &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("m1: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	for _, want := range []string{"status  success", "own environment holds the key: False", "parent environ: refused: Permission denied", "scan done"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if regexp.MustCompile(`key found in the environment of process [0-9]`).MatchString(out.String()) {
		t.Errorf("the code found the key in a process's environment:\n%s", out)
	}
	if strings.Contains(out.String(), key) || strings.Contains(errOut.String(), key) {
		t.Errorf("the key reached the console")
	}
	transcripts, _ := filepath.Glob(filepath.Join(state, "m1", "sessions", "*", "transcript.jsonl"))
	if len(transcripts) != 1 {
		t.Fatalf("transcripts %v", transcripts)
	}
	b, err := os.ReadFile(transcripts[0])
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), key) {
		t.Error("the key reached the transcript")
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
