package terminal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// fakeDocker is a dockerAPI made of function fields; a nil field fails the
// call. It records removals.
type fakeDocker struct {
	ping      func(context.Context) (types.Ping, error)
	inspect   func(context.Context, string) (image.InspectResponse, error)
	pull      func(context.Context, string) (io.ReadCloser, error)
	create    func(context.Context, *container.Config, *container.HostConfig, string) (container.CreateResponse, error)
	start     func(context.Context, string) error
	list      func(context.Context, container.ListOptions) ([]container.Summary, error)
	execCreat func(context.Context, string, container.ExecOptions) (container.ExecCreateResponse, error)
	contInsp  func(context.Context, string) (container.InspectResponse, error)

	mu        sync.Mutex
	removed   []string
	removeCtx []error // ctx.Err() seen by each ContainerRemove
	closed    bool
}

var _ dockerAPI = (*fakeDocker)(nil)

var errNotFaked = errors.New("not faked")

func (f *fakeDocker) Ping(ctx context.Context) (types.Ping, error) {
	if f.ping == nil {
		return types.Ping{}, nil
	}
	return f.ping(ctx)
}

func (f *fakeDocker) DaemonHost() string { return "unix:///fake.sock" }

func (f *fakeDocker) ImageInspect(ctx context.Context, ref string, _ ...client.ImageInspectOption) (image.InspectResponse, error) {
	if f.inspect == nil {
		return image.InspectResponse{}, nil
	}
	return f.inspect(ctx, ref)
}

func (f *fakeDocker) ImagePull(ctx context.Context, ref string, _ image.PullOptions) (io.ReadCloser, error) {
	if f.pull == nil {
		return nil, errNotFaked
	}
	return f.pull(ctx, ref)
}

func (f *fakeDocker) ContainerCreate(ctx context.Context, cfg *container.Config, hc *container.HostConfig, _ *network.NetworkingConfig, _ *ocispec.Platform, name string) (container.CreateResponse, error) {
	if f.create == nil {
		return container.CreateResponse{ID: "c1"}, nil
	}
	return f.create(ctx, cfg, hc, name)
}

func (f *fakeDocker) ContainerStart(ctx context.Context, id string, _ container.StartOptions) error {
	if f.start == nil {
		return nil
	}
	return f.start(ctx, id)
}

func (f *fakeDocker) ContainerRemove(ctx context.Context, id string, opts container.RemoveOptions) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !opts.Force {
		return errors.New("remove without force")
	}
	f.removed = append(f.removed, id)
	f.removeCtx = append(f.removeCtx, ctx.Err())
	return nil
}

func (f *fakeDocker) ContainerList(ctx context.Context, opts container.ListOptions) ([]container.Summary, error) {
	if f.list == nil {
		return nil, errNotFaked
	}
	return f.list(ctx, opts)
}

// ContainerInspect says the container runs unless contInsp says otherwise.
func (f *fakeDocker) ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error) {
	if f.contInsp == nil {
		return container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{ID: id, State: &container.State{Running: true}}}, nil
	}
	return f.contInsp(ctx, id)
}

func (f *fakeDocker) ContainerExecCreate(ctx context.Context, id string, opts container.ExecOptions) (container.ExecCreateResponse, error) {
	if f.execCreat == nil {
		return container.ExecCreateResponse{}, errNotFaked
	}
	return f.execCreat(ctx, id, opts)
}

func (f *fakeDocker) ContainerExecAttach(context.Context, string, container.ExecAttachOptions) (types.HijackedResponse, error) {
	return types.HijackedResponse{}, errNotFaked
}

func (f *fakeDocker) ContainerExecInspect(context.Context, string) (container.ExecInspect, error) {
	return container.ExecInspect{}, errNotFaked
}

func (f *fakeDocker) Close() error {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	return nil
}

