package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/client"

	"github.com/m1-project/m1/terminal"
)

// machine describes where the figures were taken.
type machine struct {
	CPU      string  `json:"cpu"`
	Cores    int     `json:"cores"`
	RAMGiB   float64 `json:"ram_gib"`
	OS       string  `json:"os"`
	Kernel   string  `json:"kernel"`
	Arch     string  `json:"arch"`
	Go       string  `json:"go"`
	Chromium string  `json:"chromium,omitempty"`
	Docker   string  `json:"docker,omitempty"`
	Image    string  `json:"image"`
	// Load is /proc/loadavg's 1, 5 and 15 minute load averages when the
	// run began: other work on the machine shows in the figures.
	Load string `json:"load,omitempty"`
}

// environment is what the measurements need to know about this machine.
type environment struct {
	machine   machine
	commit    string
	dirty     bool
	m1Version string
	// chrome is the browser's path, "" when there is none.
	chrome string
	// noDocker says why code cannot run in a container here, "" when it can.
	noDocker string
}

// probe describes the machine, the source tree and bin/m1. What it cannot
// find it leaves empty.
func probe(ctx context.Context, m1 string) environment {
	var env environment
	m := &env.machine
	m.Cores = runtime.NumCPU()
	m.Arch = runtime.GOARCH
	m.Go = runtime.Version()
	m.CPU = firstValue("/proc/cpuinfo", "model name")
	if m.CPU == "" {
		m.CPU = runtime.GOARCH
	}
	if kb, err := strconv.ParseFloat(strings.TrimSuffix(firstValue("/proc/meminfo", "MemTotal"), " kB"), 64); err == nil {
		m.RAMGiB = float64(int(kb/(1<<20)*10+0.5)) / 10
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			m.Load = strings.Join(f[:3], " ")
		}
	}
	m.OS = strings.Trim(firstValue("/etc/os-release", "PRETTY_NAME"), `"`)
	if m.OS == "" {
		m.OS = runtime.GOOS
	}

	env.chrome = findChrome()
	if env.chrome != "" {
		m.Chromium = output(ctx, env.chrome, "--version")
	}
	m.Image = os.Getenv("M1_IMAGE")
	if m.Image == "" {
		m.Image = terminal.SandboxImage
	}
	m.Docker, env.noDocker = dockerVersion(ctx, m.Image)

	env.commit = output(ctx, "git", "rev-parse", "HEAD")
	env.dirty = output(ctx, "git", "status", "--porcelain", "--untracked-files=no") != ""
	env.m1Version = strings.TrimPrefix(output(ctx, m1, "--version"), "m1 version ")
	return env
}

// findChrome returns the first Chrome or Chromium in PATH, as m1 looks for
// one, or "".
func findChrome() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// dockerVersion returns the engine's version, and why code cannot run in a
// container when it cannot ("" when it can).
func dockerVersion(ctx context.Context, image string) (version, missing string) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return "", "no Docker client: " + err.Error()
	}
	defer cli.Close()
	v, err := cli.ServerVersion(ctx)
	if err != nil {
		return "", "no Docker engine"
	}
	if _, err := cli.ImageInspect(ctx, image); err != nil {
		return v.Version, "no image " + image + " (make sandbox-image builds it)"
	}
	return v.Version, ""
}

// firstValue returns the value of the first "key: value" or "key=value"
// line of a file such as /proc/cpuinfo, or "".
func firstValue(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			k, v, ok = strings.Cut(sc.Text(), "=")
		}
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// output runs a command briefly and returns its trimmed stdout, or "" when
// it fails.
func output(ctx context.Context, name string, args ...string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	b, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
