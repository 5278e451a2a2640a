package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/m1-project/m1/runner"
	"github.com/m1-project/m1/terminal"
)

// dockerCheck asks the daemon for the image code would run in, as the
// ComputerTerminal's executor does before a run, but pulls nothing.
func dockerCheck(ctx context.Context, opts Options, getenv func(string) string) Check {
	c := Check{Name: "docker", Status: StatusSkip}
	switch {
	case !slices.Contains(opts.Agents, runner.AgentTerminal):
		c.Message = "skipped: terminal is not in --agents"
		return c
	case opts.Executor == runner.ExecutorLocal:
		c.Message = "skipped: --executor local runs code on this machine, unsandboxed"
		return c
	}
	image := opts.Image
	if image == "" {
		image = getenv("M1_IMAGE")
	}
	d, err := terminal.NewDocker(terminal.WithImage(image))
	if err != nil {
		c.Status, c.Message = StatusFail, err.Error()
		c.Hint = "check DOCKER_HOST, or use --executor local"
		return c
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(ctx, dockerTimeout)
	defer cancel()
	host := d.DaemonHost()
	err = d.Check(ctx)
	switch {
	case err == nil:
		c.Status, c.Message = StatusOK, fmt.Sprintf("daemon at %s, image %s present", host, d.Image())
	case errors.Is(err, context.DeadlineExceeded):
		c.Status, c.Message = StatusFail, fmt.Sprintf("daemon at %s did not answer within %s", host, dockerTimeout)
		c.Hint = "restart dockerd, or use --executor local"
	case errors.Is(err, terminal.ErrImageUnavailable) && d.Image() != terminal.SandboxImage:
		// A run pulls a missing image before it starts; only where no
		// registry answers is that a problem.
		c.Status = StatusWarn
		c.Message = strings.TrimPrefix(err.Error(), terminal.ErrImageUnavailable.Error()+": ") + "; the first run pulls it"
		c.Hint = "where no registry is reachable: " + imageHint(d.Image())
	case errors.Is(err, terminal.ErrImageUnavailable):
		c.Status = StatusFail
		c.Message = strings.TrimPrefix(err.Error(), terminal.ErrImageUnavailable.Error()+": ")
		c.Hint = imageHint(d.Image())
	case errors.Is(err, fs.ErrPermission) || strings.Contains(err.Error(), "permission denied"):
		c.Status, c.Message = StatusFail, "no permission to use the daemon at "+host
		c.Hint = "add your user to the docker group (then log in again), or use --executor local"
	default:
		c.Status, c.Message = StatusFail, "daemon unreachable at "+host
		c.Hint = "start dockerd (or fix DOCKER_HOST), or use --executor local"
	}
	return c
}

func imageHint(image string) string {
	if image == terminal.SandboxImage {
		return "run make sandbox-image in m1's source tree to build it without a registry, or use --executor local"
	}
	return fmt.Sprintf("docker pull %s, or build %s with make sandbox-image and pass --image %s (or set M1_IMAGE), or use --executor local",
		image, terminal.SandboxImage, terminal.SandboxImage)
}
