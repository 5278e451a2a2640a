package terminal

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/m1-project/m1/agent"
)

// Defaults of the Docker executor.
const (
	// DefaultImage is the image code runs in unless --image or M1_IMAGE
	// says otherwise.
	DefaultImage = "python:3-slim"
	// SandboxImage is the image `make sandbox-image` builds without a
	// registry.
	SandboxImage = "m1-sandbox:latest"
	// DefaultMemory is the container's memory limit in bytes.
	DefaultMemory int64 = 2 << 30
	// DefaultCPUs is the container's CPU limit.
	DefaultCPUs = 2.0
	// DefaultPidsLimit caps the number of processes, against fork bombs.
	DefaultPidsLimit int64 = 512
	// Workspace is where the work dir is mounted inside the container; it is
	// the code's working directory.
	Workspace = "/workspace"
)

// Labels m1 puts on its containers so it can find its own.
const (
	LabelManaged = "m1.managed" // always "true"
	LabelSession = "m1.session" // the session id
	LabelPID     = "m1.pid"     // pid of the m1 process that owns the container
	LabelHost    = "m1.host"    // hostname of that process
)

// Errors the CLI maps to exit code 2. Both are wrapped together with the
// underlying cause, so errors.Is works for either.
var (
	// ErrDockerUnavailable means the Docker daemon cannot be reached or
	// used (not running, no permission on its socket, bad DOCKER_HOST).
	ErrDockerUnavailable = errors.New("docker is unavailable")
	// ErrImageUnavailable means the sandbox image is neither present nor
	// pullable.
	ErrImageUnavailable = errors.New("sandbox image is unavailable")
)

// errClosed is returned by runs after Close.
var errClosed = errors.New("docker executor is closed")

// keepAliveUser runs the container's main process. It differs from the
// user that runs code, so that killing every process the code user owns
// (kill -1 without capabilities) leaves the container running.
const (
	keepAliveUser    = "65534:65534"
	keepAliveUserAlt = "65533:65533"
)

// dockerAPI is the part of the Docker client the executor uses.
type dockerAPI interface {
	Ping(ctx context.Context) (types.Ping, error)
	DaemonHost() string
	ImageInspect(ctx context.Context, image string, opts ...client.ImageInspectOption) (image.InspectResponse, error)
	ImagePull(ctx context.Context, ref string, opts image.PullOptions) (io.ReadCloser, error)
	ContainerCreate(ctx context.Context, config *container.Config, host *container.HostConfig, net *network.NetworkingConfig, platform *ocispec.Platform, name string) (container.CreateResponse, error)
	ContainerStart(ctx context.Context, id string, opts container.StartOptions) error
	ContainerRemove(ctx context.Context, id string, opts container.RemoveOptions) error
	ContainerList(ctx context.Context, opts container.ListOptions) ([]container.Summary, error)
	ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error)
	ContainerExecCreate(ctx context.Context, id string, opts container.ExecOptions) (container.ExecCreateResponse, error)
	ContainerExecAttach(ctx context.Context, execID string, opts container.ExecAttachOptions) (types.HijackedResponse, error)
	ContainerExecInspect(ctx context.Context, execID string) (container.ExecInspect, error)
	Close() error
}

var _ dockerAPI = (*client.Client)(nil)

// Docker runs code in one container per session, created on the first run
// and removed by Close. The work dir is bind-mounted at /workspace.
type Docker struct {
	api       dockerAPI
	host      string
	image     string
	workDir   string
	network   bool
	memory    int64
	cpus      float64
	pids      int64
	session   string
	user      string
	name      string
	log       io.Writer
	grace     time.Duration
	newClient func() (dockerAPI, error)

	runMu sync.Mutex // one block at a time

	mu     sync.Mutex // guards the fields below; held while starting
	id     string
	closed bool
}

var _ Executor = (*Docker)(nil)

// DockerOption configures a Docker executor.
type DockerOption func(*Docker)

// WithImage sets the image code runs in ("" keeps DefaultImage).
func WithImage(ref string) DockerOption {
	return func(d *Docker) {
		if ref != "" {
			d.image = ref
		}
	}
}

// WithWorkDir sets the host directory mounted at /workspace ("" means the
// current directory).
func WithWorkDir(dir string) DockerOption {
	return func(d *Docker) { d.workDir = dir }
}

// WithNetwork turns the container's network on (the default, so pip works)
// or off.
func WithNetwork(on bool) DockerOption {
	return func(d *Docker) { d.network = on }
}

