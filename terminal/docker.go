package terminal

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
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
	// DefaultPidsLimit caps the number of processes, against fork bombs.
	DefaultPidsLimit int64 = 512
	// DefaultTmpSize is the size of the tmpfs at /tmp, the only writable
	// place of the container besides the work dir (HOME is /tmp, so
	// pip install --user lands there). Its pages count against the memory
	// limit too.
	DefaultTmpSize int64 = 1 << 30
	// DefaultMaxFileSize is the largest file code may write (RLIMIT_FSIZE;
	// a larger write fails with "File size limit exceeded").
	DefaultMaxFileSize int64 = 1 << 30
	// Workspace is where the work dir is mounted inside the container; it is
	// the code's working directory.
	Workspace = "/workspace"
	// SandboxUID and SandboxGID are the user and group code runs as when
	// m1 runs as root in a work dir root owns: an unprivileged id that
	// owns nothing on a usual host (the "nonroot" user of Google's
	// distroless images).
	SandboxUID = 65532
	SandboxGID = 65532
)

// DefaultCPUs returns the container's default CPU limit: one core fewer
// than this machine has (half a core on a one-core machine), so code that
// keeps every core busy cannot starve m1 and the rest of the host.
func DefaultCPUs() float64 {
	n := runtime.NumCPU()
	if n <= 1 {
		return 0.5
	}
	return float64(n - 1)
}

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
	tmpSize   int64
	maxFile   int64
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
	code   *codeUser // resolved on first use
	grant  *dirGrant // write access to the work dir for code, if given
	gitRO  bool      // the work dir's .git is mounted read-only
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

// WithTmpSize sets the size in bytes of the tmpfs at /tmp (default
// DefaultTmpSize; 0 or less keeps the default).
func WithTmpSize(bytes int64) DockerOption {
	return func(d *Docker) {
		if bytes > 0 {
			d.tmpSize = bytes
		}
	}
}

