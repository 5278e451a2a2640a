package terminal

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func newLocal(t *testing.T) *Local {
	t.Helper()
	l, err := NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestLocalRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		block    CodeBlock
		wantCode int
		wantOut  string
	}{
		{"python", CodeBlock{Language: LangPython, Code: "import sys\nprint('out')\nprint('err', file=sys.stderr)\n"}, 0, "out\nerr\n"},
		{"sh", CodeBlock{Language: LangSh, Code: "echo \"$((6*7))\"\n"}, 0, "42\n"},
		{"bash", CodeBlock{Language: LangBash, Code: "x=(a b); echo ${#x[@]}\n"}, 0, "2\n"},
		{"exit code", CodeBlock{Language: LangSh, Code: "echo failing; exit 3\n"}, 3, "failing\n"},
		{"python exception", CodeBlock{Language: LangPython, Code: "raise SystemExit('boom')\n"}, 1, "boom\n"},
		{"killed by a signal", CodeBlock{Language: LangSh, Code: "kill -9 $$\n"}, 137, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := newLocal(t)
			tt.block.Closed = true
			res, err := l.Run(context.Background(), tt.block, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != tt.wantCode || res.Output != tt.wantOut || res.TimedOut {
				t.Errorf("Run = %+v, want exit %d output %q", res, tt.wantCode, tt.wantOut)
			}
			// The temporary script is gone again.
			if entries, _ := os.ReadDir(l.WorkDir()); len(entries) != 0 {
				t.Errorf("work dir not clean: %v", entries)
			}
		})
	}
}

func TestLocalRunsInWorkDir(t *testing.T) {
	t.Parallel()
	l := newLocal(t)
	b := CodeBlock{Language: LangPython, Filename: "make.py", Closed: true,
		Code: "# filename: make.py\nimport os\nopen('made.txt', 'w').write(os.getcwd())\n"}
	res, err := l.Run(context.Background(), b, Limits{})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("Run = %+v, %v", res, err)
	}
	got, err := os.ReadFile(filepath.Join(l.WorkDir(), "made.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := filepath.EvalSymlinks(l.WorkDir())
	if string(got) != want && string(got) != l.WorkDir() {
		t.Errorf("cwd = %q, want %q", got, l.WorkDir())
	}
	if _, err := os.Stat(filepath.Join(l.WorkDir(), "make.py")); err != nil {
		t.Errorf("named script not kept: %v", err)
	}
}

func TestLocalTimeoutKillsProcessGroup(t *testing.T) {
	t.Parallel()
	l := newLocal(t)
	b := CodeBlock{Language: LangSh, Closed: true,
		Code: "sleep 600 &\necho $! > child.pid\necho started\nsleep 600\n"}
	start := time.Now()
	res, err := l.Run(context.Background(), b, Limits{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed > 30*time.Second {
		t.Errorf("run took %v after a 1s timeout", elapsed)
	}
	if !res.TimedOut || res.ExitCode != exitTimedOut || res.Output != "started\n" {
		t.Errorf("Run = %+v, want a timeout with the output so far", res)
	}
	b2, err := os.ReadFile(filepath.Join(l.WorkDir(), "child.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b2)))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for processRunning(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("background child %d still running after the timeout", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// processRunning reports whether pid exists and is not a zombie.
func processRunning(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z") && !strings.HasPrefix(rest, "X")
}

func TestLocalCancel(t *testing.T) {
	t.Parallel()
	l := newLocal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := l.Run(ctx, CodeBlock{Language: LangSh, Code: "sleep 600\n", Closed: true}, Limits{Timeout: time.Minute})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run after ctx ended = %v, want the ctx's error", err)
	}
}

func TestLocalOutputCap(t *testing.T) {
	t.Parallel()
	l := newLocal(t)
	b := CodeBlock{Language: LangPython, Closed: true,
		Code: "print('HEAD')\nprint('x' * 100000)\nprint('TAIL')\n"}
	res, err := l.Run(context.Background(), b, Limits{OutputCap: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.Output, "HEAD\n") || !strings.HasSuffix(res.Output, "TAIL\n") {
		t.Errorf("output lost its head or tail: %.40q ... %.40q", res.Output, res.Output[max(0, len(res.Output)-40):])
	}
	if !strings.Contains(res.Output, "[... 99011 bytes cut ...]") {
		t.Errorf("output has no or a wrong cut marker: %q", res.Output[480:540])
	}
	if len(res.Output) > 1100 {
		t.Errorf("output is %d bytes, want about 1000", len(res.Output))
	}
}

func TestLocalClosed(t *testing.T) {
	t.Parallel()
	l := newLocal(t)
	l.Close()
	if _, err := l.Run(context.Background(), CodeBlock{Language: LangSh, Code: "true\n", Closed: true}, Limits{}); err == nil {
		t.Error("Run after Close succeeded")
	}
}

func TestNewLocalBadWorkDir(t *testing.T) {
	t.Parallel()
	if _, err := NewLocal(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("NewLocal with a missing work dir succeeded")
	}
}

func TestScrubEnv(t *testing.T) {
	t.Parallel()
	in := []string{
		"PATH=/usr/bin", "HOME=/root", "LANG=C.UTF-8",
		"OPENAI_API_KEY=sk-secret", "OPENAI_BASE_URL=http://x", "GITHUB_TOKEN=ghp", "AWS_SECRET_ACCESS_KEY=a",
		"DB_PASSWORD=p", "SSH_AUTH_SOCK=/tmp/s", "M1_API_KEY=k",
	}
	want := []string{"PATH=/usr/bin", "HOME=/root", "LANG=C.UTF-8"}
	if got := scrubEnv(in); !reflect.DeepEqual(got, want) {
		t.Errorf("scrubEnv = %q, want %q", got, want)
	}
}