// WithMemory sets the memory limit in bytes; 0 or less means no limit.
func WithMemory(bytes int64) DockerOption {
	return func(d *Docker) { d.memory = bytes }
}

// WithCPUs sets the CPU limit (1.5 = one and a half CPUs); 0 or less means
// no limit.
func WithCPUs(n float64) DockerOption {
	return func(d *Docker) { d.cpus = n }
}

// WithPidsLimit sets the maximum number of processes; 0 or less means no
// limit.
func WithPidsLimit(n int64) DockerOption {
	return func(d *Docker) { d.pids = n }
}

// WithSessionID labels the container with the run's session id (default: a
// fresh id).
func WithSessionID(id string) DockerOption {
	return func(d *Docker) {
		if id != "" {
			d.session = id
		}
	}
}

// WithUser sets the user code runs as, "uid" or "uid:gid". By default it is
// the owner of the work dir, so the code can write there and the files it
// makes belong to the user; that is root only when root owns the work dir.
func WithUser(user string) DockerOption {
	return func(d *Docker) { d.user = user }
}

// WithHost sets the daemon address (e.g. "unix:///var/run/docker.sock"),
// overriding DOCKER_HOST.
func WithHost(host string) DockerOption {
	return func(d *Docker) { d.host = host }
}

// WithProgress makes Preflight report image pulls to w (normally stderr).
func WithProgress(w io.Writer) DockerOption {
	return func(d *Docker) { d.log = w }
}

// withAPI makes the executor use api instead of a real client; tests use it
// to hand in a fake.
func withAPI(api dockerAPI) DockerOption {
	return func(d *Docker) { d.newClient = func() (dockerAPI, error) { return api, nil } }
}

// NewDocker returns a Docker executor. It connects lazily: nothing talks to
// the daemon before Preflight or the first Run. The client honours
// DOCKER_HOST, DOCKER_API_VERSION, DOCKER_CERT_PATH and DOCKER_TLS_VERIFY;
// the daemon must run on this machine, since the work dir is bind-mounted.
func NewDocker(opts ...DockerOption) (*Docker, error) {
	id := agent.NewID()
	d := &Docker{
		image:   DefaultImage,
		network: true,
		memory:  DefaultMemory,
		cpus:    DefaultCPUs,
		pids:    DefaultPidsLimit,
		session: id,
		name:    "m1-" + id,
		log:     io.Discard,
		grace:   10 * time.Second,
	}
	for _, o := range opts {
		o(d)
	}
	dir, err := absWorkDir(d.workDir)
	if err != nil {
		return nil, err
	}
	d.workDir = dir
	if d.newClient == nil {
		d.newClient = func() (dockerAPI, error) {
			copts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
			if d.host != "" {
				copts = append(copts, client.WithHost(d.host))
			}
			return client.NewClientWithOpts(copts...)
		}
	}
	api, err := d.newClient()
	if err != nil {
		return nil, unavailable("create docker client", err)
	}
	d.api = api
	return d, nil
}

// unavailable wraps cause as ErrDockerUnavailable with what to do next.
func unavailable(what string, cause error) error {
	return fmt.Errorf("%w: %s: %w; start the Docker daemon (and make sure your user may use its socket, "+
		"e.g. is in the docker group), or pass --executor local to run code on this machine without a sandbox",
		ErrDockerUnavailable, what, cause)
}

// Describe returns "docker container NAME (IMAGE)".
func (d *Docker) Describe() string {
	return fmt.Sprintf("docker container %s (%s)", d.name, d.image)
}

// Image returns the image code runs in.
func (d *Docker) Image() string { return d.image }

// WorkDir returns the absolute host directory mounted at /workspace.
func (d *Docker) WorkDir() string { return d.workDir }

// SessionID returns the value of the container's m1.session label.
func (d *Docker) SessionID() string { return d.session }

// Preflight checks that the daemon answers and the image is present,
// pulling it when it is not. The CLI calls it before the run starts, so a
// missing sandbox stops m1 at once rather than in the middle of a task. Its
// errors wrap ErrDockerUnavailable or ErrImageUnavailable.
func (d *Docker) Preflight(ctx context.Context) error {
	if _, err := d.api.Ping(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return unavailable("cannot reach the daemon at "+d.api.DaemonHost(), err)
	}
	return d.ensureImage(ctx)
}