// WithMaxFileSize sets the largest file code may write, in bytes (default
// DefaultMaxFileSize); 0 or less means no limit.
func WithMaxFileSize(bytes int64) DockerOption {
	return func(d *Docker) { d.maxFile = bytes }
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

// WithUser sets the user code runs as, numeric "uid" or "uid:gid"; uid 0
// is refused. By default it is the user running m1, or, when that is root,
// the owner of the work dir, or SandboxUID when root owns the work dir too
// (see resolveUser).
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
		cpus:    DefaultCPUs(),
		pids:    DefaultPidsLimit,
		tmpSize: DefaultTmpSize,
		maxFile: DefaultMaxFileSize,
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

// codeUser is the user code runs as in the container.
type codeUser struct {
	uid, gid int
	// grant says the work dir must be made writable for uid (see
	// resolveUser).
	grant bool
}

// spec is the user as Docker takes it.
func (u *codeUser) spec() string { return fmt.Sprintf("%d:%d", u.uid, u.gid) }

// resolveUser picks the user code runs as. Code never runs as uid 0 in the
// container: Docker's security guidance is to run containers as a
// non-root user, and a root process there owns what it writes in the work
// dir on the host, so a setuid file it made would be a root shell for any
// local user. The user is, in this order:
//
//   - the one set with WithUser;
//   - the user running m1, when not root: files the code makes belong to
//     them, as with Docker's documented `--user "$(id -u):$(id -g)"`;
//   - the owner of the work dir, when m1 runs as root in someone else's
//     folder;
//   - SandboxUID:SandboxGID when root runs m1 in a folder root owns. That
//     user cannot write the folder, so the executor grants it write access
//     to the work dir itself (not to what is already in it) with a POSIX
//     ACL entry, removed when the last m1 using the folder closes. Files
//     the code makes belong to SandboxUID; root-owned files already there
//     stay read-only to the code.
func (d *Docker) resolveUser() (*codeUser, error) {
	if d.user != "" {
		uidS, gidS, hasGID := strings.Cut(d.user, ":")
		uid, err := strconv.Atoi(uidS)
		gid := uid
		if err == nil && hasGID {
			gid, err = strconv.Atoi(gidS)
		}
		if err != nil || uid < 0 || gid < 0 {
			return nil, fmt.Errorf("code user %q: want a numeric uid or uid:gid", d.user)
		}
		if uid == 0 {
			return nil, fmt.Errorf("code user %q: code never runs as root in the container; pick an unprivileged uid", d.user)
		}
		return &codeUser{uid: uid, gid: gid}, nil
	}
	if uid := os.Geteuid(); uid != 0 {
		return &codeUser{uid: uid, gid: os.Getegid()}, nil
	}
	fi, err := os.Stat(d.workDir)
	if err != nil {
		return nil, fmt.Errorf("work dir: %w", err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 {
		return &codeUser{uid: int(st.Uid), gid: int(st.Gid)}, nil
	}
	return &codeUser{uid: SandboxUID, gid: SandboxGID, grant: true}, nil
}

// user returns the code user, resolving it on first use.
func (d *Docker) codeUser() (*codeUser, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.code == nil {
		u, err := d.resolveUser()
		if err != nil {
			return nil, err
		}
		d.code = u
	}
	return d.code, nil
}

// container returns the running container's id, creating and starting it on
// first use.
func (d *Docker) container(ctx context.Context, user *codeUser) (string, error) {
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
	if user.grant && d.grant == nil {
		g, err := grantDir(d.workDir, uint32(user.uid))
		if err != nil {
			// The code can still read the folder and write /tmp; say why
			// its writes to the work dir fail.
			fmt.Fprintf(d.log, "warning: code runs as uid %d, which cannot write in the work dir %s (granting it access failed: %v); "+
				"run m1 as an ordinary user, or chown the work dir to one\n", user.uid, d.workDir, err)
		}
		d.grant = g
	}
	keep := keepAliveUser
	if user.uid == 65534 {
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
		Mounts:      d.mounts(),
		CapDrop:     []string{"ALL"},
		SecurityOpt: []string{"no-new-privileges"},
		// An init as PID 1 reaps processes orphaned by a killed run, so none
		// linger as zombies.
		Init: &useInit,
		// Docker's hardening guidance: a read-only root filesystem, with
		// a size-limited tmpfs where programs need to write (/tmp, which
		// is also HOME). The container's own layer then cannot grow, which
		// is also why no StorageOpt size is set: that option works only on
		// some storage drivers (overlay2 on xfs with pquota, btrfs, zfs,
		// devicemapper), and there would be nothing for it to limit. The
		// tmpfs allows exec, or packages installed with pip install --user
		// could not load their native code.
		ReadonlyRootfs: true,
		Tmpfs:          map[string]string{"/tmp": fmt.Sprintf("rw,exec,nosuid,nodev,size=%d,mode=1777", d.tmpSize)},
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
	if d.maxFile > 0 {
		// The work dir is the host's folder, which no Docker option can
		// cap in size; RLIMIT_FSIZE at least caps each file a block
		// writes there.
		hc.Ulimits = []*container.Ulimit{{Name: "fsize", Soft: d.maxFile, Hard: d.maxFile}}
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

// mounts returns the container's mounts: the work dir, read-write, and its
// .git, read-only, when it has one. Code could otherwise plant a hook in
// .git/hooks (or a core.fsmonitor or core.hooksPath setting in
// .git/config) that the user's next git command runs on the host, outside
// the sandbox; Codex's sandbox keeps .git read-only for the same reason.
// A .git that is a file (a worktree's or submodule's pointer) is mounted
// read-only too, or code could point it at a folder of its own. Other
// files the host may run later (a Makefile, .envrc, editor tasks) stay
// writable: that is the README's "Security model". The caller holds d.mu.
func (d *Docker) mounts() []mount.Mount {
	ms := []mount.Mount{{
		Type:   mount.TypeBind,
		Source: d.workDir,
		Target: Workspace,
	}}
	d.gitRO = false
	git := filepath.Join(d.workDir, ".git")
	if fi, err := os.Lstat(git); err == nil && (fi.IsDir() || fi.Mode().IsRegular()) {
		ms = append(ms, mount.Mount{
			Type:     mount.TypeBind,
			Source:   git,
			Target:   Workspace + "/.git",
			ReadOnly: true,
		})
		d.gitRO = true
	}
	return ms
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
// When the block's program ends, every process it left behind (daemons
// included) is killed, so nothing runs between blocks; on timeout or
// cancellation every process of the code user is killed too, so the
// container stays usable. Then the setuid and setgid bits of files the
// block changed in the work dir are removed (see stripSetuid). A container
// that died since the last block is replaced by a fresh one; one that dies
// during the block ends it with exitSandboxLost and is replaced by the next
// run. The Result's Note says when any of this happened.
func (d *Docker) Run(ctx context.Context, b CodeBlock, lim Limits) (Result, error) {
	d.runMu.Lock()
	defer d.runMu.Unlock()
	// A second's margin: the kernel's change times and time.Now may
	// round differently.
	start := time.Now().Add(-time.Second)
	res, err := d.run(ctx, b, lim)
	skip := []string{}
	d.mu.Lock()
	if d.gitRO {
		skip = append(skip, ".git") // read-only to the code
	}
	d.mu.Unlock()
	stripped, serr := stripSetuid(d.workDir, start, skip...)
	if err != nil {
		return res, err
	}
	if serr != nil {
		return Result{}, fmt.Errorf("remove setuid bits in the work dir: %w", serr)
	}
	if len(stripped) > 0 {
		res.Note = strings.TrimSpace(res.Note + " " + fmt.Sprintf("m1 removed the setuid/setgid bits the block set on %s: "+
			"files the sandbox leaves on the host never run with their owner's rights.", strings.Join(stripped, ", ")))
	}
	return res, nil
}

// runScript wraps the block's program: it merges stderr into stdout (one
// pipe keeps the order the program wrote them in; the daemon reads two
// pipes concurrently and would shuffle them), and when the program ends it
// kills every other process of the code user, so daemons the block started
// do not run on into later blocks or keep the output open. kill -1 spares
// the shell itself, and the keep-alive process belongs to another user.
const runScript = `"$@" 2>&1; s=$?; kill -s KILL -- -1 2>/dev/null; exit $s`

func (d *Docker) run(ctx context.Context, b CodeBlock, lim Limits) (Result, error) {
	lim = lim.withDefaults()
	user, err := d.codeUser()
	if err != nil {
		return Result{}, err
	}
	id, err := d.container(ctx, user)
	if err != nil {
		return Result{}, err
	}
	var owner *fileOwner
	if os.Geteuid() == 0 {
		// Files m1 saves for the code belong to the code user, as if it
		// had written them, so later blocks may change them.
		owner = &fileOwner{uid: user.uid, gid: user.gid}
	}
	rel, cleanup, err := stage(d.workDir, b, owner)
	if err != nil {
		return Result{}, err
	}
	defer cleanup()
	argv, err := interpreter(b.Language, rel)
	if err != nil {
		return Result{}, err
	}

	opts := container.ExecOptions{
		User:         user.spec(),
		WorkingDir:   Workspace,
		AttachStdout: true,
		AttachStderr: true,
		Cmd:          append([]string{"sh", "-c", runScript, "m1"}, argv...),
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
		d.killAll(id, user.spec())
		select {
		case <-done:
		case <-time.After(d.grace):
			hj.Close()
			<-done
		}
	case <-ctx.Done():
		d.killAll(id, user.spec())
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
	grant := d.grant
	d.grant = nil
	d.mu.Unlock()
	var err error
	if id != "" {
		err = d.remove(id)
	}
	// After the container, so no code can still be writing.
	if gerr := grant.release(); err == nil && gerr != nil {
		err = fmt.Errorf("remove the work dir's access entry for the sandbox user: %w", gerr)
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