func newFakeDocker(t *testing.T, f *fakeDocker, opts ...DockerOption) *Docker {
	t.Helper()
	d, err := NewDocker(append([]DockerOption{withAPI(f), WithWorkDir(t.TempDir())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDockerLazyStartAndCloseAfterCancel(t *testing.T) {
	t.Parallel()
	var (
		cfg *container.Config
		hc  *container.HostConfig
	)
	f := &fakeDocker{
		create: func(_ context.Context, c *container.Config, h *container.HostConfig, name string) (container.CreateResponse, error) {
			cfg, hc = c, h
			return container.CreateResponse{ID: "c1"}, nil
		},
		// The run's exec fails because the user pressed Ctrl-C.
		execCreat: func(ctx context.Context, _ string, _ container.ExecOptions) (container.ExecCreateResponse, error) {
			return container.ExecCreateResponse{}, ctx.Err()
		},
	}
	d := newFakeDocker(t, f, WithNetwork(false), WithSessionID("s-1"), WithUser("1000:1000"))
	if cfg != nil {
		t.Fatal("container created before the first run")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := d.Run(ctx, CodeBlock{Language: LangSh, Code: "true\n", Closed: true}, Limits{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if cfg == nil {
		t.Fatal("no container created by the run")
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if len(f.removed) != 1 || f.removed[0] != "c1" || f.removeCtx[0] != nil {
		t.Errorf("removed %v with ctx errors %v, want c1 removed with a live ctx", f.removed, f.removeCtx)
	}
	if !f.closed {
		t.Error("client not closed")
	}
	if err := d.Close(); err != nil || len(f.removed) != 1 {
		t.Errorf("second Close = %v, removals %d", err, len(f.removed))
	}

	if cfg.Labels[LabelManaged] != "true" || cfg.Labels[LabelSession] != "s-1" || cfg.Labels[LabelPID] != strconv.Itoa(os.Getpid()) {
		t.Errorf("labels = %v", cfg.Labels)
	}
	if cfg.User == "1000:1000" || cfg.User == "" {
		t.Errorf("keep-alive user = %q, want one other than the code user", cfg.User)
	}
	if !cfg.NetworkDisabled || hc.NetworkMode != "none" {
		t.Errorf("network disabled %v, mode %q", cfg.NetworkDisabled, hc.NetworkMode)
	}
	if hc.Init == nil || !*hc.Init || hc.Privileged {
		t.Errorf("init %v, privileged %v", hc.Init, hc.Privileged)
	}
	if len(hc.Mounts) != 1 || hc.Mounts[0].Source != d.WorkDir() || hc.Mounts[0].Target != Workspace || len(hc.Binds) != 0 {
		t.Errorf("mounts %+v binds %v", hc.Mounts, hc.Binds)
	}
}

func TestDockerKeepAliveUserDiffersFromNobody(t *testing.T) {
	t.Parallel()
	var cfg *container.Config
	f := &fakeDocker{create: func(_ context.Context, c *container.Config, _ *container.HostConfig, _ string) (container.CreateResponse, error) {
		cfg = c
		return container.CreateResponse{ID: "c"}, nil
	}}
	d := newFakeDocker(t, f, WithUser("65534"))
	defer d.Close()
	user, err := d.codeUser()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.container(context.Background(), user); err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(cfg.User, "65534") {
		t.Errorf("keep-alive user %q equals the code user", cfg.User)
	}
}

func TestDockerStartFailureRemovesContainer(t *testing.T) {
	t.Parallel()
	f := &fakeDocker{start: func(context.Context, string) error { return errors.New("no docker-init") }}
	d := newFakeDocker(t, f)
	_, err := d.Run(context.Background(), CodeBlock{Language: LangSh, Code: "true\n", Closed: true}, Limits{})
	if err == nil || !strings.Contains(err.Error(), "no docker-init") {
		t.Fatalf("Run = %v, want the start error", err)
	}
	if len(f.removed) != 1 {
		t.Errorf("removed %v, want the half-made container removed", f.removed)
	}
	d.Close()
	if len(f.removed) != 1 {
		t.Errorf("Close removed again: %v", f.removed)
	}
}

func notFound(ref string) error {
	return fmt.Errorf("no such image: %s: %w", ref, cerrdefs.ErrNotFound)
}

func TestDockerPreflightPulls(t *testing.T) {
	t.Parallel()
	pulled := false
	f := &fakeDocker{
		inspect: func(_ context.Context, ref string) (image.InspectResponse, error) {
			if !pulled {
				return image.InspectResponse{}, notFound(ref)
			}
			return image.InspectResponse{}, nil
		},
		pull: func(_ context.Context, ref string) (io.ReadCloser, error) {
			pulled = true
			return io.NopCloser(strings.NewReader(`{"status":"Pulling from library/python"}` + "\n" + `{"status":"Downloaded newer image"}` + "\n")), nil
		},
	}
	var progress bytes.Buffer
	d := newFakeDocker(t, f, WithProgress(&progress))
	defer d.Close()
	if err := d.Preflight(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !pulled || !strings.Contains(progress.String(), "pulling image "+DefaultImage) {
		t.Errorf("pulled %v, progress %q", pulled, progress.String())
	}
}

func TestDockerPreflightPullErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		image string
		pull  func(context.Context, string) (io.ReadCloser, error)
		want  []string
	}{
		{
			name: "request fails",
			pull: func(context.Context, string) (io.ReadCloser, error) {
				return nil, errors.New("dial tcp: lookup registry-1.docker.io: no such host")
			},
			want: []string{"python:3-slim is not present", "no such host", "make sandbox-image", "--image m1-sandbox:latest", "M1_IMAGE=m1-sandbox:latest"},
		},
		{
			name: "stream reports an error",
			pull: func(context.Context, string) (io.ReadCloser, error) {
				return io.NopCloser(strings.NewReader(`{"status":"Pulling"}` + "\n" + `{"errorDetail":{"message":"toomanyrequests: rate limit"},"error":"toomanyrequests"}` + "\n")), nil
			},
			want: []string{"toomanyrequests: rate limit", "make sandbox-image"},
		},
		{
			name:  "the sandbox image itself is missing",
			image: SandboxImage,
			pull: func(context.Context, string) (io.ReadCloser, error) {
				return nil, errors.New("pull access denied")
			},
			want: []string{"m1-sandbox:latest is not present", `"make sandbox-image"`, "--image with an image you have"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeDocker{
				inspect: func(_ context.Context, ref string) (image.InspectResponse, error) {
					return image.InspectResponse{}, notFound(ref)
				},
				pull: tt.pull,
			}
			d := newFakeDocker(t, f, WithImage(tt.image))
			defer d.Close()
			err := d.Preflight(context.Background())
			if !errors.Is(err, ErrImageUnavailable) {
				t.Fatalf("Preflight = %v, want ErrImageUnavailable", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
		})
	}
}

func TestDockerPreflightDaemonDown(t *testing.T) {
	t.Parallel()
	cause := errors.New("permission denied while trying to connect to the Docker daemon socket")
	f := &fakeDocker{ping: func(context.Context) (types.Ping, error) { return types.Ping{}, cause }}
	d := newFakeDocker(t, f)
	defer d.Close()
	err := d.Preflight(context.Background())
	if !errors.Is(err, ErrDockerUnavailable) || !errors.Is(err, cause) {
		t.Fatalf("Preflight = %v, want ErrDockerUnavailable wrapping the cause", err)
	}
	for _, w := range []string{"permission denied", "unix:///fake.sock", "start the Docker daemon", "--executor local"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q: %v", w, err)
		}
	}
}

func TestDockerCleanupStale(t *testing.T) {
	t.Parallel()
	// A pid that surely belongs to no process: one that just exited.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := strconv.Itoa(cmd.ProcessState.Pid())
	host, _ := os.Hostname()
	f := &fakeDocker{list: func(_ context.Context, opts container.ListOptions) ([]container.Summary, error) {
		if !opts.All || !opts.Filters.ExactMatch("label", LabelManaged+"=true") {
			return nil, fmt.Errorf("unexpected list options %+v", opts)
		}
		return []container.Summary{
			{ID: "stale", Labels: map[string]string{LabelManaged: "true", LabelHost: host, LabelPID: dead}},
			{ID: "mine", Labels: map[string]string{LabelManaged: "true", LabelHost: host, LabelPID: strconv.Itoa(os.Getpid())}},
			{ID: "other-host", Labels: map[string]string{LabelManaged: "true", LabelHost: host + "-elsewhere", LabelPID: dead}},
			{ID: "no-pid", Labels: map[string]string{LabelManaged: "true", LabelHost: host}},
		}, nil
	}}
	d := newFakeDocker(t, f)
	defer d.Close()
	n, err := d.CleanupStale(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || len(f.removed) != 1 || f.removed[0] != "stale" {
		t.Errorf("removed %d: %v, want only the stale container", n, f.removed)
	}
}

// TestDockerDeadContainerBetweenRuns covers the decision to replace the
// container when an exec cannot be created: only a container the daemon
// says is stopped or gone is replaced; any other failure is the run's
// error.
func TestDockerDeadContainerBetweenRuns(t *testing.T) {
	t.Parallel()
	stoppedState := container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{State: &container.State{Status: container.StateExited}}}
	tests := []struct {
		name        string
		inspect     func(context.Context, string) (container.InspectResponse, error)
		wantReplace bool
	}{
		{"stopped", func(context.Context, string) (container.InspectResponse, error) { return stoppedState, nil }, true},
		{"removed", func(context.Context, string) (container.InspectResponse, error) {
			return container.InspectResponse{}, cerrdefs.ErrNotFound
		}, true},
		{"running", nil, false},
		{"inspect fails", func(context.Context, string) (container.InspectResponse, error) {
			return container.InspectResponse{}, errors.New("daemon busy")
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var (
				mu      sync.Mutex
				created []string
				execIn  []string
			)
			f := &fakeDocker{
				create: func(context.Context, *container.Config, *container.HostConfig, string) (container.CreateResponse, error) {
					mu.Lock()
					defer mu.Unlock()
					created = append(created, fmt.Sprintf("c%d", len(created)+1))
					return container.CreateResponse{ID: created[len(created)-1]}, nil
				},
				// The first container refuses execs, as a killed one does.
				execCreat: func(_ context.Context, id string, _ container.ExecOptions) (container.ExecCreateResponse, error) {
					mu.Lock()
					defer mu.Unlock()
					execIn = append(execIn, id)
					if id == "c1" {
						return container.ExecCreateResponse{}, cerrdefs.ErrConflict.WithMessage("container c1 is not running")
					}
					return container.ExecCreateResponse{ID: "e1"}, nil
				},
				contInsp: tt.inspect,
			}
			d := newFakeDocker(t, f)
			defer d.Close()
			_, err := d.Run(t.Context(), CodeBlock{Language: LangSh, Code: "true\n", Closed: true}, Limits{})
			mu.Lock()
			defer mu.Unlock()
			if !tt.wantReplace {
				if err == nil || !strings.Contains(err.Error(), "is not running") || len(created) != 1 || len(f.removed) != 0 {
					t.Errorf("Run = %v; created %v, removed %v; want the exec error and the container kept", err, created, f.removed)
				}
				return
			}
			// The fake cannot attach, so the run fails after the exec
			// was created in the fresh container.
			if len(created) != 2 || len(f.removed) != 1 || f.removed[0] != "c1" || len(execIn) != 2 || execIn[1] != "c2" {
				t.Errorf("created %v, removed %v, execs in %v; want c1 removed and the exec retried in c2", created, f.removed, execIn)
			}
			if err == nil || strings.Contains(err.Error(), "is not running") {
				t.Errorf("Run = %v, want the fake's attach error", err)
			}
		})
	}
}