// ensureImage pulls d.image unless the daemon has it.
func (d *Docker) ensureImage(ctx context.Context) error {
	_, err := d.api.ImageInspect(ctx, d.image)
	if err == nil {
		return nil
	}
	if !cerrdefs.IsNotFound(err) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return unavailable("inspect image "+d.image, err)
	}
	fmt.Fprintf(d.log, "pulling image %s ...\n", d.image)
	if err := d.pull(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return d.imageError(err)
	}
	fmt.Fprintf(d.log, "pulled image %s\n", d.image)
	return nil
}

func (d *Docker) imageError(cause error) error {
	hint := fmt.Sprintf(`run "make sandbox-image" in m1's source tree to build %s without a registry, `+
		"then pass --image %s or set M1_IMAGE=%s", SandboxImage, SandboxImage, SandboxImage)
	if d.image == SandboxImage {
		hint = `run "make sandbox-image" in m1's source tree to build it without a registry, or pass --image with an image you have`
	}
	return fmt.Errorf("%w: image %s is not present and pulling it failed: %w; %s", ErrImageUnavailable, d.image, cause, hint)
}

// pull pulls d.image and reads the progress stream to its end, where a
// failure is reported.
func (d *Docker) pull(ctx context.Context) error {
	rc, err := d.api.ImagePull(ctx, d.image, image.PullOptions{})
	if err != nil {
		return err
	}
	defer rc.Close()
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var m struct {
			Status      string `json:"status"`
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			return errors.New(m.ErrorDetail.Message)
		}
		if m.Error != "" {
			return errors.New(m.Error)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	// A stream that ended without an error should have left the image.
	if _, err := d.api.ImageInspect(ctx, d.image); err != nil {
		return fmt.Errorf("image missing after pull: %w", err)
	}
	return nil
}

// codeUser returns the user code runs as: the one set with WithUser, or the
// owner of the work dir.
func (d *Docker) codeUser() (string, error) {
	if d.user != "" {
		return d.user, nil
	}
	fi, err := os.Stat(d.workDir)
	if err != nil {
		return "", fmt.Errorf("work dir: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", fmt.Errorf("work dir %s: no owner information; pass a user explicitly", d.workDir)
	}
	return fmt.Sprintf("%d:%d", st.Uid, st.Gid), nil
}

// container returns the running container's id, creating and starting it on
// first use.
func (d *Docker) container(ctx context.Context, user string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return "", errClosed
	}
	if d.id != "" {
		return d.id, nil
	}
	if err := d.ensureImage(ctx); err != nil {
		return "", err
	}
	keep := keepAliveUser
	if u, _, _ := strings.Cut(user, ":"); u == "65534" || u == "nobody" {
		keep = keepAliveUserAlt
	}
	host, _ := os.Hostname()
	cfg := &container.Config{
		Image: d.image,
		// The main process only keeps the container alive; code runs
		// through exec. It runs as a user of its own, and from "/" since
		// that user may not be allowed into the work dir.
		Entrypoint: []string{"sleep"},
		Cmd:        []string{"infinity"},
		User:       keep,
		WorkingDir: "/",
		Env: []string{
			"HOME=/tmp",
			"PYTHONUNBUFFERED=1",
			"PYTHONDONTWRITEBYTECODE=1",
			"PIP_DISABLE_PIP_VERSION_CHECK=1",
		},
		Labels: map[string]string{
			LabelManaged: "true",
			LabelSession: d.session,
			LabelPID:     strconv.Itoa(os.Getpid()),
			LabelHost:    host,
		},
		NetworkDisabled: !d.network,
	}
	useInit := true
	hc := &container.HostConfig{
		Mounts: []mount.Mount{{
			Type:   mount.TypeBind,
			Source: d.workDir,
			Target: Workspace,
		}},
		CapDrop:     []string{"ALL"},
		SecurityOpt: []string{"no-new-privileges"},
		// An init as PID 1 reaps processes orphaned by a killed run, so none
		// linger as zombies.
		Init: &useInit,
	}
	if !d.network {
		hc.NetworkMode = "none"
	}
	if d.memory > 0 {
		hc.Memory = d.memory
	}
	if d.cpus > 0 {
		hc.NanoCPUs = int64(d.cpus * 1e9)
	}
	if d.pids > 0 {
		pids := d.pids
		hc.PidsLimit = &pids
	}
	resp, err := d.api.ContainerCreate(ctx, cfg, hc, nil, nil, d.name)
	if err != nil {
		return "", fmt.Errorf("create container %s from %s: %w", d.name, d.image, err)
	}
	if err := d.api.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		d.remove(resp.ID)
		return "", fmt.Errorf("start container %s: %w", d.name, err)
	}
	d.id = resp.ID
	return d.id, nil
}

// Notes a Result carries when the container died (docker kill, a daemon
// restart, docker rm -f): the model should know its installed packages and
// background processes are gone.
const (
	noteReplaced = "The sandbox container had stopped since the last block (it was killed or crashed), so this block ran " +
		"in a fresh container: the files in the working directory are kept, but packages installed earlier are gone."
	noteLostMidRun = "The sandbox container stopped while the block ran (it was killed or crashed), and the block's " +
		"processes died with it; the output above is what it printed until then. The next block runs in a fresh " +
		"container: the files in the working directory are kept, but packages installed earlier are gone."
)

// exitSandboxLost is the exit code reported for a block whose container died
// under it, as a shell reports a process killed by SIGKILL (which is also
// what such an exec reports).
const exitSandboxLost = 137

// Run saves b in the work dir and runs it in the container as the code user.
// On timeout or cancellation every process of that user in the container is
// killed, so the container stays usable and nothing is left running. A
// container that died since the last block is replaced by a fresh one; one
// that dies during the block ends it with exitSandboxLost and is replaced
// by the next run. Either way the Result's Note says so.
func (d *Docker) Run(ctx context.Context, b CodeBlock, lim Limits) (Result, error) {
	d.runMu.Lock()
	defer d.runMu.Unlock()
	lim = lim.withDefaults()
	user, err := d.codeUser()
	if err != nil {
		return Result{}, err
	}
	id, err := d.container(ctx, user)
	if err != nil {
		return Result{}, err
	}
	rel, cleanup, err := stage(d.workDir, b)
	if err != nil {
		return Result{}, err
	}
	defer cleanup()
	argv, err := interpreter(b.Language, rel)
	if err != nil {
		return Result{}, err
	}

	opts := container.ExecOptions{
		User:         user,
		WorkingDir:   Workspace,
		AttachStdout: true,
		AttachStderr: true,
		// One pipe for both streams keeps their order as the program wrote
		// them; the daemon reads two pipes concurrently and would shuffle
		// them.
		Cmd: append([]string{"sh", "-c", `exec "$@" 2>&1`, "m1"}, argv...),
	}
	note := ""
	ex, err := d.api.ContainerExecCreate(ctx, id, opts)
	if err != nil && ctx.Err() == nil && d.stopped(id) {
		// Killed since the last block: start over in a fresh container.
		d.drop(id)
		if id, err = d.container(ctx, user); err != nil {
			return Result{}, err
		}
		note = noteReplaced
		ex, err = d.api.ContainerExecCreate(ctx, id, opts)
	}
	if err != nil {
		return Result{}, fmt.Errorf("create exec in %s: %w", d.name, err)
	}
	hj, err := d.api.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{})
	if err != nil {
		return Result{}, fmt.Errorf("start exec in %s: %w", d.name, err)
	}
	defer hj.Close()

	out := newCapBuffer(lim.OutputCap)
	done := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(out, out, hj.Reader)
		done <- err
	}()
	timer := time.NewTimer(lim.Timeout)
	defer timer.Stop()

	var copyErr error
	timedOut := false
	select {
	case copyErr = <-done:
	case <-timer.C:
		timedOut = true
		d.killAll(id, user)
		select {
		case <-done:
		case <-time.After(d.grace):
			hj.Close()
			<-done
		}
	case <-ctx.Done():
		d.killAll(id, user)
		hj.Close()
		<-done
		return Result{}, ctx.Err()
	}
	if timedOut {
		return Result{ExitCode: exitTimedOut, Output: out.String(), TimedOut: true, Note: note}, nil
	}
	code, err := 0, error(nil)
	if copyErr == nil {
		code, err = d.exitCode(ctx, ex.ID)
	}
	// A block killed by SIGKILL, or whose exec broke, may have lost its
	// container under it (docker kill). Only then is the container looked
	// at, so a normal run pays nothing.
	if (copyErr != nil || err != nil || code == exitSandboxLost) && ctx.Err() == nil && d.died(ctx, id) {
		d.drop(id)
		return Result{ExitCode: exitSandboxLost, Output: out.String(), Note: strings.TrimSpace(note + " " + noteLostMidRun)}, nil
	}
	if copyErr != nil {
		return Result{}, fmt.Errorf("read output of exec in %s: %w", d.name, copyErr)
	}
	if err != nil {
		return Result{}, err
	}
	return Result{ExitCode: code, Output: out.String(), Note: note}, nil
}

// diedWait is how long died watches a container: the daemon records a
// killed container's end a moment after the end of its exec.
const diedWait = 2 * time.Second

// died reports whether container id stopped, waiting up to diedWait (or
// until ctx ends) for its state to show it.
func (d *Docker) died(ctx context.Context, id string) bool {
	deadline := time.Now().Add(diedWait)
	for {
		if d.stopped(id) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stopped reports whether container id is gone or no longer running, as
// after docker kill. An answer it cannot get counts as running: the caller
// then reports the error it already has.
func (d *Docker) stopped(id string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), d.grace)
	defer cancel()
	ins, err := d.api.ContainerInspect(ctx, id)
	if err != nil {
		return cerrdefs.IsNotFound(err)
	}
	return ins.ContainerJSONBase != nil && ins.State != nil && !ins.State.Running && !ins.State.Restarting
}

// drop removes the dead container id and forgets it, so the next run
// creates a fresh one under the same name.
func (d *Docker) drop(id string) {
	d.mu.Lock()
	if d.id == id {
		d.id = ""
	}
	d.mu.Unlock()
	// Should the removal fail, creating the next container under the same
	// name fails too, and says why.
	_ = d.remove(id)
}

// exitCode waits briefly for the daemon to record the exec's end, which may
// lag behind the end of its output stream.
func (d *Docker) exitCode(ctx context.Context, execID string) (int, error) {
	deadline := time.Now().Add(d.grace)
	for {
		ins, err := d.api.ContainerExecInspect(ctx, execID)
		if err != nil {
			return 0, fmt.Errorf("inspect exec in %s: %w", d.name, err)
		}
		if !ins.Running {
			return ins.ExitCode, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("exec in %s still running after its output ended", d.name)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// killAll sends SIGKILL to every process of user in the container. Without
// capabilities the killer can signal only that user's processes, which
// spares the init and the keep-alive process. It uses a fresh context: it
// also runs after the caller's ctx ended.
func (d *Docker) killAll(id, user string) {
	ctx, cancel := context.WithTimeout(context.Background(), d.grace)
	defer cancel()
	ex, err := d.api.ContainerExecCreate(ctx, id, container.ExecOptions{
		User: user,
		Cmd:  []string{"sh", "-c", "kill -s KILL -- -1 2>/dev/null; exit 0"},
	})
	if err != nil {
		return
	}
	hj, err := d.api.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{})
	if err != nil {
		return
	}
	defer hj.Close()
	_, _ = io.Copy(io.Discard, hj.Reader)
}

// Close force-removes the container. It uses a fresh context so that it
// works after the run's ctx was cancelled (Ctrl-C), and is safe to call more
// than once.
func (d *Docker) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	id := d.id
	d.id = ""
	d.mu.Unlock()
	var err error
	if id != "" {
		err = d.remove(id)
	}
	if cerr := d.api.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close docker client: %w", cerr)
	}
	return err
}

// remove force-removes container id with a fresh context.
func (d *Docker) remove(id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := d.api.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove container %s: %w", d.name, err)
	}
	return nil
}

// CleanupStale removes m1 containers left behind by m1 processes on this
// host that no longer exist (after a crash or kill -9), and returns how many
// it removed. Containers of live processes and of other hosts are left
// alone.
func (d *Docker) CleanupStale(ctx context.Context) (int, error) {
	list, err := d.api.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", LabelManaged+"=true")),
	})
	if err != nil {
		return 0, fmt.Errorf("list m1 containers: %w", err)
	}
	host, _ := os.Hostname()
	n := 0
	for _, c := range list {
		if c.Labels[LabelHost] != host {
			continue
		}
		pid, err := strconv.Atoi(c.Labels[LabelPID])
		if err != nil || pid <= 0 || processAlive(pid) {
			continue
		}
		if err := d.api.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !cerrdefs.IsNotFound(err) {
			return n, fmt.Errorf("remove stale container %s: %w", c.ID, err)
		}
		n++
	}
	return n, nil
}

// processAlive reports whether pid exists; EPERM means it exists but belongs
// to someone else.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
